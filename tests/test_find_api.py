"""/identify_find and the refusal fields of /identify, on the real launched app via gradio_client.

The app runs a tiny checkpoint whose conformal thresholds were fitted for real (see
``calibrated.py``), so responses carry prediction sets; the not-a-mushroom check runs the
shipped model, whose detector was calibrated on real photos (skipped until it is shipped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from calibrated import calibrated_checkpoint
from conftest import make_photo
from mushroom.combine import combine_probs
from mushroom.conformal import prediction_sets
from mushroom.percent import pct
from mushroom.taxonomy import GENERA
from server import running_app


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint, tmp_path_factory) -> Path:
    return calibrated_checkpoint(tiny_checkpoint, tmp_path_factory.mktemp("cal") / "cal.pt")


@pytest.fixture(scope="module")
def client(checkpoint):
    with running_app({"MUSHROOM_MODEL": str(checkpoint)}) as app:
        yield Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    """Cap, gills and stem of one 'find' (three views: different seeds of one genus)."""
    folder = tmp_path_factory.mktemp("find")
    paths = []
    for i, view in enumerate(("cap", "gills", "stem")):
        path = folder / f"{view}.jpg"
        make_photo(GENERA.index("Russula"), seed=70 + i, size=(200, 160)).save(path, quality=90)
        paths.append(path)
    return paths


def test_identify_find_with_three_photos(client, photos):
    find = client.predict([handle_file(str(p)) for p in photos], 9, api_name="/identify_find")
    assert find["n_photos"] == 3 and len(find["photos"]) == 3 and find["used"] == [True] * 3
    assert find["coverage"] == pytest.approx(0.95)
    singles = [client.predict(handle_file(str(p)), 9, api_name="/identify") for p in photos]
    for single, part in zip(singles, find["photos"]):  # batched: equal up to float rounding
        assert [t["genus"] for t in part["top_k"]] == [t["genus"] for t in single["top_k"]]
        np.testing.assert_allclose([t["probability"] for t in part["top_k"]],
                                   [t["probability"] for t in single["top_k"]], atol=1e-5)
        assert part["prediction_set"] == single["prediction_set"]
    per_photo = np.array([[s["probabilities"][g] for g in GENERA] for s in singles])
    combined = np.array([find["probabilities"][g] for g in GENERA])
    np.testing.assert_allclose(combined, combine_probs(per_photo), atol=1e-5)
    assert [t["genus"] for t in find["top_k"]] == [GENERA[i] for i in np.argsort(-combined)]
    union = {g for s in singles for g in s["prediction_set"]}
    assert set(find["prediction_set"]) == union  # the union keeps each photo's guarantee
    if any(s["verdict"]["level"] == "poisonous" for s in singles):
        assert find["verdict"]["level"] == "poisonous"  # one poison signal is enough


def test_a_photo_sent_twice_counts_once(client, photos, tmp_path):
    # The same photo picked twice (or retried by an app) is one piece of evidence: five
    # copies of a 60 % photo made the find 83 % sure. Its copy here has another name.
    copy = tmp_path / "cap copy.jpg"
    copy.write_bytes(photos[0].read_bytes())
    cap, gills = handle_file(str(photos[0])), handle_file(str(photos[1]))
    find = client.predict([cap, gills, handle_file(str(copy)), cap], 9, api_name="/identify_find")
    pair = client.predict([cap, gills], 9, api_name="/identify_find")
    assert find["used"] == [True, True, False, False] and find["n_photos"] == 4
    np.testing.assert_allclose([find["probabilities"][g] for g in GENERA],
                               [pair["probabilities"][g] for g in GENERA], atol=1e-6)
    assert find["top_k"] == pair["top_k"] and find["verdict"]["level"] == pair["verdict"]["level"]
    assert find["photos"][2]["probabilities"] == find["photos"][0]["probabilities"]
    reasons = find["verdict"]["reasons"]
    assert reasons[-2:] == ["photo 3 is the same photo as photo 1: counted once",
                            "photo 4 is the same photo as photo 1: counted once"]
    assert not any("not recognized" in r for r in reasons)


def test_identify_reports_set_and_coverage(client, photos, checkpoint):
    result = client.predict(handle_file(str(photos[0])), api_name="/identify")
    assert result["coverage"] == pytest.approx(0.95) and result["recognized"] is True
    probs = result["probabilities"]
    # the set the checkpoint's thresholds give these probabilities, most probable first
    params = torch.load(checkpoint, map_location="cpu", weights_only=False)["conformal"]
    expected = [GENERA[c] for c in prediction_sets(np.array([[probs[g] for g in GENERA]]),
                                                   params)[0]]
    assert expected and result["prediction_set"] == expected


def test_identify_find_refuses_too_many_or_bad_photos(client, photos, tmp_path):
    with pytest.raises(AppError, match="1 to 5"):
        client.predict([handle_file(str(photos[0]))] * 6, api_name="/identify_find")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photos[1].read_bytes()[:300])
    with pytest.raises(AppError, match=r"Photo 2 \(broken\.jpg\): "):  # as the page lists it
        client.predict([handle_file(str(photos[0])), handle_file(str(broken))],
                       api_name="/identify_find")


def test_non_mushroom_photo_is_not_recognized_by_the_shipped_model(shipped_model, tmp_path):
    from skimage import data

    from mushroom.nonmushroom import to_pil

    astronaut = tmp_path / "astronaut.jpg"
    to_pil(data.astronaut()).save(astronaut, quality=92)
    with running_app({"MUSHROOM_MODEL": str(shipped_model)}) as app:
        client = Client(app.url, verbose=False)
        result = client.predict(handle_file(str(astronaut)), api_name="/identify")
        # Explain must not name a genus and its probability ("supports Agaricus (40%)") for
        # a photo the card says has no identification, neither the predicted one nor another.
        for genus in ("Predicted genus", "Amanita"):
            with pytest.raises(AppError, match="(?i)no mushroom"):
                client.predict(handle_file(str(astronaut)), genus, "fast", 0,
                               api_name="/explain")
        assert app.alive()
    assert result["verdict"]["level"] == "not_recognized"
    assert "no mushroom found" in result["verdict"]["message"].lower()
    assert result["top_k"] == [] and result["probabilities"] is None
    assert result["prediction_set"] == [] and result["recognized"] is False


def test_a_find_of_grey_non_mushroom_photos_is_told_about_these_photos(shipped_model, tmp_path):
    # Two grey gradients (no mushroom, no colour): the card under the find said "This photo
    # does not look like..." and "This photo has no colour", as if one had been looked at.
    ramp = np.tile(np.linspace(0, 255, 300).astype(np.uint8), (300, 1))
    paths = []
    for name, pixels in (("ramp.png", ramp), ("flipped.png", ramp[:, ::-1].T)):
        Image.fromarray(np.stack([pixels] * 3, -1)).save(tmp_path / name)
        paths.append(handle_file(str(tmp_path / name)))
    with running_app({"MUSHROOM_MODEL": str(shipped_model)}) as app:
        result = Client(app.url, verbose=False).predict(paths, api_name="/identify_find")
    message = result["verdict"]["message"]
    assert result["verdict"]["level"] == "not_recognized"
    assert "These photos do not look like" in message and "These photos have no colour" in message
    assert "This photo" not in message
    reasons = result["verdict"]["reasons"]
    assert reasons[-1].startswith("photos 1 and 2 have no colour; the model was trained on")
    assert not any(r.startswith("the photo") for r in reasons)  # as if one were looked at


def test_a_possibly_poisonous_card_describes_the_genus_it_warns_of(real_data, shipped_model):
    """"Most likely Russula, but the model cannot rule out Amanita" came with Russula's notes
    alone ("Many edible brittlegills..."): nothing on the card said what Amanita is."""
    from mushroom.genus_notes import GENUS_NOTES

    with running_app({"MUSHROOM_MODEL": str(shipped_model)}) as app:
        client = Client(app.url, verbose=False)
        for path in sorted((real_data / "Russula").glob("*.jpg"))[:80]:
            verdict = client.predict(handle_file(str(path)), 1, api_name="/identify")["verdict"]
            if verdict["message"].startswith("Possibly poisonous: most likely Russula"):
                break
        else:
            pytest.skip("no Russula photo the model calls possibly poisonous")
    warned = verdict["message"].split("cannot rule out ")[1].split(" or ")[0]
    assert verdict["notes"]["edibility"] == (f"Russula: {GENUS_NOTES['Russula'].edibility} "
                                             f"{warned}: {GENUS_NOTES[warned].edibility}")
    assert f"{warned}: {GENUS_NOTES[warned].lookalikes}" in verdict["notes"]["lookalikes"]


def test_card_explains_a_warned_genus_outside_the_prediction_set(real_data, shipped_model):
    """This Russula photo's headline warns of Amanita while its 95 % set is Russula,
    Entoloma, Cortinarius: the card now says why, on /identify and on a find of it."""
    from mushroom.ui.cards import render

    photo = handle_file(str(real_data / "Russula" / "a15ea38a425d.jpg"))
    with running_app({"MUSHROOM_MODEL": str(shipped_model)}) as app:
        client = Client(app.url, verbose=False)
        answers = [client.predict(photo, 3, api_name="/identify"),
                   client.predict([photo], 3, api_name="/identify_find")]
    for result in answers:
        assert "cannot rule out Amanita" in result["verdict"]["message"]
        assert "Amanita" not in result["prediction_set"]
        assert result["verdict"]["level"] == "poisonous"
        assert ("Amanita is outside this set, but P(poisonous genus) reaches its threshold"
                in render(result)[1])


def test_photos_of_two_confident_edible_genera_disagree(real_data, shipped_model):
    """A porcini photo and a brittlegill photo in one find are two mushrooms: the find said
    "Most likely Boletus" with both listed, an answer for neither photo."""
    with running_app({"MUSHROOM_MODEL": str(shipped_model)}) as app:
        client = Client(app.url, verbose=False)

        def confident(genus: str) -> tuple[str, float]:
            # the first real photo of the genus that the model alone calls edible_genus
            for path in sorted((real_data / genus).glob("*.jpg")):
                single = client.predict(handle_file(str(path)), 1, api_name="/identify")
                if single["verdict"]["level"] == "edible_genus":
                    return str(path), single["top_k"][0]["probability"]
            pytest.skip(f"no confident {genus} photo")

        (boletus, p_b), (russula, p_r) = confident("Boletus"), confident("Russula")
        find = client.predict([handle_file(boletus), handle_file(russula)], 3,
                              api_name="/identify_find")
    verdict = find["verdict"]
    assert find["used"] == [True, True] and verdict["level"] == "uncertain"
    named = (f"photo 1 looks like Boletus ({pct(p_b)}), photo 2 like Russula ({pct(p_r)})")
    assert verdict["message"].startswith(f"The photos disagree: {named}. They may not show "
                                         "the same mushroom")
    assert verdict["message"].endswith("Treat it as poisonous: do not eat.")
    assert verdict["reasons"][0].endswith(named)
    assert {t["genus"] for t in find["top_k"][:2]} == {"Boletus", "Russula"}


def test_find_tab_explains_only_a_photo_of_the_list(tmp_path):
    from mushroom.ui import UserError
    from mushroom.ui.find_explain import NO_PHOTOS, explain_photo, photo_choices

    photo = tmp_path / "cap.jpg"
    make_photo(0, seed=1).save(photo)
    assert photo_choices([str(photo), str(photo)])["choices"] == [
        "Photo 1 (cap.jpg)", "Photo 2 (cap.jpg)"]
    assert photo_choices(None)["value"] is None
    # once identified: each photo's own answer after its name, and the choice kept
    answers = {"photos": [{"verdict": {"level": "poisonous"}, "top_k": [
        {"genus": "Amanita", "probability": 0.97}]}, {"verdict": {"level": "not_recognized"},
                                                      "top_k": []}]}
    listed = photo_choices([str(photo), str(photo)], answers, "Photo 2 (cap.jpg)")
    assert listed["choices"] == ["Photo 1 (cap.jpg): Amanita 97%, do not eat",
                                 "Photo 2 (cap.jpg): not recognized (left out of the genus vote)"]
    assert listed["value"] == listed["choices"][1]
    assert photo_choices([str(photo)], answers, "Photo 2 (cap.jpg)")["value"] == (
        "Photo 1 (cap.jpg)")  # an answer for another list is not used; a gone choice resets
    for photos, which, message in (([], "Photo 1 (cap.jpg)", NO_PHOTOS),
                                   ([str(photo)], None, "Choose the photo"),
                                   ([str(photo)], "Photo 2 (gills.jpg)", "from 1 to 1")):
        with pytest.raises(UserError, match=message):
            explain_photo(photos, which)


def test_find_tab_explanation_refusal_names_the_photo(tmp_path):
    """"No mushroom found in this photo" or "not an image" means little beside five photos;
    named like the find's own refusals, the page also closes it when that photo leaves."""
    from mushroom.ui import UserError
    from mushroom.ui.find_explain import explain_photo

    good, bad = tmp_path / "cap.jpg", tmp_path / "gills.jpg"
    make_photo(0, seed=1).save(good)
    bad.write_bytes(b"not a photo at all")
    with pytest.raises(UserError, match=r"Photo 2 \(gills\.jpg\): .*not an image"):
        explain_photo([str(good), str(bad)], "Photo 2 (gills.jpg)")



