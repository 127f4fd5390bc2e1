"""Scanning and cleaning photos into a manifest (grouping and splitting: :mod:`mushroom.split`;
reading, hashing and checking a manifest file: :mod:`mushroom.manifest`).

The input is the Kaggle layout ``DIR/<Genus>/*.jpg`` (``metadata.csv`` beside the genus
folders is optional). The output is a manifest DataFrame with one row per usable photo.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mushroom.config import DataConfig
from mushroom.layout import (
    GENUS_OF_FOLDER,
    folder_hint,
    genus_root_below,
    has_genus_folders,
    hidden,
    layout_hint,
    no_folder,
    read_metadata,
    under_hidden,
)
from mushroom.manifest import MANIFEST_COLUMNS, SPLITS, read_kept_split
from mushroom.split import (
    assign_splits,
    drop_exact_duplicates,
    near_duplicate_groups,
    perceptual_hash,
)
from mushroom.taxonomy import GENERA

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff",
                            ".avif", ".heic", ".heif"})
"""File name endings that folder scans (training, evaluation, review) treat as photos; HEIC
decodes through pillow-heif (see :mod:`mushroom.imageio`)."""


@dataclass
class CleaningReport:
    """What the cleaning step found; printed by the CLI and stored in run reports."""

    scanned: int = 0  # files seen under genus folders
    kept: int = 0  # rows in the manifest
    corrupt: list[str] = field(default_factory=list)  # unreadable or truncated files
    tiny: list[str] = field(default_factory=list)  # shorter side below DataConfig.min_side
    exact_duplicates: list[str] = field(default_factory=list)  # same decoded pixels as a kept photo
    duplicate_of: dict[str, str] = field(default_factory=dict)  # their image id -> the kept one's
    conflicting: list[str] = field(default_factory=list)  # same pixels filed under two genera
    near_duplicate_groups: int = 0  # groups with more than one photo
    ignored_dirs: list[str] = field(default_factory=list)  # folders that are not one of GENERA
    not_photos: list[str] = field(default_factory=list)  # other files and linked folders
    relabels: dict[str, object] = field(default_factory=dict)  # labels: applied, ignored
    kept_split: dict[str, object] = field(default_factory=dict)  # --keep-split: new, gone

    @property
    def dropped(self) -> list[str]:
        """Every photo cleaning left out of the manifest."""
        return self.corrupt + self.tiny + self.exact_duplicates + self.conflicting

    def summary(self) -> str:
        """Human-readable multi-line summary."""
        lines = [
            f"scanned {self.scanned} files, kept {self.kept}",
            f"  corrupt/unreadable: {named(self.corrupt)}",
            f"  too small:          {named(self.tiny)}",
            f"  exact duplicates:   {named(self.exact_duplicates)}",
            f"  conflicting labels: {named(self.conflicting)}",
            f"  near-duplicate groups (>1 photo): {self.near_duplicate_groups}",
        ]
        if self.not_photos:  # a .jfif download or a linked folder would vanish unsaid
            lines.append(f"  skipped, not photos: {named(self.not_photos)}")
        if self.ignored_dirs:
            lines.append(f"  ignored folders: {', '.join(map(folder_hint, self.ignored_dirs))}")
        for key, value in self.relabels.items():
            lines.append(f"  labels: {key}: {value}")
        if self.kept_split:  # a photo gone from test leaves the test set smaller: say where
            kept = self.kept_split
            lines.append(f"  splits kept from {kept['from']}; new photos: "
                         + ", ".join(f"{s} {n}" for s, n in kept["new"].items())
                         + "; gone since: " + ", ".join(f"{s} {named(p, 3)}"
                                                       for s, p in kept["gone"].items()))
            if kept["apart"]:
                lines.append(f"  warning: near-duplicates left in two splits ({kept['from']} "
                             "placed apart photos now grouped, by a new photo or metadata.csv):"
                             f" {named(kept['apart'], 3)}")
        return "\n".join(lines)


def named(paths: list[str], most: int = 5) -> str:
    """``3 (a.jpg, b.jpg, c.jpg)``: how many, and which, so that each can be found and fixed."""
    if not paths:
        return "0"
    more = f", +{len(paths) - most} more" if len(paths) > most else ""
    return f"{len(paths)} ({', '.join(paths[:most])}{more})"


def photo_root(data: str) -> str:
    """The folder holding the genus folders: ``data`` itself, or its only wrapper folder.

    Kaggle's download unpacks as ``archive/Mushrooms/<Genus>/``: ``--data archive`` then
    reads ``archive/Mushrooms`` and says so on stderr. A folder with genus folders of its
    own, with several wrappers, or missing, comes back unchanged (the scan then explains).
    Used as the ``type`` of every ``--data`` flag that names a photo root.
    """
    root = Path(data)
    if not root.is_dir() or has_genus_folders(root):
        return data
    inner = [d for d in sorted(root.iterdir())
             if d.is_dir() and not hidden(d) and has_genus_folders(d)]
    if len(inner) != 1:
        return data
    print(f"note: {data} has no genus folders; reading those inside {inner[0]}",
          file=sys.stderr)
    return str(inner[0])


def scan(data_dir: Path, report: CleaningReport) -> list[tuple[str, str]]:
    """List ``(relative_path, genus)`` for every image file under a genus folder.

    Hidden files and folders (see :func:`hidden`) are skipped, not counted. A link whose
    photo is gone goes to ``report.corrupt``; other files, and linked folders (not
    followed), to ``report.not_photos``.
    """
    found = []
    for sub in sorted(p for p in data_dir.iterdir() if p.is_dir() and not hidden(p)):
        genus = GENUS_OF_FOLDER.get(sub.name.lower())
        if genus is None:
            report.ignored_dirs.append(sub.name)
            continue
        for file in sorted(sub.rglob("*")):
            if under_hidden(file, sub) or (file.is_dir() and not file.is_symlink()):
                continue
            rel = file.relative_to(data_dir).as_posix()
            if file.is_dir() or file.suffix.lower() not in IMAGE_SUFFIXES:
                report.not_photos.append(rel + "/" * file.is_dir())
            elif not file.exists():  # a link to a photo since moved
                report.corrupt.append(rel)
            else:
                found.append((rel, genus))
    report.scanned = len(found) + len(report.corrupt)
    return found


def no_photos_message(data_dir: Path, report: CleaningReport) -> str:
    """Why a folder yielded no usable photo, naming the fix when there is an obvious one."""
    if report.scanned:
        return (f"none of the {report.scanned} photos under {data_dir} is usable "
                f"({len(report.corrupt)} unreadable, {len(report.tiny)} too small)")
    message = (f"no photos in genus folders under {data_dir}: expected "
               f"{data_dir}/<Genus>/*.jpg with <Genus> one of {', '.join(GENERA)}")
    inner = genus_root_below(data_dir, report.ignored_dirs)
    if inner:
        return (f"{message}; the genus folders are inside {inner.relative_to(data_dir).as_posix()}"
                f"/: use {inner}")
    if report.ignored_dirs:
        message += f" (found only {', '.join(map(folder_hint, report.ignored_dirs[:5]))})"
    return message + layout_hint(data_dir)


def file_id(path: Path) -> str:
    """Content hash used as the photo's stable id (first 16 hex digits of SHA-256)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def inspect(path: Path, cfg: DataConfig) -> dict | str:
    """Decode one photo; return its facts, or a reason string ("corrupt", "tiny")."""
    from mushroom.imageio import BadImage, open_image

    try:
        img = open_image(path, max_pixels=cfg.max_pixels, min_side=1)
    except BadImage:
        return "corrupt"
    if min(img.size) < cfg.min_side:
        return "tiny"
    return {
        "image_id": file_id(path),
        "pixel_sha": hashlib.sha256(img.tobytes()).hexdigest(),
        "phash": perceptual_hash(img),
        "width": img.size[0],
        "height": img.size[1],
    }


