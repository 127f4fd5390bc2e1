"""A run's saved outputs (``outputs.npz``) cut short: by Ctrl-C or a full disk while
``train`` or ``calibrate`` wrote them. ``calibrate --run`` used to end in a traceback
(``BadZipFile``, ``EOFError``); now the file is written whole or not at all, and a damaged
one (an older version's) is named with the way out."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import run_cli
from mushroom.pipeline import save_outputs


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
