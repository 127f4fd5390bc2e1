"""Real Chromium on the Review tab, as found walking it as two experts: what the page says
after a refused Save, the shortcuts after a click on a "Show" filter, the votes table on a
desktop and a phone, where a refused Save's toast lands on a phone, the key hints on a
desktop and not on a phone, and no console errors while the refresh ticks beside the
expert's clicks.

Every page here records the browser's console errors; each test ends by asserting none.
"""

from __future__ import annotations

import pytest

from conftest import completions, logged_in, wait_until_completed, watch_completions
from mushroom import labels
from test_browser_review import (choose, choose_genus, go_to, log_in, shown_id, text,
                                 wait_for_photo)

pytestmark = pytest.mark.browser
REFRESH_S = 0.25  # ticks all through this module, so that clicks race them
LONG_NOTE = ("volva a loose white sac at the base; ring skirt-like and striate above; smells "
             "of raw potato")


@pytest.fixture(scope="module")
def review_env(review_env: dict[str, str]) -> dict[str, str]:
    """conftest's setup with a refresh four times a second."""
    return {**review_env, "MUSHROOM_REVIEW_REFRESH_S": str(REFRESH_S)}


def open_review(browser, url: str, errors: list, width: int = 1280, height: int = 900):
    """The Review tab in a new page of ``width`` x ``height`` (a phone below 500) whose console
    errors go to ``errors`` and whose calls' results are watched (conftest.completions)."""
    phone = width < 500
    page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=phone,
                            has_touch=phone)
    watch_completions(page)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url + "?tab=review")
    page.wait_for_selector("#review-login", state="visible")
    return page


def wait_for_status(page, words: str) -> str:
    page.wait_for_function(f"() => document.querySelector('#review-status').innerText"
                           f".includes({words!r})", timeout=30_000)
    return page.inner_text("#review-status")


def test_a_refused_save_says_why_and_keeps_what_was_typed(review_app, review_env, browser):
    """Seen live: the toast cut the species hint at “Boletus (its "<epithet>" was taken for
    an HTML tag), and once it faded the status line still said "Saved: ..." of the last
    decision, as if this Save had gone through."""
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "alice")
    image_id = wait_for_photo(page)
    text(page, "review-note").fill("gills crowded")
    page.click("#review-add-note")
    wait_for_status(page, "Saved: note added")
    rows = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    choose_genus(page, "Russula")
    choose(page, "review-species", "Russula emetica x")
    text(page, "review-note").fill("cap peels halfway")
    page.click("#review-save")
    status = wait_for_status(page, "Not saved")
    assert "“Russula emetica x” is not a binomial" in status and "Saved:" not in status
    assert "still in its box" in status
    toast = page.inner_text(".toast-body.error")
    assert "leave it empty to vote for the genus only" in toast  # the whole hint
    assert shown_id(page) == image_id
    assert page.locator("#review-genus input").input_value() == "Russula"
    assert page.locator("#review-species input").input_value() == "Russula emetica x"
    assert text(page, "review-note").input_value() == "cap peels halfway"
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == rows
    page.close()
    assert errors == []


def test_shortcuts_work_after_a_click_on_a_show_filter(review_app, browser):
    """Seen live: after a click on a "Show" choice the focus stays on its radio button, and
    the shortcuts ignored every key, as if the expert were typing in a text box."""
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "bob")
    first = wait_for_photo(page)
    filtered = completions(page, "review_filter")
    page.locator("#review-mode").get_by_label("all", exact=True).click()
    # the filter event shows the queue again: its answer landing after the shortcut's would
    # bring the first photo back
    wait_until_completed(page, "review_filter", timeout=60_000, after=filtered)
    assert page.evaluate("() => document.activeElement.type") == "radio"
    page.keyboard.press("s")
    page.wait_for_function(
        f"() => !document.querySelector('#review-label').innerText.includes('{first}')",
        timeout=10_000)
    assert wait_for_status(page, "Skipped")
    page.close()
    assert errors == []


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_the_votes_table_shows_every_note_within_its_box(review_app, browser, width, height):
    """Seen live: Gradio sized each column to its unwrapped text, so the table ran off the
    side of its box and a colleague's note (and often the vote) was out of sight."""
    bob = logged_in(review_app, "bob")
    image_id = bob.predict("Amanita/002.jpg", api_name="/review_go_to")[0]
    bob.predict(image_id, "Amanita", "", LONG_NOTE, "All", "all", api_name="/review_note")
    errors = []
    page = open_review(browser, review_app.url, errors, width, height)
    log_in(page, "alice")
    wait_for_photo(page)
    go_to(page, "Amanita/002.jpg", timeout=30_000)
    table = page.locator("#review-votes")
    note = table.locator(".body-cell", has_text="raw potato").last
    table.scroll_into_view_if_needed()
    inside, cell = table.bounding_box(), note.bounding_box()
    page.close()
    assert cell["x"] >= inside["x"] and cell["x"] + cell["width"] <= inside["x"] + inside["width"]
    assert errors == []


