"""Review tab events that move between photos: back and forward along the session's trail,
"Go to" a photo by file name or image id, and "Reopen last" and "Undo", which show the photo
of the expert's latest decision again.

Each re-checks the login (:func:`~mushroom.ui.review_handlers.require`) and shows the photo
through :func:`~mushroom.ui.review_handlers.render`, which also hands the page the label
on screen: a vote cast on a photo reached this way is still refused when another expert
changed its label meanwhile. "Go to", "Reopen last" and "Undo" open a photo whatever the
queue filters, since the expert asked for that very photo, as a detour: moving on returns
to where they were (see :func:`~mushroom.ui.review_handlers.advance`).

The filters that Previous, Forward and Go to take last default to the page's own (All,
"unreviewed"), which API clients get too: gradio_client fills a missing input from its widget.
"""

from __future__ import annotations

import gradio as gr

from mushroom.review_filters import MODES
from mushroom.review_nav import History, find_photos
from mushroom.ui import clip
from mushroom.ui.review_handlers import ITEM_OUTPUTS, ReviewContext, render, require
from mushroom.ui.review_view import decision_words, md_text

MAX_LISTED = 5  # paths named when a "Go to" matches several photos


def unchanged(status: str, history: History | None) -> list:
    """Outputs that leave the photo on screen as it is (typed note and genus included) and
    only say ``status``."""
    kept = {"status": status, "history": history}
    return [kept.get(name, gr.skip()) for name in ITEM_OUTPUTS]


def previous(ctx: ReviewContext, user: str | None, history: History | None,
             filter_genus: str = "All", mode: str = MODES[0]):
    """Show the photo shown before this one in this session (skipped ones included),
    whatever the filters (the status line says when it lies outside them)."""
    user = require(user)
    moved = (history or History()).back()
    if moved is None:
        return unchanged("No earlier photo in this session.", history)
    return step(ctx, user, moved, "Back", filter_genus, mode)


def forward(ctx: ReviewContext, user: str | None, history: History | None,
            filter_genus: str = "All", mode: str = MODES[0]):
    """After *Previous*: the photo shown after this one, up to where the expert was."""
    user = require(user)
    moved = (history or History()).forward()
    if moved is None:
        return unchanged("This is the latest photo of this session: nothing ahead.", history)
    return step(ctx, user, moved, "Forward", filter_genus, mode)


def step(ctx: ReviewContext, user: str, moved: History, word: str, filter_genus: str,
         mode: str) -> list:
    """Render the photo ``moved`` points at, saying where on the trail it is; the progress
    line keeps following the filters on the page."""
    ahead = (" Moving on (a decision, Skip or Forward) leads back to where you were."
             if moved.behind else "")
    return render(ctx, user, moved.current, filter_genus, mode,
                  f"{word}: photo {moved.where()} of this session.{ahead}", moved, keep="trail")


def go_to(ctx: ReviewContext, user: str | None, query: str, history: History | None,
          filter_genus: str = "All", mode: str = MODES[0]):
    """Open the photo an expert names by file name (``abc.jpg``, ``Amanita/abc.jpg``, also
    without the extension) or image id, whatever the queue filters (the status line says
    when it lies outside them); none or several matches only say so."""
    from mushroom.review import load_queue

    user = require(user)
    if ctx.data_dir is None or not ctx.cache.is_file():
        return unchanged("There is no review queue yet: press **Build queue** first.", history)
    typed = clip((query or "").strip())  # an API client may send megabytes
    if not typed:
        return unchanged("Type a file name such as `Amanita/abc.jpg`, or an image id, in the "
                         "box first.", history)
    hits = find_photos(load_queue(ctx.cache, ctx.labels_dir, ctx.cfg), query)
    if hits.empty:
        return unchanged(f"No photo in the review queue matches “{md_text(typed)}”: "
                         "type a file name such as `Amanita/abc.jpg` or a 16-digit image id.",
                         history)
    if len(hits) > 1:
        listed = ", ".join(f"`{p}`" for p in hits["path"].iloc[:MAX_LISTED])
        more = f" and {len(hits) - MAX_LISTED} more" if len(hits) > MAX_LISTED else ""
        return unchanged(f"{len(hits)} photos match “{md_text(typed)}”: {listed}{more}. "
                         "Type more of the path, or the image id.", history)
    row = hits.iloc[0]
    return render(ctx, user, row["image_id"], filter_genus, mode, f"Opened `{row['path']}`.",
                  history, keep="detour")


def reopen(ctx: ReviewContext, user: str | None, filter_genus: str, mode: str,
           history: History | None = None):
    """Show the photo of this expert's latest decision again, vote kept (unlike undo)."""
    from mushroom.consensus import last_in_force

    user = require(user)
    last = last_in_force(ctx.labels_dir, user)
    if last is None:  # the photo on screen and what was typed on it stay
        return unchanged("You have no decision to reopen.", history)
    stands = ("your note stays; a vote adds to it" if last.action == "note" else
              "your vote stands; a new one replaces it")
    return render(ctx, user, last.image_id, filter_genus, mode,
                  f"Reopened `{last.path}`: {stands}.", history, keep="detour")


def undo(ctx: ReviewContext, user: str | None, filter_genus: str, mode: str,
         history: History | None = None):
    """Withdraw this expert's latest decision and show that photo again."""
    from mushroom.labels import read_rows, undo_last

    user = require(user)
    row = undo_last(ctx.labels_dir, user)
    if row is None:  # the photo on screen and what was typed on it stay
        return unchanged("Nothing to undo.", history)
    what = _undone_words(read_rows(ctx.labels_dir), row)
    return render(ctx, user, row.image_id, filter_genus, mode,
                  f"Undone: your latest decision{what} on `{row.path}` (shown again).", history,
                  keep="detour")


def _undone_words(rows: list, undo_row) -> str:
    """" (species changed: Russula emetica → Russula cyanoxantha)": the decision ``undo_row``
    withdrew, in :func:`~mushroom.ui.review_view.decision_words` as Save says it, or "".

    A decision row keeps the genus it replaced but not the species, so the species in force
    on the photo just before it is worked out from the rows written before it: without it
    the line said "relabelled Russula → Amanita" of a vote that had replaced a species.
    """
    from mushroom.consensus import active_rows, photo_consensus

    at = next((i for i, d in enumerate(rows) if d.row_id == undo_row.undoes
               and d.annotator == undo_row.annotator), None)
    if at is None:
        return ""
    undone = rows[at]
    earlier = [d for d in active_rows(rows[:at]) if d.image_id == undone.image_id]
    before = photo_consensus(undone.image_id, earlier)
    return f" ({decision_words(undone, before.species if before else '')})"
