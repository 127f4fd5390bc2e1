"""Getting the label store off the machine that holds it, and keeping it on a Space.

A Space's own disk is wiped at each restart: the Review tab stores decisions in its
persistent storage when one is attached, warns when none is, and lets an expert download
the store itself (decisions and species list) as a zip that ``train --labels`` reads.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from conftest import write_tiny_dataset
from mushroom import consensus, labels
from mushroom.paths import DEFAULT_LABELS, space_storage
from mushroom.species import taxonomy_path
from mushroom.store_merge import snapshot


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))


def unzipped(archive: Path, where: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["labels/decisions.jsonl", "labels/taxonomy.csv"]
        # unzip gives each file these permissions: readable by whoever trains on them
        assert {zi.external_attr >> 16 for zi in zf.infolist()} == {0o644}
        zf.extractall(where)
    return where / "labels"


def test_the_zip_is_a_store_with_every_complete_row_and_the_new_species(photos, tmp_path):
    store = tmp_path / "labels"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus",
                  species="Boletus novus")  # a new binomial: the store gets its own taxonomy
    labels.record(store, photos, "Boletus/001.jpg", "bob", flags=("unusable",))
    with (store / labels.STORE_NAME).open("ab") as fh:  # a writer caught mid-append
        fh.write(b'{"annotator": "carol", "act')
    assert snapshot(store, tmp_path / "s.zip") == 2
    copy = unzipped(tmp_path / "s.zip", tmp_path / "out")
    assert [r.row_id for r in labels.read_rows(copy)] == [r.row_id for r in
                                                          labels.read_rows(store)]
    assert (copy / labels.STORE_NAME).read_bytes().endswith(b"\n")  # the fragment is left out
    assert "Boletus novus" in (copy / "taxonomy.csv").read_text()
    consensus.export_csv(store, tmp_path / "a.csv")
    consensus.export_csv(copy, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_a_store_without_own_species_ships_the_seed_list(photos, tmp_path):
    store = tmp_path / "labels"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita")
    assert taxonomy_path(store) == DEFAULT_LABELS / "taxonomy.csv"
    snapshot(store, tmp_path / "s.zip")
    copy = unzipped(tmp_path / "s.zip", tmp_path / "out")
    assert (copy / "taxonomy.csv").read_bytes() == (DEFAULT_LABELS / "taxonomy.csv").read_bytes()


def test_an_empty_or_missing_store_has_nothing_to_download(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no decision yet"):
        snapshot(tmp_path / "empty", tmp_path / "s.zip")
    with pytest.raises(FileNotFoundError):
        snapshot(tmp_path / "missing", tmp_path / "s.zip")
    assert not (tmp_path / "s.zip").exists()


def test_persistent_storage_counts_only_on_a_space(tmp_path):
    space = {"SPACE_ID": "someone/mushroom"}
    assert space_storage(space, tmp_path) == tmp_path
    assert space_storage({}, tmp_path) is None  # a laptop's /data is not a Space's storage
    assert space_storage(space, tmp_path / "not-attached") is None


def test_on_a_space_with_storage_the_review_tab_keeps_decisions_there(tmp_path, monkeypatch):
    from mushroom.ui.review_context import context_from_env
    from mushroom.ui.review_signin import setup_notes

    for var in ("MUSHROOM_LABELS", "MUSHROOM_REVIEW_DATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/mushroom")
    write_tiny_dataset(tmp_path / "mushrooms", per_class=1, genera=("Amanita",))
    ctx = context_from_env(tmp_path)
    assert (ctx.labels_dir, ctx.data_dir) == (tmp_path / "labels", tmp_path / "mushrooms")
    assert "persistent storage" not in setup_notes(ctx)
    monkeypatch.setenv("MUSHROOM_LABELS", str(tmp_path / "mine"))  # an explicit folder wins
    assert context_from_env(tmp_path).labels_dir == tmp_path / "mine"


def test_on_a_space_without_storage_the_review_tab_warns(monkeypatch, tmp_path):
    from mushroom import paths
    from mushroom.ui.review_context import context_from_env
    from mushroom.ui.review_signin import setup_notes

    monkeypatch.delenv("MUSHROOM_LABELS", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/mushroom")
    monkeypatch.setattr(paths, "SPACE_STORAGE", tmp_path / "not-attached")
    ctx = context_from_env()
    assert ctx.labels_dir == DEFAULT_LABELS
    assert "wiped when the Space restarts" in setup_notes(ctx)
    monkeypatch.delenv("SPACE_ID")
    assert "persistent storage" not in setup_notes(context_from_env())


def test_a_first_new_species_written_during_the_download_keeps_the_zip_consistent(
        photos, tmp_path, monkeypatch):
    # The first new species of a store creates its own taxonomy.csv and then writes the
    # decision. A download must never zip that decision beside the seed list without it:
    # unzipped, the species would be missing from the list experts pick from.
    import mushroom.species
    from mushroom.species import species_choices

    store = tmp_path / "labels"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita")
    real, struck = mushroom.species.taxonomy_path, []

    def writer_strikes(labels_dir):  # another expert's Save, between the two files' reads
        found = real(labels_dir)
        if not struck:
            struck.append(True)
            labels.record(store, photos, "Boletus/000.jpg", "bob", genus="Boletus",
                          species="Boletus novus")
        return found

    monkeypatch.setattr(mushroom.species, "taxonomy_path", writer_strikes)
    rows = snapshot(store, tmp_path / "s.zip")
    copy = unzipped(tmp_path / "s.zip", tmp_path / "out")
    monkeypatch.undo()
    assert struck
    named = {r.species for r in labels.read_rows(copy) if r.species}
    assert named <= set(species_choices(copy, "Boletus"))
    assert rows == len(labels.read_rows(copy))  # the count is of the rows in the zip