def test_clicking_through_while_the_refresh_ticks_logs_no_error(review_app, browser):
    """Seen live: an item event cancelled the refresh in flight, and Gradio answered the
    cancel of a tick not yet queued with a 422 the browser logged as an error."""
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "bob")
    wait_for_photo(page)
    for _ in range(30):
        page.click("#review-skip")
        page.wait_for_timeout(150)
    page.wait_for_timeout(1000)
    page.close()
    assert errors == []


def test_remove_from_list_asks_for_a_confirmation_that_anything_else_cancels(review_app,
                                                                            review_env, browser):
    """One click on "Remove from list" used to take a name off every expert's list. Now the
    first click turns the button into "Confirm: remove “X”"; another click elsewhere, or ten
    seconds, turn it back without removing anything; only the confirming click removes."""
    from mushroom.species import ensure_species, species_choices

    store = review_env["MUSHROOM_LABELS"]
    for name in ("Amanita pagina", "Amanita tardia"):
        ensure_species(store, "Amanita", name, "bob")
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "alice")
    wait_for_photo(page)
    button = page.locator("#review-retire-species")

    def arm(name: str) -> None:
        choose_genus(page, "Amanita")
        choose(page, "review-species", name)
        button.click()
        wait_for_status(page, f"Remove “{name}” from every expert's Amanita species list?")
        assert button.inner_text() == f"Confirm: remove “{name}”"

    def wait_for_idle() -> None:
        page.wait_for_function("() => document.querySelector('#review-retire-species')"
                               ".innerText === 'Remove from list'", timeout=30_000)

    arm("Amanita pagina")
    page.click("#review-skip")  # anything else cancels
    wait_for_idle()
    assert "Amanita pagina" in species_choices(store, "Amanita")
    arm("Amanita pagina")
    button.click()
    wait_for_status(page, "Removed “Amanita pagina” from the Amanita species list")
    wait_for_idle()
    assert "Amanita pagina" not in species_choices(store, "Amanita")
    arm("Amanita tardia")
    assert "was not confirmed within 10 s" in wait_for_status(page, "Not removed")
    wait_for_idle()
    assert "Amanita tardia" in species_choices(store, "Amanita")
    page.close()
    assert errors == []


CELLS_JS = """() => {
  const table = document.querySelector('#review-votes');
  const lines = (el) => {  // how many lines the text of ``el`` takes on screen
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };
  const words = [...table.querySelectorAll('[role=gridcell] .cell-wrap')]
    .filter((c) => c.innerText.trim() && !/\\s/.test(c.innerText.trim()));
  return {right: table.getBoundingClientRect().right, page: document.documentElement.scrollWidth,
          headers: [...table.querySelectorAll('th .header-content')].filter(
            (h) => h.scrollWidth > h.clientWidth).map((h) => h.innerText),
          broken: words.filter((c) => lines(c) > 1).map((c) => c.innerText),
          words: words.map((c) => c.innerText)};
}"""


@pytest.mark.parametrize(("width", "photo"), [(390, "Russula/001.jpg"), (320, "Boletus/001.jpg")])
def test_on_a_phone_the_votes_table_breaks_no_word(review_app, browser, width, photo):
    """Seen on a 390 px phone: Gradio padded each of the five narrow columns by 16 px a side
    in a wide monospace font, so "alice" showed as "ali ce", "relabel" as "relabe l", the
    header "expert" was cut to "expe" and a note ran down as one word a line. At 320 px
    (WCAG 1.4.10's reflow width) the header still showed "exper"."""
    bob = logged_in(review_app, "bob")
    image_id = bob.predict(photo, api_name="/review_go_to")[0]  # bob relabels it
    bob.predict(image_id, "Amanita", "", LONG_NOTE, "All", "all", api_name="/review_save")
    errors = []
    page = open_review(browser, review_app.url, errors, width, 844)
    log_in(page, "alice")
    wait_for_photo(page)
    go_to(page, photo, timeout=30_000)
    page.locator("#review-votes").scroll_into_view_if_needed()
    cells = page.evaluate(CELLS_JS)
    page.close()
    assert {"bob", "relabel"} <= set(cells["words"])
    assert cells["broken"] == [] and cells["headers"] == []
    assert cells["right"] <= width and cells["page"] <= width  # nothing runs off the side
    assert errors == []


