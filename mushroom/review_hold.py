"""Soft reservations of review photos: who has which photo open, so that two experts working
at once are handed different photos. Pure logic: the time is always passed in.

Each expert holds at most one photo, the latest one shown to them, until :data:`HOLD_S`
seconds after it was shown or last refreshed (the Review tab refreshes it while the photo
stays on screen, moves it to the next photo they open, and drops it when no photo is left
or they sign out). A hold never blocks anything: the queue skips photos that other experts
hold in the modes where one expert's vote takes the photo out of the other's list
(:data:`SEEKING`), handing out a held photo only when no other one is left, and the item
header names who has the photo open. The table itself is kept by
:mod:`mushroom.review_hold_board`.
"""

from __future__ import annotations

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
    """One expert's reservation: the photo and when it lapses (seconds since the epoch)."""

    image_id: str
    until: float


@dataclass(frozen=True)
class Holds:
    """Every expert's hold, by expert name. Frozen: each change returns a new table (the
    dict inside is never changed in place)."""

    by_user: dict[str, Hold] = field(default_factory=dict)

    def live(self, now: float) -> Holds:
        """The table without the holds that lapsed by ``now``."""
        return Holds({u: h for u, h in self.by_user.items() if h.until > now})

    def hold(self, user: str, image_id: str | None, now: float, ttl: float = HOLD_S) -> Holds:
        """``user`` holds ``image_id`` (instead of any earlier photo) until ``now + ttl``;
        None releases their hold."""
        table = {u: h for u, h in self.by_user.items() if u != user}
        if image_id:
            table[user] = Hold(image_id, now + ttl)
        return Holds(table)

    def refresh(self, user: str, image_id: str, now: float, ttl: float = HOLD_S) -> Holds:
        """``user`` still has ``image_id`` on screen: extend their hold, or take it again
        when theirs lapsed. A hold they moved to another photo meanwhile stays there (a
        refresh computed for the photo they just left must not pull it back)."""
        mine = self.live(now).by_user.get(user)
        if mine is not None and mine.image_id != image_id:
            return self
        return self.hold(user, image_id, now, ttl)

    def holders(self, image_id: str, now: float, but: str = "") -> list[str]:
        """The experts other than ``but`` holding ``image_id`` at ``now``, sorted."""
        return sorted(u for u, h in self.live(now).by_user.items()
                      if h.image_id == image_id and u != but)

    def taken(self, now: float, but: str = "") -> set[str]:
        """The photos held at ``now`` by experts other than ``but``."""
        return {h.image_id for u, h in self.live(now).by_user.items() if u != but}

    def to_json(self) -> dict:
        """The table as JSON data: ``{user: [image_id, until]}``."""
        return {u: [h.image_id, h.until] for u, h in self.by_user.items()}

    @classmethod
    def from_json(cls, data: object) -> Holds:
        """The table from :meth:`to_json`'s data; malformed entries are dropped (a hold is
        only a courtesy: losing one costs a duplicate review, never a decision)."""
        table = {}
        for user, entry in (data.items() if isinstance(data, dict) else ()):
            if (isinstance(user, str) and isinstance(entry, list) and len(entry) == 2
                    and isinstance(entry[0], str)
                    and isinstance(entry[1], (int, float)) and not isinstance(entry[1], bool)):
                table[user] = Hold(entry[0], float(entry[1]))
        return cls(table)


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