def load_metadata(data_dir: Path) -> pd.DataFrame | None:
    """Read the optional ``metadata.csv`` (file, genus, species_hint, near_duplicate_group...)."""
    path = data_dir / "metadata.csv"
    return read_metadata(path) if path.is_file() else None


def clean(data_dir: Path, cfg: DataConfig, report: CleaningReport) -> pd.DataFrame:
    """Scan and decode every photo; drop corrupt, tiny and exact-duplicate ones; group the rest."""
    from tqdm.auto import tqdm

    rows, found = [], scan(data_dir, report)
    # no bar for no photos: it would stand above the one-line refusal that follows
    for rel, genus in tqdm(found, desc="reading photos", unit="img", disable=not found):
        facts = inspect(data_dir / rel, cfg)
        if facts == "corrupt":
            report.corrupt.append(rel)
        elif facts == "tiny":
            report.tiny.append(rel)
        else:
            rows.append({"path": rel, "genus": genus, **facts})
    frame = pd.DataFrame(rows, columns=["path", "genus", "image_id", "pixel_sha", "phash",
                                        "width", "height"])
    frame, report.conflicting, report.exact_duplicates, report.duplicate_of = \
        drop_exact_duplicates(frame)
    meta = load_metadata(data_dir)
    known = species = None
    if meta is not None:
        known = [meta["near_duplicate_group"].get(p, "") if "near_duplicate_group" in meta
                 else "" for p in frame["path"]]
        species = [meta["species_hint"].get(p, "") if "species_hint" in meta else ""
                   for p in frame["path"]]
    roots = near_duplicate_groups(frame["phash"].to_numpy(np.uint64), cfg.phash_distance, known)
    frame["group"] = [f"g{frame['image_id'][r]}" for r in roots]
    report.near_duplicate_groups = int((frame["group"].value_counts() > 1).sum())
    frame["species"] = species if species is not None else ""
    frame["folder_genus"] = frame["genus"]
    frame["label_source"] = "folder"
    return frame


