"""``manifest --keep-split OLD.csv`` (and ``train``'s): photos an earlier manifest placed keep
their split, so that deleting, flagging or adding a photo moves no other photo between the
splits (a test photo moved into train would leak into the next run's training)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_photo, run_cli, write_tiny_dataset
from mushroom.config import DataConfig
from mushroom.data import build_manifest
from mushroom.manifest import read_manifest
from mushroom.split import assign_splits, grouped_stratified_assign
from mushroom.taxonomy import GENERA
from PIL import Image
from test_data import near_copy


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    """12 photos per genus, three of them with a near-duplicate, and its manifest."""
    root = write_tiny_dataset(tmp_path_factory.mktemp("keep") / "photos", per_class=12)
    for genus in GENERA:
        for k in (0, 1, 2):
            near_copy(root / genus / f"{k:03d}.jpg", root / genus / f"{k:03d}_near.jpg")
    out = root.parent / "old.csv"
    assert run_cli("manifest", "--data", str(root), "--out", str(out))[0] == 0
    return root, out


@pytest.fixture
def photos(base, tmp_path) -> Path:
    """A copy of the photos to delete from or add to."""
    return Path(shutil.copytree(base[0], tmp_path / "photos"))


def manifest(root: Path, out: Path, *flags: str) -> tuple[pd.DataFrame, str]:
    status, stdout, stderr = run_cli("manifest", "--data", str(root), "--out", str(out), *flags)
    assert status == 0, stderr
    return read_manifest(out), stdout


def another_copy(src: Path, dst: Path) -> None:
    """A near-duplicate unlike :func:`near_copy`'s (whose copy of a photo may exist)."""
    with Image.open(src) as img:
        w, h = img.size
        img.resize((int(w * 0.8), int(h * 0.8))).save(dst, quality=80)


def placed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("path")[["split", "fold"]]


def test_deleting_a_test_photo_moves_no_other_photo(base, photos, tmp_path):
    old = read_manifest(base[1])
    gone = old[(old["split"] == "test") & (old["genus"] == "Amanita")]["path"].iloc[0]
    (photos / gone).unlink()
    redrawn, _ = manifest(photos, tmp_path / "redrawn.csv")
    kept, stdout = manifest(photos, tmp_path / "kept.csv", "--keep-split", str(base[1]))
    before = placed(old).drop(gone)
    # without the flag the genus is drawn again: other photos change split (the audit's leak)
    assert (placed(redrawn).loc[before.index, "split"] != before["split"]).any()
    pd.testing.assert_frame_equal(placed(kept), before)  # split and fold of every photo
    assert f"gone since: train 0, val 0, test 1 ({gone})" in stdout
    assert "new photos: train 0, val 0, test 0" in stdout


def test_near_duplicates_the_old_manifest_placed_apart_stay_apart_and_are_named(base,
                                                                               tmp_path):
    old = read_manifest(base[1])
    near = old["path"] == "Amanita/000_near.jpg"
    other = {"train": "val", "val": "train", "test": "train"}[old.loc[near, "split"].iloc[0]]
    old.loc[near, ["split", "fold"]] = other, 0  # as if grouped only since: a new photo between
    old.to_csv(tmp_path / "apart.csv", index=False)
    kept, stdout = manifest(base[0], tmp_path / "kept.csv", "--keep-split",
                            str(tmp_path / "apart.csv"))
    pd.testing.assert_frame_equal(placed(kept), placed(old))  # kept, though apart
    assert "warning: near-duplicates left in two splits" in stdout
    assert stdout.split("two splits")[1].split("\n")[0].endswith(": 1 (Amanita/000.jpg)")


