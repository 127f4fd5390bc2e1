"""The Review tab's model and file work: LIME on demand, (re)building the queue, the
consensus export and the download of the store itself. Kept apart from
:mod:`mushroom.ui.review_handlers`, whose handlers only read and write decisions.
"""

from __future__ import annotations

import gradio as gr

from mushroom.review_nav import History
from mushroom.ui import UserError, said, scratch_file
from mushroom.ui.answers import if_current, stamped
from mushroom.ui.review_handlers import (ITEM_OUTPUTS, ReviewContext, photo, queue_row, render,
                                         require, species_update)


def explain(ctx: ReviewContext, user: str | None, image_id: str, progress=gr.Progress()):
    """LIME overlay of the current model's top genus, computed on demand (seconds on a CPU).

    Returns:
        (heatmap image, caption): the caption names the genus explained and where the
        top-3 beside it comes from (see :func:`mushroom.ui.review_view.lime_caption`).
    """
    from mushroom.explain import explain as lime
    from mushroom.review import model_key
    from mushroom.ui.cancel import watched
    from mushroom.ui.heatmap import overlay
    from mushroom.ui.review_view import lime_caption

    require(user)
    row = queue_row(ctx, image_id)
    progress(0, desc="loading the model")
    try:
        img = photo(ctx, row["path"])
    except ValueError as err:  # a link out of the data folder, never opened (review_handlers)
        raise UserError(str(err)) from err
    if img is None:
        raise UserError("This photo cannot be decoded.")
    model = predictor(ctx)
    exp = lime(model, img, progress=watched(lambda done, msg: progress(done, desc=msg)))
    # the queue names the model that scored the top-3 (see build_queue)
    same = row["source"] == "model" and row["model"] == model_key(ctx.model_path, model)
    return overlay(exp, image=img), lime_caption(row, exp.genus, exp.probability, same)


def explain_for_page(ctx: ReviewContext, user: str | None, image_id: str,
                     progress=gr.Progress()) -> tuple:
    """The LIME button: :func:`explain`'s (heatmap, caption), or (None, why not) in the
    caption's place (a toast faded and left a bare "Error" in the heatmap's box). The
    caption also holds, hidden, the heatmap's text alternative (its legend as a sentence)."""
    from mushroom.ui.cards import error_card
    from mushroom.ui.explaining import heatmap_alt

    try:
        image, caption = explain(ctx, user, image_id, progress)
    except gr.Error as err:
        return None, error_card(said(err), "this photo", "heatmap")
    return image, f"{caption}\n\n{heatmap_alt(image)}"


PLACE = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
"""Settings of the step that shows :func:`show_explained`'s heatmap: at once, with no
progress of its own (the LIME run's shows over the heatmap box)."""


def explain_stamped(ctx: ReviewContext, user: str | None, image_id: str,
                    progress=gr.Progress()) -> dict:
    """The LIME button's run: :func:`explain_for_page`'s (heatmap, caption), stamped with
    the photo explained, for :func:`show_explained`."""
    return stamped(explain_for_page(ctx, user, image_id, progress), image_id, None)


def show_explained(explained: dict | None, image_id: str | None) -> tuple:
    """(heatmap, caption) of ``explained`` if it is of the photo shown (``image_id``), else
    skips: a heatmap done before the cancel of it reached the server still comes back."""
    return if_current(explained, image_id, None, 2)


def predictor(ctx: ReviewContext):
    """The app's shared model when it is the same file, else one loaded for this tab."""
    from mushroom import service
    from mushroom.predict import load_model

    if not ctx.model_path.is_file():
        raise UserError(f"No model at {ctx.model_path}.")
    try:
        if ctx.model_path.resolve() == service.model_path().resolve():
            return service.get_predictor()
        if ctx.predictor is None:
            ctx.predictor = load_model(ctx.model_path)
    except (service.ModelUnavailable, ValueError) as err:  # not a checkpoint
        raise UserError(str(err)) from err
    return ctx.predictor


