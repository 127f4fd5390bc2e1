"""``evaluate`` replaces its four outputs as one set: a failed run leaves the last set whole.

Each run scores a different folder, so a new file beside an old one would show.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from PIL import Image

from conftest import run_cli, write_tiny_dataset

OUTPUT_NAMES = ("report.json", "predictions.csv", "confusion_matrix.png", "safety_report.json")


def evaluate(root: Path, checkpoint: Path, per_class: int) -> tuple[int, str, str]:
    """Score a fresh tiny folder of ``per_class`` photos a genus into ``root/out``."""
    data = write_tiny_dataset(root / f"photos{per_class}", per_class=per_class)
    everyday = root / "everyday"
    everyday.mkdir(exist_ok=True)
    Image.new("RGB", (16, 16), (90, 0, 0)).save(everyday / "0.png")
    return run_cli("evaluate", "--data", str(data), "--out", str(root / "out"), "--model",
                   str(checkpoint), "--workers", "0", "--nonmushroom", str(everyday))


@pytest.fixture
def first_set(tmp_path, tiny_checkpoint) -> dict[str, bytes]:
    """A complete first evaluation (3 photos a genus): the bytes of each output."""
    assert evaluate(tmp_path, tiny_checkpoint, 3)[0] == 0
    return {name: (tmp_path / "out" / name).read_bytes() for name in OUTPUT_NAMES}


def full_disk(*args, **kwargs) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def interrupted(*args, **kwargs) -> None:
    raise KeyboardInterrupt


@pytest.mark.slow
def test_a_failed_png_write_leaves_the_previous_set_whole(tmp_path, tiny_checkpoint,
                                                          first_set, monkeypatch):
    monkeypatch.setattr(Figure, "savefig", full_disk)
    status, _, err = evaluate(tmp_path, tiny_checkpoint, 4)
    out = tmp_path / "out"
    assert status == 2
    assert err.splitlines()[-1] == (f"error: cannot write {out / 'confusion_matrix.png'}: "
                                    "No space left on device")
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_NAMES)  # no staging left
    assert {name: (out / name).read_bytes() for name in OUTPUT_NAMES} == first_set
    assert json.loads(first_set["report.json"])["n_images"] == 3 * 9


@pytest.mark.slow
def test_ctrl_c_mid_run_leaves_the_previous_set_whole(tmp_path, tiny_checkpoint, first_set,
                                                      monkeypatch):
    monkeypatch.setattr(Figure, "savefig", interrupted)
    status, _, err = evaluate(tmp_path, tiny_checkpoint, 4)
    assert (status, err.splitlines()[-1]) == (130, "interrupted")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_NAMES)
    assert {name: (out / name).read_bytes() for name in OUTPUT_NAMES} == first_set


@pytest.mark.slow
def test_a_folder_in_a_files_place_stops_before_any_file_is_replaced(tmp_path, tiny_checkpoint,
                                                                      first_set):
    out = tmp_path / "out"
    (out / "confusion_matrix.png").unlink()
    (out / "confusion_matrix.png").mkdir()
    status, _, err = evaluate(tmp_path, tiny_checkpoint, 4)
    assert status == 2
    assert err.splitlines()[-1] == (f"error: cannot write {out / 'confusion_matrix.png'}: "
                                    "Is a directory")
    assert "Traceback" not in err
    assert (out / "confusion_matrix.png").is_dir()
    kept = [name for name in OUTPUT_NAMES if name != "confusion_matrix.png"]
    assert {name: (out / name).read_bytes() for name in kept} == {
        name: first_set[name] for name in kept}


@pytest.mark.slow
def test_a_second_run_replaces_the_whole_set(tmp_path, tiny_checkpoint, first_set):
    assert evaluate(tmp_path, tiny_checkpoint, 4)[0] == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_NAMES)
    assert json.loads((out / "report.json").read_text())["n_images"] == 4 * 9
    assert len((out / "predictions.csv").read_text().splitlines()) == 1 + 4 * 9
    assert json.loads((out / "safety_report.json").read_text()) != json.loads(
        first_set["safety_report.json"])
