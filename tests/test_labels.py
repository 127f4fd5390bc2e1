"""The label store: validation, path safety, consensus, export neutralization, torn tails."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli, write_tiny_dataset
from mushroom import consensus as cons
from mushroom import decision, labels
from mushroom import species as species_list
from mushroom.data import file_id


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three photos in each of two genera."""
    return write_tiny_dataset(tmp_path / "photos", per_class=3, genera=("Amanita", "Boletus"))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "labels"


def lines(store: Path) -> list[str]:
    return (store / labels.STORE_NAME).read_text().splitlines()


def test_record_fills_audit_fields(photos, store):
    d = labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus",
                      species="Boletus  edulis", note="cap looks brown", model_version="v1")
    row = json.loads(lines(store)[0])
    assert row["image_id"] == file_id(photos / "Amanita/000.jpg")
    assert (row["annotator"], row["action"], row["path"]) == ("alice", "relabel", "Amanita/000.jpg")
    assert (row["previous_genus"], row["genus"], row["species"]) == ("Amanita", "Boletus",
                                                                    "Boletus edulis")
    assert row["time"].endswith("Z") and row["model_version"] == "v1" and row["row_id"] == d.row_id


@pytest.mark.parametrize("kwargs, message", [
    ({"genus": "Agaricuz"}, "genus"),
    ({"genus": "Boletus", "species": "Amanita muscaria"}, "does not belong"),
    ({"genus": "Boletus", "species": "boletus"}, "binomial"),
    ({"flags": ("poisonous",)}, "unknown flag"),
    ({"flags": ("unusable",), "genus": "Boletus"}, "cannot change"),
    ({"note": "x" * (decision.MAX_NOTE + 1)}, "limit"),
    ({"note": "   "}, "empty"),
])
def test_invalid_decisions_are_rejected_and_nothing_is_written(photos, store, kwargs, message):
    with pytest.raises(ValueError, match=message):
        labels.record(store, photos, "Amanita/000.jpg", "alice", **kwargs)
    assert labels.read_rows(store) == []


@pytest.mark.parametrize("note, kept", [
    ("\u202eevil", "evil"),  # an unclosed RTL override reversed the text after the note
    ("ring\u2066 on\u2069 stem", "ring on stem"),  # bidi isolates
    ("ca\u200bp\u2060 w\ufeffet", "cap wet"),  # zero-width space, word joiner, BOM
    ("a\x00b\x85c\u2028d\u2029e", "a b c d e"),  # NUL, C1 control, line/paragraph separators
    ("broken \ud83c emoji", "broken \ufffd emoji"),  # a lone surrogate: UTF-8 cannot store it
    ("Lepiota? \U0001f44d\u200d\U0001f9d1 \u05e2\u05d1\u05e8\u05d9\u05ea", None),  # kept as is
])
def test_notes_lose_invisible_and_unstorable_characters(photos, store, tmp_path, note, kept):
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita", note=note)
    kept = note if kept is None else kept
    assert labels.read_rows(store)[0].note == kept
    assert len((store / labels.STORE_NAME).read_bytes().splitlines()) == 1
    assert cons.export_csv(store, tmp_path / "export.csv") == 1  # the store stays readable
    exported = pd.read_csv(tmp_path / "export.csv", dtype=str, keep_default_na=False)
    assert exported["notes"].tolist() == [kept]


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "-rf", "ali\nce"])
def test_bad_annotator_names_are_rejected(photos, store, name):
    with pytest.raises(ValueError, match="annotator"):
        labels.record(store, photos, "Amanita/000.jpg", name, genus="Amanita")


@pytest.mark.parametrize("rel", ["../outside.jpg", "/etc/passwd", "Amanita/../../outside.jpg",
                                 "..\\outside.jpg", "C:/Windows/win.ini", "", "Amanita/\x00.jpg"])
def test_path_traversal_is_refused(photos, store, rel):
    (photos.parent / "outside.jpg").write_bytes((photos / "Amanita/000.jpg").read_bytes())
    with pytest.raises(ValueError, match="data folder"):  # refused for its path, not later
        labels.record(store, photos, rel, "alice", genus="Amanita")
    assert labels.read_rows(store) == []


