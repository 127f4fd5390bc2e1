"""The experts' consensus applied to a manifest, and the account of it in the cleaning report.

Every label in the store is accounted for: applied (a genus correction, an exclusion, a
species), applied despite disagreeing votes (the majority's), held out of training while the
votes tie, or ignored with its reason (the photo dropped by the cleaning, its file rewritten
since, or gone from the data). A label on an exact duplicate the cleaning dropped (the same
pixels in another file) goes to the copy it kept, unless that copy has votes of its own. A
relabel that leaves near-duplicates of its photo at another genus names them, since training
would then see the same mushroom under two genera. A photo flagged not_a_mushroom takes its
unreviewed near-duplicates out with it (a re-encoded copy of it is no mushroom either); those
of a photo flagged unusable stay, named for review (a sharper copy may be fine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import pandas as pd

from mushroom.consensus import Consensus, consensus
from mushroom.decision import Decision
from mushroom.labels import STORE_NAME, read_rows

DISPUTED = "disputed (votes disagree; the majority applies)"
TIED = "held out (tied votes)"
NEAR = "near-duplicates still labelled otherwise than their relabelled photo (review them)"
CLEANED = "ignored, photo dropped by the cleaning (corrupt, too small, duplicate)"
REWRITTEN = ("ignored, photo file rewritten since it was labelled (labels follow the file's "
             "content)")
GONE = "ignored, photo no longer in the data folder"
NOT_MUSHROOM = "near-duplicates of a photo flagged not_a_mushroom, dropped with it"
FLAGGED_NEAR = ("near-duplicates of a flagged photo still in training (review them; only "
                "not_a_mushroom drops its near-duplicates)")
SPECIES_TIED = "species left empty (the species votes tie; a further vote settles it)"
COPY = "on a dropped exact duplicate, applied to the copy kept (same pixels)"
COPY_ASIDE = ("on a dropped exact duplicate, set aside: the copy kept has a label of its own "
              "that differs, which applies")
LISTED = 5  # paths named in a report line; the manifest has them all


def apply(frame: pd.DataFrame, labels_dir: str | Path, dropped: Iterable[str] = (),
          duplicate_of: Mapping[str, str] | None = None
          ) -> tuple[pd.DataFrame, dict[str, object]]:
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
        duplicate_of: image id of each exact duplicate the cleaning dropped -> that of the
            copy it kept (the labels on the first go to the second).

    Returns:
        The new frame and the cleaning report's lines about labels (name -> count, or
        count and paths).
    """
    rows = read_rows(labels_dir)
    if not rows:  # a --labels one folder off (a download's wrapper) must not pass for no votes
        return frame, {"none": no_decision(Path(labels_dir))}
    rows, copies = onto_kept(rows, duplicate_of or {}, frame)
    agreed = consensus(rows)
    frame, marks = _relabelled(frame, frame["image_id"].map(agreed.get))
    marks["near_out"], marks["near_flagged"] = near_flagged(frame, marks)
    kept = frame[~(marks["excluded"] | marks["tied"] | marks["near_out"])]
    kept = kept.reset_index(drop=True)
    return kept, _report(marks, kept, frame, agreed, set(dropped), copies)


def no_decision(labels_dir: Path) -> str:
    """The report's line for a store with no decision, naming the store inside the folder
    a downloaded zip unzips into (``labels/`` within it), the likely one meant."""
    line = f"{labels_dir} holds no decision ({STORE_NAME} missing or empty)"
    inside = labels_dir / "labels"
    if (inside / STORE_NAME).is_file():
        line += f"; the store is its labels/ folder: give --labels {inside}"
    return line


def onto_kept(rows: list[Decision], duplicate_of: Mapping[str, str],
              frame: pd.DataFrame) -> tuple[list[Decision], dict[str, object]]:
    """Rows on an exact duplicate the cleaning dropped, moved onto the copy it kept (the
    same pixels: the same photo), unless that copy has votes of its own, which then decide.

    Returns:
        The rows, in file order, to take the consensus of; and the report's lines on the
        labels of dropped duplicates (``dropped path -> kept path``).
    """
    before = consensus(rows)
    path_of = dict(zip(frame["image_id"], frame["path"]))
    applied, aside = [], []
    for image_id, c in before.items():
        kept = duplicate_of.get(image_id)
        if kept is not None:
            own = before.get(kept)
            differs = own is not None and _outcome(own) != _outcome(c)
            (aside if differs else applied).append(f"{c.path} -> {path_of[kept]}")
    # a kept copy with votes of its own decides alone: its dropped twin's rows are set aside
    moved = [replace(r, image_id=duplicate_of[r.image_id]) if r.image_id in duplicate_of else r
             for r in rows if duplicate_of.get(r.image_id) not in before]
    return moved, {COPY: listing(sorted(applied)), COPY_ASIDE: listing(sorted(aside))}


