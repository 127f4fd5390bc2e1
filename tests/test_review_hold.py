"""Soft reservations of review photos: the pure table and choice (time passed in), and the
board that shares them through the label store's folder (real files)."""

from __future__ import annotations

import json
import threading
import zipfile

import pandas as pd
import pytest

from mushroom.review_hold import (HOLD_S, Hold, Holds, choose_next, open_text, seeks,
                                  with_open_line)
from mushroom.review_hold_board import HOLDS_NAME, HoldBoard

T0 = 1_700_000_000.0


def queue_of(*ids: str) -> pd.DataFrame:
    """A queue in the order given (``rank`` is what :func:`next_item` follows)."""
    return pd.DataFrame({"image_id": list(ids), "rank": range(len(ids))})


def test_a_hold_lasts_its_ttl_then_lapses():
    holds = Holds().hold("alice", "p1", now=T0)
    assert holds.taken(T0 + HOLD_S - 1, but="bob") == {"p1"}
    assert holds.holders("p1", T0 + HOLD_S - 1, but="bob") == ["alice"]
    assert holds.taken(T0 + HOLD_S, but="bob") == set()
    assert holds.live(T0 + HOLD_S).by_tab == {}


def test_a_tab_holds_one_photo_the_latest_and_none_after_release():
    holds = Holds().hold("alice", "p1", T0).hold("alice", "p2", T0 + 5)
    assert holds.by_tab == {("alice", ""): Hold("p2", T0 + 5 + HOLD_S)}
    assert holds.hold("alice", None, T0 + 6).by_tab == {}


def test_an_expert_with_two_tabs_holds_the_photo_of_each():
    holds = Holds().hold("alice", "p1", T0, tab="t1").hold("alice", "p2", T0 + 5, tab="t2")
    assert holds.taken(T0 + 6, but="bob") == {"p1", "p2"}
    assert holds.holders("p1", T0 + 6, but="bob") == ["alice"]
    both = holds.hold("alice", "p1", T0 + 7, tab="t2")  # the second tab goes to p1 too
    assert both.holders("p1", T0 + 8, but="bob") == ["alice"]  # named once
    assert both.taken(T0 + 8, but="bob") == {"p1"}
    # signing out of one tab frees only its photo
    assert holds.hold("alice", None, T0 + 8, tab="t1").taken(T0 + 9, but="bob") == {"p2"}


def test_a_closed_tab_frees_its_photo_whoever_signed_in_there():
    holds = (Holds().hold("alice", "p1", T0, tab="t1").hold("alice", "p2", T0, tab="t2")
             .hold("bob", "p3", T0, tab="t3"))
    assert holds.close("t1").taken(T0 + 1) == {"p2", "p3"}
    assert holds.close("t3").holders("p3", T0 + 1) == []
    assert holds.close("") == holds  # no session known: nothing to close


def test_own_holds_are_not_taken_and_holders_leave_out_the_one_asking():
    holds = Holds().hold("alice", "p1", T0).hold("bob", "p1", T0).hold("carol", "p2", T0)
    assert holds.taken(T0, but="alice") == {"p1", "p2"}
    assert holds.taken(T0, but="carol") == {"p1"}
    assert holds.holders("p1", T0, but="alice") == ["bob"]
    assert holds.holders("p1", T0) == ["alice", "bob"]


def test_a_refresh_extends_the_hold_on_screen_but_never_pulls_back_one_that_moved_on():
    holds = Holds().hold("alice", "p1", T0)
    assert holds.refresh("alice", "p1", T0 + 500).by_tab[("alice", "")].until \
        == T0 + 500 + HOLD_S
    moved = holds.hold("alice", "p2", T0 + 10)  # a tick for p1 was in flight meanwhile
    assert moved.refresh("alice", "p1", T0 + 11) == moved
    # a lapsed hold (a laptop asleep) is taken again by the page that still shows it
    again = holds.refresh("alice", "p1", T0 + HOLD_S + 60)
    assert again.by_tab[("alice", "")] == Hold("p1", T0 + 2 * HOLD_S + 60)
    # per tab: a tick of one tab neither pulls back nor extends the other tab's hold
    tabs = Holds().hold("alice", "p1", T0, tab="t1").hold("alice", "p2", T0, tab="t2")
    ticked = tabs.refresh("alice", "p1", T0 + 500, tab="t1")
    assert ticked.by_tab[("alice", "t1")] == Hold("p1", T0 + 500 + HOLD_S)
    assert ticked.by_tab[("alice", "t2")] == Hold("p2", T0 + HOLD_S)


