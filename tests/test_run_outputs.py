"""A run's saved outputs (``outputs.npz``) cut short: by Ctrl-C or a full disk while
``train`` or ``calibrate`` wrote them. ``calibrate --run`` used to end in a traceback
(``BadZipFile``, ``EOFError``); now the file is written whole or not at all, and a damaged
one (an older version's) is named with the way out."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from mushroom.cv import save_oof
from mushroom.pipeline import save_outputs
from mushroom.taxonomy import GENERA


@pytest.fixture
def run(tiny_data, tiny_checkpoint, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(tiny_checkpoint, folder / "model.pt")
    status, _, _ = run_cli("manifest", "--data", str(tiny_data), "--out",
                           str(folder / "manifest.csv"))
    assert status == 0
    return folder


@pytest.mark.parametrize("name, cut", [("outputs.npz", 0.5), ("outputs.npz", 0),
                                       ("oof.npz", 0.5)])
def test_a_damaged_outputs_file_is_named_with_the_way_out(run, name, cut):
    np.savez_compressed(run / "outputs.npz", val_logits=np.zeros((2, 9)))
    whole = (run / "outputs.npz").read_bytes()
    (run / name).write_bytes(whole[:int(len(whole) * cut)])
    status, _, stderr = run_cli("calibrate", "--run", str(run))
    assert status == 2 and stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"error: {run / name} is damaged (")
    assert ("--data" if name == "outputs.npz" else "--cv") in stderr


def test_outputs_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    save_outputs(tmp_path, {"val": {"logits": np.ones((2, 9))}}, None)
    before = (tmp_path / "outputs.npz").read_bytes()

    def disk_fills(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_fills)
    with pytest.raises(OSError, match="cannot write .*outputs.npz: No space left on device"):
        save_outputs(tmp_path, {"val": {"logits": np.zeros((2, 9))}}, None)
    assert (tmp_path / "outputs.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs.npz"]


class CutOff:
    """Arrays whose values never come, as when Ctrl-C lands while they are being written."""

    def __array__(self, dtype=None, copy=None):
        raise KeyboardInterrupt


def test_the_out_of_fold_pair_is_written_whole_or_not_at_all(tmp_path):
    """``oof.npz`` was written in place after ``oof_predictions.csv``: a Ctrl-C mid-write
    left a torn or partial ``oof.npz`` beside a table of the new predictions."""
    frame = pd.DataFrame({"path": [f"Boletus/{i}.jpg" for i in range(4)],
                          "image_id": [f"b{i}" for i in range(4)], "genus": "Boletus",
                          "fold": [0, 1, 0, 1]})

    def oof(value: float) -> dict:
        logits = np.tile(np.arange(len(GENERA), dtype=np.float32) * value, (4, 1))
        return {"logits": logits,
                "targets": np.array([1, 1, 1, 1]), "index": frame.index.to_numpy()}

    save_oof(tmp_path, frame, {**oof(0.0), "poison_logits": np.zeros(4)}, None)
    before = {name: (tmp_path / name).read_bytes() for name in ("oof_predictions.csv", "oof.npz")}
    assert len(pd.read_csv(tmp_path / "oof_predictions.csv")) == 4
    assert sorted(np.load(tmp_path / "oof.npz")) == ["index", "logits", "poison_logits", "targets"]
    with pytest.raises(KeyboardInterrupt):
        save_oof(tmp_path, frame, {**oof(1.0), "poison_logits": CutOff()}, None)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no staging left
