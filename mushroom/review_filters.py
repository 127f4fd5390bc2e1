"""Which queue photos the Review tab's "Show" filter keeps: pure logic over the queue frame.

The modes answer what an expert team needs next: photos nobody has seen, photos this
expert has not seen, photos with a single vote from someone else (a second opinion), photos
whose votes disagree (a tie-break, see :mod:`mushroom.consensus`), or everything.
"""

from __future__ import annotations

import pandas as pd

MODES = ("unreviewed", "unreviewed by me", "needs a second opinion", "disputed", "all")
"""The review-state filters, in the order the Review tab offers them."""


def check_mode(mode: str) -> str:
    """``mode`` itself when it is one of :data:`MODES`.

    Raises:
        ValueError: another value; the message lists the valid ones.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown review filter {str(mode)[:60]!r}: choose one of "
                         + ", ".join(repr(m) for m in MODES) + ".")
    return mode


def in_mode(queue: pd.DataFrame, mode: str, user: str = "") -> pd.Series:
    """Which queue rows a review-state filter keeps (a boolean mask).

    Args:
        queue: from :func:`load_queue` (uses ``votes``, ``reviewers``, ``agreement``).
        mode: one of :data:`MODES`: "unreviewed" (no expert voted yet), "unreviewed by me",
            "needs a second opinion" (exactly one vote, not ``user``'s, so they can give
            the second), "disputed" (the votes disagree) or "all".
        user: the expert looking.

    Raises:
        ValueError: an unknown mode (see :func:`check_mode`).
    """
    mine = queue["reviewers"].str.split(";").map(lambda names: user in names).astype(bool)
    masks = {"unreviewed": lambda: queue["votes"] == 0,
             "unreviewed by me": lambda: ~mine,
             "needs a second opinion": lambda: (queue["votes"] == 1) & ~mine,
             "disputed": lambda: queue["agreement"] < 1.0,
             "all": lambda: pd.Series(True, index=queue.index)}
    return masks[check_mode(mode)]()


def select(queue: pd.DataFrame, genus: str = "All", mode: str = "all",
           user: str = "") -> pd.DataFrame:
    """Filter the queue: by effective genus ("All" keeps every genus) and by review state.

    Args:
        queue: from :func:`load_queue`.
        genus: a genus or "All".
        mode: one of :data:`MODES` (see :func:`in_mode`).
        user: the expert looking, for the modes that depend on who voted.

    Raises:
        ValueError: an unknown mode.
    """
    keep = in_mode(queue, mode, user)
    if genus not in ("", "All"):
        keep &= queue["genus"] == genus
    return queue[keep]
