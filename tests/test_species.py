"""Retiring a species an expert added by mistake: one appended row, never a deletion."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from conftest import write_tiny_dataset
from mushroom import labels
from mushroom import species as species_list
from mushroom.taxonomy import GENERA, load_taxonomy, validate_species

TYPO, RIGHT = "Amanita muscria", "Amanita muscaria"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "labels"


def vote(store: Path, photos: Path, who: str, species: str = "",
         photo: str = "Amanita/000.jpg") -> None:
    labels.record(store, photos, photo, who, genus="Amanita", species=species)


def rows(store: Path) -> list[list[str]]:
    with (store / "taxonomy.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def files(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}


def test_retiring_an_addition_appends_one_row_and_takes_it_off_the_list(photos, store):
    vote(store, photos, "alice", TYPO)  # the typo enters the list...
    assert TYPO in species_list.species_choices(store, "Amanita")
    vote(store, photos, "alice", RIGHT)  # ...and the expert corrects the vote
    before = (store / "taxonomy.csv").read_bytes()
    decisions = (store / labels.STORE_NAME).read_bytes()
    row = species_list.retire_species(store, "Amanita", TYPO, "bob")
    assert (row.species, row.edibility) == (TYPO, "retired")
    assert row.notes.startswith("retired by bob on ")
    after = (store / "taxonomy.csv").read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1
    assert rows(store)[-1] == ["Amanita", TYPO, "retired", row.notes]
    assert (store / labels.STORE_NAME).read_bytes() == decisions  # no vote touched
    assert TYPO not in species_list.species_choices(store, "Amanita")
    assert RIGHT in species_list.species_choices(store, "Amanita")
    # the file still validates and keeps both rows of the name
    assert [s.edibility for s in load_taxonomy(store / "taxonomy.csv") if s.species == TYPO] == [
        "unknown", "retired"]


def test_a_seed_species_is_refused_and_nothing_is_written(photos, store):
    store.mkdir()
    with pytest.raises(ValueError, match="curated seed list"):  # store without its own copy
        species_list.retire_species(store, "Amanita", RIGHT, "alice")
    assert not (store / "taxonomy.csv").exists()
    vote(store, photos, "alice", TYPO)
    vote(store, photos, "alice")  # the store now has its own copy of the seed
    before = files(store)
    with pytest.raises(ValueError, match="curated seed list"):
        species_list.retire_species(store, "Amanita", RIGHT, "alice")
    assert files(store) == before


def test_a_name_the_seed_gained_after_the_store_copied_it_is_the_seed_s(photos, store, tmp_path,
                                                                      monkeypatch):
    vote(store, photos, "alice", TYPO)
    vote(store, photos, "alice")
    seed = tmp_path / "seed.csv"  # the curators later list the name in git
    seed.write_text(species_list.DEFAULT_TAXONOMY.read_text(encoding="utf-8")
                    + f"Amanita,{TYPO},unknown,a real name after all\n", encoding="utf-8")
    monkeypatch.setattr(species_list, "DEFAULT_TAXONOMY", seed)
    with pytest.raises(ValueError, match="curated seed list"):
        species_list.retire_species(store, "Amanita", TYPO, "alice")


def test_the_default_store_is_its_own_seed_and_still_retires_additions(photos, store,
                                                                       monkeypatch):
    store.mkdir()  # the store is labels/ in the repository: its taxonomy *is* the seed
    own = store / "taxonomy.csv"
    own.write_bytes(species_list.DEFAULT_TAXONOMY.read_bytes())
    monkeypatch.setattr(species_list, "DEFAULT_TAXONOMY", own.resolve())
    vote(store, photos, "alice", TYPO)
    vote(store, photos, "alice")
    with pytest.raises(ValueError, match="curated seed list"):
        species_list.retire_species(store, "Amanita", RIGHT, "alice")
    species_list.retire_species(store, "Amanita", TYPO, "alice")
    assert TYPO not in species_list.species_choices(store, "Amanita")


def test_unknown_already_retired_and_malformed_names_are_refused(photos, store):
    vote(store, photos, "alice", TYPO)
    vote(store, photos, "alice")
    before = files(store)
    with pytest.raises(ValueError, match="not on the species list"):
        species_list.retire_species(store, "Amanita", "Amanita nusquam", "alice")
    with pytest.raises(ValueError, match="does not belong"):
        species_list.retire_species(store, "Boletus", TYPO, "alice")
    with pytest.raises(ValueError, match="annotator"):
        species_list.retire_species(store, "Amanita", TYPO, "bad name")
    assert files(store) == before
    species_list.retire_species(store, "Amanita", TYPO, "alice")
    again = files(store)
    with pytest.raises(ValueError, match="already removed.*retired by alice"):
        species_list.retire_species(store, "Amanita", TYPO, "bob")
    assert files(store) == again


def test_a_name_still_voted_by_any_expert_is_refused_until_they_revote(photos, store):
    vote(store, photos, "alice", RIGHT)
    vote(store, photos, "carol", RIGHT)
    vote(store, photos, "bob", TYPO)  # outvoted: not the consensus, but still bob's vote
    before = files(store)
    with pytest.raises(ValueError, match=r"still named by 1 current vote.*bob.*re-vote"):
        species_list.retire_species(store, "Amanita", TYPO, "alice")
    assert files(store) == before
    assert TYPO in species_list.species_choices(store, "Amanita")
    labels.undo_last(store, "bob")  # a withdrawn vote names nothing
    species_list.retire_species(store, "Amanita", TYPO, "alice")
    assert TYPO not in species_list.species_choices(store, "Amanita")


def test_typing_a_retired_name_again_adds_it_back_with_a_new_row(photos, store):
    vote(store, photos, "alice", TYPO)
    vote(store, photos, "alice")
    species_list.retire_species(store, "Amanita", TYPO, "alice")
    vote(store, photos, "bob", TYPO, photo="Amanita/001.jpg")  # meant after all
    assert rows(store)[-1][:3] == ["Amanita", TYPO, "unknown"]
    assert rows(store)[-1][3].startswith("added by bob on ")
    assert TYPO in species_list.species_choices(store, "Amanita")
    assert not species_list.ensure_species(store, "Amanita", TYPO, "bob")  # known again
    vote(store, photos, "bob", photo="Amanita/001.jpg")
    species_list.retire_species(store, "Amanita", TYPO, "bob")  # and retirable again
    assert TYPO not in species_list.species_choices(store, "Amanita")


def test_a_retirement_after_a_torn_row_cuts_the_fragment_off(photos, store):
    vote(store, photos, "alice", TYPO)
    vote(store, photos, "alice")
    taxonomy = store / "taxonomy.csv"
    before = taxonomy.read_bytes()
    with taxonomy.open("ab") as fh:
        fh.write(b"Amanita,Amanita semi")  # a writer died mid-row
    species_list.retire_species(store, "Amanita", TYPO, "alice")
    raw = taxonomy.read_bytes()
    assert raw.startswith(before) and raw.endswith(b"\n")
    assert all(len(r) == 4 for r in csv.reader(io.StringIO(raw.decode(), newline="")))
    assert rows(store)[-1][:3] == ["Amanita", TYPO, "retired"]
    assert (store / species_list.TORN_NAME).read_bytes() == b"Amanita,Amanita semi\n"
    assert TYPO not in species_list.species_choices(store, "Amanita")


def test_a_mistyped_store_folder_is_not_created(tmp_path):
    typo = tmp_path / "lables"
    with pytest.raises(FileNotFoundError, match="label store not found"):
        species_list.retire_species(typo, "Amanita", TYPO, "alice")
    assert not typo.exists()


@pytest.mark.parametrize("genus", GENERA)
def test_a_malformed_name_is_shown_an_example_of_the_chosen_genus(genus):
    """Seen in the Review tab: a Russula photo refused "boletus edulis" with "write “Russula”
    then the epithet in lower case, as in “Boletus edulis”", an example of another genus."""
    with pytest.raises(ValueError, match="is not a binomial") as refused:
        validate_species(genus, genus.lower() + " Edulis")
    example = re.search(r"as in “([^”]+)”", str(refused.value)).group(1)
    assert example.split()[0] == genus
    seed = {s.species for s in load_taxonomy(species_list.DEFAULT_TAXONOMY)}
    assert validate_species(genus, example) == example and example in seed


