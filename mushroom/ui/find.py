"""The "One find, several photos" tab: 1-5 photos of one mushroom in, one combined answer out.

Foragers photograph the cap, the gills, the stem and the base; the gills or a volva can be
what tells Russula from Amanita. Its public event is ``/identify_find`` (photos, k -> the
service's JSON, see :func:`mushroom.service.identify_find`); the page renders that JSON
only, so the page and API clients see the same answer. Per-photo results sit in a closed
accordion: the combined verdict is what counts. Any one photo of the find can be explained
with LIME, as on the Identify tab (API clients call ``/explain`` with that photo).
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr

from mushroom import service
from mushroom.combine import MAX_PHOTOS
from mushroom.imageio import BadImage
from mushroom.taxonomy import GENERA
from mushroom.ui import (IMAGE_BUTTONS, UserError, close_error_toasts, said, shared_model,
                         whole_number)
from mushroom.ui.answers import asked_or_latest, is_for, pending_card, stamped
from mushroom.ui.api_input import checked
from mushroom.ui.api_photos import check_photos
from mushroom.ui.cards import error_card, find_crop_note, photo_caption, photo_table, render
from mushroom.ui.find_explain import NO_PHOTOS, explain_panel
from mushroom.ui.uploads import (INVALID_TYPE, check_upload_path, drawn_as_the_model_sees_it,
                                 file_paths)

PHOTO_TYPES = ["image", ".heic", ".heif", ".avif"]
"""What the file picker offers. Browsers that do not know HEIC (Chromium on Linux) give it
no image type, so the endings are listed too; the server decodes all of them."""

HELP = (f"Add 1 to {MAX_PHOTOS} photos of **the same mushroom**: cap from above, gills or "
        "pores underneath, the whole stem, and the base dug out of the soil (a volva or bulb "
        "there is a death-cap sign). One photo that looks poisonous is enough to warn.")

# A refused Identify's toast (no photos yet, photos swept, a photo that does not decode) would
# stay beside the verdict of the photos added next (Gradio never fades a toast group of two
# messages): new photos close the error toasts that speak of the old ones, Gradio's own
# refusal of a file that is no image (a PDF: "Invalid file type: ...") included.
CLEAR_STALE_TOASTS = close_error_toasts("/%s|^Photo \\d|%s/m" % ("|".join(
    re.escape(s) for s in (NO_PHOTOS, "is no longer on the server", "photos of the same mushroom")),
    INVALID_TYPE))


def gallery_image(path: str):
    """``path`` when the browser draws it as the model sees it, else a decoded, upright
    thumbnail (HEIC in Chromium, a rotated WebP)."""
    if drawn_as_the_model_sees_it(path):
        return path
    try:
        image = service.load_photo(path)
    except BadImage:
        return path
    image.thumbnail((768, 768))
    return image


def identify_find(photos: list | None, k: float = 3) -> dict:
    """The /identify_find endpoint: 1-5 photos of one find -> one combined answer as JSON,
    with each photo's own /identify answer in "photos"."""
    k = whole_number(k, "k (genera to list)", 1, len(GENERA))
    paths = file_paths(photos)
    if not paths:
        raise UserError(NO_PHOTOS)
    for i, path in enumerate(paths, 1):
        check_upload_path(path, f"photo {i}")
    try:
        return service.identify_find(paths, k, shared_model())
    except (BadImage, FileNotFoundError) as err:
        raise UserError(str(err)) from err


def render_find(result: dict | None, photos: list | None = None) -> tuple:
    """The /identify_find JSON -> (label, combined card, per-photo table, gallery)."""
    if not result:
        return None, "", "", None
    label, card = render(result, "Most likely genera (all photos combined)")
    used = sum(result["used"])
    card += (f'<p class="find-count">Combined from {used} of {result["n_photos"]} '
             f'photo{"s" if result["n_photos"] != 1 else ""}.</p>')
    paths = file_paths(photos)
    names = [Path(p).name for p in paths] if len(paths) == result["n_photos"] else []
    card += find_crop_note([(names[i] if names else "", r.get("centre_share"))
                            for i, r in enumerate(result["photos"])])
    gallery = [(gallery_image(p), photo_caption(i, r)) for i, (p, r) in
               enumerate(zip(paths, result["photos"]), 1) if Path(p).is_file()]
    return label, card, photo_table(result), gallery or None


def answer_for_page(photos: list | None, k: float = 3) -> dict:
    """The find's answer for the page, (JSON, None) or (None, the card saying why there is
    none), stamped with the photos and k it answers (see :mod:`mushroom.ui.answers`).

    Drawn by :func:`show_answer`, not here: the gallery's thumbnails (decoded HEIC) would
    be kept in the session's state.
    """
    result, refusal = None, None
    try:
        result = identify_find(photos, k) if photos else None
    except gr.Error as err:  # in the verdict's place, where it stays (a toast fades)
        refusal = error_card(said(err), "these photos", live=False)
    return stamped((result, refusal), tuple(file_paths(photos)), k)