def test_the_table_survives_json_and_drops_malformed_entries():
    holds = (Holds().hold("alice", "p1", T0, tab="t1").hold("alice", "p4", T0, tab="t2")
             .hold("bob", "p2", T0))
    assert Holds.from_json(json.loads(json.dumps(holds.to_json()))) == holds
    junk = {"alice": ["p1", T0], "bob": "p2", "carol": ["p3"], "dan": [4, T0],
            "erin": ["p5", True], "fay": ["p6", "soon"], "gil": [["p7", T0, 3]],
            "hal": [["p8", T0, "t8"], ["p9"], "p10"], "ivy": [["p11", float("inf"), "t"]]}
    assert Holds.from_json(junk).by_tab == {("alice", ""): Hold("p1", T0),
                                            ("hal", "t8"): Hold("p8", T0)}
    assert Holds.from_json([1, 2]) == Holds()


def test_a_holds_file_of_the_one_hold_per_expert_format_still_reads(tmp_path):
    # holds.json as written before holds were kept per tab: {user: [image_id, until]}
    (tmp_path / HOLDS_NAME).write_text(json.dumps({"alice": ["p1", T0 + 60],
                                                   "bob": ["p2", T0 + 60]}))
    board = HoldBoard(tmp_path, Clock())
    assert board.read().holders("p1", T0, but="carol") == ["alice"]
    board.change(lambda h, now: (h.hold("alice", "p3", now, tab="t1"), None))
    after = board.read()
    assert after.taken(T0, but="carol") == {"p1", "p2", "p3"}  # the old holds kept, per tab
    assert after.close("t1").taken(T0, but="carol") == {"p1", "p2"}


def test_choose_next_skips_taken_photos_and_wraps_round():
    queue = queue_of("a", "b", "c", "d")
    assert choose_next(queue, queue, None, {"a"}) == ("b", False)
    assert choose_next(queue, queue, "a", {"b", "c"}) == ("d", False)
    assert choose_next(queue, queue, "c", {"d"}) == ("a", False)  # round to the start
    assert choose_next(queue, queue, "a", set()) == ("b", False)


def test_choose_next_falls_back_to_a_taken_photo_only_when_nothing_else_is_left():
    queue = queue_of("a", "b", "c")
    chosen = queue[queue["image_id"].isin(["b", "c"])]
    assert choose_next(queue, chosen, "a", {"b"}) == ("c", False)
    assert choose_next(queue, chosen, "a", {"b", "c"}) == ("b", True)
    assert choose_next(queue, chosen.iloc[:0], "a", {"b"}) == (None, False)


def test_only_the_modes_where_one_vote_ends_the_others_work_skip_held_photos():
    assert [m for m in ("unreviewed", "unreviewed by me", "needs a second opinion",
                        "disputed", "all") if seeks(m)] == ["unreviewed",
                                                            "needs a second opinion",
                                                            "disputed"]


def test_the_header_names_who_has_the_photo_open_in_plain_words():
    assert open_text([]) == ""
    assert open_text(["bob"]).startswith("**bob has this photo open**")
    assert open_text(["alice", "bob", "carol"]).startswith(
        "**alice, bob and carol have this photo open**")



def test_the_refresh_edits_only_the_headers_line_on_who_has_the_photo_open():
    header = "### Amanita\nFolder: Amanita · id `p1`  \nDeath cap lookalikes"
    bob = with_open_line(header, ["bob"])
    assert bob == header + "  \n" + open_text(["bob"])
    assert with_open_line(bob, ["bob"]) == bob  # nothing new: the same text, no update
    assert with_open_line(bob, ["bob", "carol"]) == header + "  \n" + open_text(["bob", "carol"])
    assert with_open_line(bob, []) == header
    assert with_open_line(header, []) == header

