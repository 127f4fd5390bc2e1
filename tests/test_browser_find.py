"""Debian Chromium uploads two photos of one find and sees the combined verdict and the set.

The app runs a tiny checkpoint with conformal thresholds fitted for real (``calibrated.py``),
so the page has a prediction set to show. Requests leaving localhost are aborted. The
screenshot (``find.png``) goes to the ``artifacts`` fixture's folder (conftest).
"""

from __future__ import annotations

import re

import pytest
from gradio_client import Client, handle_file

from calibrated import calibrated_checkpoint
from conftest import (CHROMIUM, calls_sent, corner_buttons, hold_cancels, images_seen,
                      make_photo, refused_in_place, release_cancels, wait_until_completed,
                      wait_until_running, watch_completions, watch_images)
from mushroom.taxonomy import GENERA
from mushroom.ui.cards import photo_caption
from images import rotated_webp
from server import running_app

LEVEL_TITLES = ("POISONOUS", "UNCERTAIN", "NOT RECOGNIZED", "edible AND toxic")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def app(tiny_checkpoint, tmp_path_factory):
    ckpt = calibrated_checkpoint(tiny_checkpoint, tmp_path_factory.mktemp("cal") / "cal.pt")
    with running_app({"MUSHROOM_MODEL": str(ckpt)}) as running:
        yield running


