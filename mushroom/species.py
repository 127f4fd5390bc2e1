"""The species list experts choose from: the repository's seed taxonomy plus the store's additions.

A store starts from ``labels/taxonomy.csv`` in the repository; the first new binomial an
expert enters copies that seed into the store's own ``taxonomy.csv`` and appends to it, so
the repository file is never written by the app.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime, timezone
from pathlib import Path

from mushroom.taxonomy import load_taxonomy, validate_species

DEFAULT_TAXONOMY = Path(__file__).resolve().parent.parent / "labels" / "taxonomy.csv"
TAXONOMY_FIELDS = ("genus", "species", "edibility", "notes")


def taxonomy_path(labels_dir: str | Path) -> Path:
    """The store's own taxonomy when it has one, else the repository's seed list."""
    own = Path(labels_dir) / "taxonomy.csv"
    return own if own.is_file() else DEFAULT_TAXONOMY


def species_choices(labels_dir: str | Path, genus: str) -> list[str]:
    """Species of ``genus`` known to the taxonomy, sorted."""
    return sorted({s.species for s in load_taxonomy(taxonomy_path(labels_dir)) if s.genus == genus})


def ensure_species(labels_dir: str | Path, genus: str, species: str, annotator: str) -> bool:
    """Add a validated binomial to the store's taxonomy if it is new (caller holds the lock).

    Returns:
        True when a row was added.
    """
    species = validate_species(genus, species)
    if species in species_choices(labels_dir, genus):
        return False
    own = Path(labels_dir) / "taxonomy.csv"
    if not own.is_file():
        tmp = own.with_suffix(".csv.tmp")
        tmp.write_bytes(DEFAULT_TAXONOMY.read_bytes() if DEFAULT_TAXONOMY.is_file()
                        else (",".join(TAXONOMY_FIELDS) + "\n").encode())
        tmp.replace(own)
    with own.open("a", newline="", encoding="utf-8") as fh:
        added = datetime.now(timezone.utc).date().isoformat()
        csv.writer(fh).writerow([genus, species, "unknown", f"added by {annotator} on {added}"])
        fh.flush()
        os.fsync(fh.fileno())
    return True
