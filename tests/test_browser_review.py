"""Real Chromium on the real app: an expert relabels a queued photo; a visitor cannot; an
expert steps back and forth through the photos shown and opens one by name.

Uses Debian's chromium through Playwright (never ``playwright install``). The screenshot of
the expert's view is saved as ``review.png`` in the ``artifacts`` fixture's folder (conftest).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from conftest import (PASSWORD, calls_sent, corner_buttons, hold_cancels, images_seen,
                      refused_in_place, release_cancels, wait_until_cancelled,
                      wait_until_completed, wait_until_running, watch_completions, watch_images)
from mushroom import labels, review

pytestmark = pytest.mark.browser
REFRESH_S = 1.0  # the Review tab's refresh interval in these tests (15 s in the app)


@pytest.fixture(scope="module")
def review_env(review_env: dict[str, str]) -> dict[str, str]:
    """conftest's setup with a fast refresh: every test here runs with the timer ticking."""
    return {**review_env, "MUSHROOM_REVIEW_REFRESH_S": str(REFRESH_S)}


def open_review(browser, url: str, held_cancels: bool = False):
    """The Review tab; with ``held_cancels``, its cancels held (conftest.hold_cancels) and
    its calls' results watched (conftest.watch_completions)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    if held_cancels:
        hold_cancels(page)
        watch_completions(page)
    page.goto(url)
    page.get_by_role("tab", name="Review").click()
    page.wait_for_selector("#review-login", state="visible")
    return page


def progress(page) -> tuple[int, int]:
    match = re.search(r"Reviewed (\d+) / (\d+)", page.inner_text("#review-progress"))
    return int(match.group(1)), int(match.group(2))


def text(page, elem_id: str):
    """The editable box of a Gradio Textbox (an input or a textarea)."""
    return page.locator(f"#{elem_id}").locator("input, textarea").first


def log_in(page, name: str) -> None:
    """Type an expert's name and password into the Review tab and press Enter."""
    text(page, "review-name").fill(name)
    text(page, "review-password").fill(PASSWORD)
    text(page, "review-password").press("Enter")


def choose(page, elem_id: str, value: str) -> None:
    """Type into a Gradio dropdown and commit the value."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    box.press("Enter")
    page.locator("body").click(position={"x": 5, "y": 5})  # blur: the value is committed


def choose_genus(page, genus: str) -> None:
    """Choose the photo's genus and wait until the species list has followed it (a server
    round trip whose answer, landing after a species was typed, would reset the species):
    the list then offers a species of ``genus``, and is closed again."""
    choose(page, "review-genus", genus)
    page.locator("#review-species input").click()
    page.get_by_role("option", name=re.compile(rf"^{genus} ")).first.wait_for(
        state="attached", timeout=60_000)
    page.locator("#review-species input").press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})


def test_visitor_cannot_submit_reviews(review_app, review_env, browser):
    before = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    page = open_review(browser, review_app.url)
    assert page.locator("#review-confirm").count() == 0  # no action controls rendered
    assert page.locator("#review-save").count() == 0
    for key in "crxbu":  # the shortcuts do nothing without the buttons
        page.keyboard.press(key)
    text(page, "review-name").fill("alice")
    text(page, "review-password").fill("guessing-wrong")
    page.click("#review-login")
    page.wait_for_selector("text=Unknown expert or wrong password", timeout=30_000)
    assert page.locator("#review-save").count() == 0
    page.close()
    visitor = Client(review_app.url, verbose=False)  # the API refuses the same request
    with pytest.raises(AppError, match="expert login"):
        visitor.predict("", "Boletus", "Boletus edulis", "", "All", "all", api_name="/review_save")
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == before


def test_expert_relabels_a_photo_with_a_species(review_app, review_env, browser, artifacts):
    page = open_review(browser, review_app.url)
    log_in(page, "alice")
    page.wait_for_function("() => /Reviewed \\d+/.test("
                           "document.querySelector('#review-progress')?.innerText || '')",
                           timeout=60_000)
    before = progress(page)
    label = page.inner_text("#review-label")
    image_id = re.search(r"id ([0-9a-f]{16})", label).group(1)
    choose_genus(page, "Russula")
    choose(page, "review-species", "Russula emetica")
    # typed key by key: c, r, b, s, u, l would be shortcuts outside a text box
    text(page, "review-note").press_sequentially("white gills, red cap, crumbly")
    page.locator("#review-label").click()  # leave the text box, then use the shortcut
    page.keyboard.press("r")
    # the Save's answer shows the next photo (a refresh tick may bring the new progress
    # line before it: waiting for that read the status line too early)
    page.wait_for_function(
        f"() => !document.querySelector('#review-label').innerText.includes('{image_id}')",
        timeout=60_000)
    assert progress(page) == (before[0] + 1, before[1])
    assert "Saved: relabel" in page.inner_text("#review-status")
    page.wait_for_timeout(1000)  # let the next photo finish rendering
    page.screenshot(path=str(artifacts / "review.png"), full_page=True)
    page.close()
    row = labels.read_rows(review_env["MUSHROOM_LABELS"])[-1]
    assert (row.annotator, row.image_id, row.action) == ("alice", image_id, "relabel")
    assert (row.genus, row.species, row.note) == ("Russula", "Russula emetica",
                                                 "white gills, red cap, crumbly")


def test_on_a_phone_the_next_photo_is_brought_into_view_after_a_decision(review_app, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                            has_touch=True)
    page.goto(review_app.url + "?tab=review")
    page.wait_for_selector("#review-login", state="visible")
    log_in(page, "bob")
    first = wait_for_photo(page)
    page.locator("#review-skip").scroll_into_view_if_needed()
    page.locator("#review-skip").click()  # the buttons sit far below the photo on a phone
    page.wait_for_function(
        f"() => !document.querySelector('#review-label').innerText.includes('{first}')",
        timeout=60_000)
    page.wait_for_timeout(500)
    top = page.locator("#review-photo").evaluate("e => e.getBoundingClientRect().top")
    page.close()
    assert -5 <= top <= 100, top  # the new photo, not the buttons, is what the expert sees


def shown_id(page) -> str:
    """The image id in the item's header."""
    return re.search(r"id ([0-9a-f]{16})", page.inner_text("#review-label")).group(1)


