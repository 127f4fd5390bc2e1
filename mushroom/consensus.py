"""From expert votes to one effective label per photo, and its export (its use in training:
:mod:`mushroom.relabel`).

The rule: each expert's latest decision on a photo is their vote (an undo withdraws it).
The outcome with most votes wins — a genus, or "flagged" (not a mushroom / unusable) — and
a tie goes to the tied outcome voted most recently. The species is then the majority among
the winning genus's votes that name one, ties again to the most recent; a vote naming an
outvoted species disagrees with the outcome, as an outvoted genus does. A tied photo shows
and exports that latest vote, but training holds it out until a further vote breaks the tie
(:attr:`Consensus.tied`); a species tie leaves its species empty there
(:attr:`Consensus.species_tied`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable

from mushroom.atomic import write_atomic
from mushroom.decision import VOTES, Decision
from mushroom.labels import read_rows, read_store
from mushroom.taxonomy import canonical_genus

if TYPE_CHECKING:
    import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
REVIEW_COLUMNS = ["genus", "species", "flags", "votes", "reviewers", "agreement"]
EXPORT_COLUMNS = ["image_id", "path", "folder_genus", "genus", "species", "flags", "excluded",
                  "n_votes", "agreement", "votes", "notes", "last_time"]


@dataclass
class Consensus:
    """The effective label of one photo and the votes behind it."""

    image_id: str  # content hash shared by all rows of the photo
    path: str  # latest known relative path
    genus: str  # effective genus (for flagged photos: the genus they were filed under)
    species: str  # effective species, "" when no vote for the genus names one
    flags: list[str]  # non-empty when the photo is excluded
    votes: list[Decision]  # one per expert, oldest first
    notes: list[Decision] = field(default_factory=list)  # every row in force carrying a note

    @property
    def folder_genus(self) -> str:
        """The genus of the folder the photo lives in (spelled as in GENERA, whatever the
        folder's case)."""
        return canonical_genus(PurePosixPath(self.path).parts[0])

    @property
    def excluded(self) -> bool:
        """True when the experts flagged the photo out of the data."""
        return bool(self.flags)

    @property
    def tied(self) -> bool:
        """True when no outcome has more votes than every other: the latest vote decides
        the label shown, but a further vote must settle it before training uses it."""
        counts = sorted(Counter(map(_outcome, self.votes)).values(), reverse=True)
        return len(counts) > 1 and counts[0] == counts[1]

    @property
    def species_tied(self) -> bool:
        """True when the winning genus's votes that name a species name two or more equally
        often: the latest is shown, but training leaves the species empty until a vote
        settles it (as it holds out a tied genus)."""
        named = Counter(v.species for v in self.votes
                        if not v.flags and v.genus == self.genus and v.species)
        counts = sorted(named.values(), reverse=True)
        return not self.flags and len(counts) > 1 and counts[0] == counts[1]

    @property
    def agreement(self) -> float:
        """Share of votes that agree with the outcome: its genus (or flag) and, for a vote
        naming a species, its species too. A genus-only vote agrees with any species; a
        species the majority outvoted is a disagreement, as a genus would be (else a
        species dispute showed 100% agreement, in no *disputed* list or report)."""
        return sum(map(self._agrees, self.votes)) / len(self.votes)

    def _agrees(self, vote: Decision) -> bool:
        """Whether ``vote`` agrees with the outcome (see :attr:`agreement`)."""
        if self.flags or vote.flags:
            return bool(self.flags) and bool(vote.flags)
        return vote.genus == self.genus and vote.species in ("", self.species)


def undo_key(row: Decision) -> tuple[str, str, str]:
    """What an undo row cancels, as (row id, expert, photo); for any other row, what an undo
    must name to cancel it. An undo cancels only its own expert's row on its own photo: a
    hand-written or merged undo naming another expert's vote must not withdraw it."""
    return (row.undoes if row.action == "undo" else row.row_id), row.annotator, row.image_id


def active_rows(rows: list[Decision]) -> list[Decision]:
    """Rows still in force: undo rows and the rows they cancel are dropped."""
    undone = {undo_key(r) for r in rows if r.action == "undo"}
    return [r for r in rows if r.action != "undo" and undo_key(r) not in undone]


def stray_undos(rows: list[Decision]) -> list[Decision]:
    """Undo rows that cancel nothing: no row of their own expert on their own photo has the
    row id they name (a hand edit, or another expert's vote named). Ignored."""
    targets = {undo_key(r) for r in rows if r.action != "undo"}
    return [r for r in rows if r.action == "undo" and undo_key(r) not in targets]


def last_in_force(labels_dir: str | Path, annotator: str) -> Decision | None:
    """The expert's latest row still in force (what undo would cancel), or None."""
    mine = [r for r in active_rows(read_rows(labels_dir)) if r.annotator == annotator]
    return mine[-1] if mine else None


def _outcome(vote: Decision) -> str:
    return "flag" if vote.flags else vote.genus


def _majority(items: list[Decision], key: Callable[[Decision], str]) -> str:
    """Most common key; among tied keys, the one whose latest item is most recent."""
    counts = Counter(key(v) for v in items)
    top = max(counts.values())
    return next(key(v) for v in reversed(items) if counts[key(v)] == top)


def decide(votes: list[Decision]) -> tuple[str, str, list[str]]:
    """Apply the consensus rule to one photo's votes (oldest first).

    Returns:
        ``(genus, species, flags)``; flags is empty unless the photo is excluded.
    """
    winner = _majority(votes, _outcome)
    if winner == "flag":
        flagged = [v for v in votes if v.flags]
        return flagged[-1].genus, "", sorted({f for v in flagged for f in v.flags})
    named = [v for v in votes if v.genus == winner and v.species]
    return winner, (_majority(named, lambda v: v.species) if named else ""), []


def consensus(rows: list[Decision]) -> dict[str, Consensus]:
    """The effective label of every photo that has at least one vote, by image id."""
    return Tally().add(rows).agreed


def photo_consensus(image_id: str, active: list[Decision]) -> Consensus | None:
    """The consensus on one photo from its rows in force, in file order (None without a
    vote)."""
    # file order is write order (appends are serialized by the lock), unlike wall clocks
    latest = {v.annotator: (i, v) for i, v in enumerate(active) if v.action in VOTES}
    if not latest:
        return None
    votes = [v for _, v in sorted(latest.values(), key=lambda p: p[0])]
    genus, species, flags = decide(votes)
    return Consensus(image_id, active[-1].path, genus, species, flags, votes,
                     [r for r in active if r.note])


class Tally:
    """The consensus of a store as rows are appended: each new row recomputes only its
    photo (an undo cancels only a row of its own photo), so a vote costs microseconds, not a
    pass over the store, and leaves few new objects behind for the garbage collector."""

    def __init__(self):
        self.count = 0  # rows added so far
        self.last: Decision | None = None  # the latest of them
        self.groups: dict[str, list[Decision]] = defaultdict(list)  # every row, by photo
        self.undone: set[tuple[str, str, str]] = set()  # what undo rows cancel (undo_key)
        self.agreed: dict[str, Consensus] = {}  # replaced, never modified, by add()

    def extended_by(self, rows: list[Decision]) -> bool:
        """Whether ``rows`` starts with the very rows added so far (same objects)."""
        return len(rows) >= self.count and (not self.count or rows[self.count - 1] is self.last)

    def in_force(self, image_id: str) -> list[Decision]:
        """The photo's rows still in force, in file order (:func:`active_rows` of its rows)."""
        return [r for r in self.groups.get(image_id, ())
                if r.action != "undo" and undo_key(r) not in self.undone]

    def add(self, rows: list[Decision]) -> Tally:
        """Take in rows appended after those already added; returns itself."""
        touched: dict[str, None] = {}
        for r in rows:
            self.groups[r.image_id].append(r)
            touched[r.image_id] = None
            if r.action == "undo":  # it can only cancel a row of its own photo
                self.undone.add(undo_key(r))
        agreed = dict(self.agreed)
        for image_id in touched:
            found = photo_consensus(image_id, self.in_force(image_id))
            if found is None:
                agreed.pop(image_id, None)
            else:
                agreed[image_id] = found
        self.count, self.agreed = self.count + len(rows), agreed
        self.last = rows[-1] if rows else self.last
        return self


_CURRENT: dict[Path, tuple[int, Tally]] = {}  # store -> (its version, its tally)


def _current_tally(labels_dir: str | Path) -> Tally:
    """The store's :class:`Tally`, updated with the rows appended since the last call."""
    rows, version = read_store(labels_dir)
    key = Path(labels_dir).absolute()
    known, tally = _CURRENT.get(key, (None, None))
    if known != version:
        if tally is None or not tally.extended_by(rows):  # a rewritten store: start again
            tally = Tally()
        _CURRENT[key] = (version, tally.add(rows[tally.count:]))
    return tally


def current(labels_dir: str | Path) -> dict[str, Consensus]:
    """:func:`consensus` of the store, updated with the rows appended since the last call
    (a shared dict: do not modify it)."""
    return _current_tally(labels_dir).agreed


def rows_in_force(labels_dir: str | Path, image_id: str) -> list[Decision]:
    """The rows still in force on one photo, in write order (votes, flags and notes), from
    the store's running tally rather than a pass over every row."""
    return _current_tally(labels_dir).in_force(image_id)


def review_columns(image_ids: pd.Series, folder_genus: pd.Series,
                   agreed: dict[str, Consensus]) -> pd.DataFrame:
    """The review state of photos as a DataFrame with :data:`REVIEW_COLUMNS`, in the order
    of ``image_ids``: the effective ``genus`` (``folder_genus`` when unreviewed), ``species``,
    ``flags`` and ``reviewers`` (";"-joined), ``votes`` and ``agreement`` (1.0 when
    unreviewed). Vectorized: one Python step per reviewed photo, not per queue row."""
    import pandas as pd

    known = pd.DataFrame.from_records(
        [(i, c.genus, c.species, ";".join(c.flags), len(c.votes),
          ";".join(v.annotator for v in c.votes), c.agreement) for i, c in agreed.items()],
        columns=["image_id", *REVIEW_COLUMNS], index="image_id")
    hit = known.reindex(pd.Index(image_ids, dtype=object))
    out = hit.fillna({"species": "", "flags": "", "reviewers": "", "votes": 0, "agreement": 1.0})
    out["genus"] = hit["genus"].where(hit["genus"].notna(), list(folder_genus))
    return out.astype({"genus": str, "species": str, "flags": str, "votes": int,
                       "reviewers": str, "agreement": float}).reset_index(drop=True)


def describe(vote: Decision) -> str:
    """A vote in a few words: "flag(unusable)", "Amanita muscaria" or "Amanita"."""
    return f"flag({','.join(vote.flags)})" if vote.flags else (vote.species or vote.genus)


def neutralize(value: object) -> str:
    """Make a cell safe for spreadsheets: text starting like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def export_rows(labels_dir: str | Path) -> list[dict[str, str]]:
    """One neutralized row per reviewed photo (columns :data:`EXPORT_COLUMNS`)."""
    rows = []
    for c in sorted(consensus(read_rows(labels_dir)).values(), key=lambda c: c.path):
        votes = "; ".join(f"{v.annotator}: {describe(v)}" for v in c.votes)
        notes = " | ".join(n.note for n in c.notes)  # who wrote them is in ``votes``
        raw = [c.image_id, c.path, c.folder_genus, c.genus, c.species, ";".join(c.flags),
               str(c.excluded).lower(), len(c.votes), f"{c.agreement:.2f}", votes, notes,
               c.votes[-1].time]
        rows.append(dict(zip(EXPORT_COLUMNS, map(neutralize, raw))))
    return rows


def export_csv(labels_dir: str | Path, out: str | Path) -> int:
    """Write the consensus CSV atomically; returns the number of photos written."""
    rows = export_rows(labels_dir)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, EXPORT_COLUMNS, quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    write_atomic(out, lambda f: f.write(data))
    return len(rows)