def test_on_a_phone_a_refused_save_toast_leaves_the_genus_and_species_boxes_clear(review_app,
                                                                                 browser):
    """Seen on a phone: the toast of a refused Save dropped from the top of the screen over
    the genus box, the very field its message asks the expert to fix."""
    errors = []
    page = open_review(browser, review_app.url, errors, 390, 844)
    log_in(page, "alice")
    wait_for_photo(page)
    choose_genus(page, "Russula")
    choose(page, "review-species", "Russula emetica x")
    page.locator("#review-genus").evaluate("(e) => e.scrollIntoView({block: 'start'})")
    page.click("#review-save")  # just below: clicking it scrolls nothing
    wait_for_status(page, "Not saved")
    toast = page.locator(".toast-body.error").first.bounding_box()
    boxes = [page.locator(f"#{name} input").bounding_box()
             for name in ("review-genus", "review-species")]
    page.close()
    assert 0 <= toast["y"] and toast["y"] + toast["height"] <= 844  # on screen

    def overlap(a: dict, b: dict) -> bool:
        return not (a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
                    or a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"])

    assert [overlap(toast, box) for box in boxes] == [False, False], (toast, boxes)
    assert errors == []


HINTS_JS = """(ids) => ids.map((id) => {
  const button = document.getElementById(id);
  const after = getComputedStyle(button, '::after').content;  // '" [c]"', or 'none'
  return button.innerText + (after.startsWith('"') ? JSON.parse(after) : '');
})"""


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_key_hints_show_on_a_desktop_and_not_on_a_phone(review_app, browser, width, height):
    """A phone has no keys: "Confirm [c]", "Skip [s]" and the list of keys under the buttons
    meant nothing there and took room. A desktop still shows them."""
    from mushroom.ui.review_keys import KEYS

    errors = []
    page = open_review(browser, review_app.url, errors, width, height)
    log_in(page, "alice")
    wait_for_photo(page)
    labels_shown = dict(zip(KEYS, page.evaluate(HINTS_JS, list(KEYS.values()))))
    key_list = page.locator("#review-keys").is_visible()
    named = page.get_by_role("button", name="Confirm [c]", exact=True).count()
    page.close()
    if width < 640:
        assert [s for s in labels_shown.values() if "[" in s] == [] and not key_list
        assert labels_shown["c"] == "Confirm" and labels_shown["s"] == "Skip"
    else:
        assert all(shown.endswith(f" [{key}]") for key, shown in labels_shown.items())
        assert labels_shown["c"] == "Confirm [c]" and key_list
        assert named == 1  # screen readers hear the key too
    assert errors == []


def test_nothing_to_download_leaves_no_bare_error_in_the_download_box(browser, tiny_checkpoint,
                                                                      tmp_path):
    """A fresh store has no decision to zip: the toast says so, and the download box, which
    kept a bare "Error" badge after the toast faded, is left empty."""
    from conftest import review_setup
    from server import running_app

    errors: list[str] = []
    env = {**review_setup(tmp_path), "MUSHROOM_MODEL": str(tiny_checkpoint)}
    with running_app(env) as fresh:
        page = open_review(browser, fresh.url, errors)
        log_in(page, "alice")
        wait_for_photo(page)
        page.click("#review-store")
        toast = page.locator(".toast-body.error")
        toast.first.wait_for(timeout=30_000)
        assert "nothing to download" in toast.first.inner_text()
        box = page.locator("#review-download")
        page.wait_for_function("b => !b.innerText.includes('Error')", arg=box.element_handle(),
                               timeout=10_000)
        page.close()
    assert errors == []


def test_a_refusal_toast_shows_the_typed_species_whole(review_app, browser):
    """Seen live: the toast of a refused Save rendered its message as HTML, so the typed
    species “Amanita <volva>” was taken for a tag and the toast's reason stopped at
    “Amanita ”; the status line, which escapes it, showed it whole (and still must, once)."""
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "bob")
    wait_for_photo(page)
    choose_genus(page, "Amanita")
    choose(page, "review-species", "Amanita <volva> & co")
    page.click("#review-save")
    status = wait_for_status(page, "Not saved")
    page.locator(".toast-body.error").first.wait_for(timeout=30_000)
    toast = page.inner_text(".toast-body.error")
    page.close()
    assert "“Amanita <volva> & co” is not a binomial: write" in toast
    assert "“Amanita <volva> & co” is not a binomial: write" in status
    assert "&lt;" not in status and "&amp;" not in status
    assert errors == []


