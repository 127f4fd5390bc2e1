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
from mushroom.ui import (IMAGE_BUTTONS, UserError, close_error_toasts, drawn_as_the_model_sees_it,
                         said, whole_number)
from mushroom.ui.api_input import checked
from mushroom.ui.api_photos import check_photos
from mushroom.ui.answers import asked_or_latest, is_for, pending_card, stamped
from mushroom.ui.cards import error_card, find_crop_note, photo_caption, photo_table, render
from mushroom.ui.identify import (INVALID_TYPE, LEGEND, PREDICTED, explain, explain_in_place,
                                   shared_model)
from mushroom.ui.uploads import check_upload_path

PHOTO_TYPES = ["image", ".heic", ".heif", ".avif"]
"""What the file picker offers. Browsers that do not know HEIC (Chromium on Linux) give it
no image type, so the endings are listed too; the server decodes all of them."""

HELP = (f"Add 1 to {MAX_PHOTOS} photos of **the same mushroom**: cap from above, gills or "
        "pores underneath, the whole stem, and the base dug out of the soil (a volva or bulb "
        "there is a death-cap sign). One photo that looks poisonous is enough to warn.")


NO_PHOTOS = "Add one or more photos of the mushroom first."

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


def _file_path(item) -> str | None:
    """A path from whatever ``gr.File`` hands over: a str, an object with ``.name``, or
    (with ``preprocess=False``) the raw FileData dict."""
    if item is None:
        return None
    if isinstance(item, dict):
        return item.get("path")
    return str(getattr(item, "name", item))


def _paths(photos: list | None) -> list[str]:
    """The file paths of the photos ``gr.File`` hands over, in order, gaps left out."""
    return [p for p in map(_file_path, photos or []) if p]


def identify_find(photos: list | None, k: float = 3) -> dict:
    """The /identify_find endpoint: 1-5 photos of one find -> one combined answer as JSON,
    with each photo's own /identify answer in "photos"."""
    k = whole_number(k, "k (genera to list)", 1, len(GENERA))
    paths = _paths(photos)
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
    paths = _paths(photos)
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
    return stamped((result, refusal), tuple(_paths(photos)), k)


def show_answer(answer: dict | None, photos: list | None, k: float) -> tuple:
    """(JSON, label, card, table, gallery) of ``answer`` if it is for the photos and k
    shown; else nothing changes (see :mod:`mushroom.ui.answers`)."""
    if not is_for(answer, tuple(_paths(photos)), k):
        return (gr.skip(),) * 5
    result, refusal = answer["outputs"]
    if refusal:
        return None, None, refusal, "", None
    return (result, *render_find(result, photos))


def photo_number(which: str | None) -> int | None:
    """The photo number of a "Photo to explain" choice ("Photo 2 (gills.jpg): ..." -> 2)."""
    number = re.match(r"Photo (\d+)\b", which or "")
    return int(number.group(1)) if number else None


def photo_choices(photos: list | None, result: dict | None = None,
                  which: str | None = None) -> dict:
    """The "Photo to explain" dropdown: "Photo 2 (gills.jpg)", and once the find is
    identified (``result``, its /identify_find JSON) that photo's own answer after it:
    "Photo 2 (gills.jpg): Amanita 97%, do not eat". The photo chosen (``which``) stays
    chosen; a new list starts at Photo 1."""
    # Labels as values: with numbers, a new list's "Photo 1" kept the old file's name shown
    paths = _paths(photos)
    answers = (result or {}).get("photos") or []
    choices = [f"Photo {i} ({Path(p).name})" for i, p in enumerate(paths, 1)]
    if len(answers) == len(choices):
        choices = [f"{c}: {photo_caption(i, r).split(': ', 1)[1]}"
                   for i, (c, r) in enumerate(zip(choices, answers), 1)]
    i = photo_number(which) or 1
    i = i if i <= len(choices) else 1
    return gr.update(choices=choices, value=choices[i - 1] if choices else None)


def relabel(photos: list | None, result: dict | None, which: str | None):
    """:func:`photo_choices` with the find's new answer; nothing when the answer is cleared
    (new photos: the list's own reset to Photo 1 is under way)."""
    return gr.skip() if result is None else photo_choices(photos, result, which)