@pytest.fixture
def page(browser):
    """A fresh page whose requests leaving localhost are aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
        ("http://127.0.0.1", "http://localhost", "data:", "blob:")) else r.abort())
    yield context.new_page()
    context.close()


def wait_for_answers(page) -> None:
    """Wait until the find's answer is in and "Photo to explain" lists each photo's own
    answer after its name ("Photo 1 (cap.jpg): Boletus 61%, ...")."""
    page.locator("#find-verdict .verdict, #find-verdict .photo-error").first.wait_for(
        timeout=90_000)
    page.wait_for_function("() => document.querySelector('#find-which input')?.value"
                           ".includes('): ')", timeout=30_000)


def test_two_photos_of_one_find_show_combined_verdict_and_set(app, page, tmp_path,
                                                              artifacts):
    photos = []
    for view, seed in (("cap", 21), ("gills", 22)):
        path = tmp_path / f"{view}.jpg"
        make_photo(GENERA.index("Lactarius"), seed=seed, size=(320, 240)).save(path, quality=92)
        photos.append(path)
    expected = Client(app.url, verbose=False).predict([handle_file(str(p)) for p in photos],
                                                      api_name="/identify_find")

    page.goto(app.url, wait_until="load")
    page.get_by_role("tab", name="One find, several photos").click()
    page.locator("#find-photos input[type=file]").set_input_files([str(p) for p in photos])
    card = page.locator("#find-verdict .verdict")
    card.wait_for(timeout=90_000)
    text = card.inner_text()

    assert "Combined from 2 of 2 photos" in page.locator("#find-verdict").inner_text()
    assert any(title in text for title in LEVEL_TITLES)
    assert f"verdict-{expected['verdict']['level']}" in card.get_attribute("class")
    shown = re.search(r"Plausible genera?: ([^(]*) \(", text)
    assert shown, text
    assert [g.strip() for g in shown.group(1).split(",")] == expected["prediction_set"]
    topk = page.locator("#find-topk").inner_text()
    assert expected["top_k"][0]["genus"] in topk

    page.locator("#find-per-photo").get_by_text("Per-photo results").click()
    table = page.locator("#find-table table")
    table.wait_for(timeout=30_000)
    assert "Photo 1:" in table.inner_text() and "Photo 2:" in table.inner_text()

    page.screenshot(path=str(artifacts / "find.png"), full_page=True)
    assert app.alive()


def test_iphone_heic_file_is_accepted_by_the_picker(app, page, tmp_path):
    """An iPhone names its photos IMG_1234.HEIC. Chromium on Linux gives that file no image
    type, so a picker that accepts only image/* drops it without a word."""
    path = tmp_path / "IMG_1234.HEIC"
    make_photo(GENERA.index("Boletus"), seed=31, size=(320, 240)).save(path, "HEIF")
    page.goto(app.url, wait_until="load")
    page.get_by_role("tab", name="One find, several photos").click()
    page.locator("#find-photos input[type=file]").set_input_files([str(path)])
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    assert "Combined from 1 of 1 photo" in page.locator("#find-verdict").inner_text()
    # Chromium cannot draw HEIC: the per-photo gallery gets a decoded thumbnail instead.
    page.locator("#find-per-photo").get_by_text("Per-photo results").click()
    thumb = page.locator("#find-gallery img").first
    thumb.wait_for(timeout=30_000)
    page.wait_for_function("img => img.complete", arg=thumb.element_handle(), timeout=30_000)
    assert thumb.evaluate("img => img.naturalWidth") == 320
    assert app.alive()


def test_a_rotated_webp_gets_an_upright_thumbnail(app, page, tmp_path):
    """Chromium draws a WebP as stored, EXIF rotation ignored: its thumbnail lay sideways
    while the photo's answer and heatmap were of the upright photo."""
    path = rotated_webp(tmp_path / "cap.webp", "Boletus", 32)
    page.goto(app.url, wait_until="load")
    page.get_by_role("tab", name="One find, several photos").click()
    page.locator("#find-photos input[type=file]").set_input_files([str(path)])
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    page.locator("#find-per-photo").get_by_text("Per-photo results").click()
    thumb = page.locator("#find-gallery img").first
    thumb.wait_for(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumb.element_handle(), timeout=30_000)
    assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 240]


def test_no_photo_of_the_find_can_be_shared_publicly(app, page, tmp_path):
    """Gradio's "Share" on the gallery's enlarged photo posts the upload itself, EXIF GPS and
    all, to a public Hugging Face discussion on a Space; the heatmap's, the photo drawn."""
    path = tmp_path / "cap.jpg"
    make_photo(GENERA.index("Boletus"), seed=36, size=(320, 240)).save(path, quality=92)
    page.goto(app.url, wait_until="load")
    page.get_by_role("tab", name="One find, several photos").click()
    page.locator("#find-photos input[type=file]").set_input_files([str(path)])
    wait_for_answers(page)
    page.locator("#find-per-photo").get_by_text("Per-photo results").click()
    page.locator("#find-gallery img").first.click()  # enlarged: its own corner buttons
    page.locator("#find-gallery button[aria-label='Close']").wait_for(timeout=30_000)
    page.locator("#find-explain-btn").click()
    page.locator("#find-heatmap img").wait_for(timeout=120_000)
    for selector in ("#find-gallery", "#find-heatmap"):
        buttons = corner_buttons(page, selector)
        assert "Download" in buttons and "Share" not in buttons, (selector, buttons)


def test_a_panorama_in_a_find_is_named_as_seen_only_in_its_centre_square(app, page, tmp_path):
    """The Identify card says when the model saw only a wide photo's centre square; the
    find's card and table did not, so a 10:1 panorama among the photos passed unremarked."""
    cap, wide = tmp_path / "cap.jpg", tmp_path / "panorama.jpg"
    make_photo(GENERA.index("Amanita"), seed=37, size=(320, 240)).save(cap, quality=92)
    make_photo(GENERA.index("Amanita"), seed=38, size=(1500, 150)).save(wide, quality=92)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(cap), str(wide)])
    wait_for_answers(page)
    note = page.locator("#find-verdict .crop-note")
    assert note.count() == 1, page.locator("#find-verdict").inner_text()
    assert note.inner_text().startswith("The model looked only at the centre square of photo 2 "
                                        "(panorama.jpg, 10% of it): if the mushroom")
    page.locator("#find-per-photo").get_by_text("Per-photo results").click()
    rows = page.locator("#find-table tr")
    rows.nth(2).wait_for(timeout=30_000)
    assert "centre square only (10% of the photo)" in rows.nth(2).inner_text()
    assert rows.nth(1).locator(".crop-note").count() == 0  # the 4:3 cap: no note


def test_k_from_the_keyboard_relists_the_find(app, page, tmp_path):
    path = tmp_path / "cap.jpg"
    make_photo(GENERA.index("Suillus"), seed=33, size=(320, 240)).save(path, quality=92)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(path)])
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    bars = "n => document.querySelectorAll('#find-topk [role=meter]').length === n"
    page.wait_for_function(bars, arg=3, timeout=10_000)
    page.locator("#find-k input[type=range]").focus()
    page.keyboard.press("ArrowRight")  # no pointer release, no blur: it re-listed nothing
    page.wait_for_function(bars, arg=4, timeout=30_000)


def test_new_photos_close_the_toast_of_an_identify_without_photos(app, page, tmp_path):
    """Seen live: "Add one or more photos..." stayed up beside the verdict of the photos
    added next. Two clicks make a toast group of two, which Gradio never fades by itself."""
    path = tmp_path / "cap.jpg"
    make_photo(GENERA.index("Boletus"), seed=35, size=(320, 240)).save(path, quality=92)
    page.goto(app.url + "?tab=find", wait_until="load")
    for _ in range(2):
        page.click("#find-btn")
        page.wait_for_timeout(1000)
    toast = page.locator(".toast-body.error")
    toast.first.wait_for(timeout=10_000)
    assert "Add one or more photos of the mushroom first." in toast.first.inner_text()
    page.locator("#find-photos input[type=file]").set_input_files([str(path)])
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    page.wait_for_function("() => !document.querySelector('.toast-body.error')", timeout=5_000)
    assert "Combined from 1 of 1 photo" in page.locator("#find-verdict").inner_text()


def test_any_photo_of_the_find_can_be_explained_and_new_photos_drop_it(app, page, tmp_path):
    """LIME on the several-photos tab: the photo chosen is the one explained (a portrait
    photo 2 gives a portrait heatmap beside a landscape photo 1), and a change to the list
    of photos, or choosing another photo, takes the heatmap away. Once the find is
    identified, each photo is listed with its own answer."""
    landscape, portrait, later = tmp_path / "cap.jpg", tmp_path / "stem.jpg", tmp_path / "x.jpg"
    make_photo(GENERA.index("Boletus"), seed=41, size=(320, 240)).save(landscape, quality=92)
    make_photo(GENERA.index("Boletus"), seed=42, size=(240, 320)).save(portrait, quality=92)
    make_photo(GENERA.index("Russula"), seed=43, size=(320, 240)).save(later, quality=92)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(landscape),
                                                                   str(portrait)])
    wait_for_answers(page)
    # each photo listed with its own answer, as the per-photo results give it
    answer = Client(app.url, verbose=False).predict(
        [handle_file(str(landscape)), handle_file(str(portrait))], api_name="/identify_find")
    own = photo_caption(2, answer["photos"][1]).split(": ", 1)[1]  # "Boletus 61%, ..."
    page.locator("#find-which").click()
    page.get_by_role("option", name=f"Photo 2 (stem.jpg): {own}", exact=True).click()
    page.click("#find-explain-btn")
    heatmap = page.locator("#find-heatmap img")
    heatmap.wait_for(timeout=120_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=heatmap.element_handle(), timeout=30_000)
    width, height = heatmap.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert height > width  # photo 2's shape, legend strip included
    # named for screen readers as on the Identify tab (Gradio leaves alt="")
    page.wait_for_function("img => img.alt.includes('cyan')", arg=heatmap.element_handle(),
                           timeout=10_000)

    page.locator("#find-photos input[type=file]").set_input_files([str(later)])
    page.wait_for_function("() => !document.querySelector('#find-heatmap img')",
                           timeout=10_000)
    page.wait_for_function("() => document.querySelector('#find-which input')?.value"
                           ".startsWith('Photo 1 (cap.jpg): ')", timeout=90_000)  # reset
    page.locator("#find-which").click()  # a photo added to the list is the third
    page.get_by_role("option", name="Photo 3 (x.jpg)").click()
    page.click("#find-explain-btn")
    heatmap.wait_for(timeout=120_000)
    page.locator("#find-which").click()  # choosing another photo drops photo 3's heatmap
    page.get_by_role("option", name="Photo 1 (cap.jpg)").click()
    page.wait_for_function("() => !document.querySelector('#find-heatmap img')",
                           timeout=10_000)
    assert app.alive()


def _choose_photo_2_while_photo_1_explains(app, page, tmp_path, genus: str, seed: int) -> list:
    """Open a find of two photos (cap.jpg, stem.jpg), explain photo 1, and choose photo 2
    while that runs; photo 1's cancel is held (:func:`conftest.hold_cancels`) on its way.
    Returns the :func:`conftest.calls_sent` list of ``find_explain`` calls."""
    hold_cancels(page)
    landscape, portrait = tmp_path / "cap.jpg", tmp_path / "stem.jpg"
    make_photo(GENERA.index(genus), seed=seed, size=(320, 240)).save(landscape, quality=92)
    make_photo(GENERA.index(genus), seed=seed + 1, size=(240, 320)).save(portrait, quality=92)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(landscape),
                                                                   str(portrait)])
    wait_for_answers(page)
    watch_images(page, "#find-heatmap img")
    sent = calls_sent(page, "find_explain")
    page.click("#find-explain-btn")  # photo 1
    wait_until_running(page, "#find-heatmap")  # its explanation is running
    page.locator("#find-which").click()
    page.get_by_role("option", name=re.compile(r"^Photo 2 \(stem\.jpg\)")).click()
    page.wait_for_function("() => window.cancelsSent > 0", timeout=10_000)
    return sent


def test_explain_clicked_while_the_last_photo_s_is_still_being_cancelled_is_not_lost(
        app, page, tmp_path):
    """Another photo chosen cancels the explanation of the one before; Gradio's page
    dropped a click on Explain until the server had answered that cancel (seconds on a
    loaded Space). The click is now held and sent once the cancel is done, once."""
    sent = _choose_photo_2_while_photo_1_explains(app, page, tmp_path, "Russula", seed=71)
    page.click("#find-explain-btn")  # while the cancel is on its way
    page.wait_for_timeout(500)
    assert len(sent) == 1  # not sent yet: Gradio still holds photo 1's as pending
    release_cancels(page)
    page.wait_for_function(
        "() => document.querySelector('#find-heatmap img')?.naturalWidth"
        " && !document.querySelector('#find-heatmap [data-testid=status-tracker]:not(.hide)')",
        timeout=120_000)
    page.wait_for_timeout(2000)  # no second explanation follows this one
    assert [data[1].split(" (")[0] for data in sent] == ["Photo 1", "Photo 2"]
    assert len(images_seen(page, "#find-heatmap img")) == 1
    width, height = page.locator("#find-heatmap img").evaluate(
        "img => [img.naturalWidth, img.naturalHeight]")
    assert height > width  # photo 2's shape


def test_removing_a_photo_closes_the_refusal_to_explain_it(app, page, tmp_path):
    """Seen live: "This file is not an image we can read" from Explain stayed up, naming no
    photo, after the bad photo was removed with its x and beside the new verdict."""
    good, bad = tmp_path / "cap.jpg", tmp_path / "gills.jpg"
    make_photo(GENERA.index("Boletus"), seed=44, size=(320, 240)).save(good, quality=92)
    bad.write_bytes(b"not a photo at all")
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(good), str(bad)])
    page.locator("#find-verdict .photo-error").wait_for(timeout=90_000)
    page.locator("#find-which").click()
    page.get_by_role("option", name="Photo 2 (gills.jpg)").click()
    # in the heatmap's place, where it stays (a toast faded and left a bare "Error" badge)
    assert "Photo 2 (gills.jpg): " in refused_in_place(
        page, "#find-explain-btn", "#find-explain-refusal .photo-error", "#find-heatmap")
    refusal = page.locator("#find-explain-refusal .photo-error")
    page.locator("#find-photos button[aria-label='Remove gills.jpg']").click()
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    assert refusal.count() == 0


def find_on_a_phone(app, browser, tmp_path, genus: str, seeds: tuple[int, ...]):
    """A 360 x 740 touch phone with one generated photo of ``genus`` per seed identified on
    the find tab; returns (context, page): the caller closes the context."""
    paths = []
    for n, seed in enumerate(seeds):
        paths.append(tmp_path / f"view{n}.jpg")
        make_photo(GENERA.index(genus), seed=seed, size=(320, 240)).save(paths[-1])
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(p) for p in paths])
    wait_for_answers(page)
    return context, page


def test_on_a_360_px_phone_the_per_photo_table_fits_on_screen(app, browser, tmp_path):
    """Seen on a 360 px phone: the page's wide cell padding pushed the table's last column,
    P(poisonous genus), past the right edge of the screen, out of sight."""
    context, page = find_on_a_phone(app, browser, tmp_path, "Cortinarius", (51, 52, 53))
    page.locator("#find-per-photo").get_by_text("Per-photo results").click()
    page.locator("#find-table td").last.wait_for()
    overflow = page.evaluate("""() => {
        const box = document.querySelector('#find-table').getBoundingClientRect();
        const right = Math.min(box.right, window.innerWidth);
        return [...document.querySelectorAll('#find-table th, #find-table td')]
            .map(c => c.getBoundingClientRect().right - right).filter(d => d > 0.5);
    }""")
    context.close()
    assert overflow == [], f"cells end this many px past the visible box: {overflow}"


def test_a_finger_that_slightly_misses_the_x_still_removes_the_photo(app, browser, tmp_path):
    """Seen on a phone: the x that removes a photo from the find is 7 x 20 px, so a tap a
    few pixels off it did nothing (or opened the download link beside it)."""
    context, page = find_on_a_phone(app, browser, tmp_path, "Suillus", (61, 62))
    x = page.locator("#find-photos button[aria-label='Remove view0.jpg']")
    x.scroll_into_view_if_needed()
    box = x.bounding_box()
    # 10 px left of its centre and 12 px below: inside a 35 x 44 px target, clear of the link
    page.touchscreen.tap(box["x"] + box["width"] / 2 - 10, box["y"] + box["height"] / 2 + 12)
    page.wait_for_function("() => document.querySelectorAll('#find-photos tr.file').length == 1",
                           timeout=10_000)
    page.wait_for_function("() => document.querySelector('#find-verdict').innerText"
                           ".includes('Combined from 1 of 1 photo')", timeout=90_000)
    context.close()


def test_the_button_that_adds_photos_has_a_name_a_person_can_read(app, page, tmp_path):
    """Gradio labelled it with its untranslated key: screen readers said "common.upload",
    and so did its tooltip."""
    path = tmp_path / "cap.jpg"
    make_photo(GENERA.index("Boletus"), seed=71, size=(320, 240)).save(path)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(path)])
    wait_for_answers(page)
    add = page.locator("#find-photos").get_by_role("button", name="Add more photos", exact=True)
    assert add.is_visible() and add.get_attribute("title") == "Add more photos"
    assert page.locator("[aria-label='common.upload'], [title='common.upload']").count() == 0


def test_identify_the_find_with_a_bad_photo_keeps_naming_it_in_place(app, page, tmp_path):
    """Seen live: "Identify the find" with an unreadable photo in the list blanked the card
    that named it and put the reason in a toast that fades, leaving the page blank."""
    good, bad = tmp_path / "cap.jpg", tmp_path / "notes.jpg"
    make_photo(GENERA.index("Boletus"), seed=36, size=(320, 240)).save(good, quality=92)
    bad.write_text("not a photo at all\n")
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(good), str(bad)])
    card = page.locator("#find-verdict .photo-error")
    card.get_by_text("Photo 2 (notes.jpg)").wait_for(timeout=90_000)
    page.click("#find-btn")
    page.locator(".toast-body.error").first.wait_for(timeout=30_000)  # the API's refusal
    card.get_by_text("Photo 2 (notes.jpg)").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # nothing blanks it again afterwards
    assert "not an image we can read" in page.locator("#find-verdict").inner_text()
    assert page.locator("#find-verdict .verdict").count() == 0


def test_a_photo_removed_while_the_find_is_identified_gets_the_new_answer(app, page, tmp_path):
    """Seen live: the unreadable photo removed while the find was still being identified
    (a slow network, a busy server) left "No answer: Photo 2 (notes.jpg)" beside a list
    without it: the new list's identification was dropped."""
    from test_browser_identify import hold_first_call_with

    good, bad = tmp_path / "cap.jpg", tmp_path / "notes.jpg"
    make_photo(GENERA.index("Boletus"), seed=37, size=(320, 240)).save(good, quality=92)
    bad.write_text("not a photo at all\n")
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-btn").wait_for(timeout=60_000)
    held = hold_first_call_with(page, "notes.jpg")
    page.locator("#find-photos input[type=file]").set_input_files([str(good), str(bad)])
    while not held:
        page.wait_for_timeout(100)
    page.locator("#find-photos [aria-label='Remove notes.jpg']").click()
    page.wait_for_timeout(1000)
    held[0].continue_()
    page.locator("#find-verdict .verdict").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # and the old list's answer does not land after it
    assert "Combined from 1 of 1 photo" in page.locator("#find-verdict").inner_text()
    assert page.locator("#find-verdict .photo-error").count() == 0


def test_an_old_lists_late_answer_never_shows_beside_the_new_photos(app, page, tmp_path):
    """Seen live: photos chosen while the list before was still being identified (a busy
    Space) showed the old list's card until their own answer came."""
    from test_browser_identify import card_text, card_texts, hold_calls_with, release, wait_held

    first, old, new = tmp_path / "first.jpg", tmp_path / "old.jpg", tmp_path / "new.jpg"
    make_photo(GENERA.index("Boletus"), seed=5, size=(240, 240)).save(first, quality=90)
    old.write_bytes(first.read_bytes())
    make_photo(GENERA.index("Amanita"), seed=6, size=(240, 240)).save(new, quality=90)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(first)])
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    old_text = card_text(page, "#find-verdict")
    # Files added join the list: the new list holds old.jpg too, so new.jpg is looked for first
    held = hold_calls_with(page, "new.jpg", "old.jpg")
    page.locator("#find-photos input[type=file]").set_input_files([str(old)])
    wait_held(page, held, "old.jpg")
    assert card_text(page, "#find-verdict") == "Identifying these photos…"
    page.locator("#find-photos input[type=file]").set_input_files([str(new)])
    page.wait_for_timeout(1000)
    release(held, "old.jpg")  # the old list's answer comes while the new one's waits
    assert card_texts(page, 3, "#find-verdict") == {"Identifying these photos…"}
    wait_held(page, held, "new.jpg")
    release(held, "new.jpg")
    page.locator("#find-verdict .verdict").wait_for(timeout=30_000)
    new_text = card_text(page, "#find-verdict")
    assert new_text != old_text
    assert card_texts(page, 1, "#find-verdict") == {new_text}


def test_new_photos_close_gradios_refusal_of_a_file_that_is_no_image(app, page, tmp_path):
    """A PDF and a text file added by mistake left "Invalid file type: doc.pdf" up beside
    the verdict of the photos added next (a group of two never fades)."""
    photo, pdf, notes = tmp_path / "cap.jpg", tmp_path / "doc.pdf", tmp_path / "notes.txt"
    make_photo(GENERA.index("Boletus"), seed=47, size=(240, 240)).save(photo, quality=90)
    pdf.write_bytes(b"%PDF-1.4\n")
    notes.write_text("a note\n")
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos").wait_for(timeout=60_000)
    page.locator("#find-photos input[type=file]").set_input_files([str(pdf), str(notes)])
    page.locator(".toast-body.error").first.get_by_text("Invalid file type").first.wait_for(
        timeout=10_000)
    page.locator("#find-photos input[type=file]").set_input_files([str(photo)])
    page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
    page.wait_for_function("() => !document.querySelector('.toast-body.error')", timeout=5_000)


def test_explain_clicked_again_while_running_explains_the_new_choice(app, page, tmp_path):
    # As on the Identify tab, a second click while the first explanation ran was dropped.
    from test_browser_identify import hold_first_call_of, wait_until_held

    photo = tmp_path / "cap.jpg"
    make_photo(GENERA.index("Boletus"), seed=61, size=(320, 240)).save(photo, quality=92)
    page.goto(app.url + "?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files([str(photo)])
    wait_for_answers(page)
    # held on its way (a busy server), as on the Identify tab: the page counts it pending
    held = hold_first_call_of(page, "find_explain")
    page.click("#find-explain-btn")
    wait_until_held(page, held)
    wait_until_running(page, "#find-heatmap")  # the first explanation is pending
    page.get_by_label("Genus to explain (the photo's own top genus, or any)").click()
    page.get_by_role("option", name="Russula", exact=True).click()
    page.click("#find-explain-btn")
    held[0].continue_()
    page.wait_for_function(
        "() => (document.querySelector('#find-heatmap img') || {}).alt?.includes("
        "'support Russula')", timeout=120_000)


def test_the_last_photo_s_explanation_that_finishes_while_cancelled_is_never_shown(
        app, page, tmp_path):
    """An explanation done on the server before its cancel got there (a slow network)
    still reached the page, which drew photo 1's heatmap with photo 2 chosen."""
    watch_completions(page)
    _choose_photo_2_while_photo_1_explains(app, page, tmp_path, "Amanita", seed=81)
    wait_until_completed(page, "find_explain")  # photo 1's heatmap reached the page
    page.wait_for_timeout(1000)
    release_cancels(page)
    page.wait_for_timeout(1000)
    assert images_seen(page, "#find-heatmap img") == []
    page.click("#find-explain-btn")  # photo 2's own explanation is shown
    page.wait_for_function(
        "() => document.querySelector('#find-heatmap img')?.naturalWidth"
        " && !document.querySelector('#find-heatmap [data-testid=status-tracker]:not(.hide)')",
        timeout=120_000)
    assert len(images_seen(page, "#find-heatmap img")) == 1
    width, height = page.locator("#find-heatmap img").evaluate(
        "img => [img.naturalWidth, img.naturalHeight]")
    assert height > width  # photo 2's shape
