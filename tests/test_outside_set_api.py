"""The outside-set note reaches API clients: a headline that warns of a poisonous genus the
95 % prediction set leaves out says why among the verdict's ``reasons`` (a mobile app shows
those, not the page's set line), on the real app through gradio_client."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import make_photo
from gradio_client import Client, handle_file

from mushroom.predict import load_model
from mushroom.taxonomy import GENERA, POISONOUS
from mushroom.verdict import named_poisonous, poison_probability

SEEDS = range(40)


@pytest.fixture(scope="module")
def case(tiny_checkpoint, tmp_path_factory):
    """A photo whose top genus is edible, and a copy of the tiny checkpoint whose tau flags
    it and whose sets hold that genus alone: the headline warns of a poisonous genus outside
    the set. Returns (checkpoint, photo path, the warned genus)."""
    predictor = load_model(tiny_checkpoint)
    folder = tmp_path_factory.mktemp("outside")
    for seed in SEEDS:
        image = make_photo(seed % len(GENERA), seed=900 + seed, size=(120, 96))
        path = folder / f"photo{seed}.png"
        image.save(path)
        row = predictor.predict([image]).probs[0]
        probs = dict(zip(predictor.classes, map(float, row)))
        top = max(probs, key=probs.get)
        if top not in POISONOUS:
            break
    else:
        pytest.skip("no generated photo has an edible top genus under the tiny model")
    ckpt = torch.load(tiny_checkpoint, map_location="cpu", weights_only=False)
    ckpt["poison_threshold"] = poison_probability(probs) * 0.9
    ckpt["conformal"] = {"method": "mondrian-split-conformal", "alpha": 0.05, "coverage": 0.95,
                         "qhat": [1.0 if g == top else 0.0 for g in GENERA]}
    out = folder / "outside.pt"
    torch.save(ckpt, out)
    return out, path, named_poisonous(probs)


@pytest.fixture(scope="module")
def client(case):
    from server import running_app

    with running_app({"MUSHROOM_MODEL": str(case[0])}) as running:
        yield Client(running.url, verbose=False)


def test_the_outside_set_note_is_among_the_api_reasons_and_said_once_on_the_card(case, client):
    from mushroom.ui.cards import render

    _, photo, warned = case
    note = (f"{warned} is outside the prediction set, but P(poisonous genus) reaches its "
            "threshold (a stricter test than the set), so the headline names it for safety.")
    one = client.predict(handle_file(photo), 3, api_name="/identify")
    find = client.predict([handle_file(photo)], 3, api_name="/identify_find")
    for name, result in (("identify", one), ("find", find), ("find's photo", find["photos"][0])):
        verdict = result["verdict"]
        assert verdict["level"] == "poisonous" and warned not in result["prediction_set"], name
        assert verdict["warned_genera"] == [warned], name
        assert verdict["reasons"][-1] == note, (name, verdict["reasons"])
        # the page draws the card from this JSON: the note once, after the set line
        card = re.sub(r"<[^>]+>", "", render(result)[1])
        assert card.count("outside this set") == 1 and note not in card, name