def wait_for_photo(page) -> str:
    """Wait until the item's header names a photo (after a login); return its id."""
    page.wait_for_function("() => /id [0-9a-f]{16}/.test("
                           "document.querySelector('#review-label')?.innerText || '')",
                           timeout=60_000)
    return shown_id(page)


def go_to(page, path: str, timeout: int = 60_000) -> str:
    """Open the photo at ``path`` ("Genus/file.jpg") with *Go to*; return its id."""
    text(page, "review-goto-name").fill(path)
    page.click("#review-goto")
    page.wait_for_function("(path) => document.querySelector('#review-label').innerText"
                           ".includes(path)", arg=path, timeout=timeout)
    return shown_id(page)


def wait_for_other_photo(page, old: str) -> str:
    """Wait until the header names a photo other than ``old``; return its id."""
    page.wait_for_function(
        f"() => /id [0-9a-f]{{16}}/.test(document.querySelector('#review-label').innerText)"
        f" && !document.querySelector('#review-label').innerText.includes('{old}')",
        timeout=60_000)
    return shown_id(page)


def test_previous_forward_and_go_to(review_app, review_env, browser):
    page = open_review(browser, review_app.url)
    log_in(page, "bob")
    a = wait_for_photo(page)
    page.click("#review-skip")
    b = wait_for_other_photo(page, a)
    page.keyboard.press("s")
    c = wait_for_other_photo(page, b)
    page.click("#review-previous")
    assert wait_for_other_photo(page, c) == b
    assert "Back: photo 2 of 3" in page.inner_text("#review-status")
    page.keyboard.press("h")
    assert wait_for_other_photo(page, b) == a
    page.keyboard.press("f")  # the key for Forward
    assert wait_for_other_photo(page, a) == b
    page.click("#review-forward")
    assert wait_for_other_photo(page, b) == c
    # Go to, typed key by key: letters in the box must not trigger the shortcuts.
    text(page, "review-goto-name").press_sequentially("000.jpg")
    text(page, "review-goto-name").press("Enter")
    page.wait_for_function("() => document.querySelector('#review-status').innerText"
                           ".includes('3 photos match')", timeout=60_000)
    assert shown_id(page) == c  # several matches: the photo stays
    text(page, "review-goto-name").fill("Russula/002.jpg")
    page.click("#review-goto")
    d = wait_for_other_photo(page, c)
    assert "Russula/002.jpg" in page.inner_text("#review-label")
    assert "Opened Russula/002.jpg" in page.inner_text("#review-status")  # code, no backticks
    page.click("#review-previous")
    assert wait_for_other_photo(page, d) == c  # Go to is a step of the trail too
    page.close()


