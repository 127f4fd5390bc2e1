"""The find tab's Explain panel: one photo of the find through LIME, as on the Identify tab.

The "Photo to explain" dropdown names each photo and, once the find is identified, that
photo's own answer ("Photo 2 (gills.jpg): Amanita 97%, do not eat"); new photos cancel and
blank a heatmap still on its way. API clients call ``/explain`` with the photo itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr

from mushroom.taxonomy import GENERA
from mushroom.ui import UserError, said, whole_number
from mushroom.ui.answers import if_current, stamped
from mushroom.ui.cards import photo_caption
from mushroom.ui.explaining import (PREDICTED, explain, explain_in_place, heatmap_panel,
                                    quality_radio)
from mushroom.ui.uploads import file_paths

NO_PHOTOS = "Add one or more photos of the mushroom first."


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
    paths = file_paths(photos)
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
    paths = file_paths(photos)
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
    """The find's Explain button: :func:`explain_photo`'s (heatmap, its hidden text
    alternative) or (None, why not): see :func:`~mushroom.ui.explaining.explain_in_place`."""
    return explain_in_place(explain_photo, photos, which, genus, quality, progress,
                            subject="the chosen photo")


def chosen_path(photos: list | None, which: str | None) -> str | None:
    """The file of the photo chosen to explain (``which``), or None when there is none."""
    paths, number = file_paths(photos), photo_number(which)
    return paths[number - 1] if number and number <= len(paths) else None


def explain_stamped(photos: list | None, which: str | None, genus: str = PREDICTED,
                    quality: str = "fast", progress=gr.Progress()) -> dict:
    """The page's LIME run: :func:`explain_photo_for_page`'s outputs, stamped with the
    file explained, for :func:`show_explained`."""
    return stamped(explain_photo_for_page(photos, which, genus, quality, progress),
                   chosen_path(photos, which), None)


def show_explained(explained: dict | None, photos: list | None, which: str | None) -> tuple:
    """(heatmap, alt or refusal) of ``explained`` if it is of the photo now chosen, else
    skips: by file, as a relabelled choice ("Photo 2 (...): Amanita 97%") is the same."""
    return if_current(explained, chosen_path(photos, which), None, 2)


def explain_panel(photos: gr.File, raw: gr.JSON) -> None:
    """One photo of the find through LIME; new photos cancel and blank it."""
    with gr.Accordion("Explain one photo: which parts of it drove the answer (LIME)",
                      open=True, elem_id="find-explain"):
        with gr.Row():
            which = gr.Dropdown([], label="Photo to explain", elem_id="find-which")
            genus = gr.Dropdown([PREDICTED, *GENERA], value=PREDICTED,
                                label="Genus to explain (the photo's own top genus, or any)")
            quality = quality_radio()
        why = gr.Button("Explain this photo", elem_id="find-explain-btn")
        refusal, heatmap = heatmap_panel("find-")
    private = {"api_visibility": "private"}
    explained = gr.State()  # the last heatmap, and the file it is of
    explaining = why.click(lambda: "", None, refusal, api_name="find_explain_start",
                           queue=False, **private
                           ).then(explain_stamped, [photos, which, genus, quality],
                                  explained, api_name="find_explain",
                                  show_progress_on=heatmap, concurrency_id="lime",
                                  concurrency_limit=1, trigger_mode="always_last",
                                  **private)  # a click while one runs: see identify.py
    # Drawn only while its photo is chosen: one done before the cancel below reached the
    # server still came back, and was drawn beside another photo (see identify.py)
    explaining.then(show_explained, [explained, photos, which], [heatmap, refusal],
                    queue=False, api_name="find_explain_show", show_progress="hidden",
                    **private)
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
