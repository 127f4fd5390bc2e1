"""Perceptual hashes, exact duplicates, near-duplicate groups and the grouped, stratified,
seeded train/val/test split and folds.

Pure functions over images, arrays and DataFrames; :func:`mushroom.data.build_manifest` and
the review queue (:mod:`mushroom.review_near`) call them, so both group photos alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mushroom.config import DataConfig
from mushroom.layout import GENUS_OF_FOLDER
from mushroom.taxonomy import GENERA, POISONOUS

if TYPE_CHECKING:
    from PIL import Image


def perceptual_hash(img: Image.Image) -> int:
    """The photo's 64-bit perceptual hash (near-duplicates differ in a few bits)."""
    import imagehash

    return int(str(imagehash.phash(img)), 16)


def drop_exact_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str],
                                                        dict[str, str]]:
    """Drop photos with the same decoded pixels (``pixel_sha``) as another.

    Same pixels filed under two genera are all dropped (the folders disagree); otherwise the
    first copy in path order is kept.

    Returns:
        The frame left, the conflicting paths, the duplicate paths dropped, and the image id
        each dropped duplicate shares its pixels with -> the kept copy's (for its labels).
    """
    conflicted = frame.groupby("pixel_sha")["genus"].transform("nunique") > 1
    conflicting = sorted(frame.loc[conflicted, "path"])
    frame = frame[~conflicted]
    dup = frame.duplicated("pixel_sha", keep="first")
    kept = frame[~dup].set_index("pixel_sha")["image_id"]
    twins = frame[dup]  # two byte-identical files share the id: nothing to map
    duplicate_of = {i: kept[s] for i, s in zip(twins["image_id"], twins["pixel_sha"])
                    if i != kept[s]}
    return frame[~dup].reset_index(drop=True), conflicting, sorted(twins["path"]), duplicate_of


def near_duplicate_groups(hashes: np.ndarray, max_distance: int,
                          known: list[object] | None = None) -> np.ndarray:
    """Union-find over perceptual hashes (and optional known groups).

    Args:
        hashes: uint64 perceptual hashes, one per photo.
        max_distance: largest Hamming distance still counted as a near-duplicate.
        known: optional group labels (e.g. metadata's ``near_duplicate_group``); photos that
            share a non-null label are joined too.

    Returns:
        An int array: for each photo, the smallest index in its group.
    """
    n = len(hashes)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    bits = np.unpackbits(np.asarray(hashes, dtype=">u8").view(np.uint8).reshape(n, 8), axis=1)
    for i in range(n - 1):
        dist = np.count_nonzero(bits[i + 1:] != bits[i], axis=1)
        for j in np.nonzero(dist <= max_distance)[0]:
            union(i, int(j) + i + 1)
    first_of: dict[object, int] = {}
    for i, label in enumerate(known or []):
        if label is None or (isinstance(label, float) and np.isnan(label)) or label == "":
            continue
        union(first_of.setdefault(label, i), i)
    return np.array([find(i) for i in range(n)])


def _fill(groups: list, sizes: pd.Series, fractions: dict[str, float], total: int,
          filled: dict[str, int], bucket_of: dict) -> None:
    """Give each of ``groups``, in order, to the bucket furthest below its target count."""
    for grp in groups:
        deficit = {b: fractions[b] * total - filled[b] for b in fractions}
        best = max(fractions, key=lambda b: (deficit[b], fractions[b]))
        bucket_of[grp] = best
        filled[best] += sizes[grp]


