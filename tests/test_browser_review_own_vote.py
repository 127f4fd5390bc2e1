"""Real Chromium on the real app: the expert's own vote cast elsewhere (another tab, the
phone app through the API) on the photo her page shows.

The page cannot follow it (the boxes she types in are hers), so its header keeps the label
her *Confirm* refers to, as for another expert's vote, and the status line says the label
changed: it stayed silent, leaving a header that no longer matched the votes under it and
a Confirm that was then refused as "another expert's vote" changing it.
"""

from __future__ import annotations

import pytest

from conftest import logged_in
from test_browser_review import REFRESH_S, go_to, log_in, open_review, wait_for_photo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def review_env(review_env: dict[str, str]) -> dict[str, str]:
    """conftest's setup with a fast refresh."""
    return {**review_env, "MUSHROOM_REVIEW_REFRESH_S": str(REFRESH_S)}


def test_a_relabel_from_another_tab_is_named_on_the_page(review_app, browser):
    page = open_review(browser, review_app.url)
    log_in(page, "alice")
    wait_for_photo(page)
    image_id = go_to(page, "Russula/002.jpg")
    header = page.inner_text("#review-label")
    assert header.startswith("Russula") and " · 0 vote(s)" in header
    phone = logged_in(review_app, "alice")
    phone.predict(image_id, "Boletus", "", "", "All", "all", api_name="/review_save")
    page.wait_for_function(
        "() => document.querySelector('#review-status').innerText.includes('changed meanwhile')",
        timeout=int(3 * REFRESH_S * 1000) + 5_000)
    assert ("your vote from another tab or the API changed this photo's label from Russula "
            "to Boletus" in page.inner_text("#review-status"))
    # the header counts the vote; its genus stays the label a Confirm here refers to
    assert page.inner_text("#review-label") == header.replace(" · 0 vote(s)", " · 1 vote(s)")
    page.click("#review-confirm")  # refused, not as "another expert's vote"; shown anew
    page.wait_for_function("() => document.querySelector('#review-label').innerText"
                           ".startsWith('Boletus')", timeout=30_000)
    assert page.inner_text("#review-status").startswith(
        "Not saved: your vote from another tab or the API changed the label from Russula to "
        "Boletus.")
    page.close()


def test_a_tick_raced_by_a_vote_on_this_page_leaves_its_status_alone(browser):
    """APPLY_JS in Chromium: a tick's notice lands only while the page shows the header the
    tick was computed for; a vote cast here meanwhile re-rendered it, and its "Saved" line
    stays."""
    from mushroom.ui.review_refresh import APPLY_JS

    page = browser.new_page()
    votes = {"headers": ["time (UTC)", "expert", "action", "vote", "note"], "data": []}
    tick = {"image_id": "abc", "genus": "All", "mode": "all", "progress": None, "votes": None,
            "status": "**Label changed meanwhile**: ...", "label": None, "label_shown": None,
            "header": "### Russula · 0 vote(s)"}
    run = (f"([t, h]) => ({APPLY_JS})(t, 'abc', 'All', 'all', 'Reviewed 1 / 9', {votes!r}, "
           "'Saved: relabelled', h)").replace("None", "null")
    assert page.evaluate(run, [tick, tick["header"]])[2] == tick["status"]
    assert page.evaluate(run, [tick, "### Boletus · 1 vote(s)"])[2] == "Saved: relabelled"
    page.close()
