"""The service's safety rules for /identify and /identify_find, on model outputs set by hand.

A stand-in predictor returns chosen probabilities per photo (keyed by the photo's colour),
so each rule can be shown to fire exactly when it should: one poisonous-looking photo warns
for the whole find, a poisonous genus inside the set makes the answer uncertain, an empty
set is never "edible_genus", and an unfamiliar photo names no genus.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import probs_row
from PIL import Image

from mushroom import service
from mushroom.combine import combine_probs
from mushroom.conformal import fit_mondrian
from mushroom.imageio import BadImage
from mushroom.ood import fit_detector
from mushroom.predict import Prediction
from mushroom.taxonomy import GENERA
from mushroom.verdict import NO_COLOUR, NOT_RECOGNIZED_FIND_REASON, NOT_RECOGNIZED_REASON

C, DIM = len(GENERA), 32


FAMILIAR, STRANGE = np.r_[np.ones(DIM // 2), np.zeros(DIM // 2)], np.r_[np.zeros(DIM // 2),
                                                                        np.ones(DIM // 2)]
# photo colour -> (probabilities, embedding)
OUTPUTS = {
    (200, 150, 90): (probs_row(Boletus=0.9), FAMILIAR),  # a clear Boletus
    (190, 140, 80): (probs_row(Boletus=0.85), FAMILIAR),  # another view of it
    (240, 240, 240): (probs_row(Amanita=0.8, Boletus=0.15), FAMILIAR),  # white gills: Amanita
    (200, 100, 100): (probs_row(Boletus=0.75, Amanita=0.2), FAMILIAR),  # Amanita in the set
    (100, 200, 100): (probs_row(Boletus=0.6), FAMILIAR),  # confident, but below Boletus's qhat
    (0, 0, 255): (probs_row(Boletus=0.95), STRANGE),  # not a mushroom at all
    (128, 128, 128): (probs_row(Boletus=0.95), STRANGE),  # a greyscale photo, rejected
    (90, 60, 30): (probs_row(Agaricus=0.3, Amanita=0.3), FAMILIAR),  # an exact tie
}


class StubPredictor:
    """Just enough of :class:`mushroom.predict.Predictor` for the service."""

    classes = GENERA
    poison_threshold = 0.5
    name, version = "stub", "1"

    def __init__(self, conformal: dict | None, ood: dict | None):
        self.meta = {"classes": list(GENERA), "poison_threshold": 0.5,
                     "thresholds": {"uncertain_top1": 0.55}, "conformal": conformal, "ood": ood}

    def predict(self, images: list[Image.Image]) -> Prediction:
        rows = [OUTPUTS[im.getpixel((0, 0))] for im in images]
        probs = np.stack([p for p, _ in rows])
        return Prediction(probs, np.log(probs), np.zeros(len(rows)),
                          np.stack([e for _, e in rows]))


def photo(colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (64, 64), colour)


@pytest.fixture(scope="module")
def conformal() -> dict:
    # Every genus enters the set at p >= 0.1, except Boletus, which needs p >= 0.7.
    labels = np.repeat(np.arange(C), 40)
    cal = np.stack([probs_row(**{GENERA[c]: 0.7 if GENERA[c] == "Boletus" else 0.1})
                    for c in labels])
    return fit_mondrian(cal, labels, alpha=0.05)


@pytest.fixture(scope="module")
def ood() -> dict:
    rng = np.random.default_rng(0)
    bank = FAMILIAR + np.abs(rng.normal(0, 0.05, (200, DIM))) * FAMILIAR
    return fit_detector(bank, rng.integers(0, C, 200), bank[:100] + 0.01, max_reject=0.03)


@pytest.fixture
def stub(conformal, ood) -> StubPredictor:
    return StubPredictor(conformal, ood)


def test_identify_adds_the_prediction_set_and_its_coverage(stub):
    result = service.identify(photo((200, 150, 90)), predictor=stub)
    assert result["prediction_set"] == ["Boletus"]
    assert result["coverage"] == pytest.approx(0.95)
    assert result["recognized"] is True
    assert result["verdict"]["level"] == "edible_genus"


def test_poisonous_genus_in_the_set_makes_it_uncertain(stub):
    result = service.identify(photo((200, 100, 100)), predictor=stub)
    assert "Amanita" in result["prediction_set"]
    assert result["verdict"]["level"] == "uncertain"
    assert any("Amanita" in r for r in result["verdict"]["reasons"])
    # The same photo without sets would pass: the set is what stops it.
    bare = service.identify(photo((200, 100, 100)), predictor=StubPredictor(None, None))
    assert bare["verdict"]["level"] == "edible_genus" and bare["prediction_set"] is None


def test_an_empty_set_is_never_edible_genus(stub):
    result = service.identify(photo((100, 200, 100)), predictor=stub)
    assert result["prediction_set"] == []
    assert result["verdict"]["level"] == "uncertain"


def test_unfamiliar_photo_is_not_recognized_and_names_no_genus(stub):
    result = service.identify(photo((0, 0, 255)), predictor=stub)
    assert result["recognized"] is False
    assert result["verdict"]["level"] == "not_recognized"
    assert "no mushroom found" in result["verdict"]["message"].lower()
    assert result["top_k"] == [] and result["probabilities"] is None
    assert result["prediction_set"] == []
    assert not any(g in result["verdict"]["message"] for g in GENERA)


def test_an_unrecognized_answer_claims_no_coverage(stub):
    """"coverage": 0.95 sat beside the empty set of a photo the model does not recognize,
    which a phone showed as a 95 % set of no genus: no set, no coverage (None)."""
    assert service.identify(photo((0, 0, 255)), predictor=stub)["coverage"] is None
    nothing = service.identify_find([photo((0, 0, 255))] * 2, predictor=stub)
    assert nothing["coverage"] is None and [p["coverage"] for p in nothing["photos"]] == [None] * 2
    # the placeholders README tells clients to ignore: an even spread, whatever the photos show
    verdict = nothing["verdict"]
    assert (verdict["poison_probability"], verdict["top1_probability"]) == pytest.approx(
        (3 / 9, 1 / 9))
    mixed = service.identify_find([photo((200, 150, 90)), photo((0, 0, 255))], predictor=stub)
    assert mixed["recognized"] is True and mixed["coverage"] == pytest.approx(0.95)
    assert [p["coverage"] for p in mixed["photos"]] == [pytest.approx(0.95), None]


def test_a_rejected_greyscale_photo_says_the_missing_colour_may_be_why(stub):
    result = service.identify(photo((128, 128, 128)), predictor=stub)
    assert result["verdict"]["level"] == "not_recognized"
    assert "no colour" in result["verdict"]["message"] and NO_COLOUR in result["verdict"]["reasons"]
    coloured = service.identify(photo((0, 0, 255)), predictor=stub)
    assert "colour" not in coloured["verdict"]["message"]


def test_each_greyscale_photo_of_a_find_is_told_colour_helps(stub):
    find = service.identify_find([photo((200, 150, 90)), photo((240, 240, 240))], predictor=stub)
    assert [NO_COLOUR in p["verdict"]["reasons"] for p in find["photos"]] == [False, True]
    assert [p["greyscale"] for p in find["photos"]] == [False, True]
    assert find["photos"][1]["verdict"]["level"] == "poisonous"  # the note never calms it
    assert NO_COLOUR not in find["verdict"]["reasons"]  # the colour photo carries the find
    assert find["greyscale"] is False


def test_a_find_of_only_colourless_photos_is_told_colour_helps(stub):
    grey, rejected_grey = photo((240, 240, 240)), photo((128, 128, 128))
    find = service.identify_find([grey, rejected_grey], predictor=stub)
    assert find["used"] == [True, False] and find["greyscale"] is True
    assert find["verdict"]["level"] == "poisonous"  # the note never calms it
    # "the photo has no colour" under two photos read as if one had been looked at
    assert find["verdict"]["reasons"][-1] == NO_COLOUR.replace(
        "the photo has", "photos 1 and 2 have").replace("a colour photo", "colour photos")
    # A colour photo that is not used (rejected) does not give the grey one colour.
    mixed = service.identify_find([grey, photo((0, 0, 255))], predictor=stub)
    assert mixed["used"] == [True, False] and mixed["greyscale"] is True
    assert mixed["verdict"]["reasons"][-1].startswith("photo 1 has no colour; the model was")
    assert NO_COLOUR not in mixed["verdict"]["reasons"]
    alone = service.identify_find([rejected_grey], predictor=stub)
    assert alone["verdict"]["level"] == "not_recognized" and alone["greyscale"] is True
    assert "no colour" in alone["verdict"]["message"]
    assert NO_COLOUR in alone["verdict"]["reasons"]  # one photo: "the photo" is right


def test_one_poisonous_looking_photo_makes_the_find_warn(stub):
    boletus = [photo((200, 150, 90)), photo((190, 140, 80))]
    calm = service.identify_find(boletus, predictor=stub)
    assert calm["verdict"]["level"] == "edible_genus"  # the rule below could fail
    find = service.identify_find([*boletus, photo((240, 240, 240))], predictor=stub)
    assert find["verdict"]["level"] == "poisonous"
    assert any("photo 3" in r for r in find["verdict"]["reasons"])
    assert [p["verdict"]["level"] for p in find["photos"]] == ["edible_genus", "edible_genus",
                                                              "poisonous"]
    assert find["top_k"][0]["genus"] == "Boletus"  # the vote says Boletus, the warning stands
    assert "Amanita" in find["prediction_set"]


def test_find_combines_probabilities_and_leaves_unfamiliar_photos_out(stub):
    colours = [(200, 150, 90), (190, 140, 80), (0, 0, 255)]
    find = service.identify_find([photo(c) for c in colours], k=C, predictor=stub)
    assert find["used"] == [True, True, False] and find["n_photos"] == 3
    expected = combine_probs(np.stack([OUTPUTS[c][0] for c in colours[:2]]))
    got = np.array([find["probabilities"][g] for g in GENERA])
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert find["photos"][2]["verdict"]["level"] == "not_recognized"
    assert find["verdict"]["level"] == "edible_genus"


def test_a_find_of_only_unfamiliar_photos_is_not_recognized(stub):
    find = service.identify_find([photo((0, 0, 255))] * 2, predictor=stub)
    assert find["verdict"]["level"] == "not_recognized"
    assert find["top_k"] == [] and find["prediction_set"] == [] and find["recognized"] is False
    # of these photos, not "the photo is unlike the photos the model was trained on"
    assert find["verdict"]["reasons"][0] == NOT_RECOGNIZED_FIND_REASON
    assert [p["verdict"]["reasons"] for p in find["photos"]] == [[NOT_RECOGNIZED_REASON]] * 2


@pytest.mark.parametrize("count", [0, 6])
def test_a_find_needs_one_to_five_photos(stub, count):
    with pytest.raises(BadImage, match="1 to 5"):
        service.identify_find([photo((200, 150, 90))] * count, predictor=stub)


def test_a_bad_photo_in_a_find_is_named(stub):
    with pytest.raises(BadImage, match="Photo 2"):
        service.identify_find([photo((200, 150, 90)), b"not an image"], predictor=stub)


def test_on_an_exact_tie_the_listed_genera_put_the_poisonous_one_first_as_the_verdict_does(
        stub):
    """Agaricus comes before Amanita in class order; at 30 % each the verdict names Amanita,
    so the bars (and /identify's top_k) must not put Agaricus on top."""
    one = service.identify(photo((90, 60, 30)), k=9, predictor=stub)
    assert one["verdict"]["genus"] == "Amanita"
    assert [t["genus"] for t in one["top_k"][:2]] == ["Amanita", "Agaricus"]
    assert [t["genus"] for t in service.identify(photo((90, 60, 30)), k=1,
                                                 predictor=stub)["top_k"]] == ["Amanita"]
    find = service.identify_find([photo((90, 60, 30))], k=2, predictor=stub)
    assert [t["genus"] for t in find["top_k"]] == ["Amanita", "Agaricus"]
    assert find["verdict"]["genus"] == "Amanita"


def test_a_non_finite_probability_is_listed_last_as_the_verdict_ranks_it():
    probs = probs_row(Boletus=0.5)
    probs[GENERA.index("Amanita")] = np.nan
    listed = [t["genus"] for t in service.top_k(probs, GENERA, 9)]
    assert listed[0] == "Boletus" and listed[-1] == "Amanita"