def grouped_stratified_assign(genus: pd.Series, group: pd.Series, fractions: dict[str, float],
                              seed: int, fixed: pd.Series | None = None) -> pd.Series:
    """Assign whole groups to buckets so each genus is split close to ``fractions``.

    Groups are shuffled with ``seed`` and, genus by genus, the next group goes to the bucket
    furthest below its target count. A group's genus is its most common genus.

    Args:
        genus: genus of each photo.
        group: group id of each photo; a group never straddles two buckets (unless ``fixed``
            already placed its photos apart).
        fractions: bucket name -> share of photos.
        seed: random seed; the same inputs and seed give the same assignment.
        fixed: optional bucket of each photo already placed (NaN where not), aligned with
            ``genus``: these keep theirs, the rest of their group joins them (see
            :func:`_pinned`), and they count towards the targets, so that only groups with
            no placed photo are drawn, towards what the genus still lacks.

    Returns:
        Bucket name per photo, aligned with ``genus``.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"genus": genus.values, "group": group.values})
    sizes = frame.groupby("group").size()
    group_genus = frame.groupby("group")["genus"].agg(lambda g: g.value_counts().sort_index()
                                                      .idxmax())
    bucket_of = _pinned(frame["group"], fixed)
    placed = frame["group"].map(bucket_of) if fixed is None else \
        pd.Series(fixed.values).fillna(frame["group"].map(bucket_of))
    filled_of = placed.groupby(frame["group"].map(group_genus)).value_counts()
    for g in sorted(group_genus.unique()):
        groups = sorted(group_genus.index[group_genus == g], key=str)
        groups = [groups[k] for k in rng.permutation(len(groups))]
        total = sizes[groups].sum()
        filled = {b: int(filled_of.get((g, b), 0)) for b in fractions}
        _fill([grp for grp in groups if grp not in bucket_of], sizes, fractions, total, filled,
              bucket_of)
    return pd.Series([bucket_of[g] for g in group.values], index=genus.index).where(
        placed.isna().to_numpy(), placed.to_numpy())


def _pinned(group: pd.Series, fixed: pd.Series | None) -> dict[object, str]:
    """Group -> bucket of each group holding placed photos: where most of them are (a tie,
    possible only when new photos join groups placed apart: the first bucket by name)."""
    if fixed is None:
        return {}
    placed = pd.DataFrame({"group": group.values, "bucket": fixed.values}).dropna()
    counts = placed.value_counts().reset_index(name="n").sort_values(
        ["n", "bucket"], ascending=[False, True]).drop_duplicates("group")
    return dict(zip(counts["group"], counts["bucket"].astype(str)))


def kept_from(frame: pd.DataFrame, old: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each photo's split and fold in an earlier manifest ``old`` (``manifest --keep-split``).

    A photo is matched by its path under the photo root, else by its content (``image_id``:
    the same file renamed or moved).

    Returns:
        Split and fold (as text) per row of ``frame``; NaN for a photo ``old`` lacks.
    """
    columns = {}
    for column in ("split", "fold"):
        values = old[column].astype(str)
        by_id = pd.Series(values.to_numpy(), index=old["image_id"]).groupby(level=0).first()
        columns[column] = frame["path"].map(pd.Series(values.to_numpy(), index=old["path"])) \
            .fillna(frame["image_id"].map(by_id))
    return columns["split"], columns["fold"]