@pytest.mark.parametrize("typed, rule", [
    ("Boletus édulis", "in plain ASCII letters a-z (“é” is not one"),
    ("Boletus edulis var. réticulatus", "in plain ASCII letters a-z (“é” is not one"),
    ("Boletus edulıs", "in plain ASCII letters a-z (“ı” is not one"),
    ("Boletus edulis2", "in letters a-z only (“2” is not one"),
    ("Boletus Edulis", "in lower case"),
])
def test_a_refused_epithet_is_told_the_rule_it_broke(typed, rule):
    """"Boletus édulis" was told to write "the epithet in lower case", which it is: the
    rule it broke is plain ASCII letters."""
    with pytest.raises(ValueError, match="is not a binomial") as refused:
        validate_species("Boletus", typed)
    assert f"write “Boletus” then the epithet {rule}" in str(refused.value)
    assert "lower case" not in str(refused.value) or rule == "in lower case"


@pytest.mark.parametrize("typed, said", [
    *[(t, "vote for the genus only") for t in ["Amanita sp", "Amanita spp", "amanita cf",
                                                "Amanita aff", "Amanita spec", "Amanita sect",
                                                "Amanita unknown", "Amanita muscaria group"]],
    *[(t, "subsp., var. or f.") for t in ["Amanita muscaria subsp. sp",
                                           "Amanita muscaria var. cf",
                                           "Amanita muscaria f. indet",
                                           "Amanita muscaria var. var"]]])
