"""Genus folders a user's own collection may have: named after a species, or with a stray
space. Their photos are left out, so the cleaning report says what to rename or move."""

from __future__ import annotations

import pytest

from conftest import run_cli, write_tiny_dataset


@pytest.mark.parametrize("folder, said", [
    ("Amanita muscaria", "ignored folders: Amanita muscaria (a species of Amanita: move it "
                         "into Amanita/, whose sub-folders are read)"),
    ("Boletus ", "ignored folders: 'Boletus ' (a space around Boletus: rename it Boletus)"),
])
def test_a_species_or_spaced_genus_folder_says_what_to_do(tmp_path, folder, said):
    root = write_tiny_dataset(tmp_path / "photos", per_class=1)
    genus = folder.strip().split()[0]
    (root / genus).rename(root / folder)
    status, stdout, _ = run_cli("manifest", "--data", str(root), "--out", str(tmp_path / "m.csv"))
    assert status == 0 and f"  {said}\n" in stdout


def test_a_species_folder_moved_into_its_genus_is_read(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos", per_class=1)
    (root / "Amanita").rename(tmp_path / "Amanita muscaria")
    (root / "Amanita").mkdir()
    (tmp_path / "Amanita muscaria").rename(root / "Amanita" / "Amanita muscaria")
    status, stdout, _ = run_cli("manifest", "--data", str(root), "--out", str(tmp_path / "m.csv"))
    assert status == 0 and "kept 9" in stdout and "ignored" not in stdout
