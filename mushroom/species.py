"""The species list experts choose from: the repository's seed taxonomy plus the store's additions.

A store starts from ``labels/taxonomy.csv`` in the repository; the first new binomial an
expert enters copies that seed into the store's own ``taxonomy.csv`` and appends to it. When
the store is the repository's own ``labels/`` (the default), that file *is* the seed, so
additions land in the tracked file, appended like any store's. Appends go through the
decision store's lock and torn-tail repair (:func:`mushroom.filecache.append_line`): a
writer killed mid-row leaves a fragment that readers skip and the next append cuts off,
never a merged row.

Nothing is ever deleted: a mistyped addition leaves the list through a further row, its
edibility ``retired`` (:func:`retire_species`). The last row for a name decides whether it is
offered, so typing the name again later re-adds it with an ordinary row. Only names the
experts added can be retired: a name any curated row lists (a row neither written by
:func:`ensure_species`, whose notes read "added by <expert> on <date>", nor a retirement),
in the store's file or in the repository's seed, belongs to the seed, which is kept in git.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from mushroom.atomic import write_atomic
from mushroom.filecache import append_line
from mushroom.taxonomy import Species, canonical_genus, load_taxonomy, validate_species

DEFAULT_TAXONOMY = Path(__file__).resolve().parent.parent / "labels" / "taxonomy.csv"
TAXONOMY_FIELDS = ("genus", "species", "edibility", "notes")
TORN_NAME = "taxonomy.torn"  # fragments cut from a crashed append, kept for forensics
RETIRED = "retired"  # the edibility of a row that takes an expert's addition off the list
_ADDED = re.compile(r"^added by \S+ on \d{4}-\d{2}-\d{2}$")  # notes of ensure_species' rows


def taxonomy_path(labels_dir: str | Path) -> Path:
    """The store's own taxonomy when it has one, else the repository's seed list."""
    own = Path(labels_dir) / "taxonomy.csv"
    return own if own.is_file() else DEFAULT_TAXONOMY


def _rows(labels_dir: str | Path) -> list[Species]:
    """Every row of the store's taxonomy (else the seed's), in file order."""
    path = taxonomy_path(labels_dir)
    # the store's own file is appended to (even when the store is the repository's labels/)
    return _load(path, torn_tail=path == Path(labels_dir) / "taxonomy.csv")


def own_rows(labels_dir: str | Path) -> list[Species]:
    """The rows of the store's own taxonomy (torn tail left out); none when it has none."""
    return _load(Path(labels_dir) / "taxonomy.csv", torn_tail=True)


def _load(path: Path, torn_tail: bool = False) -> list[Species]:
    """:func:`load_taxonomy`, a hand-edited bad row refused as a
    :class:`~mushroom.labels.StoreError`, which every Review event shows with its file and
    line (any other error reached the page as a bare "Error")."""
    from mushroom.labels import StoreError  # labels imports this module

    try:
        return load_taxonomy(path, torn_tail)
    except ValueError as err:
        raise StoreError(str(err)) from err


def _latest(rows: list[Species]) -> dict[str, Species]:
    """The last row of each name: the one that says whether it is offered."""
    return {s.species: s for s in rows}


def species_choices(labels_dir: str | Path, genus: str) -> list[str]:
    """Species of ``genus`` known to the taxonomy and not retired, sorted."""
    return sorted(name for name, s in _latest(_rows(labels_dir)).items()
                  if s.genus == genus and s.edibility != RETIRED)


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
    _append(labels_dir, Species(genus, species, "unknown", f"added by {annotator} on {_today()}"))
    return True


def _today() -> str:
    """The UTC date, as the rows' notes give it."""
    return datetime.now(timezone.utc).date().isoformat()


def _append(labels_dir: str | Path, row: Species) -> None:
    """Append ``row`` to the store's own taxonomy, copying the seed there first when the
    store has none yet (the caller holds the lock)."""
    own = Path(labels_dir) / "taxonomy.csv"
    if not own.is_file():
        seed = (DEFAULT_TAXONOMY.read_bytes() if DEFAULT_TAXONOMY.is_file()
                else (",".join(TAXONOMY_FIELDS) + "\n").encode())
        # a seed whose last row lacks its newline would look torn and be cut off
        write_atomic(own, lambda f: f.write(seed if seed.endswith(b"\n") else seed + b"\n"))
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(
        [row.genus, row.species, row.edibility, row.notes])
    append_line(own, line.getvalue().encode(), own.with_name(TORN_NAME))


