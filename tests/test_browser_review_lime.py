"""Real Chromium on a laptop screen (1280x800): LIME, asked for with its key or its button,
shows its progress where the expert can see it, not in a box below the fold.
"""

from __future__ import annotations

import pytest

from test_browser_review import go_to, log_in, wait_for_photo

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1280, "height": 800}
# the heatmap box, whole on screen, and its progress tracker running
RUNNING_IN_VIEW = """() => {
  const box = document.querySelector("#review-lime"), r = box.getBoundingClientRect();
  const tracker = box.querySelector("[data-testid=status-tracker]");
  return tracker && !tracker.classList.contains("hide") && r.top >= 0
    && r.bottom <= window.innerHeight;
}"""


def laptop_page(browser, url: str, **options):
    """The Review tab on a 1280x800 screen, logged in, a photo on screen."""
    page = browser.new_page(viewport=LAPTOP, **options)
    page.goto(url + "?tab=review")
    page.wait_for_selector("#review-login", state="visible")
    log_in(page, "bob")
    wait_for_photo(page)
    return page


def below_the_fold(page) -> bool:
    return page.evaluate("() => document.querySelector('#review-lime')"
                         ".getBoundingClientRect().bottom > window.innerHeight")


def test_the_lime_key_brings_the_running_heatmap_box_into_view(review_app, browser):
    """``l`` started an ~11 s explanation whose only sign was in the heatmap box under the
    fold: nothing on screen moved. The box, its progress running, now scrolls into view."""
    page = laptop_page(browser, review_app.url)
    go_to(page, "Russula/001.jpg")  # not explained yet: the run takes seconds
    page.evaluate("() => window.scrollTo(0, 0)")
    assert below_the_fold(page)
    page.keyboard.press("l")
    page.wait_for_function(RUNNING_IN_VIEW, timeout=5_000)  # a smooth scroll takes < 1 s
    page.locator("#review-lime img").wait_for(timeout=120_000)
    page.close()


def test_with_reduced_motion_the_box_jumps_into_view_without_scrolling_smoothly(review_app,
                                                                                 browser):
    """The LIME button too; for an expert who asked the system for less motion the page
    moves at once (a smooth scroll would leave it where it was right after the click)."""
    page = laptop_page(browser, review_app.url, reduced_motion="reduce")
    go_to(page, "Boletus/002.jpg")
    page.evaluate("() => window.scrollTo(0, 0)")
    assert below_the_fold(page)
    moved_at_once = page.evaluate("""() => {
      document.querySelector("#review-explain").click();
      const r = document.querySelector("#review-lime").getBoundingClientRect();
      return window.scrollY > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
    }""")
    assert moved_at_once
    page.wait_for_function(RUNNING_IN_VIEW, timeout=5_000)
    page.locator("#review-lime img").wait_for(timeout=120_000)
    page.close()
