"""The experts' consensus applied to a manifest, and the account of it in the cleaning report.

Every label in the store is accounted for: applied (a genus correction, an exclusion, a
species), applied despite disagreeing votes (the majority's), held out of training while the
votes tie, or ignored with its reason (the photo dropped by the cleaning, its file rewritten
since, or gone from the data). A relabel that
leaves near-duplicates of its photo at another genus names them, since training would then
see the same mushroom under two genera.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mushroom.consensus import Consensus, consensus
from mushroom.labels import STORE_NAME, read_rows

DISPUTED = "disputed (votes disagree; the majority applies)"
TIED = "held out (tied votes)"
NEAR = "near-duplicates still labelled otherwise than their relabelled photo (review them)"
CLEANED = "ignored, photo dropped by the cleaning (corrupt, too small, duplicate)"
REWRITTEN = ("ignored, photo file rewritten since it was labelled (labels follow the file's "
             "content)")
GONE = "ignored, photo no longer in the data folder"
LISTED = 5  # paths named in a report line; the manifest has them all


def apply(frame: pd.DataFrame, labels_dir: str | Path,
          dropped: Iterable[str] = ()) -> tuple[pd.DataFrame, dict[str, object]]:
    """Apply the consensus to a manifest frame (after its split is assigned: a relabelled
    photo keeps its split, and no other photo moves).

    Genus corrections replace the folder label, flagged photos are dropped and expert
    species replace the metadata hints. Photos whose votes tie are dropped too, until a
    further vote breaks the tie: the tie rule (latest vote wins) would otherwise train on
    whichever expert clicked last, e.g. a photo one expert calls Amanita as a Russula.
    Photos are matched by content hash, so renamed or moved files keep their labels.

    Args:
        frame: the manifest so far (image_id, path, genus, species, group, label_source).
        labels_dir: the store folder.
        dropped: paths the cleaning dropped (corrupt, too small, duplicated), so that
            labels on them are told apart from labels on photos no longer there.

    Returns:
        The new frame and the cleaning report's lines about labels (name -> count, or
        count and paths).
    """
    rows = read_rows(labels_dir)
    if not rows:  # a --labels one folder off (a download's wrapper) must not pass for no votes
        return frame, {"none": f"{labels_dir} holds no decision ({STORE_NAME} missing or empty)"}
    agreed = consensus(rows)
    frame, marks = _relabelled(frame, frame["image_id"].map(agreed.get))
    kept = frame[~(marks["excluded"] | marks["tied"])].reset_index(drop=True)
    return kept, _report(marks, kept, frame, agreed, set(dropped))


def _relabelled(frame: pd.DataFrame, hit: pd.Series) -> tuple[pd.DataFrame, dict]:
    """A copy of ``frame`` with each photo's consensus (``hit``, None where unreviewed)
    applied, and the photos it marks: reviewed, excluded, tied, corrected; plus the
    consensus species per photo."""
    frame = frame.copy()
    reviewed = hit.notna()
    excluded = hit.map(lambda c: bool(c is not None and c.excluded))
    tied = hit.map(lambda c: bool(c is not None and c.tied)) & ~excluded
    new_genus = hit.map(lambda c: c.genus if c is not None else None)
    corrected = reviewed & ~excluded & ~tied & (new_genus != frame["genus"])
    species = hit.map(lambda c: c.species if c is not None else "")
    frame.loc[corrected, "species"] = ""  # a hint from the old genus no longer applies
    frame.loc[reviewed, "genus"] = new_genus[reviewed]
    frame.loc[species != "", "species"] = species[species != ""]
    frame.loc[reviewed, "label_source"] = "expert"
    return frame, {"hit": hit, "reviewed": reviewed, "excluded": excluded, "tied": tied,
                   "corrected": corrected, "species": species}


def _report(marks: dict, kept: pd.DataFrame, frame: pd.DataFrame,
            agreed: dict[str, Consensus], dropped: set[str]) -> dict[str, object]:
    """The cleaning report's lines about labels, from :func:`_relabelled`'s marks."""
    excluded, tied, species = marks["excluded"], marks["tied"], marks["species"]
    return {
        "reviewed photos": int(marks["reviewed"].sum()),
        "genus corrections": int(marks["corrected"].sum()),
        "excluded (flagged)": int(excluded.sum()),
        TIED: int(tied.sum()),
        "species labels": int(((species != "") & ~excluded & ~tied).sum()),
        DISPUTED: sum(disputed(c) and not c.tied
                      for c in marks["hit"][marks["reviewed"] & ~excluded]),
        NEAR: listing(left_behind(kept, set(frame.loc[marks["corrected"], "image_id"]))),
        **ignored(agreed, frame, dropped),
    }


def disputed(c: Consensus) -> bool:
    """Whether the photo's votes disagree (its label is the majority's)."""
    return c.agreement < 1.0


def left_behind(frame: pd.DataFrame, corrected: set[str]) -> list[str]:
    """Paths of photos whose near-duplicate group holds a relabelled photo of another genus,
    while they themselves kept their label."""
    moved = frame[frame["image_id"].isin(corrected)]
    if moved.empty:
        return []
    genera = moved.groupby("group")["genus"].agg(set)
    rest = frame[frame["group"].isin(genera.index) & ~frame["image_id"].isin(corrected)]
    other = [g not in genera[grp] for grp, g in zip(rest["group"], rest["genus"])]
    return sorted(rest.loc[other, "path"])


def ignored(agreed: dict[str, Consensus], frame: pd.DataFrame,
            dropped: set[str]) -> dict[str, object]:
    """Labelled photos missing from the manifest, by reason (matched by their latest path:
    the cleaning drops files it may not even have hashed)."""
    present = set(frame["image_id"])
    missing = [c for i, c in agreed.items() if i not in present]
    cleaned = sum(c.path in dropped for c in missing)
    paths = set(frame["path"])
    rewritten = sorted(c.path for c in missing if c.path in paths)
    return {CLEANED: cleaned, REWRITTEN: listing(rewritten),
            GONE: len(missing) - cleaned - len(rewritten)}


def listing(paths: list[str]) -> int | str:
    """A count, followed by the first paths when there are any."""
    if not paths:
        return 0
    more = " ..." if len(paths) > LISTED else ""
    return f"{len(paths)}: {', '.join(paths[:LISTED])}{more}"