class Clock:
    """A settable clock for the board."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_two_boards_on_one_folder_share_the_holds_and_prune_lapsed_ones(tmp_path):
    clock = Clock()
    one, two = HoldBoard(tmp_path, clock), HoldBoard(tmp_path, clock)  # two app processes
    one.change(lambda h, now: (h.hold("alice", "p1", now), None))
    assert two.read().holders("p1", clock.now) == ["alice"]
    clock.now += HOLD_S + 1
    two.change(lambda h, now: (h.hold("bob", "p2", now), None))
    stored = json.loads((tmp_path / HOLDS_NAME).read_text())
    assert set(stored) == {"bob"}  # alice's lapsed hold left the file
    assert not list(tmp_path.glob("*.tmp"))


def test_a_torn_holds_file_counts_as_no_holds(tmp_path):
    (tmp_path / HOLDS_NAME).write_text('{"alice": ["p1", ')
    board = HoldBoard(tmp_path, Clock())
    assert board.read() == Holds()
    board.change(lambda h, now: (h.hold("bob", "p2", now), None))
    assert set(json.loads((tmp_path / HOLDS_NAME).read_text())) == {"bob"}


def test_a_holds_file_nested_too_deeply_counts_as_no_holds(tmp_path):
    """json.loads raises RecursionError, no ValueError, on "[[[[...": it broke every Review
    event that shows a photo."""
    (tmp_path / HOLDS_NAME).write_text("[" * 100_000)
    board = HoldBoard(tmp_path, Clock())
    assert board.read() == Holds()
    assert board.change(lambda h, now: (h.hold("bob", "p2", now), "held")) == "held"


def test_a_folder_that_cannot_be_written_keeps_the_holds_in_memory(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    board = HoldBoard(blocked, Clock())
    with pytest.warns(UserWarning, match="kept in this process only"):
        board.change(lambda h, now: (h.hold("alice", "p1", now), None))
    taken = board.change(lambda h, now: (h, h.taken(now, but="bob")))
    assert taken == {"p1"}


def test_experts_asking_at_once_are_handed_different_photos(tmp_path):
    queue, clock, got = queue_of(*"abcdefgh"), Clock(), {}
    boards = [HoldBoard(tmp_path, clock) for _ in range(2)]  # as two processes would

    def take(user: str, board: HoldBoard) -> None:
        def choose(holds, now):
            image_id, _ = choose_next(queue, queue, None, holds.taken(now, user))
            return holds.hold(user, image_id, now), image_id
        got[user] = board.change(choose)

    threads = [threading.Thread(target=take, args=(f"expert{k}", boards[k % 2]))
               for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got.values()) == list("abcdefgh")


def test_holds_are_no_part_of_the_label_store_download(tmp_path):
    from conftest import write_tiny_dataset
    from mushroom import labels
    from mushroom.store_merge import snapshot

    photos = write_tiny_dataset(tmp_path / "photos", per_class=1, genera=("Amanita",))
    labels.record(tmp_path / "labels", photos, "Amanita/000.jpg", "alice", genus="Amanita")
    HoldBoard(tmp_path / "labels", Clock()).change(lambda h, now: (h.hold("a", "p", now), 0))
    snapshot(tmp_path / "labels", tmp_path / "store.zip")
    with zipfile.ZipFile(tmp_path / "store.zip") as zf:
        assert sorted(zf.namelist()) == ["labels/decisions.jsonl", "labels/taxonomy.csv"]
    assert (tmp_path / "labels" / HOLDS_NAME).is_file()


def test_a_session_that_held_nothing_ends_without_touching_the_store_folder(tmp_path):
    # every visitor's tab runs the unload event: one that never reviewed must not create
    # the label store's folder nor its lock (filelock creates missing parent folders)
    from mushroom.ui.review_holds import close_tab, pick

    store = tmp_path / "labels"
    close_tab(store, "visitor")
    assert not store.exists()
    queue = queue_of("a", "b")
    pick(store, "alice", queue, queue, None, None, "unreviewed", tab="t1")
    close_tab(store, "visitor")
    assert HoldBoard(store).read().taken(T0, but="bob") == {"a"}
    close_tab(store, "t1")
    assert HoldBoard(store).read().by_tab == {}



def test_a_closed_tab_is_freed_when_the_holds_live_in_memory(tmp_path):
    from mushroom.ui.review_holds import close_tab, pick

    store = tmp_path / "labels"
    (store / HOLDS_NAME).mkdir(parents=True)  # no file can go there: holds stay in memory
    queue = queue_of("a", "b")
    with pytest.warns(UserWarning, match="this process only"):
        assert pick(store, "alice", queue, queue, None, None, "unreviewed", "t1").image_id \
            == "a"
    assert pick(store, "bob", queue, queue, None, None, "unreviewed", "t2").image_id == "b"
    close_tab(store, "t1")
    assert pick(store, "bob", queue, queue, None, None, "unreviewed", "t2").image_id == "a"