def test_symlink_out_of_the_data_folder_is_refused(photos, store, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes((photos / "Amanita/000.jpg").read_bytes())
    (photos / "Amanita/link.jpg").symlink_to(secret)
    with pytest.raises(ValueError, match="outside"):
        decision.resolve_image(photos, "Amanita/link.jpg")
    resolved = decision.resolve_image(photos, "Amanita/000.jpg")
    assert resolved == (photos / "Amanita/000.jpg").resolve()


def test_stored_rows_with_bad_fields_are_caught_when_read(photos, store):
    bad = decision.Decision("alice", "confirm", "../../etc", "x.jpg", "Amanita", "Amanita")
    with pytest.raises(ValueError, match="image id"):
        decision.validate(bad)
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    row = json.loads((store / labels.STORE_NAME).read_text().splitlines()[0])
    with (store / labels.STORE_NAME).open("a") as fh:  # edited by hand: a genus we lack
        fh.write(json.dumps({**row, "genus": "Pleurotus", "row_id": "x"}) + "\n")
    with pytest.raises(ValueError, match=":2: unreadable row.*Pleurotus"):
        labels.read_rows(store)


OLD_ROW = {"annotator": "alice", "action": "relabel", "image_id": "0123456789abcdef",
           "path": "Amanita/x.jpg", "previous_genus": "Amanita", "genus": "Boletus"}


def test_a_row_with_nulls_for_its_optional_fields_reads_as_empty(store):
    """Another writer (a script, an older tool) may write null where we write "": that
    crashed every reader with an AttributeError traceback."""
    store.mkdir()
    row = {**OLD_ROW, "species": None, "note": None, "model_version": None, "flags": None}
    (store / labels.STORE_NAME).write_text(json.dumps(row) + "\n")
    (only,) = labels.read_rows(store)
    assert (only.genus, only.species, only.flags, only.note) == ("Boletus", "", [], "")


@pytest.mark.parametrize("field, value", [("species", 5), ("flags", "unusable"),
                                          ("genus", None), ("note", ["a"])])
def test_a_row_with_a_field_of_the_wrong_type_is_named_not_a_crash(store, field, value):
    store.mkdir()
    (store / labels.STORE_NAME).write_text(json.dumps({**OLD_ROW, field: value}) + "\n")
    with pytest.raises(labels.StoreError, match=f":1: unreadable row \\({field} "):
        labels.read_rows(store)


def test_majority_wins_and_ties_go_to_the_most_recent(photos, store):
    rel = "Amanita/001.jpg"
    labels.record(store, photos, rel, "alice", genus="Boletus")
    labels.record(store, photos, rel, "bob", genus="Amanita")
    agreed = cons.consensus(labels.read_rows(store))[file_id(photos / rel)]
    assert agreed.genus == "Amanita" and len(agreed.votes) == 2  # 1-1 tie: bob voted last
    labels.record(store, photos, rel, "carol", genus="Boletus", species="Boletus edulis")
    agreed = cons.consensus(labels.read_rows(store))[file_id(photos / rel)]
    assert (agreed.genus, agreed.species) == ("Boletus", "Boletus edulis")
    assert agreed.agreement == pytest.approx(2 / 3)


def test_an_expert_counts_once_with_their_latest_vote(photos, store):
    rel = "Amanita/002.jpg"
    labels.record(store, photos, rel, "alice", genus="Boletus")
    labels.record(store, photos, rel, "bob", genus="Boletus")
    labels.record(store, photos, rel, "alice", flags=("unusable",))
    agreed = cons.consensus(labels.read_rows(store))[file_id(photos / rel)]
    assert [v.annotator for v in agreed.votes] == ["bob", "alice"]
    assert agreed.excluded and agreed.flags == ["unusable"]  # 1-1 tie: alice's flag is newest


def test_undo_withdraws_the_latest_decision_only(photos, store):
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    labels.record(store, photos, "Boletus/000.jpg", "alice", flags=("not_a_mushroom",))
    labels.record(store, photos, "Boletus/001.jpg", "bob", genus="Amanita")
    undone = labels.undo_last(store, "alice")
    assert undone.path == "Boletus/000.jpg" and undone.action == "undo"
    agreed = cons.consensus(labels.read_rows(store))
    assert set(agreed) == {file_id(photos / "Amanita/000.jpg"), file_id(photos / "Boletus/001.jpg")}
    assert labels.undo_last(store, "alice").path == "Amanita/000.jpg"
    assert labels.undo_last(store, "alice") is None
    assert len(lines(store)) == 5  # append-only: nothing was deleted


def test_new_species_enters_the_taxonomy_only_as_a_valid_binomial(photos, store):
    assert "Amanita novaspecies" not in species_list.species_choices(store, "Amanita")
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita",
                  species="Amanita novaspecies")
    assert "Amanita novaspecies" in species_list.species_choices(store, "Amanita")
    assert "Amanita muscaria" in species_list.species_choices(store, "Amanita")  # seed list kept
    with pytest.raises(ValueError):
        labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita",
                      species="Boletus novus")
    assert "Boletus novus" not in species_list.species_choices(store, "Boletus")


