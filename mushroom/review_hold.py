"""Soft reservations of review photos: who has which photo open, so that two experts working
at once are handed different photos. Pure logic: the time is always passed in.

Each tab an expert has open holds at most one photo, the latest one it showed, until
:data:`HOLD_S` seconds after it was shown or last refreshed (the Review tab refreshes it
while the photo stays on screen, moves it to the next photo the tab opens, and drops it
when no photo is left, the expert signs out or the tab's session ends). A hold never
blocks anything: the queue skips photos that other experts hold in the modes where one
expert's vote takes the photo out of the other's list (:data:`SEEKING`), handing out a
held photo only when no other one is left, and the item header names who has the photo
open. The table itself is kept by
:mod:`mushroom.review_hold_board`.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field

import pandas as pd

HOLD_S = 600.0
"""Seconds a photo stays held after it was shown or refreshed: far longer than the 15 s
refresh of a page that keeps it on screen (even a background tab's throttled one), and
short enough that a closed tab or a dropped session frees its photo within minutes."""

SEEKING = ("unreviewed", "needs a second opinion", "disputed")
"""The "Show" modes in which the queue skips photos other experts hold: in these, a vote
from either expert takes the photo out of the other's list, so both working on it is lost
work. ("unreviewed by me" wants every expert's vote, and "all" shows everything.)"""


@dataclass(frozen=True)
class Hold:
    """One reservation: the photo and when it lapses (seconds since the epoch)."""

    image_id: str
    until: float


Tab = tuple[str, str]
"""Who holds: ``(expert, tab)``, the tab an opaque key of the page's session ("" where none
is known: a direct Python call, or a hold read from an older ``holds.json``)."""


@dataclass(frozen=True)
class Holds:
    """Every open tab's hold, by ``(expert, tab)``: an expert with two tabs open holds the
    photo each one shows. Frozen: each change returns a new table (the dict inside is never
    changed in place)."""

    by_tab: dict[Tab, Hold] = field(default_factory=dict)

    def live(self, now: float) -> Holds:
        """The table without the holds that lapsed by ``now``."""
        return Holds({k: h for k, h in self.by_tab.items() if h.until > now})

    def hold(self, user: str, image_id: str | None, now: float, ttl: float = HOLD_S,
             tab: str = "") -> Holds:
        """``user``'s ``tab`` holds ``image_id`` (instead of any earlier photo) until
        ``now + ttl``; None releases that tab's hold. Their other tabs keep theirs."""
        table = {k: h for k, h in self.by_tab.items() if k != (user, tab)}
        if image_id:
            table[(user, tab)] = Hold(image_id, now + ttl)
        return Holds(table)

    def refresh(self, user: str, image_id: str, now: float, ttl: float = HOLD_S,
                tab: str = "") -> Holds:
        """``user``'s ``tab`` still has ``image_id`` on screen: extend its hold, or take it
        again when it lapsed. A hold the tab moved to another photo meanwhile stays there (a
        refresh computed for the photo it just left must not pull it back)."""
        mine = self.live(now).by_tab.get((user, tab))
        if mine is not None and mine.image_id != image_id:
            return self
        return self.hold(user, image_id, now, ttl, tab)

    def close(self, tab: str) -> Holds:
        """The page session ``tab`` ended (a closed or reloaded tab, a Hugging Face sign-out):
        drop its hold, whoever was signed in there."""
        return Holds({k: h for k, h in self.by_tab.items() if not tab or k[1] != tab})

    def holders(self, image_id: str, now: float, but: str = "") -> list[str]:
        """The experts other than ``but`` holding ``image_id`` at ``now``, sorted, each once."""
        return sorted({u for (u, _), h in self.live(now).by_tab.items()
                       if h.image_id == image_id and u != but})

    def taken(self, now: float, but: str = "") -> set[str]:
        """The photos held at ``now`` by experts other than ``but`` (in any of their tabs)."""
        return {h.image_id for (u, _), h in self.live(now).by_tab.items() if u != but}

    def to_json(self) -> dict:
        """The table as JSON data: ``{user: [[image_id, until, tab], ...]}``."""
        out: dict[str, list] = {}
        for (user, tab), h in self.by_tab.items():
            out.setdefault(user, []).append([h.image_id, h.until, tab])
        return out

    @classmethod
    def from_json(cls, data: object) -> Holds:
        """The table from :meth:`to_json`'s data, or from the older one-hold-per-expert
        ``{user: [image_id, until]}`` (read as tab ""); malformed entries are dropped (a
        hold is only a courtesy: losing one costs a duplicate review, never a decision)."""
        table = {}
        for user, entry in (data.items() if isinstance(data, dict) else ()):
            if not isinstance(user, str) or not isinstance(entry, list):
                continue
            for item in ([entry] if entry and isinstance(entry[0], str) else entry):
                parsed = _parse(item)
                if parsed is not None:
                    table[(user, parsed[0])] = parsed[1]
        return cls(table)


def _parse(item: object) -> tuple[str, Hold] | None:
    """``(tab, hold)`` from ``[image_id, until]`` or ``[image_id, until, tab]``; None when
    malformed."""
    if not isinstance(item, list) or len(item) not in (2, 3):
        return None
    image_id, until, tab = (*item, "")[:3]
    # an infinite time (JSON's Infinity, 1e999) would hold the photo for ever
    if (isinstance(image_id, str) and isinstance(until, (int, float))
            and not isinstance(until, bool) and math.isfinite(until) and isinstance(tab, str)):
        return tab, Hold(image_id, float(until))
    return None


def seeks(mode: str) -> bool:
    """Whether the "Show" mode ``mode`` skips photos other experts hold (:data:`SEEKING`)."""
    return mode in SEEKING


def choose_next(queue: pd.DataFrame, chosen: pd.DataFrame, after: str | None,
                taken: Collection[str]) -> tuple[str | None, bool]:
    """The photo to hand out after ``after``: the next in queue order among ``chosen`` that
    is not ``taken`` (wrapping round, as :func:`mushroom.review.next_item`), else, when
    every photo left is taken, the next taken one.

    Returns:
        ``(image_id or None when chosen is empty, whether it is a taken one)``.
    """
    from mushroom.review import next_item

    free = chosen[~chosen["image_id"].isin(set(taken))] if taken else chosen
    pick = next_item(queue, free, after)
    if pick is not None:
        return pick, False
    pick = next_item(queue, chosen, after)
    return pick, pick is not None


_OPEN_TAIL = " this photo open**: your vote still counts; *Skip* leaves it to them."


def open_text(holders: list[str]) -> str:
    """What the item header says about other experts who have the photo open ("" when
    none), e.g. "**alice has this photo open**: ..."."""
    if not holders:
        return ""
    names = (holders[0] if len(holders) == 1
             else ", ".join(holders[:-1]) + " and " + holders[-1])
    has = "has" if len(holders) == 1 else "have"
    return f"**{names} {has}{_OPEN_TAIL}"


def is_open_line(line: str) -> bool:
    """Whether a header line is an :func:`open_text` line."""
    return line.startswith("**") and line.removesuffix("  ").endswith(_OPEN_TAIL)


def with_open_line(header: str, holders: list[str]) -> str:
    """``header`` (an item header, whose last line may be an :func:`open_text` line) naming
    ``holders`` instead: the line replaced, added or dropped, the rest left as it was (the
    refresh tick updates this line of the header on screen)."""
    head, _, last = header.rpartition("\n")
    if head and is_open_line(last):
        header = head.removesuffix("  ")  # the line break the open line came after
    return header + (f"  \n{open_text(holders)}" if holders else "")