def test_a_photo_flagged_through_labels_is_named_gone_from_its_split(base, tmp_path):
    from mushroom import labels

    old = read_manifest(base[1])
    alone = old.groupby("group")["path"].transform("size") == 1  # near-duplicates go with it
    flagged = old[(old["split"] == "val") & alone]["path"].iloc[0]
    labels.record(tmp_path / "labels", base[0], flagged, "alice", flags=("not_a_mushroom",))
    kept, stdout = manifest(base[0], tmp_path / "kept.csv", "--keep-split", str(base[1]),
                            "--labels", str(tmp_path / "labels"))
    pd.testing.assert_frame_equal(placed(kept), placed(old).drop(flagged))
    assert f"gone since: train 0, val 1 ({flagged}), test 0" in stdout


def test_a_near_duplicate_of_a_test_photo_joins_it_in_test(base, photos, tmp_path):
    old = read_manifest(base[1])
    originals = {}
    for genus in GENERA:  # of every split in every genus, so that chance cannot pass it
        for split in ("test", "val", "train"):
            original = old[(old["split"] == split) & (old["genus"] == genus)]["path"].iloc[0]
            originals[f"{genus}/new_{split}.jpg"] = original
            another_copy(photos / original, photos / genus / f"new_{split}.jpg")
    kept, stdout = manifest(photos, tmp_path / "kept.csv", "--keep-split", str(base[1]))
    by_path = kept.set_index("path")
    for new, original in originals.items():
        assert by_path.loc[new, "group"] == by_path.loc[original, "group"]
        assert (by_path.loc[new, ["split", "fold"]] == by_path.loc[original, ["split", "fold"]]
                ).all(), new
    assert (kept.groupby("group")["split"].nunique() == 1).all()
    assert "new photos: train 9, val 9, test 9" in stdout
    pd.testing.assert_frame_equal(placed(kept).loc[old["path"]], placed(old))


def test_new_groups_are_drawn_deterministically_into_every_split(base, photos, tmp_path):
    for genus in GENERA:
        for k in range(12):  # another 12 specimens: as many as the genus had
            make_photo(GENERA.index(genus), seed=50_000 + 100 * GENERA.index(genus) + k).save(
                photos / genus / f"new{k:02d}.jpg", quality=92)
    first, stdout = manifest(photos, tmp_path / "a.csv", "--keep-split", str(base[1]))
    again, _ = manifest(photos, tmp_path / "b.csv", "--keep-split", str(base[1]))
    pd.testing.assert_frame_equal(first, again)
    old = read_manifest(base[1])
    pd.testing.assert_frame_equal(placed(first).loc[old["path"]], placed(old))
    new = first[first["path"].str.contains("/new")]
    assert len(new) == 9 * 12 and set(new["split"]) == {"train", "val", "test"}
    assert set(new.loc[new["split"] != "test", "fold"]) == set(range(DataConfig.n_folds))
    for genus in GENERA:  # the genus as a whole stays near the 70/15/15 target
        counts = first.loc[first["genus"] == genus, "split"].value_counts()
        assert 0.6 <= counts["train"] / counts.sum() <= 0.8, genus
    assert "gone since: train 0, val 0, test 0" in stdout


def test_new_groups_make_up_what_a_genus_lacks():
    genus = pd.Series(["A"] * 20)
    group = pd.Series([f"old{k}" for k in range(10)] + [f"new{k}" for k in range(10)])
    fixed = pd.Series(["train"] * 10 + [None] * 10)  # the kept half all in train
    buckets = grouped_stratified_assign(genus, group, {"train": 0.5, "test": 0.5}, 0, fixed)
    assert list(buckets) == ["train"] * 10 + ["test"] * 10
    assert list(grouped_stratified_assign(genus, group, {"train": 0.5, "test": 0.5}, 0)
                ).count("test") == 10  # the rule without kept photos, drawn anew


def test_a_new_photo_joining_groups_placed_apart_goes_where_most_of_them_are():
    genus = pd.Series(["A"] * 4)
    group = pd.Series(["g"] * 4)  # a new photo bridged two old groups
    fixed = pd.Series(["test", "train", "train", None])
    buckets = grouped_stratified_assign(genus, group, {"train": 0.7, "test": 0.3}, 0, fixed)
    assert list(buckets) == ["test", "train", "train", "train"]


