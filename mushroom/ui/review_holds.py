"""The Review tab's side of soft reservations (:mod:`mushroom.review_hold`): which photo the
queue hands an expert, given what other experts have open, and keeping their own hold up
to date as they move, stay on a photo (the refresh tick), sign out or close the tab.

Holds are kept per tab (the page's Gradio session), so an expert with two tabs open holds
the photo each one shows, and a tab whose session ends (closed, reloaded, a Hugging Face
sign-out) frees its photo at once instead of after :data:`~mushroom.review_hold.HOLD_S`.

Every change goes through the store folder's :class:`~mushroom.review_hold_board.HoldBoard`,
so choosing a free photo and holding it is one step: two experts opening the queue at the
same moment are handed different photos.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import hashlib

import pandas as pd

from mushroom.review_hold import Holds, choose_next, seeks
from mushroom.review_hold_board import board_for

FALLBACK = (" No photo left under your filters is free: another expert has each one open, "
            "this one too (see its header).")
"""What the status line adds when the queue had only photos others hold left to hand out."""


@dataclass(frozen=True)
class Picked:
    """The photo handed to an expert, who else has it open, and whether the queue handed it
    out only because every photo left was held by others."""

    image_id: str | None
    holders: list[str] = field(default_factory=list)
    fallback: bool = False


def tab_key(session_hash: str | None) -> str:
    """The key a page session's holds are kept under: a digest of its Gradio session hash,
    never the hash itself (which would let anyone who reads ``holds.json`` act as that
    signed-in page); "" when there is none."""
    if not session_hash:
        return ""
    return hashlib.sha256(session_hash.encode()).hexdigest()[:16]


def this_tab() -> str:
    """The :func:`tab_key` of the page session whose event is running ("" outside one: a
    direct Python call)."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    return tab_key(getattr(request, "session_hash", None))


def pick(labels_dir: str | Path, user: str, queue: pd.DataFrame, chosen: pd.DataFrame,
         fixed: str | None, after: str | None, mode: str, tab: str | None = None) -> Picked:
    """Hold the photo shown to ``user`` next and say who else has it open.

    Args:
        labels_dir: the label store's folder, where the holds are kept.
        user: the expert.
        queue: the whole queue (for the order).
        chosen: the queue rows the filters keep.
        fixed: the photo to show whatever the holds (asked for, or kept on screen); None:
            the next of ``chosen`` after ``after`` in queue order, skipping the photos other
            experts hold when ``mode`` seeks work (:data:`~mushroom.review_hold.SEEKING`).
        after: where the queue order continues from when ``fixed`` is None.
        mode: the "Show" filter.
        tab: the page's :func:`tab_key`; None: :func:`this_tab`.
    """
    board = board_for(labels_dir)
    tab = this_tab() if tab is None else tab

    def choose(holds: Holds, now: float) -> tuple[Holds, Picked]:
        if fixed is not None:
            image_id, fallback = fixed, False
        else:
            taken: Collection[str] = holds.taken(now, user) if seeks(mode) else ()
            image_id, fallback = choose_next(queue, chosen, after, taken)
        holders = holds.holders(image_id, now, user) if image_id else []
        return (holds.hold(user, image_id, now, board.ttl, tab),
                Picked(image_id, holders, fallback))

    return board.change(choose)


def keep_open(labels_dir: str | Path, user: str, image_id: str,
              tab: str | None = None) -> list[str]:
    """``user``'s page (``tab``, None: :func:`this_tab`) still shows ``image_id`` (the refresh
    tick): keep it held, and return the other experts who have it open now (they may have
    come or gone since it was shown)."""
    board = board_for(labels_dir)
    tab = this_tab() if tab is None else tab
    return board.change(lambda holds, now: (holds.refresh(user, image_id, now, board.ttl, tab),
                                            holds.holders(image_id, now, user)))


def release(labels_dir: str | Path, user: str | None, tab: str | None = None) -> None:
    """``user`` signed out of the page ``tab`` (None: :func:`this_tab`): free the photo it
    held (their other tabs keep theirs)."""
    tab = this_tab() if tab is None else tab
    if user:
        board_for(labels_dir).change(lambda holds, now: (holds.hold(user, None, now, tab=tab),
                                                         None))


def close_tab(labels_dir: str | Path, tab: str) -> None:
    """The page session ``tab`` ended: free the photo it held, whoever was signed in.

    Every session ends so, foragers' too: one that holds nothing (the usual case) takes no
    lock and creates nothing in the label store's folder."""
    board = board_for(labels_dir)
    if tab and board.known_tab(tab):
        board.change(lambda holds, now: (holds.close(tab), None))
