"""Real Chromium: the item header follows other experts opening and leaving the photo on
screen, through the refresh tick, without re-rendering the item or touching what was typed.
"""

from __future__ import annotations

import pytest

from conftest import logged_in
from test_browser_review import REFRESH_S, log_in, review_env, text, wait_for_photo

pytestmark = pytest.mark.browser
__all__ = ["review_env"]  # conftest's setup with a fast refresh, for this module's app too
OPEN = "bob has this photo open"


def wait_for_header(page, present: bool) -> None:
    """Wait (a few ticks at most) until the header does, or does not, name bob as a holder."""
    page.wait_for_function(
        "([text, present]) => document.querySelector('#review-label').innerText"
        ".includes(text) === present", arg=[OPEN, present],
        timeout=int(3 * REFRESH_S * 1000) + 5_000)


def test_the_header_learns_that_another_expert_opened_or_left_the_photo(review_app, browser):
    """Alice has a photo on screen and a note typed when Bob opens it with Go to: within a
    tick her header says "bob has this photo open"; when he moves on, the line goes."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(review_app.url + "?tab=review")
    page.wait_for_selector("#review-login", state="visible")
    log_in(page, "alice")
    image_id = wait_for_photo(page)
    header = page.inner_text("#review-label")
    assert OPEN not in header
    text(page, "review-note").fill("gills free")
    bob = logged_in(review_app, "bob")
    assert bob.predict(image_id, api_name="/review_go_to")[0] == image_id
    wait_for_header(page, True)
    assert page.inner_text("#review-label").startswith(header)  # only a line added
    assert text(page, "review-note").input_value() == "gills free"
    assert bob.predict("", "All", "unreviewed", api_name="/review_show")[0] != image_id
    wait_for_header(page, False)
    assert page.inner_text("#review-label") == header
    assert text(page, "review-note").input_value() == "gills free"
    page.close()


def test_closing_the_tab_frees_its_photo_at_once(review_app, browser):
    """Alice closes her tab without Log out: within seconds (not the ten minutes a hold
    lasts) Bob is no longer told that she has the photo open."""
    from test_review_holds_app import wait_until_free

    page = browser.new_page()
    page.goto(review_app.url + "?tab=review")
    page.wait_for_selector("#review-login", state="visible")
    log_in(page, "alice")
    image_id = wait_for_photo(page)
    bob = logged_in(review_app, "bob")
    assert "**alice has this photo open**" in bob.predict(image_id,
                                                         api_name="/review_go_to")[2]
    page.close()
    assert "has this photo open" not in wait_until_free(bob, image_id, "alice")
    bob.close()
