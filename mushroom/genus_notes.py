"""The notes a verdict card gives about the genera it names: each genus's edibility range
and dangerous lookalikes (from :data:`mushroom.taxonomy.GENUS_NOTES`), one genus's alone or
several genera's, each prefixed by its name.

Pure and import-light, like :mod:`mushroom.verdict`, which fills a verdict's ``notes`` with
them; so does :mod:`mushroom.combine_verdict` for a find of several photos.
"""

from __future__ import annotations

from collections.abc import Sequence

from mushroom.taxonomy import GENUS_NOTES


def genus_notes(genus: str) -> dict[str, str]:
    """Edibility range and dangerous lookalikes of ``genus`` (empty for unknown names)."""
    note = GENUS_NOTES.get(genus)
    return {"edibility": note.edibility, "lookalikes": note.lookalikes} if note else {}


def notes_of(genera: Sequence[str]) -> dict[str, str]:
    """The notes of several genera named on one card, each text prefixed by its genus when
    there are several ("Boletus: Many are edible... Amanita: Contains the deadliest...").

    One genus's notes alone read as the answer: a card that warns of Amanita under
    "Many are edible (porcini)" must say what Amanita is too. The keys stay those of
    :func:`genus_notes`, which API clients read.
    """
    named = list(dict.fromkeys(genera))
    if len(named) == 1:
        return genus_notes(named[0])
    each = [(g, genus_notes(g)) for g in named]
    return {key: " ".join(f"{g}: {notes[key]}" for g, notes in each if notes)
            for key in ("edibility", "lookalikes")}
