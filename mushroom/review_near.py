"""Near-duplicates in the review queue: which photos show the same scene, and which of them
the experts have labelled already.

Without this, the queue offered a re-encoded or cropped copy of a photo an expert had just
relabelled as an ordinary item, and a second expert labelled the same scene again, possibly
otherwise, without knowing. :func:`add_near_groups` groups the photos as the training
manifest does (:func:`mushroom.data.clean`: perceptual hashes within
:attr:`~mushroom.config.DataConfig.phash_distance`, joined with ``metadata.csv``'s
``near_duplicate_group``) when the queue is built, and keeps each photo's hash in the cache
so a rebuild hashes only new photos. :func:`near_text` is the item header's line naming the
labelled ones. Unlike the manifest, the queue keeps exact duplicates: they are
near-duplicates here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

NEAR_COLUMNS = ("phash", "near_group")
"""Cache columns: the photo's perceptual hash (16 hex digits, "" when it does not decode) and
its group (the image id of one photo of the group; its own id when it has no
near-duplicate). Caches written before them have neither: no photo then has a group."""

SHOWN = 3
"""Labelled near-duplicates the header names; it counts the rest."""

NEAR_HEAD = "**Near-duplicate of** "
"""How the header's line on labelled near-duplicates starts (so a refresh can find it)."""


def photo_hashes(data_dir: Path, photos: pd.DataFrame, known: dict[str, str],
                 progress: Callable[[Iterable], Iterable], batch: int = 16) -> list[str]:
    """Each photo's perceptual hash as 16 hex digits ("" when it does not decode).

    Args:
        data_dir: the photo root.
        photos: ``path`` and ``image_id`` of each photo.
        known: hashes already computed, by image id (a content hash: same id, same hash).
        progress: wraps the iteration over batches of photos to hash (the scoring's bar).
        batch: photos per step of ``progress``, as when the model scores them.
    """
    hashes = [known.get(i, "") for i in photos["image_id"]]
    todo = [k for k, h in enumerate(hashes) if not h]
    for start in progress(range(0, len(todo), batch)):
        for k in todo[start:start + batch]:
            hashes[k] = _hash(data_dir / photos["path"].iat[k])
    return hashes


def _hash(path: Path) -> str:
    """One photo's hash, decoded as the manifest decodes it (so training groups by the
    same hash); "" when it does not decode."""
    from mushroom.config import DataConfig
    from mushroom.split import perceptual_hash
    from mushroom.imageio import BadImage, open_image

    try:
        return f"{perceptual_hash(open_image(path, DataConfig.max_pixels, min_side=1)):016x}"
    except BadImage:
        return ""


def group_ids(image_ids: list[str], hashes: list[str], known: list[str] | None,
              max_distance: int) -> list[str]:
    """The group of each photo: the image id of the first photo of its group.

    Args:
        image_ids: one per photo.
        hashes: 16-hex-digit perceptual hashes; "" (no hash) joins no photo by its hash.
        known: metadata's group labels, one per photo ("" for none), or None.
        max_distance: largest Hamming distance still counted as a near-duplicate.
    """
    from mushroom.split import near_duplicate_groups

    hashed = [k for k, h in enumerate(hashes) if h]
    roots = list(range(len(image_ids)))
    if hashed:
        found = near_duplicate_groups(np.array([int(hashes[k], 16) for k in hashed],
                                               dtype=np.uint64), max_distance,
                                      [known[k] for k in hashed] if known else None)
        for k, root in zip(hashed, found):
            roots[k] = hashed[root]
    return [image_ids[r] for r in roots]


def add_near_groups(data_dir: Path, photos: pd.DataFrame, cache: Path,
                    progress: Callable[[Iterable], Iterable], batch: int = 16) -> None:
    """Set ``photos``' :data:`NEAR_COLUMNS`, hashing only photos ``cache`` has no hash for
    (``progress`` and ``batch``: see :func:`photo_hashes`)."""
    from mushroom.config import DataConfig
    from mushroom.data import load_metadata

    known = {}
    if cache.is_file():
        old = pd.read_csv(cache, dtype=str, keep_default_na=False)
        if "phash" in old.columns:
            known = dict(zip(old["image_id"], old["phash"]))
    photos["phash"] = photo_hashes(data_dir, photos, known, progress, batch)
    meta = load_metadata(data_dir)
    labels = None
    if meta is not None and "near_duplicate_group" in meta.columns:
        labels = [meta["near_duplicate_group"].get(p, "") for p in photos["path"]]
    photos["near_group"] = group_ids(list(photos["image_id"]), list(photos["phash"]), labels,
                                     DataConfig.phash_distance)


def labelled_near_duplicates(queue: pd.DataFrame, image_id: str) -> pd.DataFrame:
    """The other photos of ``image_id``'s near-duplicate group that have expert votes, in
    path order (none when the queue has no groups, as caches written before them)."""
    if "near_group" not in queue.columns:
        return queue.iloc[:0]
    group = queue.loc[queue["image_id"] == image_id, "near_group"]
    if group.empty:
        return queue.iloc[:0]
    same = queue[(queue["near_group"] == group.iat[0]) & (queue["image_id"] != image_id)
                 & (queue["votes"] > 0)]
    return same.sort_values("path")


def near_text(queue: pd.DataFrame, image_id: str,
              escape: Callable[[str], str] = lambda s: s) -> str:
    """The item header's line on labelled near-duplicates of ``image_id`` ("" when none),
    e.g. "**Near-duplicate of** Amanita/xyz.jpg, labelled Amanita muscaria by alice (1
    vote)"; ``escape`` quotes the names of files, species and experts for the page."""
    rows = labelled_near_duplicates(queue, image_id)
    if rows.empty:
        return ""
    parts = [_labelled(row, escape) for _, row in rows.head(SHOWN).iterrows()]
    more = f"; and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    return (f"{NEAR_HEAD}{'; '.join(parts)}{more}: the same scene may already be decided "
            "(*Go to* opens it).")


def _labelled(row: pd.Series, escape: Callable[[str], str]) -> str:
    """One labelled near-duplicate in words: its path, outcome, voters and vote count."""
    if row["flags"]:
        outcome = "flagged " + " and ".join(f.replace("_", " ") for f in row["flags"].split(";"))
    else:
        outcome = "labelled " + (row["species"] or row["genus"])
    names = [n for n in row["reviewers"].split(";") if n]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    votes = int(row["votes"])
    tail = ", disputed" if float(row["agreement"]) < 1.0 else ""
    return (f"{escape(row['path'])}, {escape(outcome)} by {escape(who)} "
            f"({votes} vote{'s' if votes != 1 else ''}{tail})")


def with_near_line(header: str, near: str, is_last: Callable[[str], bool]) -> str:
    """``header`` (an item header: a heading, then lines each ending in a Markdown line
    break) with its :func:`near_text` line set to ``near``: replaced, added or dropped, just
    before a last line that ``is_last`` picks (the line on who has the photo open), else at
    the end; the rest left as it was (the refresh tick updates this line on screen)."""
    heading, _, body = header.partition("\n")
    lines = [line.removesuffix("  ") for line in body.split("\n")]
    lines = [line for line in lines if not line.startswith(NEAR_HEAD)]
    at = len(lines) - 1 if lines and is_last(lines[-1]) else len(lines)
    lines[at:at] = [near] if near else []
    return heading + "\n" + "  \n".join(lines)
