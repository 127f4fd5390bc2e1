"""Whole-or-nothing file writes: a temp file beside the target, fsynced, renamed over it.

A full disk or a kill mid-write must never leave a truncated file that reads as a smaller
valid one (a manifest ``train`` would learn from, a ``predictions.csv`` with rows missing):
the target is the whole new file or its earlier version, untouched. :func:`staged_set`
does the same for a set of files that belong together. Import-light (no torch).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Let ``write`` fill a binary temp file beside ``path``, then rename it over ``path``.

    A temp file torn by a kill is simply overwritten next time.

    Args:
        path: the file to (re)place; its folder must exist.
        write: writes the whole content to the open binary file it is given.

    Returns:
        ``path``, as a ``Path``.

    Raises:
        OSError: the write failed; the one-line message says ``cannot write PATH: why``,
            ``errno`` is kept, the temp file is gone and ``path`` is as it was.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):  # "[Errno 28] No space left on device" names no file
            failure = OSError(f"cannot write {path}: {err.strerror or err}")
            failure.errno = err.errno
            raise failure from err
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut or VM restart (POSIX only)."""
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def staged_set(folder: str | Path, names: Sequence[str]) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``folder``; move the set in only if all went well.

    A failure (a full disk, Ctrl-C) while the block writes leaves ``folder``'s earlier set
    as it was, and a failed move puts it back, so ``folder`` never holds new files beside
    old ones of the same set. A name the block did not write is removed from ``folder``.

    Args:
        folder: where the set lives; made if missing.
        names: the file names that form the set.

    Raises:
        OSError: a write or move failed; the one-line message names the file in ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))  # same filesystem
    try:
        try:
            yield stage
        except OSError as err:  # name the file the user asked for, not the staging copy
            failure = OSError(str(err).replace(str(stage), str(folder)))
            failure.errno = err.errno
            raise failure from err
        _swap_in(stage, folder, names)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap_in(stage: Path, folder: Path, names: Sequence[str]) -> None:
    """Move the old set aside into ``stage/old``, the new one in; undo all on failure."""
    for name in names:  # a folder in a file's place would be moved aside and lost
        if (folder / name).is_dir():
            raise IsADirectoryError(f"cannot write {folder / name}: Is a directory")
    aside = stage / "old"
    aside.mkdir()
    moved: list[str] = []
    try:
        for name in names:
            if (folder / name).exists():
                os.replace(folder / name, aside / name)
            moved.append(name)
        for name in names:
            if (stage / name).exists():
                os.replace(stage / name, folder / name)
    except BaseException:
        for name in moved:
            (folder / name).unlink(missing_ok=True)
            if (aside / name).exists():
                os.replace(aside / name, folder / name)
        raise
    _fsync_folder(folder)
