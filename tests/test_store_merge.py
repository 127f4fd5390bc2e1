"""``python -m mushroom labels merge``: a downloaded store (a Space's, say) brought into the
repository's ``labels/``, appended, validated, locked and safe to repeat.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, write_tiny_dataset
from mushroom import consensus, labels
from mushroom.cli import main
from mushroom.species import retire_species, species_choices
from mushroom.store_merge import snapshot


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "photos", per_class=3, genera=("Amanita", "Boletus"))


def store_bytes(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in store.iterdir() if p.suffix in (".jsonl", ".csv")}


def space_download(photos: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A Space's store after a session (relabels with species, a new species, a retired
    typo, flags, a note, an undo) and its download."""
    space = tmp_path / "space"
    labels.record(space, photos, "Amanita/000.jpg", "alice", genus="Boletus",
                  species="Boletus edulis")
    labels.record(space, photos, "Amanita/001.jpg", "alice", genus="Boletus",
                  species="Boletus typoxx")
    labels.record(space, photos, "Amanita/001.jpg", "alice", genus="Boletus",
                  species="Boletus novus")
    retire_species(space, "Boletus", "Boletus typoxx", "alice")
    labels.record(space, photos, "Boletus/000.jpg", "bob", flags=("unusable",))
    labels.record(space, photos, "Boletus/001.jpg", "bob", note="=looks odd")
    labels.record(space, photos, "Boletus/002.jpg", "bob", genus="Amanita")
    labels.undo_last(space, "bob")
    snapshot(space, tmp_path / "download.zip")
    return space, tmp_path / "download.zip"


def test_a_download_merges_into_a_store_with_its_own_rows_and_again_adds_nothing(
        photos, tmp_path):
    space, download = space_download(photos, tmp_path)
    repo = tmp_path / "repo"  # the repository's labels/, with a decision of its own
    mine = labels.record(repo, photos, "Amanita/002.jpg", "carol", genus="Boletus")
    assert main(["labels", "merge", "--labels", str(repo), "--from", str(download)]) == 0
    space_rows = labels.read_rows(space)
    assert labels.read_rows(repo) == [mine, *space_rows]  # time and row id kept
    assert species_choices(repo, "Boletus") == species_choices(space, "Boletus")
    assert "Boletus novus" in species_choices(repo, "Boletus")
    merged = {r["path"]: r for r in consensus.export_rows(repo)}
    expected = consensus.export_rows(space)  # every photo the Space settled, as it did
    assert [merged[r["path"]] for r in expected] == expected
    assert merged["Amanita/002.jpg"]["genus"] == "Boletus"
    before = store_bytes(repo)
    assert main(["labels", "merge", "--labels", str(repo), "--from", str(download)]) == 0
    assert main(["labels", "merge", "--labels", str(repo), "--from", str(space)]) == 0
    assert store_bytes(repo) == before  # nothing twice


