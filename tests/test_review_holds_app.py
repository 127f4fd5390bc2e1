"""Two experts working at once on the real app (gradio_client sessions signed in as alice
and bob): "Show: unreviewed" hands them different photos, and an expert who reaches the
photo another one has open is told so in its header.

Outputs are indexed as the API returns them: 0 image id, 2 header, 9 status line.
"""

from __future__ import annotations

from conftest import logged_in

UNREVIEWED = ("All", "unreviewed")


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


def test_a_page_that_keeps_the_photo_on_screen_keeps_it_held(review_app):
    alice = logged_in(review_app, "alice")
    alice.predict(api_name="/review_logout")  # frees alice's photo of the tests above
    bob = logged_in(review_app, "bob")
    first = bob.predict("", *UNREVIEWED, api_name="/review_show")[0]
    logged_in(review_app, "bob").predict(api_name="/review_logout")  # bob's other tab
    page = ("", {"headers": [], "data": [[]]}, "")
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
