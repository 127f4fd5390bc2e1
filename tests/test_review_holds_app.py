"""Two experts working at once on the real app (gradio_client sessions signed in as alice
and bob): "Show: unreviewed" hands them different photos, and an expert who reaches the
photo another one has open is told so in its header.

Outputs are indexed as the API returns them: 0 image id, 2 header, 4 votes table,
8 progress line, 9 status line.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import PASSWORD, logged_in
from mushroom import labels, review
from mushroom.review_hold_board import HOLDS_NAME

UNREVIEWED = ("All", "unreviewed")
OPEN = "this photo open"
HEARTBEAT_S = 1
"""Gradio's heartbeat for this module's app: how soon it notices a session that ended (15 s
by default, the gradio_client's own wait included)."""


@pytest.fixture(scope="module")
def review_env(review_env: dict[str, str]) -> dict[str, str]:
    """conftest's setup with a fast heartbeat, so that a closed client's session ends soon."""
    return {**review_env, "GRADIO_HEARTBEAT_INTERVAL": str(HEARTBEAT_S)}


def forget_holds(review_env: dict) -> None:
    """Start a test with nobody holding anything: the sessions of the tests before it may
    still be open (deleting ``holds.json`` only forgets who has which photo open)."""
    (Path(review_env["MUSHROOM_LABELS"]) / HOLDS_NAME).unlink(missing_ok=True)


def on_page(shown: list) -> tuple:
    """What a page that shows ``shown`` sends with its tick: progress, votes, status, header."""
    return shown[8], shown[4], shown[9], shown[2]


def test_two_experts_in_unreviewed_mode_are_handed_different_photos(review_app):
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    a = alice.predict("", *UNREVIEWED, api_name="/review_show")
    b = bob.predict("", *UNREVIEWED, api_name="/review_show")
    assert a[0] and b[0] and a[0] != b[0]
    assert "has this photo open" not in a[2] + b[2]
    # each vote moves them on, still apart: alice skips the photo bob has open
    a2 = alice.predict(a[0], "", "", "", *UNREVIEWED, api_name="/review_confirm")
    assert a2[0] not in (a[0], b[0])
    b2 = bob.predict(b[0], "", "", "", *UNREVIEWED, api_name="/review_confirm")
    assert b2[0] not in (a2[0], b[0])
    assert "has this photo open" not in a2[2] + b2[2]


def test_the_header_names_the_expert_who_has_the_photo_open_until_they_sign_out(review_app):
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    hers = alice.predict("", *UNREVIEWED, api_name="/review_show")[0]
    went = bob.predict(hers, api_name="/review_go_to")
    assert went[0] == hers
    assert "**alice has this photo open**" in went[2]
    assert "bob has this photo open" in alice.predict(hers, *UNREVIEWED,
                                                      api_name="/review_show")[2]
    bob.predict(api_name="/review_logout")
    again = alice.predict(hers, *UNREVIEWED, api_name="/review_show")
    assert again[0] == hers and "has this photo open" not in again[2]


def test_a_page_that_keeps_the_photo_on_screen_keeps_it_held(review_app, review_env):
    forget_holds(review_env)
    bob = logged_in(review_app, "bob")
    first = bob.predict("", *UNREVIEWED, api_name="/review_show")[0]
    forget_holds(review_env)  # as if bob's hold had lapsed (a laptop asleep)
    page = ("", {"headers": [], "data": [[]]}, "", "")
    bob.predict(first, *UNREVIEWED, *page, api_name="/review_tick")  # still on screen
    alice = logged_in(review_app, "alice")
    assert alice.predict("", *UNREVIEWED, api_name="/review_show")[0] != first


def test_a_held_photo_is_handed_out_only_when_no_other_is_left(tmp_path):
    from test_review_app import handler_context

    from mushroom.ui.review_handlers import ITEM_OUTPUTS, render
    from mushroom.ui.review_holds import FALLBACK

    ctx = handler_context(tmp_path)  # one photo in each of three genera
    at = ITEM_OUTPUTS.index
    shown = [render(ctx, name, None, *UNREVIEWED) for name in ("alice", "bob", "carol")]
    assert len({out[at("current")] for out in shown}) == 3
    assert not any(FALLBACK in out[at("status")] for out in shown)
    last = render(ctx, "dan", None, *UNREVIEWED)
    assert last[at("current")] == shown[0][at("current")]  # the queue's first, held or not
    assert FALLBACK in last[at("status")] and "alice has this photo open" in last[at("label")]
    everything = render(ctx, "erin", None, "All", "all")  # "all" skips nothing
    assert everything[at("current")] == shown[0][at("current")]
    assert FALLBACK not in everything[at("status")]
    assert "alice and dan have this photo open" in everything[at("label")]


def queued(review_env: dict) -> list[str]:
    """The review queue's photo ids, in queue order."""
    store = Path(review_env["MUSHROOM_LABELS"])
    return list(review.load_queue(store / review.CACHE_NAME, store)["image_id"])


def test_a_refresh_tells_the_page_when_another_expert_opens_or_leaves_its_photo(
        review_app, review_env):
    """Bob opens (Go to) the photo Alice has on screen, then leaves it: her next ticks add,
    then drop, "bob has this photo open", touching no other line of her header and sending
    nothing while it holds."""
    forget_holds(review_env)
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    first, other = queued(review_env)[:2]
    shown = alice.predict(first, "All", "all", api_name="/review_show")
    assert shown[0] == first and OPEN not in shown[2]
    page = on_page(shown)
    assert alice.predict(first, "All", "all", *page, api_name="/review_tick")["label"] is None
    assert "**alice has this photo open**" in bob.predict(first, api_name="/review_go_to")[2]
    ticked = alice.predict(first, "All", "all", *page, api_name="/review_tick")
    assert ticked["label_shown"] == shown[2]  # the page applies it only over this header
    assert ticked["label"] == shown[2] + "  \n**bob has this photo open**: your vote still " \
        "counts; *Skip* leaves it to them."
    now = (*page[:3], ticked["label"])
    assert alice.predict(first, "All", "all", *now, api_name="/review_tick")["label"] is None
    assert bob.predict(other, api_name="/review_go_to")[0] == other  # bob moves on
    ticked = alice.predict(first, "All", "all", *now, api_name="/review_tick")
    assert ticked["label"] == shown[2] and ticked["label_shown"] == now[3]


def test_a_hold_never_stops_a_vote_and_the_holder_sees_it(review_app, review_env):
    """Bob confirms the photo Alice holds in "Show: unreviewed": his vote is saved and moves
    him on, and Alice's next tick brings his vote, counts it in her header and drops "bob has
    this photo open"."""
    forget_holds(review_env)
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    shown = alice.predict("", *UNREVIEWED, api_name="/review_show")
    hers = shown[0]
    assert "**alice has this photo open**" in bob.predict(hers, api_name="/review_go_to")[2]
    page = (*on_page(shown)[:3], alice.predict(hers, "All", "unreviewed", *on_page(shown),
                                               api_name="/review_tick")["label"])
    assert "bob has this photo open" in page[3]
    before = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    moved = bob.predict(hers, "", "", "", *UNREVIEWED, api_name="/review_confirm")
    assert moved[0] != hers and "Error" not in moved[9]
    rows = labels.read_rows(review_env["MUSHROOM_LABELS"])
    assert len(rows) == before + 1
    assert (rows[-1].image_id, rows[-1].annotator, rows[-1].action) == (hers, "bob", "confirm")
    ticked = alice.predict(hers, *UNREVIEWED, *page, api_name="/review_tick")
    assert [row[1:3] for row in ticked["votes"]] == [["bob", "confirm"]]
    # bob left with his vote: no one else has it open, and the header counts his vote
    assert ticked["label"] == shown[2].replace(" · 0 vote(s)", " · 1 vote(s)")
    assert " · 0 vote(s)" in shown[2]


def test_a_hold_left_by_a_closed_tab_lapses_after_hold_s(tmp_path, monkeypatch):
    """Alice stops without Log out and no end of her session reaches the app (an API client
    that never closes it; no more ticks): her photo stays out of others' way for HOLD_S
    only, then is handed out as any other, with no word of her."""
    import time

    from test_review_app import handler_context

    from mushroom.review_hold import HOLD_S
    from mushroom.review_hold_board import board_for
    from mushroom.ui.review_handlers import ITEM_OUTPUTS, render
    from mushroom.ui.review_holds import FALLBACK

    ctx = handler_context(tmp_path)
    now = [time.time()]
    monkeypatch.setattr(board_for(ctx.labels_dir), "clock", lambda: now[0])
    at = ITEM_OUTPUTS.index
    hers = render(ctx, "alice", None, *UNREVIEWED)[at("current")]  # then she goes quiet
    now[0] += HOLD_S - 1
    assert render(ctx, "bob", None, *UNREVIEWED)[at("current")] != hers
    now[0] += 2
    carol = render(ctx, "carol", None, *UNREVIEWED)
    assert carol[at("current")] == hers  # the queue's first again, free
    assert OPEN not in carol[at("label")] and FALLBACK not in carol[at("status")]


def wait_until_free(client, image_id: str, holder: str, timeout: float = 10.0) -> str:
    """Open ``image_id`` (Go to) in ``client`` until its header stops naming ``holder`` as
    having it open; the last header (the test fails if ``timeout`` runs out first)."""
    deadline = time.monotonic() + timeout
    while True:
        header = client.predict(image_id, api_name="/review_go_to")[2]
        if f"{holder} has this photo open" not in header or time.monotonic() > deadline:
            return header
        time.sleep(0.5)


def test_a_closed_session_frees_its_photo_at_once(review_app, review_env):
    """Alice's session ends without Log out (a closed tab; here her client closes): Bob is
    no longer told she has her photo open, and "Show: unreviewed" hands it out again, well
    before the ten minutes a hold lasts."""
    forget_holds(review_env)
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    hers = alice.predict("", *UNREVIEWED, api_name="/review_show")[0]
    assert "**alice has this photo open**" in bob.predict(hers, api_name="/review_go_to")[2]
    alice.close()  # ends her heartbeat: the server runs the page's unload event
    assert OPEN not in wait_until_free(bob, hers, "alice")
    assert bob.predict("", *UNREVIEWED, api_name="/review_show")[0] == hers  # first, free
    bob.close()


def test_an_expert_with_two_tabs_holds_the_photo_of_each(review_app, review_env):
    """Alice opens one photo in a tab and another in a second tab: both stay held, so Bob
    is handed neither and is told she has either open; signing out of one tab frees only
    its photo."""
    forget_holds(review_env)
    first_tab, second_tab = logged_in(review_app, "alice"), logged_in(review_app, "alice")
    one = first_tab.predict("", *UNREVIEWED, api_name="/review_show")[0]
    other = next(i for i in queued(review_env) if i != one)
    assert second_tab.predict(other, api_name="/review_go_to")[0] == other
    bob = logged_in(review_app, "bob")
    assert bob.predict("", *UNREVIEWED, api_name="/review_show")[0] not in (one, other)
    for image_id in (one, other):
        assert "**alice has this photo open**" in bob.predict(image_id,
                                                             api_name="/review_go_to")[2]
    second_tab.predict(api_name="/review_logout")
    assert "alice has" not in bob.predict(other, api_name="/review_go_to")[2]
    assert "**alice has this photo open**" in bob.predict(one, api_name="/review_go_to")[2]
    for client in (first_tab, second_tab, bob):
        client.close()


def test_the_last_photo_left_held_by_another_is_not_said_to_have_others(tmp_path):
    """Seen with two experts: bob reached the last unreviewed Entoloma, which alice had open,
    and read "Every other photo under your filters is open with another expert, so this
    one is too": there was no other photo, and he went looking for the experts on them."""
    from test_review_app import handler_context

    from mushroom.ui.review_handlers import ITEM_OUTPUTS, render

    ctx = handler_context(tmp_path)  # one photo in each of Amanita, Boletus and Russula
    at = ITEM_OUTPUTS.index
    hers = render(ctx, "alice", None, "Boletus", "unreviewed")[at("current")]
    his = render(ctx, "bob", None, "Boletus", "unreviewed")
    assert his[at("current")] == hers and "alice has this photo open" in his[at("label")]
    said = his[at("status")]
    assert "No photo left under your filters is free" in said and "other photo" not in said


def test_signing_in_as_another_expert_frees_the_previous_experts_photo(review_app, review_env):
    """One session signs in as Bob, opens a photo, then signs in as Alice without Log out
    (a shared lab computer): Bob's hold goes with his sign-in, not ten minutes later."""
    forget_holds(review_env)
    shared = logged_in(review_app, "bob")
    his = shared.predict("", *UNREVIEWED, api_name="/review_show")[0]
    watcher = logged_in(review_app, "alice")
    assert "**bob has this photo open**" in watcher.predict(his, api_name="/review_go_to")[2]
    watcher.predict(queued(review_env)[-1], api_name="/review_go_to")  # alice looks elsewhere
    shared.predict("alice", PASSWORD, api_name="/review_login")
    assert "bob has this photo open" not in watcher.predict(his, api_name="/review_go_to")[2]
    # signing in again as the same expert keeps that expert's own hold
    shared.predict(his, api_name="/review_go_to")
    shared.predict("alice", PASSWORD, api_name="/review_login")
    watcher2 = logged_in(review_app, "bob")
    assert "**alice has this photo open**" in watcher2.predict(his, api_name="/review_go_to")[2]
