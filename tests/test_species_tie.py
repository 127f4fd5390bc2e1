"""Two experts who agree on the genus but name different species: training must not take
the species of whoever clicked last, as it does not take a tied genus."""

from __future__ import annotations

import pandas as pd

from conftest import run_cli, write_tiny_dataset


def _vote(store, photo, who: str, species: str = "") -> None:
    extra = ("--species", species) if species else ()
    status, _, err = run_cli("labels", "add", "--labels", str(store), "--image", str(photo),
                             "--genus", "Amanita", *extra, "--annotator", who)
    assert status == 0, err


def test_tied_species_votes_leave_the_species_empty_and_are_reported(tmp_path):
    data = write_tiny_dataset(tmp_path / "photos", per_class=4)
    store = tmp_path / "labels"
    tied, settled = data / "Amanita/000.jpg", data / "Amanita/001.jpg"
    _vote(store, tied, "alice", "Amanita pantherina")
    _vote(store, tied, "bob", "Amanita muscaria")  # the latest: it would have won the tie
    _vote(store, settled, "alice", "Amanita pantherina")
    _vote(store, settled, "bob", "Amanita muscaria")
    _vote(store, settled, "carol", "Amanita muscaria")
    status, out, err = run_cli("manifest", "--data", str(data), "--labels", str(store),
                               "--out", str(tmp_path / "m.csv"))
    assert status == 0, err
    rows = pd.read_csv(tmp_path / "m.csv", keep_default_na=False).set_index("path")
    assert rows.loc["Amanita/000.jpg", ["genus", "species"]].tolist() == ["Amanita", ""]
    assert rows.loc["Amanita/001.jpg", "species"] == "Amanita muscaria"
    assert "labels: species labels: 1\n" in out
    assert ("labels: species left empty (the species votes tie; a further vote settles it): "
            "1: Amanita/000.jpg") in out


def test_species_disputes_count_as_disputes_in_the_export_and_the_report(tmp_path):
    """A species dispute a majority settled (2 muscaria, 1 pantherina) is a dispute like a
    genus one: the export's agreement says 0.67, not 1.00, and the cleaning report counts it
    among the disputed photos whose majority applies; a species tie shows 0.50 in the export
    and is reported as left empty, not as settled by a majority."""
    data = write_tiny_dataset(tmp_path / "photos", per_class=4)
    store = tmp_path / "labels"
    tied, settled, plain = (data / f"Amanita/00{i}.jpg" for i in range(3))
    _vote(store, tied, "alice", "Amanita pantherina")
    _vote(store, tied, "bob", "Amanita muscaria")
    for who, species in (("alice", "Amanita pantherina"), ("bob", "Amanita muscaria"),
                         ("carol", "Amanita muscaria")):
        _vote(store, settled, who, species)
    _vote(store, plain, "alice")  # a genus-only vote agrees with any species
    _vote(store, plain, "bob", "Amanita muscaria")
    status, _, err = run_cli("labels", "export", "--labels", str(store), "--out",
                             str(tmp_path / "c.csv"))
    assert status == 0, err
    export = pd.read_csv(tmp_path / "c.csv", keep_default_na=False, dtype=str).set_index("path")
    assert export.loc["Amanita/000.jpg", "agreement"] == "0.50"
    assert export.loc["Amanita/001.jpg", ["species", "agreement"]].tolist() == [
        "Amanita muscaria", "0.67"]
    assert export.loc["Amanita/002.jpg", ["species", "agreement"]].tolist() == [
        "Amanita muscaria", "1.00"]
    status, out, err = run_cli("manifest", "--data", str(data), "--labels", str(store),
                               "--out", str(tmp_path / "m.csv"))
    assert status == 0, err
    assert "labels: disputed (votes disagree; the majority applies): 1\n" in out
