"""Parse a file again only when it changed: stat keys, and an incremental reader for
append-only line files such as the label store; plus their crash-safe appender.

The Review tab reads the queue cache and the label store on every event. At the full data
set's scale (7,000 photos, tens of thousands of expert decisions) parsing and validating
them each time cost seconds per click; unchanged files now cost one ``stat``.

A change is seen by the next read whoever made it (this process or another one): appends
grow the file, so its size and mtime change. Only an in-place rewrite of the same size
within the same mtime tick could go unseen, and nothing rewrites these files.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
StatKey = tuple[int, int, int, int]
_VERSIONS = itertools.count(1)  # unique across files, so a version names one content


def stat_key(path: str | Path) -> StatKey | None:
    """(device, inode, size, mtime in ns) of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class _Parsed(Generic[T]):
    """What is known of one file: its complete lines up to ``len(prefix)``, parsed."""

    key: StatKey | None = None  # stat key when last read
    prefix: bytes = b""  # the bytes parsed so far: whole lines only
    lines: int = 0  # lines in ``prefix`` (blank ones included), for error line numbers
    items: list[T] = field(default_factory=list)
    version: int = 0  # a new number whenever ``items`` changes; 0 before the first read


class AppendOnlyLines(Generic[T]):
    """Parsed lines of append-only files, re-parsing only the bytes appended since the last
    read; an unterminated last line (a write in progress or torn) is left for later.

    When the parsed prefix no longer matches the file (replaced, truncated or edited), the
    whole file is parsed again. Safe to share between threads.
    """

    def __init__(self, parse: Callable[[bytes, str], T]):
        """Args:
            parse: turns one non-blank line (without its newline) and where it is
                (``"<path>:<line number>"``, for its message) into an item. It raises on a
                bad line; nothing is cached then, so every later read raises too.
        """
        self._parse = parse
        self._files: dict[Path, _Parsed[T]] = {}
        self._lock = threading.Lock()

    def read(self, path: str | Path) -> tuple[list[T], int]:
        """The items of every complete, non-blank line in file order (a shared list: do
        not modify it), and a token that changes whenever they do."""
        path = Path(path).absolute()
        with self._lock:
            state = self._files.get(path) or _Parsed()
            key = stat_key(path)
            if key != state.key:
                state = self._refresh(path, state, key)
                self._files[path] = state
            return state.items, state.version

    def _refresh(self, path: Path, state: _Parsed[T], key: StatKey | None) -> _Parsed[T]:
        """``state`` brought up to date with the file (a new state when it was rewritten)."""
        data = path.read_bytes() if key is not None else b""
        complete = complete_lines(data)
        if not complete.startswith(state.prefix):
            state = _Parsed()
        new = complete[len(state.prefix):]
        items, lines = list(state.items), state.lines
        for line in new.splitlines():
            lines += 1
            if line.strip():
                items.append(self._parse(line, f"{path}:{lines}"))
        changed = state.version == 0 or len(items) > len(state.items)
        return _Parsed(key, complete, lines, items,
                       next(_VERSIONS) if changed else state.version)


def append_line(path: str | Path, line: bytes, torn: str | Path,
                whole: Callable[[bytes], bool] | None = None) -> None:
    """Append one whole line durably, first cutting a torn last line left by a writer that
    died mid-row (moved to ``torn``, for forensics), so the new row never glues onto it.

    The caller holds the file's inter-process lock: two appenders must not repair at once.

    Args:
        path: the append-only file (created when missing).
        line: the bytes to append, ending with a newline.
        torn: where cut fragments are kept (appended to, one per line).
        whole: tells an unterminated last line that is a complete row (a hand edit saved
            without the final newline) from a torn one: it is ended with a newline and
            kept, not cut. None: every unterminated last line is torn.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _repair_tail(fd, Path(torn), whole or (lambda fragment: False))
        view = memoryview(line)
        while view:  # one row in one write, short writes resumed
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _repair_tail(fd: int, torn: Path, whole: Callable[[bytes], bool]) -> None:
    """Cut an unterminated last line (a writer died mid-write) and keep it aside; end one
    that ``whole`` accepts with its missing newline instead."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    start = size
    while start > 0 and os.pread(fd, 1, start - 1) != b"\n":
        start -= 1
    fragment = os.pread(fd, size - start, start)
    if whole(fragment):
        os.write(fd, b"\n")
        return
    with open(torn, "ab") as fh:
        fh.write(fragment + b"\n")
    os.ftruncate(fd, start)


def complete_lines(data: bytes) -> bytes:
    """``data`` up to its last newline: an unterminated last line (a write in progress or
    torn) is left out."""
    return data[: data.rfind(b"\n") + 1]
