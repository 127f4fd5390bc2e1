"""The Identify tab: a photo in; top-k genera, the verdict card and a LIME heatmap out.

Its two events are the public API: ``/identify`` (photo, k -> the service's JSON) and
``/explain`` (photo, genus, quality, samples -> heatmap image; see
:mod:`mushroom.ui.explaining`). Everything the tab shows is
rendered from that JSON, so the page and API clients always see the same answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr

from mushroom import service
from mushroom.explain import MAX_SAMPLES
from mushroom.taxonomy import GENERA
from mushroom.ui import close_error_toasts, said, scratch_file, shared_model, whole_number
from mushroom.ui.answers import answered, asked_or_latest, if_current, pending_card, stamped
from mushroom.ui.cards import error_card, render
from mushroom.ui.explaining import (PREDICTED, explain, explain_for_page, heatmap_panel,
                                    quality_radio)
from mushroom.ui.uploads import (INVALID_TYPE, NO_PHOTO, RAW, Upload, decode_upload,
                                 drawn_as_the_model_sees_it, photo_input, raw_upload)

# Identify refused for the photo shown (none yet, swept): the toast stayed up for seconds
# beside the next photo's verdict. Line starts only: the find tab's own ("Photo 2 (...): ...")
# are about other photos. Explain's refusals are a card in the heatmap's place instead.
# Gradio's own refusal of a file that is no image (a PDF: "Invalid file type: ...") stayed
# up too, beside the verdict of the photo chosen next, when two made a group.
CLEAR_STALE_TOASTS = close_error_toasts("/^(%s|%s)/m" % ("|".join(re.escape(s) for s in (
    NO_PHOTO, "This photo is no longer on the server")), INVALID_TYPE))


def identify(photo: Upload, k: float = 3) -> dict:
    """The /identify endpoint: photo (and k) -> top-k genera, verdict and model as JSON."""
    k = whole_number(k, "k (genera to list)", 1, len(GENERA))
    image = decode_upload(photo)
    return service.identify(image, k, shared_model())


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
            quality = quality_radio()
            samples = gr.Slider(0, MAX_SAMPLES, value=0, step=10, precision=0,  # API: integer
                                label="Samples (0 = preset)", elem_id="explain-samples")
        why = gr.Button("Explain", elem_id="explain-btn")
        refusal, heatmap = heatmap_panel()
    _wire(photo, k, go, raw, label, card, (genus, quality, samples), why, heatmap, refusal)


def explain_stamped(photo: Upload, genus: str = PREDICTED, quality: str = "fast",
                    samples: float = 0, progress=gr.Progress()) -> dict:
    """The Explain button's LIME run: :func:`explain_for_page`'s (heatmap, alt) or (None,
    refusal), stamped with the photo explained, for :func:`show_explained`."""
    return stamped(explain_for_page(photo, genus, quality, samples, progress),
                   photo_key(photo), None)


def show_explained(explained: dict | None, photo: Upload) -> tuple:
    """(heatmap, alt or refusal) of ``explained`` if it is of the photo shown, else skips."""
    return if_current(explained, photo_key(photo), None, 2)


def _wire_explain(photo, options, why, heatmap, refusal):
    """Connect /explain and the Explain button; returns the button's event (a new photo
    cancels it)."""
    private = {"api_visibility": "private"}
    lime = {"concurrency_id": "lime", "concurrency_limit": 1, **RAW}
    explained = gr.State()  # the last heatmap, and the photo it is of
    # API clients get /explain's refusals as errors; the page shows them in place (a toast
    # fades), so the button runs its own wrapper and /explain is an API-only endpoint.
    gr.on([], explain, [photo, *options], heatmap, api_name="explain", **lime)
    explaining = why.click(lambda: "", None, refusal, api_name="explain_start", queue=False,
                           **private
                           ).then(explain_stamped, [photo, *options], explained,
                                  api_name="explain_page", show_progress_on=heatmap,
                                  # a click while one runs ("once" dropped it) explains the
                                  # new choice (genus, quality) once the running one is done
                                  trigger_mode="always_last",
                                  **private, **lime)
    # Drawn only beside the photo it is of: a heatmap done before a new photo's cancel
    # reached the server still came back, and was drawn beside the new photo's verdict.
    explaining.then(show_explained, [explained, photo], [heatmap, refusal], queue=False,
                    api_name="explain_show", show_progress="hidden", **private, **RAW)
    return explaining


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
    # the old verdict beside it); answers are drawn by show_answer (mushroom.ui.answers).
    photo.change(pending, photo, outputs, api_name="clear_on_change", queue=False,
                 cancels=[explaining], **private, **RAW
                 ).then(answer_for_page, [photo, k, answer], answer,
                        api_name="identify_on_change", trigger_mode="always_last", **model
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
