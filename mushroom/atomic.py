"""Whole-or-nothing file writes: a temp file beside the target, fsynced, renamed over it.

A full disk or a kill mid-write must never leave a truncated file that reads as a smaller
valid one (a manifest ``train`` would learn from, a ``predictions.csv`` with rows missing):
the target is the whole new file or its earlier version, untouched. Import-light (no torch).
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
