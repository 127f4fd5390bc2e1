"""Moving around the review queue: a session's trail of shown photos, and finding a photo.

Pure logic over image ids and the queue table; the Review tab's events that use it live in
:mod:`mushroom.ui.review_moves`.

The trail works like a browser's history: every photo put on screen is appended (dropping
whatever lay ahead when the expert had stepped back), *back* and *forward* move along it
without changing it, and it keeps only the latest :data:`HISTORY_LIMIT` photos.

A photo opened out of the queue's order (Reopen, Undo, Go to) is a *detour*: the trail also
remembers the photo that was on screen before the first such move, so that moving on
returns there instead of to wherever the detour photo happens to sit in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

HISTORY_LIMIT = 50
"""Photos a session remembers; older ones fall off (the state lives in the server's memory)."""


@dataclass(frozen=True)
class History:
    """The photos shown in one session, oldest first, and which of them is on screen.

    Frozen: every move returns a new value, so a session's state is never changed in place.
    """

    ids: tuple[str, ...] = ()
    pos: int = -1  # index of the photo on screen in ``ids``; -1 before the first one
    detour: bool = False  # the photo on screen was opened out of the queue's order
    resume: str | None = None  # on a detour: the photo on screen before it (None: none was)

    @property
    def current(self) -> str | None:
        """The image id on screen, or None before the first photo."""
        return self.ids[self.pos] if self.ids else None

    @property
    def behind(self) -> int:
        """How many photos lie ahead of the one on screen (0 at the end of the trail)."""
        return len(self.ids) - 1 - self.pos if self.ids else 0

    def visit(self, image_id: str | None, limit: int = HISTORY_LIMIT,
              detour: bool = False) -> History:
        """The trail after ``image_id`` is put on screen.

        The same photo again (a refresh, a note) changes nothing, and the next photo of the
        trail is a step forward, so moving on from a photo reached with *back* keeps the way
        back to where the expert was. Any other photo drops what lay ahead and is appended.
        Any move but a ``detour`` ends a detour; a detour's ``resume`` stays the photo on
        screen before the first of several detours in a row.
        """
        if image_id is None or image_id == self.current:
            moved = self
        elif self.behind and self.ids[self.pos + 1] == image_id:
            moved = History(self.ids, self.pos + 1)
        else:
            ids = (*self.ids[:self.pos + 1], image_id)[-limit:]
            moved = History(ids, len(ids) - 1)
        if not detour or image_id is None:
            return moved
        return replace(moved, detour=True, resume=self.resume if self.detour else self.current)

    def back(self) -> History | None:
        """One step back, or None at the oldest photo."""
        return History(self.ids, self.pos - 1) if self.pos > 0 else None

    def forward(self) -> History | None:
        """One step forward, or None at the end of the trail."""
        return History(self.ids, self.pos + 1) if self.behind else None

    def where(self) -> str:
        """Position on the trail in words, e.g. "3 of 7"."""
        return f"{self.pos + 1} of {len(self.ids)}"


def find_photos(queue: pd.DataFrame, query: str) -> pd.DataFrame:
    """Queue rows matching what an expert typed: an image id, a path or a file name.

    Case does not matter, and a name matches whole path parts from the end:
    ``abc.jpg`` and ``Amanita/abc.jpg`` both find ``Amanita/abc.jpg``, ``bc.jpg`` does not.
    When nothing matches so, the name without its extension does (``abc``,
    ``Amanita/abc``): the header's id and the photo's name look alike, and a name copied
    from a list or a note often comes without its ``.jpg``.

    Args:
        queue: from :func:`mushroom.review.load_queue` (``image_id`` and ``path`` columns).
        query: what was typed; backslashes count as slashes, outer slashes are ignored.

    Returns:
        The matching rows in queue order (empty when nothing or nothing usable was typed).
    """
    text = (query or "").strip().replace("\\", "/").strip("/").lower()
    if not text:
        return queue.iloc[:0]
    by_id = queue[queue["image_id"].str.lower() == text]
    if not by_id.empty:
        return by_id
    paths = queue["path"].str.lower()
    hits = queue[(paths == text) | paths.str.endswith("/" + text)]
    if not hits.empty:
        return hits
    stems = paths.str.replace(r"\.[^./]*$", "", regex=True)
    return queue[(stems == text) | stems.str.endswith("/" + text)]
