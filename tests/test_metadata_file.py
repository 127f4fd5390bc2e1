"""A broken ``metadata.csv`` beside the genus folders is named as that file.

The file is optional and never given on the command line, so pandas' own message ("Error
tokenizing data", "The truth value of a Series is ambiguous") or "check the paths given as
CSV files" left the user looking for a CSV they never passed.
"""

from __future__ import annotations

import pytest

from conftest import run_cli, write_tiny_dataset

BROKEN = {
    "unclosed-quote": b'file,genus\n"Amanita/000.jpg,Amanita\n',
    "utf16-excel": "file,species_hint\nAmanita/000.jpg,Amanita muscaria\n".encode("utf-16"),
    "listed-twice": b"file,species_hint\nAmanita/000.jpg,Amanita muscaria\n"
                    b"Amanita/000.jpg,Amanita phalloides\n",
}


@pytest.mark.parametrize("content", BROKEN.values(), ids=BROKEN.keys())
@pytest.mark.parametrize("command", ["manifest", "evaluate"])
def test_a_broken_metadata_csv_is_named_in_one_line(tmp_path, tiny_checkpoint, content, command):
    root = write_tiny_dataset(tmp_path / "photos", per_class=1)
    (root / "metadata.csv").write_bytes(content)
    out = tmp_path / ("m.csv" if command == "manifest" else "out")
    extra = ["--model", str(tiny_checkpoint)] if command == "evaluate" else []
    status, _, stderr = run_cli(command, "--data", str(root), "--out", str(out), *extra)
    last = stderr.splitlines()[-1]
    assert status == 2 and not out.exists()
    assert last.startswith(f"error: cannot read {root / 'metadata.csv'} (optional: species "
                           "hints and near-duplicate groups; fix or remove it): ")
    if "twice" in str(content):
        assert last.endswith("Amanita/000.jpg is listed twice")