def test_the_kept_split_also_holds_through_train(base, photos, tmp_path, monkeypatch):
    """``train --data --keep-split`` builds its manifest with it (``--manifest`` has its own)."""
    import mushroom.pipeline

    seen = {}

    def fake_run(data, out, cfg, calib, data_cfg, **kw):
        seen["frame"] = mushroom.pipeline.load_frame(Path(data), Path(out), data_cfg,
                                                     kw["labels_dir"], kw["manifest"], None)
    monkeypatch.setattr(mushroom.pipeline, "run", fake_run)
    old = read_manifest(base[1])
    gone = old[old["split"] == "test"]["path"].iloc[0]
    (photos / gone).unlink()
    (tmp_path / "run").mkdir()
    status, _, stderr = run_cli("train", "--data", str(photos), "--out", str(tmp_path / "run"),
                                "--keep-split", str(base[1]))
    assert status == 0, stderr
    pd.testing.assert_frame_equal(placed(seen["frame"]), placed(old).drop(gone))
    status, _, stderr = run_cli("train", "--data", str(photos), "--out", str(tmp_path / "r2"),
                                "--manifest", str(base[1]), "--keep-split", str(base[1]))
    assert status == 2 and "--keep-split is not applied to a --manifest" in stderr


def bad_manifests(old: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    """Files ``--keep-split`` must refuse -> (path, what the one-line error says)."""
    frame = pd.read_csv(old, keep_default_na=False)
    (tmp / "folder").mkdir()
    cases = {"missing": (tmp / "nope.csv", "no such file"),
             "folder": (tmp / "folder", "is a folder"),
             "binary": (tmp / "photo.csv", "not a text (CSV) file"),
             "columns": (tmp / "columns.csv", "missing columns ['fold', 'split']"),
             "other root": (tmp / "other.csv", "none of its"),
             "twice": (tmp / "twice.csv", "is listed twice"),
             "fold": (tmp / "fold.csv", "fold '7' is not -1 (test) or 0..4"),
             "broken": (tmp / "broken.csv", "broken.csv: not a readable CSV (")}
    make_photo(0, seed=1).save(tmp / "photo.csv", "JPEG")
    frame.drop(columns=["split", "fold"]).to_csv(tmp / "columns.csv", index=False)
    frame.assign(path="elsewhere/" + frame["path"], image_id="0" * 16).to_csv(
        tmp / "other.csv", index=False)
    pd.concat([frame, frame.head(1)]).to_csv(tmp / "twice.csv", index=False)
    frame.assign(fold=frame["fold"].where(frame["split"] == "test", 7)).to_csv(
        tmp / "fold.csv", index=False)
    (tmp / "broken.csv").write_text(old.read_text() + 'a,"b\n')
    return cases


def test_a_bad_kept_manifest_is_a_one_line_error_before_the_scan(base, tmp_path):
    for name, (path, message) in bad_manifests(base[1], tmp_path).items():
        out = tmp_path / "out.csv"
        status, _, stderr = run_cli("manifest", "--data", str(base[0]), "--out", str(out),
                                    "--keep-split", str(path))
        errors = [line for line in stderr.splitlines() if "error:" in line]
        assert status == 2 and len(errors) == 1 and message in errors[0], (name, stderr)
        assert "Traceback" not in stderr and not out.exists(), name
        if name != "other root":  # the one that needs the photos to be told
            assert "reading photos" not in stderr, name


@pytest.mark.slow
def test_on_the_real_photos_dropping_one_moves_nobody(real_data):
    frame, _ = build_manifest(real_data)
    amanita = frame.index[frame["genus"] == "Amanita"]
    rest = frame.drop(index=amanita[len(amanita) // 2]).reset_index(drop=True)
    redrawn = assign_splits(rest, DataConfig())
    kept = assign_splits(rest, DataConfig(), old=frame)
    assert (redrawn["split"] != rest["split"]).sum() > 50  # the audit's reshuffle
    assert (kept["split"] == rest["split"]).all() and (kept["fold"] == rest["fold"]).all()