def assign_splits(frame: pd.DataFrame, cfg: DataConfig,
                  old: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add ``split`` (train/val/test) and ``fold`` (0..n_folds-1, -1 for test) columns.

    With ``old`` (an earlier manifest, ``cfg.keep_split``) every photo it placed keeps its
    split and fold, and only near-duplicate groups it has no photo of are drawn.

    Raises:
        ValueError: ``old`` shares no photo with ``frame`` (built from another photo folder).
    """
    frame = frame.copy()
    kept_split = kept_fold = None
    if old is not None:
        kept_split, kept_fold = kept_from(frame, old)
        if len(old) and kept_split.isna().all():
            raise ValueError(f"--keep-split {cfg.keep_split}: none of its {len(old)} photos is "
                             "in this photo folder (by path under it, or by content): was it "
                             "built from another --data?")
    train_frac = 1.0 - cfg.val_frac - cfg.test_frac
    frame["split"] = grouped_stratified_assign(
        frame["genus"], frame["group"],
        {"train": train_frac, "val": cfg.val_frac, "test": cfg.test_frac}, cfg.seed, kept_split)
    pool = frame["split"] != "test"
    folds = grouped_stratified_assign(
        frame.loc[pool, "genus"], frame.loc[pool, "group"],
        {str(k): 1.0 / cfg.n_folds for k in range(cfg.n_folds)}, cfg.seed + 1,
        None if kept_fold is None else kept_fold[pool])
    frame["fold"] = -1
    frame.loc[pool, "fold"] = folds.astype(int)
    return frame


def check_genera(frame: pd.DataFrame, dropped: Sequence[str] = ()) -> None:
    """Refuse data that cannot make a safe model of the nine genera.

    A genus without training photos would keep an untrained output, and tau is only checked
    on poisonous genera that have validation photos: a missing (empty, misnamed) genus
    folder would otherwise still yield a checkpoint, its tau fitted without that genus.

    Args:
        frame: the manifest.
        dropped: paths (``Genus/file``) of the photos cleaning dropped, so that a genus
            folder whose files are all unreadable is not called empty.

    Raises:
        ValueError: names the genera with no training or (poisonous) validation photos,
            and how many photos a genus that has some has (too few, or too alike, to split).
    """
    split = {s: set(frame.loc[frame["split"] == s, "genus"]) for s in ("train", "val")}
    no_train = [g for g in GENERA if g not in split["train"]]
    no_val = [g for g in GENERA if g in POISONOUS and g not in split["val"]]
    gaps = ([f"no training photos of {', '.join(no_train)}"] if no_train else []) + (
        [f"no validation photos of the poisonous {', '.join(no_val)}"] if no_val else [])
    if not gaps:
        return
    few = [_placed(frame, g) for g in GENERA if g in no_train + no_val
           and (frame["genus"] == g).any()]
    lost = Counter(GENUS_OF_FOLDER.get(p.split("/")[0].lower()) for p in dropped)
    empty = [g for g in no_train if not (frame["genus"] == g).any()]
    why = [f"{', '.join(few)}: the split keeps near-duplicates together, so each split needs "
           "photos of other specimens"] if few else []
    why += [f"{g}: its {lost[g]} " + ("photo was" if lost[g] == 1 else "photos were all")
            + " dropped, see the cleaning report" for g in empty if lost[g]]
    empty = [g for g in empty if not lost[g]]
    if empty:
        why.append(f"each of the nine genus folders, {', '.join(GENERA)}, needs photos")
    raise ValueError(f"cannot train: {'; '.join(gaps)} ({'; '.join(why)})")


def split_gaps(frame: pd.DataFrame) -> list[str]:
    """Warnings for genera with training photos but none in validation or test.

    Too few or too alike photos (one near-duplicate group) all land in train; the run then
    trains the genus but leaves it out of its validation or test metrics, and says nothing
    else about it. A poisonous genus missing from validation is refused by
    :func:`check_genera` instead.
    """
    warnings = []
    for genus in GENERA:
        splits = set(frame.loc[frame["genus"] == genus, "split"])
        missing = [s for s in ("val", "test") if s not in splits]
        if "train" in splits and missing and not (genus in POISONOUS and "val" in missing):
            names = " or ".join({"val": "validation", "test": "test"}[s] for s in missing)
            warnings.append(f"warning: {_placed(frame, genus)}: no {names} photos, so the "
                            "run's metrics leave it out (add photos of other specimens)")
    return warnings


def _placed(frame: pd.DataFrame, genus: str) -> str:
    """``Suillus has 2 photos in 2 near-duplicate groups, all in train``."""
    rows = frame[frame["genus"] == genus]
    n, groups = len(rows), rows["group"].nunique()
    where = sorted(set(rows["split"]))
    return (f"{genus} has {n} photo{'s' * (n != 1)} in {groups} near-duplicate "
            f"group{'s' * (groups != 1)}, {'all in ' if len(where) == 1 else 'in '}"
            f"{', '.join(where)}")
