"""The Identify tab: a photo in; top-k genera, the verdict card and a LIME heatmap out.

Its two events are the public API: ``/identify`` (photo, k -> the service's JSON) and
``/explain`` (photo, genus, quality, samples -> heatmap image). Everything the tab shows is
rendered from that JSON, so the page and API clients always see the same answer.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import gradio as gr
from PIL import Image

from mushroom import service
from mushroom.explain import MAX_SAMPLES, PRESETS
from mushroom.taxonomy import GENERA
from mushroom.ui import (IMAGE_BUTTONS, UserError, as_sent, chosen_genus, close_error_toasts,
                         drawn_as_the_model_sees_it, said, scratch_file, whole_number)
from mushroom.ui.answers import answered, asked_or_latest, if_current, pending_card, stamped
from mushroom.ui.cards import error_card, render
from mushroom.ui.uploads import NO_PHOTO, RAW, Upload, decode_upload, photo_input, raw_upload

PREDICTED = "Predicted genus"
INVALID_TYPE = "Invalid file types?: "  # (a regex) Gradio's toast for files a box refuses
NOTHING_TO_EXPLAIN = ("No mushroom found in this photo, so there is no genus to explain: "
                      "photograph the cap, gills and stem close up.")
# Identify refused for the photo shown (none yet, swept): the toast stayed up for seconds
# beside the next photo's verdict. Line starts only: the find tab's own ("Photo 2 (...): ...")
# are about other photos. Explain's refusals are a card in the heatmap's place instead.
# Gradio's own refusal of a file that is no image (a PDF: "Invalid file type: ...") stayed
# up too, beside the verdict of the photo chosen next, when two made a group.
CLEAR_STALE_TOASTS = close_error_toasts("/^(%s|%s)/m" % ("|".join(re.escape(s) for s in (
    NO_PHOTO, "This photo is no longer on the server")), INVALID_TYPE))
LEGEND = ("**Cyan** superpixels push the model towards the genus, **red** ones push it away; "
          "stronger tint means a larger effect. *Fit* (0 to 1) says how much of the model's "
          "reaction to hidden regions the colours account for: below 0.5 the legend says "
          "to read them with caution, and it says when the fit rests on too few samples "
          "(fewer than 3 per region) to be trusted. The heatmap covers the centre "
          "square of the photo, the only part the model looks at: keep the mushroom in the "
          "middle. Watch for heatmaps on grass or leaves: the model may be using the "
          "background rather than the mushroom.")


def shared_model():
    """The shared model, or the ``gr.Error`` saying that none is installed or usable."""
    try:
        return service.get_predictor()
    except service.ModelUnavailable as err:
        raise UserError(str(err)) from err


def identify(photo: Upload, k: float = 3) -> dict:
    """The /identify endpoint: photo (and k) -> top-k genera, verdict and model as JSON."""
    k = whole_number(k, "k (genera to list)", 1, len(GENERA))
    image = decode_upload(photo)
    return service.identify(image, k, shared_model())


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


def identify_if_photo(photo: Upload, k: float = 3) -> tuple:
    """Identify a newly shown photo for the page: (JSON, label, card, photo box).

    Blanks when the photo is cleared. A photo the browser cannot draw (HEIC in Chromium)
    is first replaced in the photo box by a decoded JPEG copy, and that copy, shown to the
    user, is what gets identified when the box's change comes back here.
    """
    try:
        photo = raw_upload(photo)
        if photo is None:
            return None, "", "", gr.skip()
        copy = drawable_copy(photo)
        if copy is not None:
            return None, "", "", copy
        result = identify(photo, k)
    except gr.Error as err:  # in the verdict's place, where it stays (a toast fades)
        return None, "", error_card(said(err), live=False), gr.skip()
    return (result, *render(result), gr.skip())


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
    """The Explain button: :func:`explain`'s (heatmap, "") or (None, why not)."""
    return explain_in_place(explain, photo, genus, quality, samples, progress)