def show_answer(answer: dict | None, photos: list | None, k: float) -> tuple:
    """(JSON, label, card, table, gallery) of ``answer`` if it is for the photos and k
    shown; else nothing changes (see :mod:`mushroom.ui.answers`)."""
    if not is_for(answer, tuple(file_paths(photos)), k):
        return (gr.skip(),) * 5
    result, refusal = answer["outputs"]
    if refusal:
        return None, None, refusal, "", None
    return (result, *render_find(result, photos))


def pending(photos: list | None) -> tuple[None, None, str, str, None]:
    """Blank every output as photos come in; the card says they are being identified."""
    return None, None, pending_card("these photos") if file_paths(photos) else "", "", None


def asking(photos: list | None, k: float) -> tuple:
    """The button's first step: :func:`pending`, and the photos and k it asks for."""
    return *pending(photos), (tuple(file_paths(photos)), k)


def show_asked(result: dict | None, asked: tuple, answer: dict | None, photos: list | None,
               k: float) -> tuple:
    """The button's /identify_find JSON drawn, if the photos and k it asked for (``asked``)
    are still shown; else the page's answer for those, or the JSON blanked (the newer
    photos' answer is on its way, and their pending card stays)."""
    return asked_or_latest(lambda: render_find(result, photos), asked,
                           (tuple(file_paths(photos)), k), answer,
                           lambda: show_answer(answer, photos, k), 5)


def build_find_tab() -> None:
    """Lay out the find tab inside the current ``gr.Blocks`` and wire its events."""
    gr.Markdown(HELP)
    with gr.Row():
        with gr.Column(scale=1):
            photos = checked(gr.File(label=f"Photos of one find (1-{MAX_PHOTOS})",
                                     file_count="multiple", file_types=PHOTO_TYPES,
                                     type="filepath", elem_id="find-photos"), check_photos)
            k = gr.Slider(1, len(GENERA), value=3, step=1, precision=0,  # an integer in the API
                          label="Genera to list (k)", elem_id="find-k")
            go = gr.Button("Identify the find", variant="primary", elem_id="find-btn")
        with gr.Column(scale=1):
            card = gr.HTML(elem_id="find-verdict")
            label = gr.HTML(elem_id="find-topk")
            with gr.Accordion("Per-photo results", open=False, elem_id="find-per-photo"):
                table = gr.HTML(elem_id="find-table")
                gallery = gr.Gallery(label="Photos", columns=MAX_PHOTOS, height=200,
                                     interactive=False, buttons=IMAGE_BUTTONS,
                                     elem_id="find-gallery")
            with gr.Accordion("API response (JSON)", open=False):
                raw = gr.JSON(label="/identify_find")
    explain_panel(photos, raw)
    _wire(photos, k, go, raw, label, card, table, gallery)


def _wire(photos, k, go, raw, label, card, table, gallery) -> None:
    """Identify the find when its photos change, when k changes and on the button."""
    outputs = [raw, label, card, table, gallery]
    answer, asked = gr.State(), gr.State()  # the page's answer; what the button asked for
    private = {"api_visibility": "private"}
    model = {"concurrency_id": "model", **private}
    show = {"fn": show_answer, "inputs": [answer, photos, k], "outputs": outputs,
            "queue": False, "trigger_mode": "always_last", **private}
    # Photos changed (one removed) while the last list is still being identified: the new
    # list's call was dropped ("once") and the old list's answer stayed; now it follows, and
    # the old list's answer is not shown meanwhile (see mushroom.ui.answers).
    photos.change(pending, photos, outputs, api_name="find_clear_on_change", queue=False,
                  **private
                  ).then(answer_for_page, [photos, k], answer, api_name="find_on_change",
                         trigger_mode="always_last", **model
                  ).then(api_name="find_show_on_change", **show)
    photos.change(None, None, None, js=CLEAR_STALE_TOASTS, api_name="find_clear_toasts",
                  **private)
    # On change, not release, as on the Identify tab (arrow keys and Enter never release).
    k.change(answer_for_page, [photos, k], answer, api_name="find_relist",
             trigger_mode="always_last", **model  # no photos: blank
             ).then(api_name="find_show_relist", **show)
    identifying = go.click(asking, [photos, k], [*outputs, asked], api_name="find_clear",
                           queue=False, **private
                           ).then(identify_find, [photos, k], raw, api_name="identify_find",
                                  concurrency_id="model", concurrency_limit=4,
                                  preprocess=False)
    identifying.success(show_asked, [raw, asked, answer, photos, k], outputs,
                        api_name="find_render", queue=False, trigger_mode="always_last",
                        **private)
    # A refusal ("Photo 2 (notes.jpg): ...") got only the API's toast, which fades, and the
    # card that named the photo had been blanked: said in place again, as on upload.
    identifying.failure(answer_for_page, [photos, k], answer, api_name="find_refused",
                        **model).then(api_name="find_show_refused", **show)