def _outcome(c: Consensus) -> tuple[str, ...]:
    """What a consensus trains on: its flags, or its genus and species."""
    return ("flagged", *c.flags) if c.excluded else (c.genus, c.species)


def near_flagged(frame: pd.DataFrame, marks: dict) -> tuple[pd.Series, pd.Series]:
    """Unreviewed near-duplicates of flagged photos: of a photo flagged not_a_mushroom (a
    re-encoded copy of it is no mushroom either), to drop; of one flagged unusable (or by
    tied votes), to name for review, since a sharper copy may be fine."""
    hit, free = marks["hit"], ~marks["reviewed"]
    out = hit.map(lambda c: bool(c is not None and "not_a_mushroom" in c.flags and not c.tied))
    drop = free & frame["group"].isin(set(frame.loc[out, "group"]))
    named = free & frame["group"].isin(set(frame.loc[marks["excluded"], "group"])) & ~drop
    return drop, named


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
    species_tied = hit.map(lambda c: bool(c is not None and c.species_tied))
    species = hit.map(lambda c: c.species if c is not None and not c.species_tied else "")
    frame.loc[corrected, "species"] = ""  # a hint from the old genus no longer applies
    frame.loc[species_tied, "species"] = ""  # nor one the experts are split over
    frame.loc[reviewed, "genus"] = new_genus[reviewed]
    frame.loc[species != "", "species"] = species[species != ""]
    frame.loc[reviewed, "label_source"] = "expert"
    return frame, {"hit": hit, "reviewed": reviewed, "excluded": excluded, "tied": tied,
                   "corrected": corrected, "species": species, "species_tied": species_tied}


def _report(marks: dict, kept: pd.DataFrame, frame: pd.DataFrame,
            agreed: dict[str, Consensus], dropped: set[str],
            copies: dict[str, object]) -> dict[str, object]:
    """The cleaning report's lines about labels, from :func:`_relabelled`'s marks."""
    excluded, tied, species = marks["excluded"], marks["tied"], marks["species"]
    return {
        "reviewed photos": int(marks["reviewed"].sum()),
        "genus corrections": int(marks["corrected"].sum()),
        "excluded (flagged)": int(excluded.sum()),
        TIED: int(tied.sum()),
        "species labels": int(((species != "") & ~excluded & ~tied).sum()),
        SPECIES_TIED: listing(sorted(frame.loc[marks["species_tied"] & ~tied, "path"])),
        DISPUTED: sum(disputed(c) and not (c.tied or c.species_tied)  # no majority there
                      for c in marks["hit"][marks["reviewed"] & ~excluded]),
        NEAR: listing(left_behind(kept, set(frame.loc[marks["corrected"], "image_id"]))),
        NOT_MUSHROOM: listing(sorted(frame.loc[marks["near_out"], "path"])),
        FLAGGED_NEAR: listing(sorted(frame.loc[marks["near_flagged"], "path"])),
        **copies,
        **ignored(agreed, frame, dropped),
    }


def disputed(c: Consensus) -> bool:
    """Whether the photo's votes disagree, on the genus or on the species (its label is the
    majority's)."""
    return c.agreement < 1.0


def left_behind(frame: pd.DataFrame, corrected: set[str]) -> list[str]:
    """Paths of photos whose near-duplicate group holds a relabelled photo of another genus:
    those that kept their label, and relabelled ones whose copies the experts relabelled to
    different genera (Alice: this scene is a Boletus, Bob: its copy is an Amanita); either
    way training would see one mushroom under two genera."""
    moved = frame[frame["image_id"].isin(corrected)]
    if moved.empty:
        return []
    genera = moved.groupby("group")["genus"].agg(set)
    rest = frame[frame["group"].isin(genera.index) & ~frame["image_id"].isin(corrected)]
    other = [g not in genera[grp] for grp, g in zip(rest["group"], rest["genus"])]
    split = moved["group"].map(lambda grp: len(genera[grp]) > 1)
    return sorted([*rest.loc[other, "path"], *moved.loc[split, "path"]])


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
