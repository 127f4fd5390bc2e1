"""A genus folder with photos too few (or too alike) to reach every split.

The split keeps near-duplicate groups whole and fills the split furthest below its share,
so a genus of one or two separate photos (or of one near-duplicate group) has photos in
training only. Its folder is not empty, so "needs photos" would mislead; and an edible
genus missing from validation and test would leave the run's metrics without it unsaid.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import make_photo, run_cli, write_tiny_dataset
from mushroom.config import DataConfig
from mushroom.pipeline import load_frame
from mushroom.taxonomy import GENERA


def _few(root, genus: str, n: int, near_duplicates: bool = False) -> None:
    """Leave ``n`` photos of ``genus``: separate specimens, or one photo re-saved."""
    folder = root / genus
    for photo in folder.iterdir():
        photo.unlink()
    for k in range(n):
        photo = make_photo(GENERA.index(genus), seed=0 if near_duplicates else 70 + k)
        photo.save(folder / f"{k}.jpg", quality=80 + k)  # other bytes, not an exact copy


@pytest.mark.parametrize("near", [False, True], ids=["two-photos", "near-duplicates"])
def test_a_poisonous_genus_with_photos_in_training_only_is_named_with_its_count(tmp_path, near):
    root = write_tiny_dataset(tmp_path / "photos")
    _few(root, "Entoloma", 2 if not near else 6, near_duplicates=near)
    csv = tmp_path / "m.csv"
    status, _, stderr = run_cli("manifest", "--data", str(root), "--out", str(csv))
    groups = "1 near-duplicate group" if near else "2 near-duplicate groups"
    assert status == 0
    assert "no validation photos of the poisonous Entoloma" in stderr
    assert f"Entoloma has {2 if not near else 6} photos in {groups}, all in train" in stderr
    assert "genus folders" not in stderr  # its folder has photos: it needs other specimens


def test_an_edible_genus_missing_from_validation_and_test_is_said(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos")
    _few(root, "Suillus", 2)
    status, _, stderr = run_cli("manifest", "--data", str(root), "--out", str(tmp_path / "m.csv"))
    assert status == 0
    assert ("warning: Suillus has 2 photos in 2 near-duplicate groups, all in train: no "
            "validation or test photos, so the run's metrics leave it out") in stderr


def test_train_says_it_too_before_training(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos")
    _few(root, "Suillus", 1)
    (tmp_path / "run").mkdir()
    lines: list[str] = []
    frame = load_frame(root, tmp_path / "run", DataConfig(), None, None, None, log=lines.append)
    assert isinstance(frame, pd.DataFrame)
    assert any(line.startswith("warning: Suillus has 1 photo in 1 near-duplicate group, all "
                               "in train") for line in lines)


def test_a_genus_whose_files_were_all_dropped_is_not_called_empty(tmp_path):
    """Every Suillus file unreadable (a copy cut off): its folder is not empty, so the
    refusal points at the cleaning report rather than asking for photos."""
    root = write_tiny_dataset(tmp_path / "photos")
    for photo in (root / "Suillus").iterdir():
        photo.write_bytes(photo.read_bytes()[:200])
    status, stdout, stderr = run_cli("train", "--data", str(root), "--out",
                                     str(tmp_path / "run"), "--epochs", "1,0,0,0")
    assert status == 2 and "corrupt/unreadable: 6 (Suillus/000.jpg" in stdout
    assert stderr.splitlines()[-1] == ("error: cannot train: no training photos of Suillus "
                                       "(Suillus: its 6 photos were all dropped, see the "
                                       "cleaning report)")
