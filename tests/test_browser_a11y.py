"""Debian Chromium checks the Identify tab against WCAG 2.1 AA, as a keyboard or screen reader
user and in light and dark mode: a visible focus at every Tab stop (2.4.7), text at 4.5:1 or
more (1.4.3), and a heatmap whose text alternative says what its legend says (1.1.1).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    yield context.new_page()
    context.close()


def focus_clip(page) -> dict:
    """The focused element's box and an 8 px margin (where a focus ring is drawn)."""
    box = page.evaluate("() => { const r = document.activeElement.getBoundingClientRect();"
                        " return [r.x, r.y, r.width, r.height]; }")
    return {"x": max(box[0] - 8, 0), "y": max(box[1] - 8, 0),
            "width": box[2] + 16, "height": box[3] + 16}


def pixels(page, clip: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), int)


def test_every_tab_stop_shows_where_the_keyboard_focus_is(app, page):
    """Seen live: Tab onto the k or Samples slider changed not one pixel."""
    page.goto(app.url, wait_until="load")
    page.locator("#identify-btn").wait_for()
    unseen, stops = [], 0
    while stops < 40:
        page.keyboard.press("Tab")
        name = page.evaluate("() => { const e = document.activeElement; return e === "
                             "document.body ? null : e.getAttribute('aria-label') || "
                             "e.innerText || e.tagName; }")
        if name is None or name.startswith("Use via API"):  # the footer: the tab is done
            break
        stops += 1
        page.wait_for_timeout(250)  # Gradio's focus styles fade in
        clip = focus_clip(page)
        focused = pixels(page, clip)
        page.evaluate("() => { window.__stop = document.activeElement; window.__stop.blur(); }")
        page.wait_for_timeout(250)
        if not (np.abs(focused - pixels(page, clip)).sum(-1) > 30).any():
            unseen.append(name)
        page.evaluate("() => window.__stop.focus()")  # still keyboard modality: Tab goes on
    assert stops >= 15, stops  # tabs, photo box, k, Identify, Explain's settings...
    assert not unseen, f"no visible focus on {unseen}"