@pytest.mark.parametrize("name", ["Amanita " + "a" * 41, "Amanita a-", "Amanita -ab",
                                  "Amanita a--b", "Amanita muscaria var. " + "b" * 41])
def test_malformed_new_names_never_enter_the_taxonomy(photos, store, name):
    taxonomy = store / "taxonomy.csv"
    before = taxonomy.read_bytes() if taxonomy.exists() else b""
    with pytest.raises(ValueError, match="epithet|binomial"):
        labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita", species=name)
    assert (taxonomy.read_bytes() if taxonomy.exists() else b"") == before
    assert labels.read_rows(store) == []


def test_a_store_with_a_name_from_before_the_epithet_rule_still_loads(store):
    store.mkdir(parents=True, exist_ok=True)
    (store / "taxonomy.csv").write_text("genus,species,edibility,notes\n"
                                        "Amanita,Amanita a-,unknown,old\n")
    assert species_list.species_choices(store, "Amanita") == ["Amanita a-"]


@pytest.mark.parametrize("fragment", [
    "Amanita,Amanita semitorn,unkn",  # cut in the notes: a whole name, never committed
    "Amanita,Amanita semi",  # cut in the name: a truncated binomial
    "Amani",  # cut in the genus: a row that does not validate
])
def test_a_species_row_torn_by_a_killed_writer_is_skipped_then_cut_off(store, fragment):
    store.mkdir(parents=True)
    seed = species_list.DEFAULT_TAXONOMY.read_text(encoding="utf-8")
    taxonomy = store / "taxonomy.csv"
    taxonomy.write_text(seed + fragment, encoding="utf-8")  # a writer died mid-row
    # readers skip the fragment: no half-written name is offered, and reading never fails
    assert not any(name.startswith("Amanita semi")
                   for name in species_list.species_choices(store, "Amanita"))
    assert species_list.ensure_species(store, "Boletus", "Boletus novus", "alice")
    with taxonomy.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    seed_rows = list(csv.reader(io.StringIO(seed, newline="")))
    assert rows[:-1] == seed_rows  # every complete row intact, none glued to the fragment
    assert rows[-1][:3] == ["Boletus", "Boletus novus", "unknown"] and len(rows[-1]) == 4
    assert "Boletus novus" in species_list.species_choices(store, "Boletus")
    assert (store / species_list.TORN_NAME).read_text(encoding="utf-8") == fragment + "\n"


