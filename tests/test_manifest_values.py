"""A hand-edited manifest: a genus or split no command writes is refused by its row.

``train --manifest`` used to stop on ``tuple.index(x): x not in tuple``, and a row whose
split was spelt ``validation`` was neither trained on nor scored, without a word.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_cli
from mushroom.taxonomy import GENERA


@pytest.fixture
def manifest(tiny_data, tmp_path):
    csv = tmp_path / "m.csv"
    status, _, _ = run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))
    assert status == 0
    return csv


@pytest.mark.parametrize("column, value", [("genus", "Morchella"), ("split", "validation")])
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_an_unknown_genus_or_split_is_refused_naming_the_row(tiny_data, manifest, tmp_path,
                                                            tiny_checkpoint, column, value,
                                                            command):
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    frame.loc[3, column] = value
    frame.to_csv(manifest, index=False)
    extra = (["--epochs", "1,0,0,0", "--input-size", "32"] if command == "train"
             else ["--model", str(tiny_checkpoint), "--split", "val"])
    status, _, stderr = run_cli(command, "--data", str(tiny_data), "--manifest", str(manifest),
                                "--out", str(tmp_path / "out"), "--workers", "0", *extra)
    assert status == 2
    assert stderr.strip().splitlines()[-1] == (
        f"error: {manifest} line 5 ({frame.loc[3, 'path']}): {column} {value!r} is not one of "
        + (", ".join(GENERA) if column == "genus" else "train, val, test"))
    assert not (tmp_path / "out" / "model.pt").exists()
    assert not (tmp_path / "out" / "report.json").exists()