def merge_species(labels_dir: str | Path, incoming: list[Species]) -> list[Species]:
    """Append the rows experts wrote in another store's list (additions and retirements,
    in its order) that this store's list lacks; the caller holds the store's lock.

    Rows are matched whole and counted, so a name added, retired and added again elsewhere
    ends the same here, and merging the same list twice appends nothing. Curated rows are
    the seed's, kept in git; so is every name a curated row lists here or in the seed, whose
    edibility an expert's "unknown" must not hide.

    Returns:
        The rows appended.
    """
    here = _rows(labels_dir)
    curated = {s.species for s in here + _load(DEFAULT_TAXONOMY) if _curated(s)}
    have = Counter(s for s in here if not _curated(s))
    added = []
    for row in incoming:
        if _curated(row) or row.species in curated:
            continue
        if have[row]:
            have[row] -= 1
            continue
        _append(labels_dir, row)
        added.append(row)
    return added


def _curated(row: Species) -> bool:
    """Whether a row comes from the curated seed rather than from this module."""
    return row.edibility != RETIRED and not _ADDED.match(row.notes)


def _retire_refusal(labels_dir: str | Path, genus: str, species: str) -> str:
    """Why ``species`` may not be retired now, or "" when it may (under the lock for a write;
    a reader may skip it, as a torn row is skipped anyway).

    The seed is read as well as the store's copy: a name the curators listed after the store
    copied the seed is theirs too.
    """
    from mushroom.consensus import current

    rows = _rows(labels_dir)
    last = _latest(rows).get(species)
    if last is None or last.genus != genus:
        return f"“{species}” is not on the species list of {genus}: nothing to remove"
    if last.edibility == RETIRED:
        return f"“{species}” was already removed from the list ({last.notes})"
    own = Path(labels_dir) / "taxonomy.csv"
    # the seed itself when the store is labels/: already read, torn tail left out
    seed = [] if own.resolve() == DEFAULT_TAXONOMY else _load(DEFAULT_TAXONOMY)
    if any(_curated(s) for s in rows + seed if s.species == species):
        return (f"“{species}” is in the curated seed list (labels/taxonomy.csv in the "
                "repository), which is changed through git; only names experts added can be "
                "removed here")
    votes = [(v.annotator, v.path) for c in current(labels_dir).values() for v in c.votes
             if v.genus == genus and v.species == species]
    if votes:
        who, where = votes[0]
        return (f"“{species}” is still named by {len(votes)} current vote(s) (e.g. {who} on "
                f"{where}): re-vote those photos with the corrected name first, then remove it")
    return ""


def check_retire(labels_dir: str | Path, genus: str, species: str) -> str:
    """Whether :func:`retire_species` would take ``species`` off the list now, without
    writing: the Review tab asks for a confirmation only of a removal that can go through
    (:func:`retire_species` checks again under the lock).

    Returns:
        The normalized binomial.

    Raises:
        ValueError: the reason :func:`retire_species` would give.
    """
    genus = canonical_genus(genus)
    species = validate_species(genus, species, strict=False)  # old-rule typos too
    refusal = _retire_refusal(labels_dir, genus, species)
    if refusal:
        raise ValueError(refusal)
    return species


def retire_species(labels_dir: str | Path, genus: str, species: str, annotator: str) -> Species:
    """Take a name an expert added (a typo, say) off the species list, by appending a row.

    Args:
        labels_dir: the store folder.
        genus: the genus the name belongs to, in any case.
        species: the binomial to retire.
        annotator: the expert retiring it, named in the row's notes.

    Returns:
        The row appended (edibility :data:`RETIRED`).

    Raises:
        ValueError: the name is malformed, unknown, already retired, in the curated seed or
            still named by a current vote; nothing is written then.
    """
    from mushroom.decision import check_annotator
    from mushroom.labels import existing_store, store_lock  # labels imports this module

    genus = canonical_genus(genus)
    species = validate_species(genus, species, strict=False)
    annotator = check_annotator(annotator)
    with store_lock(existing_store(labels_dir)):  # the lock would create a mistyped folder
        check_retire(labels_dir, genus, species)
        row = Species(genus, species, RETIRED, f"retired by {annotator} on {_today()}")
        _append(labels_dir, row)
    return row