def test_an_empty_list_clears_the_species_box_each_time(review_app, review_env, browser):
    """Seen walking the tab: after a photo with a species, "disputed" with none left showed
    an empty genus box beside the last photo's species, from the second empty view on."""
    client = logged_in(review_app, "bob")  # a photo with a species to go back to
    image_id = client.predict("", "All", "all", api_name="/review_show")[0]
    client.predict(image_id, "Amanita", "Amanita muscaria var. guessowii", "", "All", "all",
                   api_name="/review_save")
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "alice")
    wait_for_photo(page)
    choose(page, "review-filter-genus", "Boletus")
    page.get_by_label("disputed").check()  # none disputed in Boletus
    none_left = ("() => document.querySelector('#review-label').innerText"
                 ".startsWith('No disputed photos in Boletus')")
    page.wait_for_function(none_left, timeout=30_000)
    species = page.locator("#review-species input")
    for _ in range(3):
        go_to(page, image_id)  # shown whatever the filters
        page.wait_for_function("() => document.querySelector('#review-species input').value"
                               " === 'Amanita muscaria var. guessowii'", timeout=30_000)
        page.click("#review-refresh")  # Open queue: back to the empty list
        page.wait_for_function(none_left, timeout=30_000)
        page.wait_for_timeout(500)  # the outputs land together; let the page settle
        assert species.input_value() == ""
    assert errors == []


def test_add_note_keeps_the_genus_and_species_chosen(review_app, review_env, browser):
    """Seen walking the tab: Boletus and "Boletus edulis" chosen for a Suillus photo, the
    reason typed in the note, *Add note* pressed first: the boxes went back to Suillus."""
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "alice")
    image_id = wait_for_photo(page)
    label = page.locator("#review-genus input").input_value()
    other, species = ("Russula", "Russula emetica") if label != "Russula" else (
        "Boletus", "Boletus edulis")
    choose(page, "review-genus", other)
    choose(page, "review-species", species)
    text(page, "review-note").fill("pores white when young")
    page.click("#review-add-note")
    wait_for_status(page, "still in their boxes")
    assert shown_id(page) == image_id and text(page, "review-note").input_value() == ""
    assert page.locator("#review-genus input").input_value() == other
    assert page.locator("#review-species input").input_value() == species
    page.click("#review-save")  # the vote the note explained
    wait_for_status(page, "Saved: relabelled")
    last = labels.read_rows(review_env["MUSHROOM_LABELS"])[-1]
    assert (last.image_id, last.genus, last.species) == (image_id, other, species)
    assert errors == []


def test_c_pressed_after_choosing_another_genus_saves_nothing(review_app, review_env,
                                                              browser):
    """Seen walking the tab: Amanita phalloides chosen for a Suillus photo, then `c` pressed
    for `r`: "Saved: confirmed Suillus", and the page moved on to the next photo."""
    errors = []
    page = open_review(browser, review_app.url, errors)
    log_in(page, "bob")
    image_id = wait_for_photo(page)
    label = page.locator("#review-genus input").input_value()
    other = "Amanita" if label != "Amanita" else "Boletus"
    choose_genus(page, other)
    rows = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("c")
    said = wait_for_status(page, "Not saved")
    assert f"Confirm votes for the label shown, {label}, but the boxes say {other}" in said
    assert shown_id(page) == image_id  # still on the photo, the choice in its box
    assert page.locator("#review-genus input").input_value() == other
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == rows
    page.keyboard.press("r")  # the vote meant
    wait_for_status(page, "Saved: relabelled")
    last = labels.read_rows(review_env["MUSHROOM_LABELS"])[-1]
    assert (last.image_id, last.annotator, last.genus) == (image_id, "bob", other)
    assert errors == []
