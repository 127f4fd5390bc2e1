"""The label store as a zip (the Review tab's *Download label store (zip)*), and bringing
such a download into another store: ``python -m mushroom labels merge``.

A Space's store (``/data/labels`` with persistent storage) starts empty and grows apart
from the repository's ``labels/``, and every *Download label store (zip)* holds all of it
again. Copying a download over ``labels/`` would lose the repository's own rows (and any
curated species added in git since); appending it by hand would add the rows merged last
time a second time. A merge appends to the target, under its lock, only the decision rows
it lacks (by ``row_id``, kept with their time) and the species-list rows the experts wrote
(additions, retirements) that it lacks, so merging the same or a later download again adds
only what is new. The whole download is validated before anything is written.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

from mushroom.filecache import append_line
from mushroom.labels import (STORE_NAME, TORN_NAME, existing_store, read_rows, row_line,
                             store_lock, whole_row)
from mushroom.paths import DEFAULT_LABELS, space_storage
from mushroom.species import merge_species, own_rows

ZIP_FOLDER = "labels"  # the folder inside a downloaded zip (see snapshot)


def snapshot(labels_dir: str | Path, out: str | Path) -> int:
    """Zip the store as it stands: ``labels/decisions.jsonl`` and ``labels/taxonomy.csv``.

    Unzipped, the ``labels/`` folder is a store that ``train --labels`` and every
    ``labels`` command read: a backup, or a way to train elsewhere on a Space's decisions.
    Needs no lock: each file is cut after its last complete line, so a writer caught
    mid-append is left out, as readers leave it out. The decisions are read first: a
    writer adds a new species to the list before the decision naming it, so every species
    the zipped decisions name is on the zipped list.

    Returns:
        The number of decision rows in the zip.

    Raises:
        ValueError: if the store holds no decision yet (there is nothing to keep).
        FileNotFoundError: no such store folder.
    """
    import time

    from mushroom.filecache import complete_lines
    from mushroom.species import taxonomy_path

    path = existing_store(labels_dir) / STORE_NAME
    decisions = complete_lines(path.read_bytes()) if path.is_file() else b""
    rows = sum(1 for line in decisions.splitlines() if line.strip())
    if not rows:
        raise ValueError("The label store holds no decision yet: nothing to download.")
    # looked up only now: the first new species creates the store's own list
    listed = taxonomy_path(labels_dir)
    species = listed.read_bytes()
    if listed == Path(labels_dir) / "taxonomy.csv":  # appended to; the seed is read whole
        species = complete_lines(species)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in ((STORE_NAME, decisions), ("taxonomy.csv", species)):
            member = zipfile.ZipInfo(f"{ZIP_FOLDER}/{name}", time.gmtime()[:6])
            member.external_attr = 0o644 << 16  # else unzip makes them owner-only (0600)
            zf.writestr(member, data, zipfile.ZIP_DEFLATED)
    return rows


@contextmanager
def source_store(source: str | Path):
    """The store folder of ``source``: a store folder, or a downloaded zip unpacked into a
    temporary one (only its two known members: no other path of the zip is written)."""
    source = Path(source)
    if source.is_file() and not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a zip from Download label store (zip) nor a "
                         "store folder")
    if not source.is_file():
        yield existing_store(source)
        return
    with zipfile.ZipFile(source) as zf, tempfile.TemporaryDirectory() as tmp:
        names = set(zf.namelist())
        if f"{ZIP_FOLDER}/{STORE_NAME}" not in names:
            raise ValueError(f"{source} is not a label store download: it has no "
                             f"{ZIP_FOLDER}/{STORE_NAME}")
        for name in (STORE_NAME, "taxonomy.csv"):
            if f"{ZIP_FOLDER}/{name}" in names:
                (Path(tmp) / name).write_bytes(zf.read(f"{ZIP_FOLDER}/{name}"))
        yield Path(tmp)


def merge(target: str | Path, source: str | Path) -> tuple[int, int, int]:
    """Append to the store ``target`` what the store or download ``source`` has and it lacks.

    Args:
        target: the store folder to append to (``labels/``); it must exist.
        source: a store folder or a zip from *Download label store (zip)*.

    Returns:
        (decision rows appended, decision rows already there, species-list rows appended).

    Raises:
        ValueError: a row of ``source`` is invalid or has no ``row_id``, or the zip is not a
            store download; nothing is written then.
        FileNotFoundError: ``target`` or ``source`` does not exist.
    """
    target = existing_store(target)
    with source_store(source) as src:
        if src.resolve() == target.resolve():
            raise ValueError(f"{source} is the store {target} itself: nothing to merge")
        rows, species = read_rows(src), own_rows(src)  # both validated before any write
    unnamed = [i for i, r in enumerate(rows, 1) if not r.row_id]
    if unnamed:
        raise ValueError(f"{source}: decision {unnamed[0]} has no row_id, so a merge could "
                         "not tell whether the store already holds it; nothing merged")
    with store_lock(target):
        # species first: a reader must never see a decision before the species it names
        added = merge_species(target, species)
        seen = {r.row_id for r in read_rows(target)}
        new = []
        for r in rows:
            if r.row_id not in seen:
                seen.add(r.row_id)
                new.append(r)
        if new:  # one write: a crash leaves a torn tail that the next merge repairs
            append_line(target / STORE_NAME, b"".join(map(row_line, new)), target / TORN_NAME,
                        whole_row)
    return len(new), len(rows) - len(new), len(added)


def seed_space_store(env: dict[str, str] | None = None, storage: Path | None = None,
                     repo: Path = DEFAULT_LABELS) -> str:
    """On a Space whose Review tab keeps its store in persistent storage, take in the
    repository's own decisions (those committed after a merge, or added with the CLI).

    The Space's store then holds everything the repository does, so the experts there see
    those votes too, and every download is a superset of ``labels/``. Runs at each start:
    a merge adds only what is missing.

    Returns:
        A line for the log ("" when there is nothing to do). Never raises: a repository
        store that does not validate leaves the Space's store as it was, and says why.
    """
    env = os.environ if env is None else env
    storage = space_storage(env, storage)
    if storage is None or env.get("MUSHROOM_LABELS") or not (repo / STORE_NAME).is_file():
        return ""
    target = storage / "labels"
    target.mkdir(exist_ok=True)
    try:
        added, _, species = merge(target, repo)
    except (ValueError, OSError) as err:
        return f"labels: the repository's decisions were not copied to {target}: {err}"
    return f"labels: {added} decisions and {species} species rows of {repo} copied to {target}"