def test_a_good_login_clears_the_toasts_of_refused_ones(review_app, browser):
    page = open_review(browser, review_app.url)
    for _ in range(2):  # Gradio never fades a toast group of two messages by itself
        text(page, "review-name").fill("alice")
        text(page, "review-password").fill("guessing-wrong")
        page.click("#review-login")
        page.wait_for_timeout(1500)
    page.wait_for_selector(".toast-body.error", state="visible")
    log_in(page, "alice")
    page.wait_for_selector("#review-progress", state="visible", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('.toast-body.error')", timeout=5_000)
    assert "Signed in as alice" in page.inner_text("#review-who")
    page.close()


def test_a_refused_stale_vote_shows_the_photo_as_it_stands_now(review_app, review_env, browser):
    """Alice has a photo open when Bob relabels it: her Confirm is refused, and the page
    must then show Bob's label and vote, not the label it refused (seen live: the old
    label and "0 vote(s)" stayed, and pressing Confirm again was refused again)."""
    page = open_review(browser, review_app.url)
    log_in(page, "alice")
    wait_for_photo(page)
    image_id = go_to(page, "Boletus/002.jpg")
    label = page.inner_text("#review-label").split("\n")[0].split(" · ")[0].strip()
    other = "Amanita" if label != "Amanita" else "Russula"
    bob = Client(review_app.url, verbose=False)
    bob.predict("bob", PASSWORD, api_name="/review_login")
    bob.predict(image_id, other, "", "", "All", "all", api_name="/review_save")
    rows = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    text(page, "review-note").fill("ring on the stem")
    page.click("#review-confirm")
    page.wait_for_function(
        "() => document.querySelector('#review-label').innerText.split('\\n')[0]"
        f".startsWith('{other}')", timeout=60_000)
    assert shown_id(page) == image_id
    assert "bob" in page.inner_text("#review-votes")
    assert "Not saved" in page.inner_text("#review-status")
    assert text(page, "review-note").input_value() == "ring on the stem"  # typed, kept
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == rows
    page.close()


def test_other_experts_votes_show_up_without_a_click(review_app, review_env, browser):
    """Alice has a photo open, her genus chosen and a note typed, when Bob relabels it through
    the API: within a tick her page shows the new progress, Bob's vote (counted in her
    header) and a notice, without a click and without touching the photo, her genus or her
    note. The timer ticks only
    while she is signed in."""
    from mushroom.consensus import current

    tick = next((d["id"] for d in Client(review_app.url, verbose=False).config["dependencies"]
                 if d.get("api_name") == "review_tick"), None)
    page = open_review(browser, review_app.url)
    ticks = []
    page.on("request", lambda r: ticks.append(r.url) if r.method == "POST"
            and (r.post_data_json or {}).get("fn_index") == tick else None)
    page.wait_for_timeout(3 * REFRESH_S * 1000)
    assert not ticks  # not signed in: no timer
    log_in(page, "alice")
    wait_for_photo(page)
    voted = current(review_env["MUSHROOM_LABELS"])
    path = next(r.path for r in review.load_queue(
        Path(review_env["MUSHROOM_LABELS"]) / review.CACHE_NAME,
        review_env["MUSHROOM_LABELS"]).itertuples() if r.image_id not in voted)
    image_id = go_to(page, path)
    header, before = page.inner_text("#review-label"), progress(page)
    label = header.split("\n")[0].split(" · ")[0].strip()
    other, mine = ("Amanita", "Russula") if label != "Amanita" else ("Boletus", "Russula")
    choose(page, "review-genus", mine)
    text(page, "review-note").fill("cap still wet")
    bob = Client(review_app.url, verbose=False)
    bob.predict("bob", PASSWORD, api_name="/review_login")
    bob.predict(image_id, other, "", "", "All", "all", api_name="/review_save")
    page.wait_for_function(
        "() => document.querySelector('#review-status').innerText.includes('changed meanwhile')",
        timeout=int(3 * REFRESH_S * 1000) + 5_000)
    assert ticks  # what brought it (and what the counts before and after look for)
    assert not any("/queue/" in url for url in ticks), ticks  # a full queue cannot refuse it
    assert progress(page) == (before[0] + 1, before[1])
    assert "bob" in page.inner_text("#review-votes")
    assert (f"bob's vote changed this photo's label from {label} to {other}"
            in page.inner_text("#review-status"))
    # the header counts bob's vote; the label her Confirm refers to stays as shown
    assert page.inner_text("#review-label") == header.replace(" · 0 vote(s)", " · 1 vote(s)")
    assert " · 0 vote(s)" in header
    assert page.locator("#review-genus input").input_value() == mine
    assert text(page, "review-note").input_value() == "cap still wet"
    page.click("#review-logout")
    page.wait_for_selector("#review-login", state="visible")
    page.wait_for_timeout(REFRESH_S * 1000)  # a tick sent just before the logout lands
    ticks.clear()
    page.wait_for_timeout(3 * REFRESH_S * 1000)
    assert not ticks  # signed out: the timer stopped
    page.close()


def test_a_tick_lands_only_on_the_photo_and_filters_it_was_computed_for(browser):
    """The browser half of a tick (APPLY_JS), run in Chromium: a tick computed for the photo
    on screen places its values (None keeps the page's); one computed for the photo an
    expert's Confirm just replaced, or for other filters, changes nothing. A new header (the
    line on who has the photo open) lands only over the header the tick edited."""
    from mushroom.ui.review_refresh import APPLY_JS

    page = browser.new_page()
    votes = {"headers": ["time (UTC)", "expert", "action", "vote", "note"], "data": []}
    tick = {"image_id": "abc", "genus": "All", "mode": "all", "progress": "Reviewed 2 / 9",
            "votes": [["t", "bob", "relabel", "Amanita", ""]], "status": None,
            "label": "### Amanita  \n**bob has this photo open**", "label_shown": "### Amanita"}
    run = (f"([t, c, g, m, h]) => ({APPLY_JS})(t, c, g, m, 'Reviewed 1 / 9', {votes!r}, "
           "'Saved', h)").replace("None", "null")
    progress, shown, status, header = page.evaluate(run, [tick, "abc", "All", "all",
                                                          "### Amanita"])
    assert (progress, status, header) == ("Reviewed 2 / 9", "Saved", tick["label"])
    assert shown == {**votes, "data": tick["votes"]}
    kept = ["Reviewed 1 / 9", votes, "Saved", "### Amanita"]
    for stale in (["xyz", "All", "all"], ["abc", "Russula", "all"], ["abc", "All", "disputed"]):
        assert page.evaluate(run, [tick, *stale, "### Amanita"]) == kept, stale
    assert page.evaluate(run, [None, "abc", "All", "all", "### Amanita"]) == kept
    # the page re-rendered this photo's header meanwhile: the tick's older edit stays out
    assert page.evaluate(run, [tick, "abc", "All", "all", "### Boletus"])[3] == "### Boletus"
    assert page.evaluate(run, [{**tick, "label": None}, "abc", "All", "all",
                               "### Amanita"])[3] == "### Amanita"
    page.close()


def test_on_a_phone_the_empty_lime_box_does_not_push_the_label_down(review_app, browser):
    """The Review tab's LIME box (300 px) sat empty between the photo and its label on a
    phone; it now appears only once a heatmap is asked for, while a desktop keeps its place."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                            has_touch=True)
    page.goto(review_app.url + "?tab=review")
    page.wait_for_selector("#review-login", state="visible")
    log_in(page, "bob")
    wait_for_photo(page)
    assert page.locator("#review-lime").is_hidden()
    photo_bottom = page.locator("#review-photo").evaluate("e => e.getBoundingClientRect().bottom")
    label_top = page.locator("#review-label").evaluate("e => e.getBoundingClientRect().top")
    assert label_top - photo_bottom < 150, (photo_bottom, label_top)  # no empty box between
    page.locator("#review-explain").scroll_into_view_if_needed()
    page.locator("#review-explain").click()
    page.wait_for_selector("#review-lime img", state="visible", timeout=120_000)
    page.locator("#review-skip").click()  # the next photo has no heatmap yet
    page.wait_for_selector("#review-lime", state="hidden", timeout=60_000)
    page.close()
    desktop = open_review(browser, review_app.url)
    log_in(desktop, "bob")
    wait_for_photo(desktop)
    assert desktop.locator("#review-lime").is_visible()
    desktop.close()


def test_moving_on_drops_the_explanation_still_running_for_the_last_photo(review_app, browser):
    """A heatmap asked for on one photo landed on the next one when the expert moved on
    before it came back: moving on cancels it."""
    page = open_review(browser, review_app.url)
    log_in(page, "bob")
    wait_for_photo(page)
    first = go_to(page, "Russula/001.jpg")  # explained by no other test: not in the cache
    watch_images(page, "#review-lime img")
    sent = calls_sent(page, "review_explain_page")
    page.locator("#review-explain").click()
    wait_until_running(page, "#review-lime")  # the explanation is running
    page.locator("#review-skip").click()
    page.wait_for_function("(first) => !document.querySelector('#review-label').innerText"
                           ".includes(first)", arg=first, timeout=60_000)
    wait_until_cancelled(page, "#review-lime")  # else the next click is dropped (conftest)
    page.locator("#review-explain").click()  # this photo's own explanation still comes
    page.locator("#review-lime img").wait_for(timeout=120_000)
    # LIME runs one at a time, first come first served: the last photo's heatmap, had it
    # not been dropped, would have been shown before this one (no fixed wait for it). And
    # this one is no late answer to the first click: the second click was sent, not dropped
    # as a click on a button whose last call is still pending is.
    assert len(sent) == 2
    assert len(images_seen(page, "#review-lime img")) == 1
    page.close()


def test_lime_clicked_while_the_last_photo_s_is_still_being_cancelled_is_not_lost(review_app,
                                                                                   browser):
    """Gradio's page dropped a click on LIME until the server had answered the cancel of
    the last photo's explanation (seconds on a loaded Space): the old spinner vanished and
    no heatmap came. The click now explains the photo on screen, once, when the cancel is
    done, and the last photo's heatmap is still dropped."""
    page = open_review(browser, review_app.url, held_cancels=True)
    log_in(page, "bob")
    wait_for_photo(page)
    first = go_to(page, "Amanita/001.jpg")  # explained by no other test: not in the cache
    watch_images(page, "#review-lime img")
    sent = calls_sent(page, "review_explain_page")
    page.locator("#review-explain").click()
    wait_until_running(page, "#review-lime")  # the explanation is running
    page.locator("#review-skip").click()
    second = wait_for_other_photo(page, first)
    page.wait_for_function("() => window.cancelsSent > 0", timeout=10_000)
    page.locator("#review-explain").click()  # while the cancel is on its way
    page.locator("#review-label").click()  # out of any text box: "l" is LIME's key
    page.keyboard.press("l")  # asked twice: still one explanation
    page.wait_for_timeout(500)
    assert len(sent) == 1  # not sent yet: Gradio still holds the last photo's as pending
    release_cancels(page)
    page.wait_for_function("() => document.querySelector('#review-lime img')"
                           " && !document.querySelector('#review-lime [data-testid=status-"
                           "tracker]:not(.hide)')", timeout=120_000)
    page.wait_for_timeout(2000)  # no second explanation follows the first
    assert [data[1] for data in sent] == [first, second]
    assert len(images_seen(page, "#review-lime img")) == 1
    assert shown_id(page) == second
    page.close()


def test_the_last_photo_s_explanation_that_finishes_while_cancelled_is_never_shown(
        review_app, browser):
    """A heatmap done on the server before its cancel got there (a slow network, a cached
    one) still reached the page, which drew it, and its caption, on the next photo."""
    page = open_review(browser, review_app.url, held_cancels=True)
    log_in(page, "bob")
    wait_for_photo(page)
    first = go_to(page, "Amanita/002.jpg")  # explained by no other test: not in the cache
    watch_images(page, "#review-lime img")
    page.locator("#review-explain").click()
    wait_until_running(page, "#review-lime")  # the explanation is running
    page.locator("#review-skip").click()
    second = wait_for_other_photo(page, first)
    page.wait_for_function("() => window.cancelsSent > 0", timeout=10_000)  # held
    note = page.locator("#review-lime-note").inner_text()
    wait_until_completed(page, "review_explain_page")  # the last photo's reached the page
    page.wait_for_timeout(1000)
    release_cancels(page)
    page.wait_for_timeout(1000)
    assert images_seen(page, "#review-lime img") == []
    assert page.locator("#review-lime-note").inner_text() == note  # no caption of it
    assert shown_id(page) == second
    page.close()


def test_a_refused_explanation_says_why_under_the_heatmap_box(review_app, browser):
    """LIME with no photo open came back as a toast that faded, leaving a bare "Error"
    badge in the heatmap's box: the reason now stays in the caption's place."""
    page = open_review(browser, review_app.url)
    log_in(page, "bob")
    wait_for_photo(page)
    choose(page, "review-filter-genus", "Hygrocybe")  # no queued photo of it: none open
    page.wait_for_function("() => !/id [0-9a-f]{16}/.test("
                           "document.querySelector('#review-label')?.innerText || '')",
                           timeout=60_000)
    said = refused_in_place(page, "#review-explain", "#review-lime-note .photo-error",
                            "#review-lime")
    assert "No heatmap for this photo." in said and "No photo is open" in said
    page.close()


def test_no_image_of_the_review_tab_can_be_shared_publicly(review_app, browser):
    """Gradio's "Share" on the photo and the heatmap posts them to a public Hugging Face
    discussion on a Space (elsewhere it only toasts "Must be on Spaces to share"): the queue's
    photos are the project's data, not for an expert's click to publish."""
    page = open_review(browser, review_app.url)
    log_in(page, "bob")
    wait_for_photo(page)
    page.locator("#review-explain").click()
    page.locator("#review-lime img").wait_for(timeout=120_000)
    for selector in ("#review-photo", "#review-lime"):
        buttons = corner_buttons(page, selector)
        assert "Download" in buttons and "Fullscreen" in buttons, (selector, buttons)
        assert "Share" not in buttons, (selector, buttons)
    page.close()


def test_the_heatmaps_text_alternative_says_what_its_legend_says(review_app, browser):
    """The Review heatmap's alt was "": a screen reader skipped it, genus, probability and
    fit drawn into it included. It now reads its legend, as on the Identify tab."""
    page = open_review(browser, review_app.url)
    log_in(page, "bob")
    wait_for_photo(page)
    page.locator("#review-explain").click()
    page.wait_for_function("() => document.querySelector('#review-lime img')?.alt",
                           timeout=120_000)
    alt = page.locator("#review-lime img").get_attribute("alt")
    shown = page.locator("#review-lime-note").inner_text()
    genus = re.search(r"top genus \((\w+) ", shown)  # the caption names the genus explained
    assert genus and re.fullmatch(
        rf"LIME heatmap: cyan regions support {genus.group(1)} \([^)]*%\), red regions "
        r"oppose it\. Fit [01]\.\d\d of 1(: weak, read with caution)?\.", alt), alt
    assert "cyan" not in shown  # the alt's paragraph in the caption stays hidden
    page.close()


def test_typed_markup_shows_on_the_status_line_as_typed(review_app, browser):
    """The status line quotes the note just added, a Go to name that matched nothing and a
    refused species. Gradio's Markdown rendered them: the unknown tag in "check <volva>"
    swallowed the rest of the line (a refusal's reason too), a Markdown image loaded from
    any server (here an address nothing answers), ``*ring*`` came out in italics."""
    page = open_review(browser, review_app.url)
    remote = []
    page.on("request", lambda r: remote.append(r.url) if "127.0.0.9" in r.url else None)
    log_in(page, "alice")
    wait_for_photo(page)
    status = page.locator("#review-status")
    note = "check <volva> & *ring* ![s](http://127.0.0.9/t.png) [x](javascript:0)"
    text(page, "review-note").fill(note)
    page.click("#review-add-note")
    page.wait_for_function("() => document.querySelector('#review-status').innerText"
                           ".includes('Saved')", timeout=60_000)
    assert note in status.inner_text()
    assert status.locator("img, a, em").count() == 0
    text(page, "review-goto-name").fill("<b>no</b> such")
    page.click("#review-goto")
    page.wait_for_function("() => document.querySelector('#review-status').innerText"
                           ".includes('No photo')", timeout=60_000)
    assert "“<b>no</b> such”" in status.inner_text() and status.locator("b").count() == 0
    choose(page, "review-species", "Amanita <volva>")  # the refusal quotes it: the reason
    page.click("#review-save")                          # after it was swallowed too
    page.wait_for_function("() => document.querySelector('#review-status').innerText"
                           ".includes('Not saved')", timeout=60_000)
    assert "“Amanita <volva>” is not a binomial: write" in status.inner_text()
    assert remote == []
    page.close()
