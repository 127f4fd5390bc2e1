"""The "disputed" and "needs a second opinion" modes through the real app and gradio_client.

Outputs are indexed as the API returns them: 0 image id, 2 header, 5 genus, 6 species,
8 progress, 9 status.
"""

from __future__ import annotations

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from conftest import logged_in
from mushroom import labels


def show(client, mode: str, genus: str = "All", image_id: str = "") -> list:
    return client.predict(image_id, genus, mode, api_name="/review_filter")


def test_disputed_and_second_opinion_modes_follow_the_votes(review_app, review_env):
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    split = show(alice, "all")[0]
    one_vote = alice.predict(split, "Russula", "", "", "All", "all", api_name="/review_save")[0]
    bob.predict(split, "Amanita", "", "", "All", "all", api_name="/review_save")
    alice.predict(one_vote, "Boletus", "", "", "All", "all", api_name="/review_save")

    disputed = show(bob, "disputed")
    assert disputed[0] == split and "**disputed**" in disputed[2]
    assert "**1 disputed**" in disputed[8]
    again = bob.predict(split, "All", "disputed", api_name="/review_skip")
    assert again[0] == split  # the only disputed photo: skipping wraps round to it
    # his vote is one side of the tie: voting again would only flip it, so say whose settles it
    assert "Vote on it" not in again[9] and "your vote is already in it" in again[9], again[9]
    assert "another expert's vote settles it" in again[9]
    assert show(bob, "disputed", genus="Boletus")[2].startswith(
        "No disputed photos in Boletus")  # bob's tie-break made it an Amanita

    second = show(bob, "needs a second opinion")
    assert second[0] == one_vote and "**1 needs a second opinion**" in second[8]
    mine = show(alice, "needs a second opinion")  # her own single vote is not for her
    assert mine[0] is None and mine[2].startswith("No photo needs a second opinion")
    # the last photo's genus and species do not linger in the boxes
    assert mine[5] is None and mine[6]["choices"] == [["", ""]] and not mine[6].get("value")
    assert "**0 need a second opinion**" in mine[8]

    bob.predict("All", "disputed", api_name="/review_undo")  # withdraws his vote on split
    assert show(bob, "disputed")[2].startswith("No disputed photos:")
    first = show(bob, "needs a second opinion")[0]  # alice's vote on split stands alone now
    after = bob.predict(first, "All", "needs a second opinion", api_name="/review_skip")[0]
    assert {first, after} == {split, one_vote}


def test_an_unknown_mode_is_refused_listing_the_valid_ones(review_app, review_env):
    alice = logged_in(review_app, "alice")
    image_id = show(alice, "all")[0]
    before = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    for endpoint, args in (("/review_filter", ("", "All", "second opinion")),
                           ("/review_show", ("", "All", "second opinion")),
                           ("/review_confirm", (image_id, "Amanita", "", "", "All",
                                                "second opinion"))):
        with pytest.raises(AppError, match="Unknown review filter 'second opinion'.*"
                                           "'needs a second opinion', 'disputed'"):
            alice.predict(*args, api_name=endpoint)
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == before  # nothing written
    assert "Traceback" not in review_app.log()


def test_api_page_lists_the_new_modes(review_app):
    info = Client(review_app.url, verbose=False).view_api(return_format="dict", print_info=False)
    params = {p["parameter_name"]: p for p in
              info["named_endpoints"]["/review_show"]["parameters"]}
    mode = params["mode"]["python_type"]["type"]
    assert "'disputed'" in mode and "'needs a second opinion'" in mode, mode


def test_an_empty_view_clears_the_species_box_every_time(review_app, review_env):
    """Seen in the tab: after a photo named "Amanita muscaria var. guessowii", switching to
    an empty "disputed" list left that species in the box. The clearing update was one
    shared dict, and Gradio pops its value when it sends it: only the first empty view of
    the app's life cleared the box."""
    alice = logged_in(review_app, "alice")
    image_id = show(alice, "all")[0]
    alice.predict(image_id, "Amanita", "Amanita muscaria var. guessowii", "", "All", "all",
                  api_name="/review_save")
    for _ in range(3):
        named = alice.predict(image_id, "All", "all", api_name="/review_go_to")
        assert named[6]["value"] == "Amanita muscaria var. guessowii"
        empty = show(alice, "disputed", genus="Boletus")
        assert empty[0] is None and empty[5] is None
        assert empty[6].get("value", "not sent") == ""  # not left as it was