def drawable_copy(photo: str | bytes) -> str | None:
    """An upright JPEG (quality 95) of ``photo`` when browsers cannot draw the original, or
    would draw it other than upright (a rotated WebP), else None."""
    if isinstance(photo, bytes) or drawn_as_the_model_sees_it(photo):
        return None
    image = decode_upload(photo)
    path = scratch_file("preview", f"{Path(photo).stem}.jpg")
    image.save(path, "JPEG", quality=95)
    return str(path)


def photo_key(photo: Upload) -> str | bytes | None:
    """What tells the page's photos apart: the upload's path (None: no photo)."""
    if isinstance(photo, dict):
        return photo.get("path") or photo.get("url")
    return getattr(photo, "path", photo)


def pending(photo: Upload) -> tuple[None, str, str, None, str]:
    """Blank every output as a photo comes in; the card says it is being identified."""
    return None, "", pending_card() if photo is not None else "", None, ""


def asking(photo: Upload, k: float) -> tuple:
    """The Identify button's first step: :func:`pending`, and the photo and k it asks for."""
    return *pending(photo), (photo_key(photo), k)


def answer_for_page(photo: Upload, k: float = 3, answer: dict | None = None):
    """:func:`identify_if_photo`'s outputs, stamped with the photo and k they answer; or
    nothing new when ``answer`` (the page's last) already answers them.

    Gradio's photo box reports a photo that replaces another as changed twice, both times
    with the new photo: each new photo went through the model twice, one call after the
    other, doubling the load on a busy Space. A refusal is not kept: the same upload may
    be answered once the model is in, or refused differently once swept.
    """
    if answered(answer, photo_key(photo), k):
        return gr.skip()
    return stamped(identify_if_photo(photo, k), photo_key(photo), k)


def show_answer(answer: dict | None, photo: Upload, k: float) -> tuple:
    """(JSON, label, card, photo box) of ``answer`` if it is for the photo and k shown."""
    return if_current(answer, photo_key(photo), k, 4)


def show_asked(result: dict | None, asked: tuple, answer: dict | None, photo: Upload,
               k: float) -> tuple:
    """The Identify button's /identify JSON on the card, if the photo and k it asked for
    (``asked``) are still shown; else the page's answer for those, or the JSON blanked
    (the newer photo's answer is on its way, and its pending card stays)."""
    return asked_or_latest(lambda: (*render(result), gr.skip()), asked, (photo_key(photo), k),
                           answer, lambda: answer["outputs"], 4)


def build_identify_tab() -> None:
    """Lay out the Identify tab inside the current ``gr.Blocks`` and wire its events."""
    with gr.Row():
        with gr.Column(scale=1):
            photo = photo_input(label="Photo of the mushroom (upload or camera)",
                               sources=["upload", "webcam", "clipboard"], height=360,
                               elem_id="photo")
            k = gr.Slider(1, len(GENERA), value=3, step=1, precision=0,  # API: integer
                          label="Genera to list (k)", elem_id="identify-k")
            go = gr.Button("Identify", variant="primary", elem_id="identify-btn")
        with gr.Column(scale=1):
            card = gr.HTML(elem_id="verdict")
            label = gr.HTML(elem_id="topk")
            with gr.Accordion("API response (JSON)", open=False):
                raw = gr.JSON(label="/identify")
    with gr.Accordion("Explain: which parts of the photo drove the answer (LIME)", open=True):
        with gr.Row():
            genus = gr.Dropdown([PREDICTED, *GENERA], value=PREDICTED, label="Genus to explain")
            quality = gr.Radio(["fast", "reference"], value="fast", label="Quality",
                               info="fast: a few seconds; reference: the study's 1000 samples")
            samples = gr.Slider(0, MAX_SAMPLES, value=0, step=10, precision=0,  # API: integer
                                label="Samples (0 = preset)", elem_id="explain-samples")
        why = gr.Button("Explain", elem_id="explain-btn")
        refusal = gr.HTML(elem_id="explain-refusal", padding=False)
        heatmap = gr.Image(label="LIME heatmap", type="pil", format="png", interactive=False,
                           buttons=IMAGE_BUTTONS, elem_id="heatmap")
        gr.Markdown(LEGEND)
    _wire(photo, k, go, raw, label, card, (genus, quality, samples), why, heatmap, refusal)