@pytest.mark.parametrize("bad, reason", [
    ("Pleurotus,Pleurotus ostreatus,edible,x\n", r":3: unreadable species row \(unknown genus"),
    ("Amanita\n", r":3: unreadable species row \(too few columns"),
    ("Amanita,Amanita sp. nov. x,unknown,\n", r":3: unreadable species row \(species"),
])
def test_a_bad_species_row_is_named_by_file_and_line(store, bad, reason):
    store.mkdir()
    (store / "taxonomy.csv").write_text("genus,species,edibility,notes\n"
                                        "Amanita,Amanita muscaria,deadly,\n" + bad)
    with pytest.raises(labels.StoreError, match=r"taxonomy\.csv" + reason):
        species_list.species_choices(store, "Amanita")


def test_a_species_list_without_its_header_is_named(store):
    store.mkdir()
    (store / "taxonomy.csv").write_text("Amanita,Amanita muscaria,deadly,\n")
    with pytest.raises(labels.StoreError, match=r"taxonomy\.csv:1: the header must read "
                       "genus,species,edibility,notes"):
        species_list.species_choices(store, "Amanita")


def test_seed_taxonomy_covers_metadata_hints_and_every_genus():
    from mushroom.taxonomy import GENERA, load_taxonomy

    species = load_taxonomy(species_list.DEFAULT_TAXONOMY)
    assert {s.genus for s in species} == set(GENERA)
    names = {s.species for s in species}
    assert {"Amanita muscaria", "Boletus edulis", "Amanita phalloides"} <= names
    assert all(s.edibility for s in species)
    # With the default store (the repository's labels/) this file is appended to, and an
    # unterminated last row would be taken for one a killed writer tore, and cut off.
    assert species_list.DEFAULT_TAXONOMY.read_bytes().endswith(b"\n")


