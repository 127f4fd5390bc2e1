"""Where the Review tab keeps its soft reservations (:mod:`mushroom.review_hold`):
``holds.json`` in the label store's folder, so that every app process serving that store
(two replicas on one shared disk, a restarted app) sees the same holds.

The file is small (a photo and a time for each open review tab), pruned of lapsed holds at every
change, rewritten whole under its own lock (``holds.json.lock``, never the decisions' lock)
and replaced atomically, so a reader never sees half of it. It is no part of the label
store: the append-only ``decisions.jsonl`` never records a hold, the store download leaves
it out, and deleting it only forgets who has which photo open.

A folder the app cannot write (a read-only or full disk) or a lock that stays taken must
not stop the review: the board then keeps the holds in this process's memory and warns once.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mushroom.atomic import write_atomic
from mushroom.review_hold import HOLD_S, Holds

T = TypeVar("T")

HOLDS_NAME = "holds.json"
LOCK_S = 2.0
"""Seconds to wait for the holds' lock before using this process's own table instead."""


class HoldBoard:
    """The holds of one label store, shared through its folder."""

    def __init__(self, labels_dir: str | Path, clock: Callable[[], float] = time.time,
                 ttl: float = HOLD_S):
        """Args:
            labels_dir: the label store's folder (``MUSHROOM_LABELS``).
            clock: the time in seconds since the epoch (processes sharing the file compare
                times, so a wall clock, not a monotonic one); tests pass their own.
            ttl: seconds a hold lasts (:data:`~mushroom.review_hold.HOLD_S`).
        """
        self.path = Path(labels_dir) / HOLDS_NAME
        self.clock, self.ttl = clock, ttl
        self._memory = Holds()  # the last table seen; used alone when the file fails
        self._mutex = threading.Lock()  # the file lock is per process, not per thread
        self._warned = False

    def change(self, fn: Callable[[Holds, float], tuple[Holds, T]]) -> T:
        """Apply ``fn`` (live table, now) -> (new table, result) atomically and return its
        result: the read, the choice and the write happen under the lock, so two experts
        asking at once cannot both be handed the same free photo."""
        from filelock import FileLock

        with self._mutex:
            now = self.clock()
            try:
                with FileLock(str(self.path) + ".lock", timeout=LOCK_S):
                    stored = self._read()
                    new, out = fn(stored.live(now), now)
                    if new != stored:  # lapsed holds are pruned from the file here too
                        self._write(new)
            except OSError as err:  # filelock's Timeout is a TimeoutError, an OSError too
                self._warn(err)
                new, out = fn(self._memory.live(now), now)
            self._memory = new
            return out

    def read(self) -> Holds:
        """The live holds, without changing anything (no lock: the file is replaced whole)."""
        now = self.clock()
        try:
            return self._read().live(now)
        except OSError:
            return self._memory.live(now)

    def known_tab(self, tab: str) -> bool:
        """Whether the last table this process read or wrote holds a photo for ``tab``,
        without touching the file. Exact for a page session's own tab: only the process
        serving that page ever gives it a hold, and this process sees every change it makes
        (in the file, or in memory when the file fails)."""
        return any(t == tab for _, t in self._memory.by_tab)

    def _read(self) -> Holds:
        try:
            return Holds.from_json(json.loads(self.path.read_bytes()))
        except FileNotFoundError:
            return Holds()
        # a torn or hand-edited file ("[[[[..." raises RecursionError): holds are a courtesy
        except (ValueError, RecursionError):
            return Holds()

    def _write(self, holds: Holds) -> None:
        text = json.dumps(holds.to_json()).encode("utf-8")
        write_atomic(self.path, lambda f: f.write(text))

    def _warn(self, err: OSError) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(f"Review holds kept in this process only: cannot use {self.path} "
                          f"({err})", stacklevel=3)


_BOARDS: dict[Path, HoldBoard] = {}
_BOARDS_LOCK = threading.Lock()


def board_for(labels_dir: str | Path) -> HoldBoard:
    """The one board of a label store folder in this process (its memory fallback and its
    thread lock must be shared by every session)."""
    key = Path(labels_dir).absolute()
    with _BOARDS_LOCK:
        return _BOARDS.setdefault(key, HoldBoard(key))