def test_an_abbreviation_in_an_epithet_s_place_is_no_name(photos, store, typed, said):
    """"Amanita sp" was taken as a species, and "Russula emetica subsp. sp" saved as a name:
    each joined every expert's list."""
    vote(store, photos, "alice")
    before = files(store)
    with pytest.raises(ValueError, match=f"is not a binomial.*{re.escape(said)}"):
        vote(store, photos, "bob", typed)
    assert files(store) == before
    choices = species_list.species_choices(store, "Amanita")
    assert typed not in choices
    assert all(s.split()[1] not in ("sp", "spp", "cf", "aff") for s in choices)


def test_an_abbreviation_added_before_the_rule_can_still_be_retired(photos, store):
    vote(store, photos, "alice", TYPO)  # makes the store's own copy of the seed list
    with (store / "taxonomy.csv").open("a", encoding="utf-8") as fh:
        fh.write("Amanita,Amanita sp,unknown,added by alice on 2026-01-01\n")
    assert "Amanita sp" in species_list.species_choices(store, "Amanita")
    species_list.retire_species(store, "Amanita", "Amanita sp", "alice")
    assert "Amanita sp" not in species_list.species_choices(store, "Amanita")


@pytest.mark.parametrize("typed, kept", [
    ("Amanita muscaria ssp. flavivolvata", "Amanita muscaria subsp. flavivolvata"),
    ("Amanita muscaria subsp flavivolvata", "Amanita muscaria subsp. flavivolvata"),
    ("Amanita muscaria var guessowii", "Amanita muscaria var. guessowii"),
    ("Amanita muscaria forma alba", "Amanita muscaria f. alba"),
    ("Amanita muscaria fo. alba", "Amanita muscaria f. alba"),
    ("Amanita muscaria var. guessowii", "Amanita muscaria var. guessowii")])
def test_a_rank_in_any_usual_spelling_is_kept_as_index_fungorum_writes_it(photos, store,
                                                                           typed, kept):
    """"ssp." (as many field guides write subspecies) was refused as "not a binomial"."""
    vote(store, photos, "alice", typed)
    assert labels.read_rows(store)[-1].species == kept
    assert kept in species_list.species_choices(store, "Amanita")
    vote(store, photos, "bob", kept)  # one name, not two spellings of it
    assert species_list.species_choices(store, "Amanita").count(kept) == 1


@pytest.mark.parametrize("typed, hedge", [("Amanita cf. pantherina", "cf."),
                                          ("Amanita aff. pantherina", "aff."),
                                          ("Amanita cf pantherina", "cf")])
def test_a_hedged_name_is_refused_saying_what_to_save_instead(photos, store, typed, hedge):
    """"Russula cf. emetica" was refused as "not a binomial", which it holds."""
    with pytest.raises(ValueError) as refused:
        vote(store, photos, "alice", typed)
    said = str(refused.value)
    assert "not a binomial" not in said
    assert "save “Amanita pantherina” if the photo shows it" in said
    assert f"write “{hedge} pantherina” in the note" in said
    assert labels.read_rows(store) == []


def test_invisible_characters_pasted_with_a_name_are_dropped_not_echoed():
    """A name copied from a web page often carries a zero-width space or a bidi mark: it
    was refused as "not a binomial" although it reads exactly as one, and the refusal
    echoed an unclosed U+202E, which reverses the rest of the message (notes drop these
    characters already)."""
    from mushroom.taxonomy import validate_species

    assert validate_species("Boletus", "Boletus edulis\u200b") == "Boletus edulis"
    assert validate_species("Boletus", "\ufeffBoletus\u2060 edulis\u202e") == "Boletus edulis"
    with pytest.raises(ValueError) as err:
        validate_species("Boletus", "Boletus \u202eEDULIS")
    assert "\u202e" not in str(err.value) and "Boletus EDULIS" in str(err.value)