def test_export_neutralizes_formula_injection(photos, store, tmp_path):
    payloads = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]
    for i, note in enumerate(payloads):
        rel = f"{'Amanita' if i < 3 else 'Boletus'}/{i % 3:03d}.jpg"
        labels.record(store, photos, rel, "alice", genus=rel.split("/")[0], note=note)
    out = tmp_path / "export.csv"
    assert cons.export_csv(store, out) == len(payloads)
    with out.open(newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    notes = pd.read_csv(out, dtype=str, keep_default_na=False)["notes"]
    assert sorted(notes) == sorted("'" + p.strip() for p in payloads)  # text kept, made inert


def test_neutralize_prefixes_only_dangerous_cells():
    assert cons.neutralize("=1+1") == "'=1+1"
    assert cons.neutralize("@cmd") == "'@cmd"
    assert cons.neutralize("Amanita muscaria") == "Amanita muscaria"
    assert cons.neutralize(3) == "3"


def test_reader_ignores_a_torn_tail_and_the_next_writer_repairs_it(photos, store):
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    path = store / labels.STORE_NAME
    with path.open("ab") as fh:  # what a writer killed half-way through its write leaves
        fh.write(b'{"annotator": "bob", "action": "conf')
    assert len(labels.read_rows(store)) == 1
    labels.record(store, photos, "Amanita/001.jpg", "carol", genus="Amanita")
    assert [r.annotator for r in labels.read_rows(store)] == ["alice", "carol"]
    assert all(json.loads(line) for line in lines(store))
    assert b'"action": "conf' in (store / labels.TORN_NAME).read_bytes()


def test_a_last_row_saved_without_its_newline_is_kept_by_the_next_writer(photos, store):
    # A hand edit saved by an editor that drops the final newline: the row is whole, not torn
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    labels.record(store, photos, "Amanita/001.jpg", "bob", genus="Boletus")
    path = store / labels.STORE_NAME
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    labels.record(store, photos, "Amanita/002.jpg", "carol", genus="Amanita")
    assert [r.annotator for r in labels.read_rows(store)] == ["alice", "bob", "carol"]
    assert cons.current(store)[file_id(photos / "Amanita/001.jpg")].genus == "Boletus"
    assert not (store / labels.TORN_NAME).exists()


def test_a_corrupt_complete_line_is_reported_not_skipped(photos, store):
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    with (store / labels.STORE_NAME).open("a") as fh:
        fh.write("garbage\n")
    with pytest.raises(ValueError, match=":2:"):
        labels.read_rows(store)


def test_a_line_nested_too_deeply_is_named_not_a_crash(photos, store):
    """json.loads raises RecursionError, no ValueError, on "[[[[...": it reached every
    reader (the Review tab's bare "Error", a traceback from every labels command)."""
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    with (store / labels.STORE_NAME).open("a") as fh:
        fh.write("[" * 100_000 + "\n")
    with pytest.raises(labels.StoreError, match=":2: unreadable row \\(JSON nested too deeply"):
        labels.read_rows(store)


def test_apply_consensus_relabels_excludes_and_adds_species(photos, store):
    rows = [{"path": f"{g}/{k:03d}.jpg", "genus": g, "species": "hint" if k == 0 else "",
             "label_source": "folder"} for g in ("Amanita", "Boletus") for k in range(3)]
    frame = pd.DataFrame(rows)
    frame["image_id"] = [file_id(photos / p) for p in frame["path"]]
    frame["group"] = "g" + frame["image_id"]  # no near-duplicates
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    labels.record(store, photos, "Amanita/001.jpg", "alice", genus="Amanita",
                  species="Amanita muscaria")
    labels.record(store, photos, "Boletus/002.jpg", "alice", flags=("not_a_mushroom",))
    out, counts = labels.apply_consensus(frame, store)
    by_path = out.set_index("path")
    assert "Boletus/002.jpg" not in by_path.index and len(out) == 5
    assert by_path.loc["Amanita/000.jpg", ["genus", "species", "label_source"]].tolist() == [
        "Boletus", "", "expert"]  # the Amanita hint no longer applies
    assert by_path.loc["Amanita/001.jpg", "species"] == "Amanita muscaria"
    untouched = by_path.loc["Boletus/000.jpg", ["species", "label_source"]].tolist()
    assert untouched == ["hint", "folder"]
    assert counts["genus corrections"] == 1 and counts["excluded (flagged)"] == 1
    assert counts["species labels"] == 1 and counts["reviewed photos"] == 3


def test_a_tied_poisonous_vs_edible_vote_is_held_out_of_training(photos, store):
    """Alice calls a Boletus photo Amanita, then Bob calls it Boletus: the tie rule shows
    Bob's label (the latest), but training must not learn the photo as edible Boletus while
    an expert says deadly Amanita, nor flip with whoever clicked last. A third vote settles
    it."""
    frame = pd.DataFrame([{"path": f"Boletus/{k:03d}.jpg", "genus": "Boletus", "species": "",
                           "label_source": "folder"} for k in range(3)])
    frame["image_id"] = [file_id(photos / p) for p in frame["path"]]
    frame["group"] = "g" + frame["image_id"]  # no near-duplicates
    labels.record(store, photos, "Boletus/000.jpg", "alice", genus="Amanita")
    labels.record(store, photos, "Boletus/000.jpg", "bob", genus="Boletus")
    labels.record(store, photos, "Boletus/001.jpg", "bob", genus="Boletus")  # no dispute
    assert cons.current(store)[frame["image_id"][0]].genus == "Boletus"  # shown: the latest
    out, counts = labels.apply_consensus(frame, store)
    assert out["path"].tolist() == ["Boletus/001.jpg", "Boletus/002.jpg"]
    assert counts["held out (tied votes)"] == 1 and counts["reviewed photos"] == 2
    labels.record(store, photos, "Boletus/000.jpg", "carol", genus="Amanita")
    out, counts = labels.apply_consensus(frame, store)
    assert out.set_index("path").loc["Boletus/000.jpg", "genus"] == "Amanita"  # 2 to 1
    assert counts["held out (tied votes)"] == 0 and counts["genus corrections"] == 1


def test_store_file_is_append_only_across_writes(photos, store):
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    first = (store / labels.STORE_NAME).read_bytes()
    labels.record(store, photos, "Amanita/001.jpg", "alice", genus="Amanita")
    assert (store / labels.STORE_NAME).read_bytes().startswith(first)


def test_one_expert_cannot_flood_a_photo_with_decisions(photos, store, monkeypatch):
    # Every row in force on a photo is shown to each expert who opens it.
    monkeypatch.setattr(labels, "MAX_PER_PHOTO", 5)
    for i in range(5):
        labels.record(store, photos, "Amanita/000.jpg", "alice", note=f"note {i}")
    with pytest.raises(ValueError, match="5 decisions and notes in force on this photo") as err:
        labels.record(store, photos, "Amanita/000.jpg", "alice", note="one more")
    # Also the CLI's message, and a phone's toast: no "[u]" key hint, which means nothing there.
    assert str(err.value).endswith("may have: undo some first")
    with pytest.raises(ValueError, match="in force"):
        labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    labels.record(store, photos, "Amanita/000.jpg", "bob", note="others still can")
    labels.record(store, photos, "Amanita/001.jpg", "alice", note="and on other photos")
    labels.undo_last(store, "alice")
    labels.undo_last(store, "alice")  # an undo frees a place
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    assert len(labels.read_rows(store)) == 10


@pytest.mark.parametrize("genus, species, flags, expected", [
    (None, "", ("unusable",), "flag"),  # flags win over everything else
    (None, "", (), "note"),  # no genus and no species: a note
    ("Amanita", "", (), "confirm"),  # the current genus again
    (None, "Amanita muscaria", (), "confirm"),  # the species already recorded
    ("Amanita", "Amanita phalloides", (), "relabel"),  # another species is a change
    ("Boletus", "", (), "relabel"),  # another genus
])
def test_a_decision_is_named_from_its_fields(genus, species, flags, expected):
    assert decision.infer_action(genus, species, flags, previous="Amanita",
                                 kept_species="Amanita muscaria") == expected


def _hand_written_undo(store: Path, who: str, target: labels.Decision,
                       image_id: str | None = None) -> None:
    """Append an undo row as a script or a hand edit would, bypassing undo_last."""
    row = decision.Decision(who, "undo", image_id or target.image_id, target.path,
                            target.genus, target.genus, undoes=target.row_id,
                            time="2026-01-01T00:00:00Z", row_id=uuid.uuid4().hex)
    with open(store / labels.STORE_NAME, "ab") as f:
        f.write(labels.row_line(row))


def test_an_undo_cancels_only_its_own_experts_row_on_its_own_photo(photos, store):
    alice = labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    mine = labels.record(store, photos, "Amanita/001.jpg", "mallory", genus="Amanita")
    _hand_written_undo(store, "mallory", alice)  # someone else's vote: ignored
    _hand_written_undo(store, "mallory", mine, image_id=alice.image_id)  # another photo's id
    for agreed in (cons.consensus(labels.read_rows(store)), cons.current(store)):
        assert [v.annotator for v in agreed[alice.image_id].votes] == ["alice"]
        assert agreed[alice.image_id].genus == "Boletus"
        assert [v.annotator for v in agreed[mine.image_id].votes] == ["mallory"]
    assert [r.row_id for r in cons.rows_in_force(store, alice.image_id)] == [alice.row_id]
    assert cons.last_in_force(store, "alice").row_id == alice.row_id
    assert labels.undo_last(store, "alice").undoes == alice.row_id  # her own undo still works
    assert alice.image_id not in cons.current(store)
    assert [r.annotator for r in cons.stray_undos(labels.read_rows(store))] == ["mallory"] * 2


def test_labels_export_warns_of_undo_rows_that_cancel_nothing(photos, store, tmp_path):
    alice = labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    status, out, err = run_cli("labels", "export", "--labels", str(store),
                               "--out", str(tmp_path / "a.csv"))
    assert status == 0 and "warning" not in err
    _hand_written_undo(store, "mallory", alice)
    status, out, err = run_cli("labels", "export", "--labels", str(store),
                               "--out", str(tmp_path / "b.csv"))
    assert status == 0 and "wrote" in out
    assert "warning: 1 undo row(s) cancel nothing" in err and "mallory's undo" in err
    exported = pd.read_csv(tmp_path / "b.csv", dtype=str, keep_default_na=False)
    assert exported["votes"].tolist() == ["alice: Boletus"]
