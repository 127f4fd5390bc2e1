"""Author citations pasted after a species name: split off by a pure function, and the bare
name stored; junk that only looks like a citation is still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli, write_tiny_dataset
from mushroom import labels
from mushroom import species as species_list
from mushroom.authority import split_authority
from mushroom.taxonomy import validate_species


@pytest.mark.parametrize("typed, bare, cited", [
    ("Amanita muscaria (L.) Lam.", "Amanita muscaria", "(L.) Lam."),
    ("Russula emetica (Schaeff.) Pers.", "Russula emetica", "(Schaeff.) Pers."),
    ("Boletus edulis Bull.", "Boletus edulis", "Bull."),
    ("Boletus edulis Bull. ex Fr.", "Boletus edulis", "Bull. ex Fr."),
    ("Boletus  edulis Bull.:Fr.", "Boletus edulis", "Bull.:Fr."),
    ("Amanita phalloides (Vaill. ex Fr.) Link", "Amanita phalloides", "(Vaill. ex Fr.) Link"),
    ("Hygrocybe coccinea (Schaeff.) P. Kumm.", "Hygrocybe coccinea", "(Schaeff.) P. Kumm."),
    ("Lactarius deliciosus (L.) Gray 1821", "Lactarius deliciosus", "(L.) Gray 1821"),
    ("Amanita caesarea (Scop.) Pers., 1801", "Amanita caesarea", "(Scop.) Pers., 1801"),
    ("Agaricus campestris L. f.", "Agaricus campestris", "L. f."),
    ("Boletus edulis Quél.", "Boletus edulis", "Quél."),
    ("Amanita muscaria (L.) Lam. var. formosa (Pers.) Bertill.",
     "Amanita muscaria var. formosa", "(L.) Lam. (Pers.) Bertill."),
    ("Amanita muscaria f. alba Peck", "Amanita muscaria f. alba", "Peck"),
    ("Russula cf. emetica (Schaeff.) Pers.", "Russula cf. emetica", "(Schaeff.) Pers."),
    # no citation, or trailing text that is none: whole, for validate_species to judge
    ("Amanita  muscaria", "Amanita muscaria", ""),
    ("Amanita muscaria Unknown", "Amanita muscaria Unknown", ""),
    ("Amanita muscaria Spec.", "Amanita muscaria Spec.", ""),
    ("Amanita muscaria 1783", "Amanita muscaria 1783", ""),
    ("Amanita muscaria Lam. 12", "Amanita muscaria Lam. 12", ""),
    ("Amanita muscaria (L.", "Amanita muscaria (L.", ""),
    ("Amanita muscaria L.)", "Amanita muscaria L.)", ""),
    ("Amanita muscaria ()", "Amanita muscaria ()", ""),
    ("Amanita muscaria (ex L.)", "Amanita muscaria (ex L.)", ""),
    ("Amanita muscaria L. formosa", "Amanita muscaria L. formosa", ""),
    ("Amanita Sect. Phalloideae", "Amanita Sect. Phalloideae", ""),
    ("Amanita Muscaria Lam.", "Amanita Muscaria Lam.", ""),
    ("Amanita", "Amanita", ""),
])
def test_split_authority(typed, bare, cited):
    assert split_authority(typed) == (bare, cited)


@pytest.mark.parametrize("genus, typed, bare", [
    ("Amanita", "Amanita muscaria (L.) Lam.", "Amanita muscaria"),
    ("Russula", "Russula emetica (Schaeff.) Pers.", "Russula emetica"),
    ("boletus", "boletus edulis Bull.", "Boletus edulis"),
    ("Amanita", "Amanita muscaria (L.) Lam. ssp. flavivolvata Singer",
     "Amanita muscaria subsp. flavivolvata")])
def test_a_cited_name_validates_as_its_bare_name(genus, typed, bare):
    assert validate_species(genus, typed) == bare


@pytest.mark.parametrize("genus, typed, said", [
    ("Amanita", "Amanita spec (L.) Lam.", "not a binomial"),
    ("Amanita", "Amanita sect. Lam.", "not a binomial"),
    ("Amanita", "Amanita unknown Pers.", "not a binomial"),
    ("Amanita", "Amanita muscaria Unknown", "not a binomial"),
    ("Amanita", "Amanita muscaria 1783", "not a binomial"),
    ("Amanita", "Amanita muscaria2 (L.) Lam.", "not a binomial"),
    ("Amanita", "Boletus edulis Bull.", "does not belong to genus Amanita"),
    ("Russula", "Russula cf. emetica (Schaeff.) Pers.", "hedges the name")])
def test_junk_is_still_refused(genus, typed, said):
    with pytest.raises(ValueError, match=said):
        validate_species(genus, typed)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))


def test_the_store_keeps_the_bare_name_and_the_cli_says_the_citation_went(photos, tmp_path):
    store = tmp_path / "labels"
    status, out, err = run_cli("labels", "add", "--labels", str(store), "--data", str(photos),
                               "--image", "Amanita/000.jpg", "--genus", "Amanita", "--species",
                               "Amanita muscaria (L.) Lam.", "--annotator", "alice")
    assert status == 0, err
    assert labels.read_rows(store)[-1].species == "Amanita muscaria"
    assert "author citation “(L.) Lam.” dropped" in out
    status, out, err = run_cli("labels", "add", "--labels", str(store), "--data", str(photos),
                               "--image", "Boletus/000.jpg", "--genus", "Boletus", "--species",
                               "Boletus pseudoedulis B. Ortiz", "--annotator", "alice")
    assert status == 0, err
    assert "Boletus pseudoedulis" in species_list.species_choices(store, "Boletus")
    assert not any("Ortiz" in s for s in species_list.species_choices(store, "Boletus"))
    status, out, err = run_cli("labels", "add", "--labels", str(store), "--data", str(photos),
                               "--image", "Boletus/000.jpg", "--genus", "Boletus", "--species",
                               "Boletus edulis", "--annotator", "bob")
    assert status == 0 and "citation" not in out


def test_the_review_tab_saves_the_bare_name_and_says_the_citation_was_dropped(review_app,
                                                                             review_env):
    from conftest import logged_in

    alice = logged_in(review_app, "alice")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    out = alice.predict(image_id, "Russula", "Russula emetica (Schaeff.) Pers.", "", "All",
                        "all", api_name="/review_save")
    row = labels.read_rows(review_env["MUSHROOM_LABELS"])[-1]
    assert (row.image_id, row.genus, row.species) == (image_id, "Russula", "Russula emetica")
    assert "Saved: relabelled" in out[9] and "→ Russula emetica (`" in out[9]
    assert "Author citation “(Schaeff.) Pers.” dropped: the list keeps the bare name" in out[9]
