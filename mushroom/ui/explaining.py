"""Explaining a photo with LIME, for the Identify and Find tabs: the public ``/explain``
endpoint, the page's in-place refusals, the heatmap's text alternative and its legend, and
the parts both tabs' Explain panels share (the Quality choice, the heatmap and its legend).
"""

from __future__ import annotations

import html

import gradio as gr
from PIL import Image

from mushroom import service
from mushroom.explain import MAX_SAMPLES, PRESETS
from mushroom.ui import (IMAGE_BUTTONS, UserError, as_sent, chosen_genus, said, shared_model,
                         whole_number)
from mushroom.ui.cards import error_card
from mushroom.ui.heatmap import TINTED
from mushroom.ui.uploads import Upload, decode_upload

PREDICTED = "Predicted genus"
NOTHING_TO_EXPLAIN = ("No mushroom found in this photo, so there is no genus to explain: "
                      "photograph the cap, gills and stem close up.")
LEGEND = (f"The {TINTED} strongest superpixels are tinted: **cyan** ones push the model "
          "towards the genus, **red**, hatched ones push it away; stronger tint means a "
          "larger effect. "
          "*Fit* (0 to 1) says how well LIME's simple model of all the regions, of which the "
          "tinted ones are the strongest, reproduces the model's reaction to hiding them: "
          "below 0.5 the legend says to read the colours with caution, and it says when the "
          "fit rests on too few samples "
          "(fewer than 3 per region) to be trusted. The heatmap covers the centre "
          "square of the photo, the only part the model looks at: keep the mushroom in the "
          "middle. Watch for heatmaps on grass or leaves: the model may be using the "
          "background rather than the mushroom.")


def explain(photo: Upload, genus: str = PREDICTED, quality: str = "fast",
            samples: float = 0, progress=gr.Progress()) -> Image.Image:
    """The /explain endpoint: photo -> LIME heatmap image (cyan supports, red opposes).

    Args:
        photo: the uploaded file.
        genus: a genus to explain in any case, or "Predicted genus" for the model's top-1.
        quality: "fast" (default, a few seconds) or "reference" (the study's 1000 samples).
        samples: perturbed copies to score; 0 keeps the preset's number.

    A photo the unfamiliar-photo detector rejects gets the :data:`NOTHING_TO_EXPLAIN` error,
    as /identify lists no genus for it.
    """
    from mushroom import explain as lime
    from mushroom.ui import heatmap
    from mushroom.ui.cancel import watched

    samples = whole_number(samples or 0, "samples", 0, MAX_SAMPLES)
    genus = chosen_genus(genus, PREDICTED)
    quality = chosen_quality(quality)
    image = decode_upload(photo)
    model = shared_model()
    if not service.recognizes(image, model):
        # The heatmap's legend would name a genus and its probability ("supports Agaricus
        # (40%)") beside a card that says no identification is given.
        raise UserError(NOTHING_TO_EXPLAIN)
    try:
        cfg = lime.resolve_config(quality, samples)
        progress(0, desc="Segmenting the photo into superpixels")
        exp = lime.explain(model, image, genus, cfg,
                           progress=watched(lambda f, msg: progress(f, desc=msg)))
    except ValueError as err:
        raise UserError(str(err)) from err
    return heatmap.overlay(exp, image=image)


def chosen_quality(value: object) -> str:
    """An API argument naming an explanation preset, in any case (as a genus may be sent).

    Checked with the other arguments, before the photo: it was checked last, so a
    caller who sent ``null`` or "slow" with a photo the detector rejects was told only
    about the photo, and after the model had run.

    Raises:
        UserError: naming the presets and the value as JSON spells it.
    """
    text = value.strip().lower() if isinstance(value, str) else None
    if text in PRESETS:
        return text
    raise UserError(f"quality must be {' or '.join(map(repr, PRESETS))}, not {as_sent(value)}.")


def quality_radio() -> gr.Radio:
    """The Explain panels' LIME quality choice, one of :data:`mushroom.explain.PRESETS`.

    Returns:
        gr.Radio: "fast" (the default) or "reference", built in the current layout.
    """
    return gr.Radio(list(PRESETS), value="fast", label="Quality",
                    info="fast: a few seconds; reference: the study's "
                         f"{PRESETS['reference'].num_samples} samples")

def heatmap_panel(prefix: str = "") -> tuple[gr.HTML, gr.Image]:
    """An Explain panel's output, built in the current layout: the card that says in place
    why there is no heatmap, the heatmap, and its legend.

    Both tabs build it here so they agree on the heatmap's buttons: it is the forager's
    photo, so it offers no Share (:data:`mushroom.ui.IMAGE_BUTTONS`).

    Args:
        prefix: put before the elements' ids (``"find-"`` in the find tab).

    Returns:
        tuple[gr.HTML, gr.Image]: ``(refusal, heatmap)``.
    """
    refusal = gr.HTML(elem_id=f"{prefix}explain-refusal", padding=False)
    heatmap = gr.Image(label="LIME heatmap", type="pil", format="png", interactive=False,
                       buttons=IMAGE_BUTTONS, elem_id=f"{prefix}heatmap")
    gr.Markdown(LEGEND)
    return refusal, heatmap

def explain_in_place(fn, *args, subject: str = "this photo") -> tuple:
    """``(fn(*args), alt)``, or ``(None, card)`` when ``fn`` refuses: the page's Explain.

    ``alt`` is a hidden paragraph holding the heatmap's text alternative (or "").

    As a toast, a refusal ("No mushroom found in this photo") faded within seconds and left
    a bare "Error" badge in the heatmap's box; the card stays there until the next try.
    """
    try:
        image = fn(*args)
    except gr.Error as err:
        return None, error_card(said(err), subject, "heatmap")
    return image, heatmap_alt(image)


def heatmap_alt(image) -> str:
    """A hidden paragraph with ``image.info["alt"]``, the legend drawn into it, or "": the
    page's script makes it the heatmap's alt (mushroom.ui.page.HEAD)."""
    alt = getattr(image, "info", {}).get("alt")
    return f'<p class="heatmap-alt" hidden>{html.escape(alt)}</p>' if alt else ""


def explain_for_page(photo: Upload, genus: str = PREDICTED, quality: str = "fast",
                     samples: float = 0, progress=gr.Progress()) -> tuple:
    """The Explain button: :func:`explain`'s (heatmap, its hidden text alternative)
    or (None, why not): see :func:`explain_in_place`."""
    return explain_in_place(explain, photo, genus, quality, samples, progress)