def test_a_later_download_adds_only_what_is_new(photos, tmp_path, capsys):
    space, download = space_download(photos, tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    main(["labels", "merge", "--labels", str(repo), "--from", str(download)])
    # the Space goes on: the typo is typed again (re-added), a new vote
    labels.record(space, photos, "Amanita/002.jpg", "alice", genus="Boletus",
                  species="Boletus typoxx")
    snapshot(space, tmp_path / "later.zip")
    capsys.readouterr()
    assert main(["labels", "merge", "--labels", str(repo), "--from",
                 str(tmp_path / "later.zip")]) == 0
    n = len(labels.read_rows(space))
    assert f"1 new decision(s), {n - 1} already there, 1 species-list row(s)" in \
        capsys.readouterr().out
    assert labels.read_rows(repo) == labels.read_rows(space)
    assert "Boletus typoxx" in species_choices(repo, "Boletus")  # added, retired, added


def test_a_curated_species_keeps_the_seeds_row(photos, tmp_path):
    # An expert's "added by" row for a name the curated list has (in git) must not be
    # appended after it: the last row decides, and would hide the curated edibility.
    space = tmp_path / "space"
    labels.record(space, photos, "Amanita/000.jpg", "alice", genus="Boletus",
                  species="Boletus novus")
    with (space / "taxonomy.csv").open("a") as fh:  # as if a curator listed it in that seed
        fh.write("Boletus,Boletus muscarius,edible,curated\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "taxonomy.csv").write_text("genus,species,edibility,notes\n"
                                       "Boletus,Boletus novus,inedible,curated since\n")
    main(["labels", "merge", "--labels", str(repo), "--from", str(space)])
    assert (repo / "taxonomy.csv").read_text().splitlines()[1:] == [
        "Boletus,Boletus novus,inedible,curated since"]


@pytest.mark.parametrize("damage, message", [
    ("bad row", "unreadable row"),
    ("no row id", "has no row_id"),
    ("not a zip", "neither a zip"),
    ("other zip", "not a label store download"),
])
def test_a_bad_download_is_refused_and_writes_nothing(photos, tmp_path, capsys, damage,
                                                      message):
    space, download = space_download(photos, tmp_path)
    rows = (space / labels.STORE_NAME).read_bytes().splitlines(keepends=True)
    source = space
    if damage == "bad row":  # the last row valid JSON, but with a genus outside the nine
        bad = json.loads(rows[-1]) | {"genus": "Galerina"}
        (space / labels.STORE_NAME).write_bytes(b"".join(rows[:-1]) +
                                                json.dumps(bad).encode() + b"\n")
    elif damage == "no row id":
        bad = json.loads(rows[-1]) | {"row_id": ""}
        (space / labels.STORE_NAME).write_bytes(b"".join(rows[:-1]) +
                                                json.dumps(bad).encode() + b"\n")
    elif damage == "not a zip":
        source = tmp_path / "download.csv"
        source.write_text("image_id,path\n")
    else:
        source = tmp_path / "other.zip"
        with zipfile.ZipFile(source, "w") as zf:
            zf.writestr("decisions.jsonl", (space / labels.STORE_NAME).read_bytes())
    repo = tmp_path / "repo"
    labels.record(repo, photos, "Amanita/002.jpg", "carol", genus="Boletus")
    before = store_bytes(repo)
    assert main(["labels", "merge", "--labels", str(repo), "--from", str(source)]) == 2
    assert message in capsys.readouterr().err
    assert store_bytes(repo) == before


def test_merges_and_a_writer_at_once_leave_each_row_once(photos, tmp_path):
    space, download = space_download(photos, tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    merges = [subprocess.Popen([sys.executable, "-m", "mushroom", "labels", "merge",
                                "--labels", str(repo), "--from", str(download)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for _ in range(3)]
    for k in range(5):  # an expert voting meanwhile, through the same lock
        labels.record(repo, photos, "Amanita/002.jpg", "carol", genus="Boletus",
                      note=f"vote {k}")
    for p in merges:
        assert p.wait(timeout=240) == 0, p.stderr.read()
    ids = [r.row_id for r in labels.read_rows(repo)]
    assert len(ids) == len(set(ids)) == len(labels.read_rows(space)) + 5
    assert (repo / "taxonomy.csv").read_text().count("Boletus novus") == 1


def test_a_missing_target_is_not_created(tmp_path, photos, capsys):
    _, download = space_download(photos, tmp_path)
    typo = tmp_path / "lables"
    assert main(["labels", "merge", "--labels", str(typo), "--from", str(download)]) == 2
    assert "label store not found" in capsys.readouterr().err and not typo.exists()


def test_a_space_store_takes_in_the_repository_decisions_at_each_start(photos, tmp_path):
    from mushroom.store_merge import seed_space_store

    repo, storage = tmp_path / "repo", tmp_path / "data"
    labels.record(repo, photos, "Amanita/000.jpg", "alice", genus="Boletus",
                  species="Boletus novus")
    storage.mkdir()
    space = {"SPACE_ID": "someone/mushroom"}
    assert seed_space_store(space, storage, repo).startswith("labels: 1 decisions")
    assert [r.row_id for r in labels.read_rows(storage / "labels")] == [
        r.row_id for r in labels.read_rows(repo)]
    assert "Boletus novus" in species_choices(storage / "labels", "Boletus")
    labels.record(storage / "labels", photos, "Amanita/001.jpg", "bob", genus="Amanita")
    assert seed_space_store(space, storage, repo).startswith("labels: 0 decisions")
    assert len(labels.read_rows(storage / "labels")) == 2  # the Space's own vote stays
    # off a Space, or with a store named explicitly, nothing is copied
    assert seed_space_store({}, storage, repo) == ""
    assert seed_space_store({**space, "MUSHROOM_LABELS": str(tmp_path / "x")}, storage,
                            repo) == ""
    with (repo / labels.STORE_NAME).open("a") as fh:
        fh.write("hand-edited\n")
    before = store_bytes(storage / "labels")
    assert "were not copied" in seed_space_store(space, storage, repo)  # and no crash
    assert store_bytes(storage / "labels") == before
