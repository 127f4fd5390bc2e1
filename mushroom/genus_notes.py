"""What a forager should know about each genus (:data:`GENUS_NOTES`: its edibility range and
dangerous lookalikes), and the notes a verdict card gives about the genera it names: one
genus's alone or several genera's, each prefixed by its name.

Pure and import-light, like :mod:`mushroom.verdict`, which fills a verdict's ``notes`` with
them; so does :mod:`mushroom.combine_verdict` for a find of several photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GenusNote:
    """What a forager should know about a genus.

    Attributes:
        edibility: the range of edibility inside the genus, in one sentence.
        lookalikes: dangerous confusions, in one sentence.
    """

    edibility: str
    lookalikes: str


GENUS_NOTES: dict[str, GenusNote] = {
    "Agaricus": GenusNote(
        "Includes choice edibles (field and horse mushrooms) but also the toxic yellow stainer "
        "(A. xanthodermus).",
        "White Agaricus are confused with deadly white Amanita (destroying angel, death cap): "
        "Amanita has white gills, a volva at the base and never pink-to-brown gills.",
    ),
    "Amanita": GenusNote(
        "Contains the deadliest mushrooms known (death cap, destroying angels, panther cap).",
        "Mistaken for Agaricus, Russula, Volvariella and puffballs at the button stage.",
    ),
    "Boletus": GenusNote(
        "Many are edible (porcini) but some are bitter or toxic (e.g. Rubroboletus satanas).",
        "Red-pored or blue-staining boletes can be toxic; check pore colour and staining.",
    ),
    "Cortinarius": GenusNote(
        "Contains deadly species (C. rubellus, C. orellanus) whose kidney damage shows days later.",
        "Brown Cortinarius are confused with Lactarius, Tricholoma and other brown gilled "
        "mushrooms.",
    ),
    "Entoloma": GenusNote(
        "Many species are poisonous (E. sinuatum causes severe gastrointestinal poisoning).",
        "Confused with edible Clitocybe nebularis, the St George's mushroom and the miller.",
    ),
    "Hygrocybe": GenusNote(
        "Mostly small waxcaps of little culinary value; some are mildly toxic.",
        "Small orange-red species resemble toxic Cortinarius and Entoloma.",
    ),
    "Lactarius": GenusNote(
        "Some edible milkcaps (L. deliciosus), many acrid or toxic (L. torminosus).",
        "Brown milkcaps are confused with deadly Cortinarius: Lactarius exudes milk when cut.",
    ),
    "Russula": GenusNote(
        "Many edible brittlegills, several emetic (R. emetica) and a few dangerous species.",
        "Green or white Russula are confused with the deadly death cap (Amanita phalloides).",
    ),
    "Suillus": GenusNote(
        "Mostly edible slippery jacks, but some cause digestive upsets (the slimy cap skin too).",
        "Few deadly lookalikes, but boletes with red pores are a different, risky group.",
    ),
}



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
