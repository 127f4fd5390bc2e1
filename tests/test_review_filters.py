"""The Review tab's "Show" modes over a queue built from real store rows on a tmp folder,
and what the progress line and an empty list say in each mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from mushroom import labels, review
from mushroom.review_filters import MODES, check_mode, select
from mushroom.ui.review_view import empty_text, progress_text

SOFT, SURE, CONF = "Amanita/soft_disagree.jpg", "Amanita/sure_disagree.jpg", "Boletus/confident.jpg"


@pytest.fixture
def voted(case_data, tmp_path):
    """alice and bob disagree on SOFT; alice alone voted on SURE; carol alone on CONF
    (``case_data``: five photos scored by an OOF file)."""
    data, oof = case_data
    store = tmp_path / "labels"
    review.build_queue(data, store / review.CACHE_NAME, None, oof)
    labels.record(store, data, SOFT, "alice", genus="Boletus")
    labels.record(store, data, SOFT, "bob", genus="Amanita")
    labels.record(store, data, SURE, "alice", genus="Boletus")
    labels.record(store, data, CONF, "carol", flags=("unusable",))
    return data, store


def paths(store: Path, mode: str, user: str, genus: str = "All") -> set[str]:
    return set(select(review.load_queue(store / review.CACHE_NAME, store), genus, mode,
                      user)["path"])


def test_each_mode_keeps_the_photos_it_names(voted):
    _, store = voted
    everything = {SOFT, SURE, CONF, "Amanita/uncertain.jpg", "Boletus/low_margin.jpg"}
    assert paths(store, "all", "bob") == everything
    assert paths(store, "unreviewed", "bob") == everything - {SOFT, SURE, CONF}
    assert paths(store, "unreviewed by me", "bob") == everything - {SOFT}
    assert paths(store, "disputed", "bob") == {SOFT}  # 1-1: the votes disagree
    assert paths(store, "disputed", "alice", genus="Boletus") == set()  # bob's tie-break won
    assert paths(store, "disputed", "alice", genus="Amanita") == {SOFT}
    # One vote each, but a second opinion must come from someone else than the voter.
    assert paths(store, "needs a second opinion", "bob") == {SURE, CONF}
    assert paths(store, "needs a second opinion", "alice") == {CONF}
    assert paths(store, "needs a second opinion", "carol") == {SURE}
    assert paths(store, "needs a second opinion", "dave", genus="Boletus") == {SURE, CONF}


def test_agreeing_second_vote_and_undo_move_photos_between_modes(voted):
    data, store = voted
    labels.record(store, data, SURE, "bob", genus="Boletus")  # agrees with alice
    assert SURE not in paths(store, "needs a second opinion", "carol")
    assert SURE not in paths(store, "disputed", "carol")
    labels.undo_last(store, "bob")  # withdraws the agreeing vote: one opinion again
    assert SURE in paths(store, "needs a second opinion", "carol")
    labels.undo_last(store, "bob")  # withdraws bob's vote on SOFT: no longer disputed
    assert paths(store, "disputed", "carol") == set()
    assert SOFT in paths(store, "needs a second opinion", "bob")  # alice's vote stands
    assert SOFT not in paths(store, "needs a second opinion", "alice")


def test_an_unknown_mode_is_refused_with_the_valid_ones(voted):
    _, store = voted
    queue = review.load_queue(store / review.CACHE_NAME, store)
    with pytest.raises(ValueError, match="Unknown review filter 'reviewed'") as err:
        select(queue, "All", "reviewed", "bob")
    assert all(repr(m) in str(err.value) for m in MODES)
    assert check_mode("disputed") == "disputed"


def test_progress_counts_the_new_modes_and_empty_lists_say_why(voted):
    _, store = voted
    queue = review.load_queue(store / review.CACHE_NAME, store)
    assert progress_text(queue, "All", "bob", "disputed").endswith("· **1 disputed**")
    assert progress_text(queue, "Boletus", "bob", "needs a second opinion").endswith(
        "· **2 need a second opinion in Boletus**")
    assert progress_text(queue, "All", "carol", "needs a second opinion").endswith(
        "· **1 needs a second opinion**")  # alice's vote on SURE; carol's own one is left out
    assert "disputed" not in progress_text(queue, "All", "bob", "unreviewed")
    assert empty_text("disputed", "Russula") == (
        "No disputed photos in Russula: the votes on every reviewed photo agree.")
    assert empty_text("needs a second opinion", "All").startswith(
        "No photo needs a second opinion")
    assert "reviewed" not in empty_text("unreviewed by me", "All")


def test_a_species_dispute_is_disputed_in_the_tab(voted):
    """Two experts who agree on the genus but not on the species disagree: the photo is in
    *disputed* (a further vote settles its species, which training otherwise leaves empty)
    and its header says so; a genus-only vote beside a species disagrees with nobody."""
    from mushroom.ui.review_view import dispute

    data, store = voted
    labels.undo_last(store, "carol")  # her flag withdrawn: CONF unreviewed again
    labels.record(store, data, CONF, "alice", genus="Boletus", species="Boletus edulis")
    labels.record(store, data, CONF, "bob", genus="Boletus")  # no species: agrees
    assert CONF not in paths(store, "disputed", "dave")
    labels.record(store, data, CONF, "carol", genus="Boletus", species="Boletus reticulatus")
    assert CONF in paths(store, "disputed", "dave")
    row = review.load_queue(store / review.CACHE_NAME, store).set_index("path").loc[CONF]
    assert "**disputed** (67% agree" in dispute(row)
