"""Event handlers of the Review tab (layout and wiring live in :mod:`mushroom.ui.review`).

The identity lives in server-side session state (``gr.State``), set by a password check or
a Hugging Face allow-list (:mod:`mushroom.ui.review_signin`), and every handler re-checks it
with :func:`require` before touching the queue or the store, so API calls without a login
are refused exactly like clicks. Handlers are thin: the work is in :mod:`mushroom.review`,
:mod:`mushroom.labels` and :mod:`mushroom.consensus`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from mushroom.review_filters import check_mode
from mushroom.review_nav import History
from mushroom.taxonomy import GENERA, canonical_genus
from mushroom.ui import UserError, clip
from mushroom.ui.review_context import ReviewContext
from mushroom.ui.review_view import (SKIPPED_BACK, SKIPPED_BACK_DISPUTED, describe, empty_text,
                                      kept_text, md_text, progress_text, saved_text, top3,
                                      votes_table)

if TYPE_CHECKING:
    import pandas as pd

def require(user: str | None) -> str:
    """The logged-in expert, still configured; otherwise the request is refused."""
    from mushroom.auth import hf_allow_list, load_experts

    allowed = (user or "").startswith("hf:") and user[3:] in hf_allow_list()
    if not user or not (allowed or user in load_experts()[0]):
        raise UserError("Review actions need an expert login (Review tab). If the page says "
                       "you are signed in, the app has restarted since: log out and in again.",
                       title="Refused")
    return user


def mode_value(mode: str | None) -> str:
    """The "Show" filter of a request, or the refusal listing the valid modes (API clients
    can send any string; the page's radio only the listed ones)."""
    try:
        return check_mode(mode)
    except ValueError as err:
        raise UserError(str(err), title="Refused") from err


ITEM_OUTPUTS = ("current", "photo", "label", "top3", "votes", "genus", "species", "note",
                "progress", "status", "lime", "lime_note", "history", "seen")
"""The outputs of every item event, in :func:`render`'s order (the tab wires them by name)."""

VOTES = ("confirm", "save")
"""The decisions that refer to the label on screen (``seen``); notes and flags do not."""

def cleared() -> tuple:
    """Genus and species boxes with no photo on screen: the last photo's label must not linger
    as if it were still being edited.

    A new update each time: Gradio pops the value out of an update dict as it sends it, so
    one shared dict cleared the species box only the first time.
    """
    return None, gr.update(choices=[""], value="")

NO_PHOTO = "No photo is open: choose other filters, or press Open queue."
"""The refusal of a decision or LIME while no photo matches the filters (the page then
sends no image id)."""


KEPT_FOR_VOTE = " The genus and species you chose are still in their boxes, not saved yet."
"""What the status line adds after a note on a photo whose genus or species was changed."""

KEEPS = ("detour", "trail", "same")
"""Why :func:`render` keeps a photo on screen whatever the filters (its ``keep``)."""


def render(ctx: ReviewContext, user: str, image_id: str | None, genus: str, mode: str,
           status: str = "", history: History | None = None, keep: str | None = None,
           after: str | None = None) -> list:
    """All item outputs for ``image_id`` (or, when None, the next match of the filters
    after ``after``, the first when that is None too), including the session's trail with
    the photo shown appended (see :class:`History`). The photo shown becomes the expert's
    hold, and the queue skips photos that other experts hold while it can (see
    :mod:`mushroom.ui.review_holds`).

    Args:
        keep: why ``image_id`` stays on screen, while it is in the queue, even when it lies
            outside the filters, which the status line then says
            (:func:`~mushroom.ui.review_view.kept_text`); one of :data:`KEEPS`:
            ``"detour"``, asked for out of the queue's order (Reopen, Undo, Go to), which
            the trail remembers and the status line explains; ``"trail"``, reached along
            the trail or shown again after a refused vote; ``"same"``, already on screen (a
            note, a rebuilt queue). None: a photo outside the filters gives way to the
            next one that matches them. The progress line always follows the filters.
    """
    from mushroom.review import load_queue
    from mushroom.review_filters import select
    from mushroom.ui.review_holds import FALLBACK, pick

    if keep not in (None, *KEEPS):  # a mistyped reason would silently keep the photo
        raise ValueError(f"keep must be one of {KEEPS} or None, not {keep!r}")
    if ctx.data_dir is None or not ctx.cache.is_file():
        msg = "No queue yet: press **Build queue** or run `python -m mushroom review-queue`."
        return _no_photo(msg, "", status, history)
    queue = load_queue(ctx.cache, ctx.labels_dir, ctx.cfg)
    chosen = select(queue, genus, mode_value(mode), user)
    inside = image_id in set(chosen["image_id"])
    fixed = image_id if inside or (keep and image_id in set(queue["image_id"])) else None
    keep = keep if fixed else None
    picked = pick(ctx.labels_dir, user, queue, chosen, fixed, image_id or after, mode)
    status += kept_text(keep, inside, genus, mode) + (FALLBACK if picked.fallback else "")
    progress = progress_text(queue, genus, user, mode)
    if picked.image_id is None:
        return _no_photo(empty_text(mode, genus), progress, status, history)
    return _shown(ctx, queue, picked.image_id, progress, status,
                  (history or History()).visit(picked.image_id, detour=keep == "detour"),
                  picked.holders)


def _shown(ctx: ReviewContext, queue: pd.DataFrame, image_id: str, progress: str, status: str,
           history: History, holders: list[str]) -> list:
    """Item outputs with photo ``image_id`` of ``queue`` on screen (``holders``: the other
    experts who have it open)."""
    from mushroom.review_near import near_text

    row = queue[queue["image_id"] == image_id].iloc[0]
    try:
        shown = photo(ctx, row["path"])
        why = "This photo no longer decodes: flag it with **Unusable photo** or **Skip** it."
    except ValueError as err:  # a link out of the data folder: never opened, by design
        shown, why = None, f"{md_text(str(err))}: it is not shown; **Skip** it."
    if shown is None:  # changed on disk since the queue was built, or a link out
        status = (status + " " if status else "") + why
    header = describe(row, holders, near_text(queue, image_id, md_text))
    return item_outputs(
        current=image_id, photo=shown, label=header, top3=top3(row),
        votes=votes_table(ctx.labels_dir, image_id), genus=gr.update(value=row["genus"]),
        species=species_update(ctx, row["genus"], row["species"]), note="",
        progress=progress, status=status, lime=None, lime_note="", history=history,
        seen=(image_id, row["genus"]))  # the photo and label on screen (see act)


def item_outputs(**values) -> list:
    """The item outputs given by name, in :data:`ITEM_OUTPUTS` order (each one required),
    so that no handler depends on the order by hand."""
    if set(values) != set(ITEM_OUTPUTS):
        raise TypeError(f"item outputs differ from ITEM_OUTPUTS: {sorted(values)}")
    return [values[name] for name in ITEM_OUTPUTS]


def _no_photo(label: str, progress: str, status: str, history: History | None) -> list:
    """Item outputs with no photo on screen (no queue, or none left under the filters)."""
    genus, species = cleared()
    return item_outputs(current=None, photo=None, label=label, top3=None, votes=[],
                        genus=genus, species=species, note="", progress=progress,
                        status=status, lime=None, lime_note="", history=history, seen=None)


def photo(ctx: ReviewContext, rel: str):
    """The photo, shrunk for display; path checked against the data folder."""
    from mushroom.imageio import BadImage, open_image
    from mushroom.decision import resolve_image

    try:
        img = open_image(resolve_image(ctx.data_dir, rel))
    except BadImage:
        return None
    img.thumbnail((1024, 1024))
    return img


def species_update(ctx: ReviewContext, genus: str, value: str = ""):
    """Species choices of ``genus`` from the taxonomy (new binomials may be typed)."""
    from mushroom.species import species_choices

    genus = canonical_genus(genus)  # the genus box takes typed names, in any case
    choices = species_choices(ctx.labels_dir, genus) if genus in GENERA else []
    return gr.update(choices=[""] + choices, value=value or "")


def species_for(ctx: ReviewContext, user: str | None, genus: str):
    """The species experts may pick for the genus (sign-in required: the list holds
    experts' additions, which are not public)."""
    require(user)
    return species_update(ctx, genus)


def show(ctx: ReviewContext, user: str | None, image_id: str | None, filter_genus: str,
         mode: str, history: History | None = None):
    """Open the queue (or keep the current item) under the chosen filters."""
    return render(ctx, require(user), image_id or None, filter_genus, mode, history=history)


def queue_row(ctx: ReviewContext, image_id: str):
    """The cached queue row of a photo; unknown ids are refused (no free-form paths)."""
    from mushroom.review import load_queue

    if ctx.data_dir is None or not ctx.cache.is_file():
        raise UserError("There is no review queue yet.")
    if not image_id:  # the page sends None when no photo matches the filters
        raise UserError(NO_PHOTO, title="Not saved")
    queue = load_queue(ctx.cache, ctx.labels_dir, ctx.cfg)
    hit = queue[queue["image_id"] == image_id]
    if hit.empty:
        raise UserError(f"Photo {clip(image_id)!r} is not in the review queue.",
                        title="Not saved")
    return hit.iloc[0]


def act(ctx: ReviewContext, kind: str, user: str | None, image_id: str, genus: str,
        species: str, note: str, filter_genus: str, mode: str,
        seen: tuple[str, str] | None = None, history: History | None = None):
    """Record one decision, then move on (notes stay on the photo; see :func:`advance`).

    ``seen`` is the session's last shown (image id, label): a confirm or relabel of that
    photo is refused when another expert's vote changed its label meanwhile. A vote on
    any other photo (an API client names photos by id) has no shown label to check.
    """
    from mushroom.labels import record
    from mushroom.ui.review_refresh import voting
    from mushroom.ui.review_refused import check_choice, check_confirm, shown_label

    user = require(user)
    check_choice(kind, image_id, genus, species, note)
    row = queue_row(ctx, image_id)
    if kind == "confirm":  # never a vote for the label the boxes were changed from
        check_confirm(genus, species, *shown_label(ctx, image_id, seen))
    fields = {"confirm": {"genus": row["genus"]}, "save": {"genus": genus, "species": species},
              "not_a_mushroom": {"flags": ("not_a_mushroom",)},
              "unusable": {"flags": ("unusable",)}, "note": {}}[kind]
    shown = seen if kind in VOTES and seen and seen[0] == image_id else None
    try:
        with voting(shown):  # this page's ticks meanwhile must not report it as elsewhere's
            d = record(ctx.labels_dir, ctx.data_dir, row["path"], user, note=note or "",
                       model_version=row["model"], seen=shown[1] if shown else None, **fields)
    except ValueError as err:
        raise UserError(str(err), title="Not saved") from err
    status = saved_text(d, species if kind == "save" else "", before=row["species"])
    if kind == "note":  # stays on the photo, even one opened outside the filters
        from mushroom.ui.review_tools import keep_typed  # which imports this module

        out = render(ctx, user, image_id, filter_genus, mode, status, history, keep="same")
        # a genus and species typed for the vote the note explains wait for that vote
        return keep_typed(ctx, out, image_id, genus, species, "", seen, kept=KEPT_FOR_VOTE)
    return advance(ctx, user, image_id, filter_genus, mode, status, history)


def advance(ctx: ReviewContext, user: str, after: str, genus: str, mode: str, status: str,
            history: History | None = None):
    """Render the item after ``after``: in queue order under the filters; when the expert
    stepped back to ``after`` with *Previous*, the next photo of their trail; after a detour
    (Reopen, Undo, Go to), the photo they had open before it, so that moving on leads back
    to where they were."""
    from mushroom.review import load_queue
    from mushroom.review_filters import select

    here = history is not None and history.current == after
    ahead = history.forward() if here else None
    if ahead is not None:
        return render(ctx, user, ahead.current, genus, mode,
                      f"{status} Next photo of your history ({ahead.where()}).", ahead,
                      keep="trail")
    if here and history.detour:
        back = history.resume
        chosen = select(load_queue(ctx.cache, ctx.labels_dir, ctx.cfg), genus, mode, user)
        stay = back in set(chosen["image_id"]) and back != after
        return render(ctx, user, back if stay else None, genus, mode,
                      f"{status} Back to where you were in the queue.", history, after=back)
    return render(ctx, user, None, genus, mode, status, history, after=after)


def skip(ctx: ReviewContext, user: str | None, image_id: str, filter_genus: str, mode: str,
         history: History | None = None):
    """Leave the photo for later and show the next one."""
    out = advance(ctx, require(user), image_id, filter_genus, mode, "Skipped.", history)
    at = ITEM_OUTPUTS.index
    if image_id and out[at("current")] == image_id:  # a bare "Skipped." read as stuck
        back = SKIPPED_BACK
        if mode == "disputed" and _voted(ctx, user, image_id):
            back = SKIPPED_BACK_DISPUTED
        out[at("status")] = out[at("status")].replace("Skipped.", back, 1)
    return out


def _voted(ctx: ReviewContext, user: str, image_id: str) -> bool:
    """Whether ``user`` has a vote in force on ``image_id``."""
    from mushroom.consensus import current

    agreed = current(ctx.labels_dir).get(image_id)
    return agreed is not None and any(v.annotator == user for v in agreed.votes)
