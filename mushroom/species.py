"""The species list experts choose from: the repository's seed taxonomy plus the store's additions.

A store starts from ``labels/taxonomy.csv`` in the repository; the first new binomial an
expert enters copies that seed into the store's own ``taxonomy.csv`` and appends to it. When
the store is the repository's own ``labels/`` (the default), that file *is* the seed, so
additions land in the tracked file, appended like any store's. Appends go through the
decision store's lock and torn-tail repair (:func:`mushroom.filecache.append_line`): a
writer killed mid-row leaves a fragment that readers skip and the next append cuts off,
never a merged row.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

from mushroom.filecache import append_line
from mushroom.taxonomy import load_taxonomy, validate_species

DEFAULT_TAXONOMY = Path(__file__).resolve().parent.parent / "labels" / "taxonomy.csv"
TAXONOMY_FIELDS = ("genus", "species", "edibility", "notes")
TORN_NAME = "taxonomy.torn"  # fragments cut from a crashed append, kept for forensics


def taxonomy_path(labels_dir: str | Path) -> Path:
    """The store's own taxonomy when it has one, else the repository's seed list."""
    own = Path(labels_dir) / "taxonomy.csv"
    return own if own.is_file() else DEFAULT_TAXONOMY


def species_choices(labels_dir: str | Path, genus: str) -> list[str]:
    """Species of ``genus`` known to the taxonomy, sorted."""
    path = taxonomy_path(labels_dir)
    # the store's own file is appended to (even when the store is the repository's labels/)
    known = load_taxonomy(path, torn_tail=path == Path(labels_dir) / "taxonomy.csv")
    return sorted({s.species for s in known if s.genus == genus})


def ensure_species(labels_dir: str | Path, genus: str, species: str, annotator: str,
                   locked: bool = False) -> bool:
    """Add a validated binomial to the store's taxonomy if it is new.

    Args:
        labels_dir: the store folder.
        genus: the genus the species belongs to.
        species: the binomial, validated against ``genus``.
        annotator: the expert adding it, named in the row's notes.
        locked: the caller already holds :func:`mushroom.labels.store_lock` (taking it
            again would wait for itself).

    Returns:
        True when a row was added.
    """
    species = validate_species(genus, species)
    if not locked:
        from mushroom.labels import store_lock  # labels imports this module

        with store_lock(labels_dir):
            return ensure_species(labels_dir, genus, species, annotator, locked=True)
    if species in species_choices(labels_dir, genus):
        return False
    own = Path(labels_dir) / "taxonomy.csv"
    if not own.is_file():
        seed = (DEFAULT_TAXONOMY.read_bytes() if DEFAULT_TAXONOMY.is_file()
                else (",".join(TAXONOMY_FIELDS) + "\n").encode())
        tmp = own.with_suffix(".csv.tmp")
        # a seed whose last row lacks its newline would look torn and be cut off
        tmp.write_bytes(seed if seed.endswith(b"\n") else seed + b"\n")
        tmp.replace(own)
    added = datetime.now(timezone.utc).date().isoformat()
    row = io.StringIO()
    csv.writer(row, lineterminator="\n").writerow(
        [genus, species, "unknown", f"added by {annotator} on {added}"])
    append_line(own, row.getvalue().encode(), own.with_name(TORN_NAME))
    return True
