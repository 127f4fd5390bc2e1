"""Uploads left behind by an earlier run are swept too, not only this process's own.

Gradio's ``delete_cache`` sweep (:func:`mushroom.ui.delete_cache`) deletes only the files
this process put in its cache, and it deletes them at shutdown only when the server closes
in time: a process stopped by SIGTERM (a container, systemd, a test) or one whose close
times out leaves every upload it held on disk, and the next run never learns of them. Here
the whole cache folder is swept by age, so those photos (EXIF GPS and all) go once they are
past the TTL as well. ``app.py`` gives the app a cache folder of its own
(``<tmp>/mushroom-gradio``) for that reason: the sweep must not age out the files of other
Gradio apps sharing ``<tmp>/gradio``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from mushroom.ui import SCRATCH_KINDS, delete_cache, prune_scratch


def sweep_stale_uploads(root: Path, max_age_s: float, keep: set[str] = frozenset(),
                        now: float | None = None) -> int:
    """Delete the files under ``root`` cached more than ``max_age_s`` ago; return how many.

    Ages by ``st_ctime``, as Gradio's own sweep does: a cached copy keeps its original's
    mtime, but its ctime is when it was cached. A folder emptied here is removed too.

    Args:
        root: Gradio's cache folder (``<root>/<hash>/<name>``).
        max_age_s: the upload TTL.
        keep: paths Gradio must keep (a component's default value); never deleted.
        now: the current time (default: ``time.time()``).
    """
    now = time.time() if now is None else now
    removed, emptied = 0, set()
    for path in root.rglob("*"):
        try:
            if path.is_file() and str(path) not in keep and \
                    now - path.lstat().st_ctime > max_age_s:
                path.unlink()
                removed += 1
                emptied.add(path.parent)
        except FileNotFoundError:  # Gradio's sweep, or another request, got there first
            continue
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        if folder != root:
            try:
                folder.rmdir()
            except OSError:  # not empty: a fresh file shares the folder
                pass
    return removed


def start_sweeper(blocks, env: dict | None = None) -> threading.Thread:
    """Sweep the cache folder, and the app's scratch folders (:func:`mushroom.ui.scratch_file`),
    now and then as often as Gradio's own sweep, in a daemon thread.

    Args:
        blocks: the app (its components' ``keep_in_cache`` files are spared).
        env: the environment (``GRADIO_TEMP_DIR``, ``MUSHROOM_UPLOAD_TTL_S``).
    """
    from gradio.utils import get_upload_folder

    every, ttl = delete_cache(env)
    root = Path((os.environ if env is None else env).get("GRADIO_TEMP_DIR")
                or get_upload_folder())
    keep = {str(f) for block in blocks.blocks.values()
            for f in getattr(block, "keep_in_cache", ())}

    def run() -> None:
        while True:
            try:
                if root.is_dir():
                    sweep_stale_uploads(root, ttl, keep)
                # the app's own copies (a HEIC preview) are otherwise pruned only when the
                # next one of their kind is made, which may be never
                for kind in SCRATCH_KINDS:
                    prune_scratch(kind, env)
            except OSError as err:  # a folder it may not read: say so, try again later
                print(f"upload sweep: {err}", flush=True)
            time.sleep(every)

    thread = threading.Thread(target=run, name="upload-sweep", daemon=True)
    thread.start()
    return thread