def test_a_photo_name_with_markup_is_escaped_once_in_toast_and_card(tmp_path):
    """The name goes into the refusal: escaped for the toast (which renders HTML and took
    "<b>" for a tag), and shown as named, not as "&amp;lt;b&amp;gt;", in the page's card."""
    from mushroom.ui import UserError
    from mushroom.ui.find_explain import explain_photo, explain_photo_for_page

    good, bad = tmp_path / "cap.jpg", tmp_path / "<b>gills & stem.jpg"
    make_photo(0, seed=1).save(good)
    bad.write_bytes(b"not a photo at all")
    which = f"Photo 2 ({bad.name})"
    with pytest.raises(UserError) as refused:
        explain_photo([str(good), str(bad)], which)
    assert refused.value.message.startswith("Photo 2 (&lt;b&gt;gills &amp; stem.jpg): ")
    card = explain_photo_for_page([str(good), str(bad)], which)[1]
    assert "Photo 2 (&lt;b&gt;gills &amp; stem.jpg): " in card and "&amp;lt;" not in card

def test_page_explain_buttons_show_refusals_in_place(tmp_path):
    """The buttons' wrappers turn a refusal into a card in the heatmap's place (a toast
    faded and left a bare "Error" badge); /explain itself still raises for API clients."""
    from mushroom.ui.find_explain import explain_photo_for_page
    from mushroom.ui.explaining import explain_for_page

    bad = tmp_path / "gills.jpg"
    bad.write_bytes(b"not a photo at all")
    heatmap, card = explain_for_page(None)
    assert heatmap is None and 'role="alert"' in card
    assert "No heatmap for this photo." in card and "Upload or take a photo" in card
    heatmap, card = explain_photo_for_page([str(bad)], "Photo 1 (gills.jpg)")
    assert heatmap is None and "Photo 1 (gills.jpg): " in card and "not an image" in card


def test_a_heatmap_is_shown_only_while_its_photo_is_chosen(tmp_path):
    """The page's explanation is stamped with the file it explains: shown while that file is
    chosen (its choice relabelled with the find's answer or not), skipped once another is."""
    import gradio as gr

    from mushroom.ui.find_explain import explain_stamped, show_explained

    cap, stem = tmp_path / "cap.jpg", tmp_path / "stem.jpg"
    for path in (cap, stem):
        path.write_bytes(b"not a photo at all")  # a refusal: no model needed
    photos = [str(cap), str(stem)]
    explained = explain_stamped(photos, "Photo 2 (stem.jpg)")
    shown = show_explained(explained, photos, "Photo 2 (stem.jpg): Amanita 97%, do not eat")
    assert shown[0] is None and "Photo 2 (stem.jpg): " in shown[1]
    skipped = show_explained(explained, photos, "Photo 1 (cap.jpg)")
    assert all(isinstance(s, type(gr.skip())) for s in skipped)
    assert all(isinstance(s, type(gr.skip())) for s in show_explained(explained, [str(cap)],
                                                                     "Photo 2 (stem.jpg)"))