def build(ctx: ReviewContext, user: str | None, filter_genus: str, mode: str,
          history: History | None = None, image_id: str | None = None,
          genus: str | None = None, species: str | None = None, note: str | None = None,
          seen: tuple[str, str] | None = None, progress=gr.Progress()):
    """(Re)compute the queue cache with the current model, showing progress. The photo on
    screen (``image_id``) stays, with the genus, species and note typed on it, while it is
    in the queue; else the first photo that matches the filters."""
    from mushroom.review import DEFAULT_OOF, build_queue, shipped_oof_fits

    user = require(user)
    if ctx.data_dir is None or not ctx.data_dir.is_dir():
        raise UserError("No photo folder configured (MUSHROOM_REVIEW_DATA).")
    oof = DEFAULT_OOF if shipped_oof_fits(ctx.model_path) else None  # as review-queue rules
    try:
        counts = build_queue(ctx.data_dir, ctx.cache, ctx.model_path, oof, ctx.cfg,
                             progress=lambda it: progress.tqdm(it, desc="scoring photos"))
    except (OSError, ValueError) as err:  # OSError: e.g. a read-only store for queue.csv
        raise UserError(str(err)) from err
    status = built_text(counts)
    if oof is None and DEFAULT_OOF.is_file():
        status += (f" The shipped out-of-fold probabilities ({DEFAULT_OOF.name}) were not "
                   f"used: they are the shipped model's, and this tab scores with "
                   f"{ctx.model_path}.")
    out = render(ctx, user, image_id or None, filter_genus, mode, status, history,
                 keep="same")
    return keep_typed(ctx, out, image_id, genus, species, note, seen)


def built_text(counts: dict[str, int]) -> str:
    """The status line after a build, in words: the bare counts ("from_oof 1818, reused
    319") read as jargon to the experts who press the button."""
    return (f"Queue built: {counts['photos']} photos ({counts['from_oof']} scored out-of-fold, "
            f"{counts['reused']} by this model in an earlier build, {counts['predicted']} "
            f"newly by this model; {counts['unreadable']} unreadable, left out).")


def keep_typed(ctx: ReviewContext, out: list, image_id: str | None, genus: str | None,
               species: str | None, note: str | None, seen: tuple[str, str] | None,
               kept: str = " What you typed is still in its box, not saved.") -> list:
    """``out``, a render of the queue, with the genus, species and note typed on the photo
    ``image_id`` put back while that photo is still on screen; the status line says what
    became of them (``kept``, or discarded with the photo).

    A genus counts as typed when it is given and differs from the label the photo was shown
    with (``seen``), so an untouched or empty box takes the label as it stands now; a
    species when it differs from the photo's own (which the box shows untouched).
    """
    at = ITEM_OUTPUTS.index
    label = seen[1] if seen and seen[0] == image_id else (out[at("genus")] or {}).get("value")
    typed_genus = bool(genus) and genus != label  # an empty box (an API client's) chooses none
    shown = out[at("current")] == image_id
    own = ((out[at("species")] or {}).get("value") or "") if shown else ""
    typed_species = " ".join((species or "").split()) not in ("", own)
    if not image_id or not (typed_genus or typed_species or (note or "").strip()):
        return out
    if out[at("current")] != image_id:
        out[at("status")] += (" What you had typed on the photo you had open was discarded, "
                              "not saved: it no longer matches the queue or its filters.")
        return out
    box = genus if typed_genus else out[at("genus")]["value"]
    out[at("genus")] = gr.update(value=box)
    out[at("species")] = species_update(ctx, box, species or "")
    out[at("note")] = note or ""
    out[at("status")] += kept
    return out


def export(ctx: ReviewContext, user: str | None) -> str:
    """Write the consensus CSV for download."""
    from mushroom.consensus import export_csv

    require(user)
    out = scratch_file("labels", "consensus_labels.csv")
    export_csv(ctx.labels_dir, out)
    return str(out)


def download_store(ctx: ReviewContext, user: str | None) -> str:
    """Zip the label store (decisions and species list) for download: the way decisions
    made on a Space reach a training run, and a backup of a store on a disk that forgets."""
    from datetime import datetime, timezone

    from mushroom.store_merge import snapshot

    require(user)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = scratch_file("labels", f"mushroom-labels-{stamp}.zip")
    try:
        snapshot(ctx.labels_dir, out)
    except (ValueError, FileNotFoundError) as err:
        raise UserError(str(err) if isinstance(err, ValueError) else
                        "The label store holds no decision yet: nothing to download.",
                        title="Nothing to download") from err
    return str(out)