def explain_photo(photos: list | None, which: str | None, genus: str = PREDICTED,
                  quality: str = "fast", progress=gr.Progress()):
    """LIME heatmap of one photo of the find (``which``: "Photo 2 (...)"), as /explain."""
    paths = _paths(photos)
    if not paths:
        raise UserError(NO_PHOTOS)
    number = photo_number(which)
    if number is None:
        raise UserError("Choose the photo to explain.")
    i = whole_number(number, "photo to explain", 1, len(paths))
    try:
        return explain(paths[i - 1], genus, quality, 0, progress)
    except gr.Error as err:  # "No mushroom found in this photo": which one, of five?
        # Named as the find's own refusals are, so that removing the photo closes it too
        raise UserError(f"Photo {i} ({Path(paths[i - 1]).name}): {said(err)}") from err


def explain_photo_for_page(photos: list | None, which: str | None, genus: str = PREDICTED,
                           quality: str = "fast", progress=gr.Progress()) -> tuple:
    """The find's Explain button: :func:`explain_photo`'s (heatmap, "") or (None, why not)."""
    return explain_in_place(explain_photo, photos, which, genus, quality, progress,
                            subject="the chosen photo")


def pending(photos: list | None) -> tuple[None, None, str, str, None]:
    """Blank every output as photos come in; the card says they are being identified."""
    return None, None, pending_card("these photos") if _paths(photos) else "", "", None


def asking(photos: list | None, k: float) -> tuple:
    """The button's first step: :func:`pending`, and the photos and k it asks for."""
    return *pending(photos), (tuple(_paths(photos)), k)


def show_asked(result: dict | None, asked: tuple, answer: dict | None, photos: list | None,
               k: float) -> tuple:
    """The button's /identify_find JSON drawn, if the photos and k it asked for (``asked``)
    are still shown; else the page's answer for those, or the JSON blanked (the newer
    photos' answer is on its way, and their pending card stays)."""
    return asked_or_latest(lambda: render_find(result, photos), asked,
                           (tuple(_paths(photos)), k), answer,
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
    _explain_panel(photos, raw)
    _wire(photos, k, go, raw, label, card, table, gallery)


def _explain_panel(photos: gr.File, raw: gr.JSON) -> None:
    """One photo of the find through LIME; new photos cancel and blank it."""
    with gr.Accordion("Explain one photo: which parts of it drove the answer (LIME)",
                      open=True, elem_id="find-explain"):
        with gr.Row():
            which = gr.Dropdown([], label="Photo to explain", elem_id="find-which")
            genus = gr.Dropdown([PREDICTED, *GENERA], value=PREDICTED,
                                label="Genus to explain (the photo's own top genus, or any)")
            quality = gr.Radio(["fast", "reference"], value="fast", label="Quality",
                               info="fast: a few seconds; reference: the study's 1000 samples")
        why = gr.Button("Explain this photo", elem_id="find-explain-btn")
        refusal = gr.HTML(elem_id="find-explain-refusal", padding=False)
        heatmap = gr.Image(label="LIME heatmap", type="pil", format="png", interactive=False,
                           buttons=IMAGE_BUTTONS, elem_id="find-heatmap")
        gr.Markdown(LEGEND)
    private = {"api_visibility": "private"}
    explaining = why.click(lambda: "", None, refusal, api_name="find_explain_start",
                           queue=False, **private
                           ).then(explain_photo_for_page, [photos, which, genus, quality],
                                  [heatmap, refusal], api_name="find_explain",
                                  show_progress_on=heatmap, concurrency_id="lime",
                                  concurrency_limit=1, **private)
    # a heatmap (or refusal) still on its way is of a photo that may have left the list
    photos.change(lambda files: (photo_choices(files), None, ""), photos,
                  [which, heatmap, refusal],
                  api_name="find_explain_reset", queue=False, cancels=[explaining], **private)
    # Each photo's own answer beside its name, once the find is identified (and again
    # whenever the answer changes: new photos, another k)
    raw.change(relabel, [photos, raw, which], which, api_name="find_explain_relabel",
               queue=False, **private)
    # Another photo chosen: the heatmap shown (or on its way) is of the photo before, and two
    # caps of one find look alike. Input, not change: a new list sets the choice itself.
    which.input(lambda: (None, ""), None, [heatmap, refusal], api_name="find_explain_other",
                queue=False, cancels=[explaining], **private)


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
