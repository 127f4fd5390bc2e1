"""A photo without colour: the cheap check, and what the verdict then adds (never a level)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_photo
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from test_verdict import distributions, one_hot

from mushroom.imageio import is_greyscale
from mushroom.taxonomy import GENERA
from mushroom.verdict import MESSAGES, NO_COLOUR, decide, without_colour


def colour() -> Image.Image:
    return make_photo(GENERA.index("Amanita"), seed=1, size=(300, 200))


def test_grey_pixels_in_rgb_are_greyscale():
    assert is_greyscale(colour().convert("L").convert("RGB"))


def test_a_colour_photo_is_not_greyscale():
    assert not is_greyscale(colour())


def test_grey_jpeg_noise_still_counts_as_greyscale():
    arr = np.asarray(colour().convert("L").convert("RGB"), dtype=np.int16)
    noise = np.random.default_rng(0).integers(-2, 3, arr.shape)
    assert is_greyscale(Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8)))


def test_a_coloured_region_in_a_grey_photo_is_colour():
    arr = np.array(colour().convert("L").convert("RGB"))
    arr[40:80, 100:150] = (200, 30, 30)  # a red cap in an otherwise grey photo
    assert not is_greyscale(Image.fromarray(arr))


@pytest.mark.parametrize("make", [lambda: colour().convert("L"), lambda: colour().convert("LA"),
                                  lambda: Image.fromarray(np.full((50, 60), 4000, np.uint16))],
                         ids=["L", "LA", "I;16"])
def test_grey_modes_are_greyscale(make):
    assert is_greyscale(make())


def test_palette_images_are_judged_by_their_colours():
    assert not is_greyscale(colour().convert("P"))
    assert is_greyscale(colour().convert("L").convert("P"))


@settings(max_examples=300, deadline=None)
@given(distributions(), st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.booleans(),
       st.none() | st.lists(st.sampled_from(GENERA), max_size=4))
def test_no_colour_adds_a_reason_and_never_changes_the_level(probs, tau, top1, recognized, pset):
    kw = dict(uncertain_top1=top1, recognized=recognized, prediction_set=pset)
    plain, grey = decide(probs, tau, **kw), decide(probs, tau, greyscale=True, **kw)
    assert grey.level == plain.level and grey.genus == plain.genus
    assert grey.reasons == (*plain.reasons, NO_COLOUR)
    assert plain.message in grey.message
    assert "colour" not in " ".join(plain.reasons)


def test_not_recognized_grey_photo_says_colour_may_be_why():
    v = decide(one_hot("Amanita", 0.99), 0.3, recognized=False, greyscale=True)
    assert v.level == "not_recognized"
    assert v.message.startswith(MESSAGES["not_recognized"])
    assert "no colour" in v.message and "may be why" in v.message


def test_a_find_of_several_grey_photos_hears_of_these_photos():
    v = decide(one_hot("Amanita", 0.99), 0.3, recognized=False)
    several = without_colour(v, several=True)
    assert several.message.endswith("These photos have no colour, which may be why they were "
                                    "not recognized: try colour photos.")
    assert without_colour(v).message == decide(one_hot("Amanita", 0.99), 0.3, recognized=False,
                                                greyscale=True).message


def test_a_very_dark_colour_photo_is_not_called_greyscale():
    # A colour photo taken at dusk, at 6 % of its brightness: its channels sit within a few
    # levels of each other only because every level is small. It was told "This photo has no
    # colour ... try a colour photo", which it was; too dark to tell is no "no colour".
    arr = np.asarray(colour(), dtype=np.float32)
    assert not is_greyscale(Image.fromarray((arr * 0.06).astype(np.uint8)))
    assert is_greyscale(Image.fromarray((np.asarray(colour().convert("L").convert("RGB"),
                                                    dtype=np.float32) * 0.06).astype(np.uint8)
                                        ).convert("L"))  # a truly grey file still is
