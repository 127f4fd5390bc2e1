"""Debian Chromium opens a find's per-photo table where one photo was not recognized.

The app runs the shipped model, whose unfamiliar-photo detector was calibrated on real photos
(a grey gradient is no mushroom to it); requests leaving localhost are aborted.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from conftest import CHROMIUM
from mushroom.percent import pct
from mushroom.ui.cards import UNRECOGNIZED_POISON
from server import running_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


def test_an_unrecognized_photos_poison_number_is_not_shown_as_an_identification(
        real_data, shipped_model, browser, tmp_path):
    """The table showed "Photo 2: not recognized ... | none plausible | 38%": the 38% sat in
    the P(poisonous genus) column like any identified photo's. It counts for safety (a volva
    close-up may look unfamiliar), so it stays, said for what it is."""
    mushroom = sorted((real_data / "Boletus").glob("*.jpg"))[0]
    ramp = tmp_path / "ramp.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 300).astype(np.uint8), (300, 1))).save(ramp)
    with running_app({"MUSHROOM_MODEL": str(shipped_model)}) as app:
        find = Client(app.url, verbose=False).predict(
            [handle_file(str(mushroom)), handle_file(str(ramp))], api_name="/identify_find")
        context = browser.new_context(viewport={"width": 1280, "height": 1100})
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
            ("http://127.0.0.1", "http://localhost", "data:", "blob:")) else r.abort())
        page = context.new_page()
        page.goto(app.url + "?tab=find", wait_until="load")
        page.locator("#find-photos input[type=file]").set_input_files([str(mushroom), str(ramp)])
        page.locator("#find-verdict .verdict").wait_for(timeout=90_000)
        page.locator("#find-per-photo").get_by_text("Per-photo results").click()
        rows = page.locator("#find-table tr")
        rows.nth(2).wait_for(timeout=30_000)
        cells = [[c.inner_text() for c in rows.nth(i).locator("td").all()] for i in (1, 2)]
        context.close()
    # the API keeps every per-photo field: the number is still sent, for safety
    assert [p["recognized"] for p in find["photos"]] == [True, False]
    unknown = find["photos"][1]["verdict"]["poison_probability"]
    assert isinstance(unknown, float)
    known, rejected = cells
    assert "not recognized" not in " ".join(known)
    assert rejected[0].startswith("Photo 2: not recognized")
    assert rejected[1] == "none: not recognized"
    assert rejected[2].startswith(pct(unknown)) and UNRECOGNIZED_POISON in rejected[2]
