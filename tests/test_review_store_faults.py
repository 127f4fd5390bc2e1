"""A label store that cannot be read or written, through the real app and gradio_client.

A hand-edited line that is not a valid row, or a store folder that refuses writes (a
read-only or full disk), must reach the expert as the reason and what to fix, never as
Gradio's bare "Error"; and nothing may be written meanwhile.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from conftest import logged_in
from mushroom import labels

QUIET = (None, None, None)


def shown(expert: Client) -> tuple[str, str]:
    """(image id, genus) of the photo the expert is shown first."""
    out = expert.predict(None, "All", "all", api_name="/review_show")
    return out[0], out[5]["value"]


def test_a_hand_edited_bad_row_is_named_on_every_event(review_app, review_env):
    store = Path(review_env["MUSHROOM_LABELS"]) / labels.STORE_NAME
    alice = logged_in(review_app, "alice")
    image_id, genus = shown(alice)
    alice.predict(image_id, genus, "", "", "All", "all", api_name="/review_confirm")
    good = store.read_bytes()
    row = json.loads(good.splitlines()[0])
    store.write_bytes(good + json.dumps({**row, "genus": "Pleurotus"}).encode() + b"\n")
    try:
        for args, endpoint in (((None, "All", "all"), "/review_show"),
                               ((image_id, genus, "", "", "All", "all"), "/review_confirm"),
                               (("All", "all"), "/review_undo"), ((), "/review_export")):
            with pytest.raises(AppError, match=r"decisions\.jsonl:2: unreadable row "
                               r"\(genus 'Pleurotus'.*correct or remove that line"):
                alice.predict(*args, api_name=endpoint)
        page = ("", {"headers": [], "data": [[]]}, "", "")
        ticked = alice.predict(image_id, "All", "all", *page, api_name="/review_tick")
        assert (ticked["progress"], ticked["votes"], ticked["status"]) == QUIET  # no toast
        assert store.read_bytes().count(b"\n") == 2  # nothing written meanwhile
    finally:
        store.write_bytes(good)
    assert shown(alice)[0]  # the line corrected, the tab works again


def test_a_store_that_refuses_writes_says_so(review_app, review_env):
    lock = Path(review_env["MUSHROOM_LABELS"]) / (labels.STORE_NAME + ".lock")
    bob = logged_in(review_app, "bob")
    image_id, genus = shown(bob)
    before = labels.read_rows(review_env["MUSHROOM_LABELS"])
    lock.unlink(missing_ok=True)
    lock.mkdir()  # opening it for the lock fails as on a read-only disk (even for root)
    try:
        for args, endpoint in (((image_id, genus, "", "", "All", "all"), "/review_confirm"),
                               ((image_id, genus, "", "a note", "All", "all"), "/review_note"),
                               (("All", "all"), "/review_undo")):
            with pytest.raises(AppError, match=r"Nothing was saved: the label store .* cannot "
                               r"be written \(Is a directory\)"):
                bob.predict(*args, api_name=endpoint)
    finally:
        shutil.rmtree(lock)
    assert labels.read_rows(review_env["MUSHROOM_LABELS"]) == before
    bob.predict(image_id, genus, "", "", "All", "all", api_name="/review_confirm")
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == len(before) + 1


def test_a_hand_edited_bad_species_row_is_named_not_a_bare_error(review_app, review_env):
    """A curator's or expert's typo in the store's taxonomy.csv (a genus we lack, a row cut
    short) refused every Review event with Gradio's bare "Error", and ``labels add`` with
    "unknown genus 'Pleurotus'", as if the expert had typed that genus."""
    from mushroom.species import DEFAULT_TAXONOMY

    taxonomy = Path(review_env["MUSHROOM_LABELS"]) / "taxonomy.csv"
    seed = DEFAULT_TAXONOMY.read_bytes()
    line = seed.count(b"\n") + 1
    alice = logged_in(review_app, "alice")
    image_id, genus = shown(alice)
    before = labels.read_rows(review_env["MUSHROOM_LABELS"])
    try:
        for bad, reason in ((b"Pleurotus,Pleurotus ostreatus,edible,x\n", "unknown genus "
                             "'Pleurotus'"), (b"Amanita\n", "too few columns")):
            taxonomy.write_bytes(seed + bad)
            for args, endpoint in (((None, "All", "all"), "/review_show"),
                                   (("Amanita",), "/review_species_choices"),
                                   ((image_id, genus, f"{genus} novus", "", "All", "all"),
                                    "/review_save")):
                with pytest.raises(AppError, match=rf"taxonomy\.csv:{line}: unreadable species "
                                   rf"row \({reason}.*correct or remove that line"):
                    alice.predict(*args, api_name=endpoint)
    finally:
        taxonomy.unlink()
    assert labels.read_rows(review_env["MUSHROOM_LABELS"]) == before  # nothing written
    assert shown(alice)[0]  # the file corrected, the tab works again
