"""A misspelt genus is named with the genus it nearly spells wherever an expert types one:
``labels add --genus``, a species' first word, the Review tab's genus box (as photo folders
already were, :func:`mushroom.layout.folder_hint`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client.exceptions import AppError

from conftest import logged_in, run_cli, write_tiny_dataset
from mushroom import labels


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "photos", per_class=1, genera=("Amanita", "Boletus"))


@pytest.mark.parametrize("flags, said", [
    (["--genus", "Amanitta"], "error: genus 'Amanitta' (Amanita misspelt?) must be one of "),
    (["--genus", "bolettus", "--species", "Boletus edulis"],
     "error: genus 'bolettus' (Boletus misspelt?) must be one of "),
    (["--genus", "Boletus", "--species", "Boletuss edulis"],
     "Boletuss (Boletus misspelt?) is none of the nine genera"),
    (["--genus", "Xylaria"], "error: genus 'Xylaria' must be one of Agaricus, Amanita, "),
])
def test_labels_add_names_the_genus_a_typo_nearly_spells(photos, tmp_path, flags, said):
    store = tmp_path / "labels"
    status, out, err = run_cli("labels", "add", "--labels", str(store), "--data", str(photos),
                               "--image", "Amanita/000.jpg", *flags, "--annotator", "alice")
    assert status == 2 and said in err and err.count("\n") == 1
    assert not (store / labels.STORE_NAME).exists()


def test_the_review_tab_names_the_genus_a_typo_nearly_spells(review_app, review_env):
    alice = logged_in(review_app, "alice")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    with pytest.raises(AppError, match=r"not 'Amanitta' \(Amanita misspelt\?\)\."):
        alice.predict(image_id, "Amanitta", "", "", "All", "all", api_name="/review_save")
    with pytest.raises(AppError, match=r"not 'Xylaria'\.$"):
        alice.predict(image_id, "Xylaria", "", "", "All", "all", api_name="/review_save")