def _check_inputs(data_dir: Path, labels_dir: str | Path | None) -> None:
    """Refuse a missing photo folder, then a missing or hand-broken label store, before any
    photo is read."""
    from mushroom.labels import existing_store, read_rows

    if not data_dir.is_dir():
        raise no_folder(data_dir)
    if labels_dir is not None:
        read_rows(existing_store(labels_dir))


def _apply_labels(frame: pd.DataFrame, labels_dir: str | Path,
                  report: CleaningReport) -> pd.DataFrame:
    """The label store's consensus applied to ``frame``; its account goes in ``report``."""
    from mushroom.labels import apply_consensus

    frame, report.relabels = apply_consensus(frame, labels_dir, report.dropped,
                                             report.duplicate_of)
    return frame


def build_manifest(data_dir: str | Path, cfg: DataConfig | None = None,
                   labels_dir: str | Path | None = None,
                   split: bool = True) -> tuple[pd.DataFrame, CleaningReport]:
    """Clean, group and split a ``<Genus>/*.jpg`` folder, then apply the experts' labels
    (after the split: a relabel or a flag moves no other photo between the splits).

    Args:
        data_dir: the photo root.
        cfg: cleaning and split settings; with ``cfg.keep_split`` (an earlier manifest) its
            photos keep their split and fold, and the report says which of them are gone.
        labels_dir: expert label store (optional); its consensus corrects genera, excludes
            flagged photos, holds out photos whose votes tie and adds species (see
            :func:`mushroom.relabel.apply`).
        split: when False every row gets split "all" and fold -1 (evaluation of a folder).

    Returns:
        The manifest (columns :data:`MANIFEST_COLUMNS`) and the cleaning report.
    """
    cfg = cfg or DataConfig()
    data_dir = Path(data_dir)
    _check_inputs(data_dir, labels_dir)
    old = read_kept_split(cfg.keep_split, cfg.n_folds) if split and cfg.keep_split else None
    report = CleaningReport()
    frame = clean(data_dir, cfg, report)
    if frame.empty:
        raise ValueError(no_photos_message(data_dir, report))
    # split on the folder's labels: a relabel or a flag must not move any other photo (a test
    # photo moved to train taints test metrics)
    frame = assign_splits(frame, cfg, old) if split else frame.assign(split="all", fold=-1)
    if labels_dir is not None:
        frame = _apply_labels(frame, labels_dir, report)
    report.kept = len(frame)
    if old is not None:
        report.kept_split = kept_split_report(cfg.keep_split, old, frame)
    frame = frame[MANIFEST_COLUMNS].sort_values("path").reset_index(drop=True)
    return frame, report


def kept_split_report(name: str, old: pd.DataFrame, frame: pd.DataFrame) -> dict[str, object]:
    """The photos new since the kept manifest ``old`` (count per split), those of ``old`` no
    longer in ``frame`` (deleted, now unreadable or flagged; paths per split), and the first
    photo of each group in two splits (it kept photos ``old`` had placed apart)."""
    apart = frame.groupby("group")["split"].transform("nunique") > 1
    same = frame["path"].isin(old["path"]) | frame["image_id"].isin(old["image_id"])
    gone = old[~old["path"].isin(frame["path"]) & ~old["image_id"].isin(frame["image_id"])]
    return {"from": name, "new": {s: int((frame.loc[~same, "split"] == s).sum()) for s in SPLITS},
            "gone": {s: sorted(gone.loc[gone["split"] == s, "path"]) for s in SPLITS},
            "apart": sorted(frame[apart].sort_values("path").drop_duplicates("group")["path"])}
