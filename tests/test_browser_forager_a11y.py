"""Debian Chromium checks what ``test_browser_a11y`` leaves out of the forager's tabs, as a
screen reader or low-vision user would meet it: the API response panel's text contrast
(WCAG 1.4.3), the verdict card's title as a heading to jump to (1.3.1), and a heatmap whose
meaning is not carried by colour alone (1.4.1); and a find of several bad photos, named all at
once rather than one per try.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from conftest import CHROMIUM, make_photo
from mushroom.taxonomy import GENERA
from mushroom.ui import heatmap
from test_browser_a11y import TEXT_CONTRAST_JS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    yield context.new_page()
    context.close()


def identified(page, url: str, tmp_path, theme: str = "light", tab: str = "identify") -> None:
    """Open ``tab`` and let it answer a photo (two on the find tab)."""
    photos = []
    for seed, genus in enumerate(("Russula", "Amanita")):
        path = tmp_path / f"{genus}.jpg"
        make_photo(GENERA.index(genus), seed=seed, size=(240, 240)).save(path, quality=90)
        photos.append(str(path))
    box, verdict = ("#photo", "#verdict") if tab == "identify" else ("#find-photos",
                                                                     "#find-verdict")
    page.goto(f"{url}?tab={tab}&__theme={theme}", wait_until="load")
    page.locator(f"{box} input[type=file]").set_input_files(
        photos[0] if tab == "identify" else photos)
    page.locator(f"{verdict} .verdict").wait_for(timeout=60_000)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("tab", ["identify", "find"])
def test_the_api_response_panel_reads_at_4_5_to_1(app, page, tmp_path, theme, tab):
    """Seen live: opened, the JSON's keys, strings and commas were 2.1-2.9:1 on white, and
    its numbers 4.1:1 in dark mode (Gradio's syntax colours are one set for both themes)."""
    identified(page, app.url, tmp_path, theme, tab)
    page.get_by_role("button", name=re.compile("API response")).first.click()
    panel = page.locator("[data-testid=json]:visible").first
    panel.locator(".json-node .key").first.wait_for()
    ratios = panel.evaluate(TEXT_CONTRAST_JS)
    low = sorted({(text[:20], round(r, 2)) for text, r in ratios if r < 4.5})
    assert len(ratios) > 50 and not low, low


@pytest.mark.parametrize("tab", ["identify", "find"])
def test_the_verdict_and_the_genus_list_are_headings_to_jump_to(app, page, tmp_path, tab):
    """A screen reader user lists or jumps by headings (H) to skip the form: the card's bold
    title ("POISONOUS GENUS LIKELY: do not eat") and the genus list's were plain text, and
    the page's only heading was its name at the top."""
    identified(page, app.url, tmp_path, tab=tab)
    verdict = "#verdict" if tab == "identify" else "#find-verdict"
    title = page.locator(f"{verdict} .verdict > :first-child").inner_text()
    headings = page.get_by_role("heading", level=2)
    assert headings.filter(has_text=title).count() == 1, headings.all_inner_texts()
    genera = page.get_by_role("heading", level=2, name=re.compile("^Most likely genera"))
    assert genera.count() == 1, headings.all_inner_texts()


def test_bold_text_is_drawn_in_one_font(app, page, tmp_path):
    """Seen in a screenshot: "POSSIBLY POISONOUS" with a small, thin B. Gradio 6.31's Source
    Sans Pro SemiBold file holds a few dozen glyphs (of the letters only A and B), so every
    bold word mixed that font with the system's sans, two shapes and sizes in one word.
    Chromium names the fonts it drew each element's text with."""
    identified(page, app.url, tmp_path)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    for selector in ("h1", "#verdict .verdict h2", "#verdict .verdict b"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        drawn = {(f["postScriptName"], f["isCustomFont"]) for f in fonts}
        assert len(drawn) == 1 and all(custom for _, custom in drawn), (selector, fonts)
        assert fonts[0]["postScriptName"].endswith("-Bold"), (selector, fonts)


def test_the_heatmap_shown_tells_opposing_regions_apart_without_colour(app, page, tmp_path):
    """Cyan supports, red opposes: in greyscale (colour blindness) only the shade differed,
    and a tint's shade depends on the photo under it. The served heatmap's "opposes it"
    swatch is hatched, as its regions are (test_explain), and the page's legend says so."""
    identified(page, app.url, tmp_path)
    page.locator("#explain-btn").click()
    page.locator("#heatmap img").wait_for(timeout=60_000)
    shown = page.request.get(page.locator("#heatmap img").get_attribute("src")).body()
    image = np.asarray(Image.open(io.BytesIO(shown)).convert("RGB")).astype(int)
    strip = image[heatmap.DISPLAY_SIZE:]
    ys, xs = np.nonzero(np.abs(strip - heatmap.OPPOSE_RGB).sum(axis=2) < 30)
    swatch = strip[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert (swatch.min(axis=2) > 230).mean() > 0.1  # white stripes across the red
    legend = page.get_by_text("strongest superpixels are tinted").inner_text()
    assert "red, hatched ones push it away" in legend, legend


def test_a_find_with_several_bad_photos_names_every_one_at_once(app, page, tmp_path):
    """Seen live with five photos, four of them bad: the card named only the first ("Photo 2
    (tiny.jpg): too small"); removed, the next try named photo 3, and so on, a round trip
    per bad photo for a forager on a phone in the woods."""
    good, tiny, text = tmp_path / "cap.jpg", tmp_path / "tiny.jpg", tmp_path / "notes.jpg"
    make_photo(GENERA.index("Boletus"), seed=3, size=(240, 240)).save(good, quality=90)
    make_photo(GENERA.index("Boletus"), seed=4, size=(10, 10)).save(tiny, quality=90)
    text.write_text("not a photo\n" * 20)
    page.goto(f"{app.url}?tab=find", wait_until="load")
    page.locator("#find-photos input[type=file]").set_input_files(
        [str(good), str(tiny), str(text)])
    card = page.locator("#find-verdict .photo-error")
    card.wait_for(timeout=60_000)
    said = card.inner_text()
    assert "Photo 2 (tiny.jpg): " in said and "too small" in said, said
    assert "Photo 3 (notes.jpg): " in said and "not an image" in said, said
    assert "Photo 1" not in said, said