def _wire_explain(photo, options, why, heatmap, refusal):
    """Connect /explain and the Explain button; returns the button's event (a new photo
    cancels it)."""
    private = {"api_visibility": "private"}
    lime = {"concurrency_id": "lime", "concurrency_limit": 1, **RAW}
    # API clients get /explain's refusals as errors; the page shows them in place (a toast
    # fades), so the button runs its own wrapper and /explain is an API-only endpoint.
    gr.on([], explain, [photo, *options], heatmap, api_name="explain", **lime)
    return why.click(lambda: "", None, refusal, api_name="explain_start", queue=False,
                     **private
                     ).then(explain_for_page, [photo, *options], [heatmap, refusal],
                            api_name="explain_page", show_progress_on=heatmap,
                            # a click while one runs ("once" dropped it) explains the new
                            # choice (genus, quality) once the running one is done
                            trigger_mode="always_last",
                            **private, **lime)


def _wire(photo, k, go, raw, label, card, options, why, heatmap, refusal) -> None:
    """Connect the events; only /identify and /explain are public API endpoints.

    Every chain starts by blanking the outputs, so a new photo never sits next to the
    previous photo's verdict, not even when the new one turns out to be unreadable.
    """
    outputs = [raw, label, card, heatmap, refusal]
    shown = [raw, label, card, photo]
    answer, asked = gr.State(), gr.State()  # the page's answer; what the button asked for
    private = {"api_visibility": "private"}
    model = {"concurrency_id": "model", **private, **RAW}
    show = {"fn": show_answer, "inputs": [answer, photo, k], "outputs": shown, "queue": False,
            "trigger_mode": "always_last", **private, **RAW}
    explaining = _wire_explain(photo, options, why, heatmap, refusal)
    # Any new photo (file, camera, paste) identifies at once; a cleared one just blanks. An
    # explanation still running is for the old photo: cancelled, or its heatmap would land
    # beside the new photo's verdict ("supports Amanita" next to a Boletus card).
    # "always_last": a photo changed mid-call is identified next, not dropped ("once" left
    # the old verdict beside it; cancelling let the old answer land after the new one).
    # Every model call's answer goes through show_answer: see mushroom.ui.answers.
    photo.change(pending, photo, outputs, api_name="clear_on_change", queue=False,
                 cancels=[explaining], **private, **RAW
                 ).then(answer_for_page, [photo, k, answer], answer,
                        api_name="identify_on_change",
                        trigger_mode="always_last", **model
                 ).then(api_name="show_on_change", **show)
    photo.change(None, None, None, js=CLEAR_STALE_TOASTS, api_name="clear_toasts", **private)
    identifying = go.click(asking, [photo, k], [*outputs, asked], api_name="clear",
                           queue=False, **private, **RAW
                           ).then(identify, [photo, k], raw, api_name="identify",
                                  concurrency_id="model", concurrency_limit=4, **RAW)
    identifying.success(show_asked, [raw, asked, answer, photo, k], shown, api_name="render",
                        queue=False, trigger_mode="always_last", **private, **RAW)
    # A refused photo (unreadable, expired) got only the API's toast, which fades: the card
    # that said why had been blanked and the page was left saying nothing. Say it in place.
    identifying.failure(answer_for_page, [photo, k], answer, api_name="identify_refused",
                        **model).then(api_name="show_refused", **show)
    # A new k re-lists the shown photo; with no photo yet (tabbing through the form) it is
    # not an error to report. On change, not release: the slider's arrow keys and the
    # number box's Enter never fire a release, and left "k = 6" above three genera.
    k.change(answer_for_page, [photo, k, answer], answer, api_name="relist",
             trigger_mode="always_last", **model).then(api_name="show_relist", **show)
