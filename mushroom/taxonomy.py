"""The nine genera, which of them are poisonous, and what foragers must know about each.

Pure data plus a loader for ``labels/taxonomy.csv`` (species within genera). No torch.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mushroom.authority import RANKS as _RANKS, split_authority

GENERA: tuple[str, ...] = (
    "Agaricus",
    "Amanita",
    "Boletus",
    "Cortinarius",
    "Entoloma",
    "Hygrocybe",
    "Lactarius",
    "Russula",
    "Suillus",
)
"""Class order used everywhere: model outputs, reports, confusion matrices."""

POISONOUS: frozenset[str] = frozenset({"Amanita", "Cortinarius", "Entoloma"})
"""Genera whose photos must always be flagged, whatever else the model thinks."""


def poisonous_index(classes: Sequence[str] = GENERA) -> list[int]:
    """Positions of the poisonous genera in ``classes`` (a list, so it indexes numpy columns).

    Args:
        classes: genus names in a model's output order.
    """
    return [i for i, g in enumerate(classes) if g in POISONOUS]


POISONOUS_INDEX: list[int] = poisonous_index(GENERA)
"""Positions of the poisonous genera in ``GENERA``."""


EXAMPLE_SPECIES = {"Agaricus": "Agaricus campestris", "Amanita": "Amanita muscaria",
                   "Boletus": "Boletus edulis", "Cortinarius": "Cortinarius rubellus",
                   "Entoloma": "Entoloma sinuatum", "Hygrocybe": "Hygrocybe coccinea",
                   "Lactarius": "Lactarius deliciosus", "Russula": "Russula emetica",
                   "Suillus": "Suillus luteus"}
"""A well-known species of each genus (all in the seed list), the example a refused name is
shown: "write Russula then the epithet, as in Boletus edulis" read as a contradiction."""

_BINOMIAL = re.compile(r"^([A-Z][a-z]+) ([a-z][a-z-]+)(?: (?:subsp\.|var\.|f\.) [a-z][a-z-]+)?$")

_NOT_EPITHETS = frozenset({"sp", "spp", "ssp", "cf", "aff", "indet", "subsp", "var", "forma",
                           "nov", "spec", "species", "sect", "subsect", "subg", "ser", "agg",
                           "group", "complex", "unknown", "unidentified", "undetermined"})
"""Words typed in an epithet's place ("Amanita sp", "Boletus cf", "Boletus edulis subsp.
sp", German usage's "Russula spec", a section's "Amanita sect", "Boletus unknown") that name
no species or subspecies."""

_QUALIFIERS = frozenset({"cf", "cf.", "aff", "aff.", "nr", "nr."})
"""Words an expert writes between genus and epithet to hedge ("Russula cf. emetica")."""

_EPITHET = re.compile(r"^[a-z](?:[a-z]|-(?=[a-z])){1,39}$")
"""A new name's epithet: 2-40 letters, a hyphen only between two letters ("bursa-pastoris")."""


def canonical_genus(name: str | None) -> str | None:
    """``name`` spelled as in :data:`GENERA` when it names one in any case ("amanita",
    " AMANITA "); anything else as given, for the caller's refusal to quote.

    Experts type genus names in any case; the store keeps one spelling.
    """
    if name is None:
        return None
    return _BY_KEY.get(str(name).strip().casefold(), name)


# Invisible characters that notes and species names drop: bidi embeddings, overrides and
# isolates (an unclosed U+202E reverses the rest of a status line or export cell), and
# zero-width spaces, word joiners and BOMs hiding in words. ZWJ, ZWNJ stay (scripts, emoji).
INVISIBLE = re.compile("[\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def canonical_species(species: str) -> str:
    """``species`` with its whitespace collapsed, its first word, when it names a genus in
    any case, spelled as in :data:`GENERA` ("amanita  muscaria" -> "Amanita muscaria"), and a
    rank as Index Fungorum writes it ("ssp." -> "subsp.", "forma" -> "f.").

    Invisible characters (:data:`INVISIBLE`, pasted with a name from a web page) go. An
    author citation ("Amanita muscaria (L.) Lam.") is dropped: see
    :func:`mushroom.authority.split_authority`. The epithets are left as typed:
    :func:`validate_species` holds them to lower-case ASCII letters.
    """
    words = split_authority(INVISIBLE.sub("", str(species)))[0].split()
    if words and words[0].casefold() in _BY_KEY:
        words[0] = _BY_KEY[words[0].casefold()]
    if len(words) == 4 and words[2] in _RANKS:  # "Boletus edulis ssp. aereus" is subsp.
        words[2] = _RANKS[words[2]]
    return " ".join(words)


_BY_KEY = {g.casefold(): g for g in GENERA}


def is_poisonous(genus: str) -> bool:
    """Return True when ``genus`` is one of the poisonous genera."""
    return genus in POISONOUS


def validate_species(genus: str, species: str, strict: bool = True) -> str:
    """Check that ``species`` is a well-formed binomial inside ``genus``.

    Accepts "Genus epithet" with an optional "subsp./var./f. name" rank (also typed "ssp.",
    "var", "forma"...: see :func:`canonical_species`); the genus, in ``genus`` and in the
    name, may come in any case (see :func:`canonical_genus`). A hedged name ("Russula cf.
    emetica") is refused saying what to save instead.

    Args:
        genus: one of :data:`GENERA`, in any case.
        species: the proposed scientific name.
        strict: also hold each epithet to :data:`_EPITHET` (new names); reading a store
            written before that rule keeps its rows readable with False.

    Returns:
        The normalized species name: whitespace collapsed, the genus spelled as in
        :data:`GENERA`.

    Raises:
        ValueError: if the genus is unknown or the name is not a binomial of that genus.
    """
    genus = canonical_genus(genus)
    if genus not in GENERA:
        raise ValueError(f"unknown genus {genus!r}; expected one of {', '.join(GENERA)}")
    name = canonical_species(species)
    match = _BINOMIAL.match(name)
    words = name.split()
    _refuse_hedged(name, words)
    # "Amanita sp" names no species: it would join every expert's list as one
    if not match or (strict and {match.group(2), words[-1]} & _NOT_EPITHETS):
        # no "<epithet>" placeholder: the page's toast shows messages as HTML and drops it
        raise ValueError(f"species “{name[:60]}” is not a binomial: write “{genus}” then the "
                         f"epithet {_epithet_rule(words)}, as in “{EXAMPLE_SPECIES[genus]}”, "
                         "and after it a rank (subsp., var. or f.) and its epithet if needed; "
                         "leave it empty to vote for the genus only (no “sp.”)")
    if match.group(1) != genus:
        raise ValueError(_other_genus(name, genus, match.group(1)))
    if strict and not all(_EPITHET.match(e) for e in name.split()[1:] if not e.endswith(".")):
        raise ValueError(f"{name[:60]!r}: each epithet must be 2-40 lowercase letters, with a "
                         "hyphen only between two letters")
    return name


def _epithet_rule(words: list[str]) -> str:
    """The rule the epithets in ``words`` (genus first) break, for a refusal: "édulis" was
    told "in lower case", which it is."""
    odd = re.search(r"[^a-z.-]", " ".join(words[1:]).lower().replace(" ", ""))
    if odd and not odd.group().isascii():  # an accent, a Turkish "ı", a full-width letter
        return f"in plain ASCII letters a-z (“{odd.group()}” is not one)"
    if odd:
        return f"in letters a-z only (“{odd.group()}” is not one)"
    return "in lower case"


def _refuse_hedged(name: str, words: list[str]) -> None:
    """Refuse a hedged name ("Russula cf. emetica") saying what to save instead: "not a
    binomial" read as wrong to a mycologist, as it holds one, hedged."""
    if len(words) == 3 and words[1] in _QUALIFIERS and _EPITHET.match(words[2]):
        raise ValueError(f"species “{name}”: “{words[1]}” hedges the name, and the list keeps "
                         f"names only: save “{words[0]} {words[2]}” if the photo shows it, "
                         "else leave the species empty (a vote for the genus) and write "
                         f"“{words[1]} {words[2]}” in the note")


def _other_genus(name: str, genus: str, named: str) -> str:
    """Why a species of another genus is refused, and what to do: in the Review tab, typing
    the species of a relabel and leaving the genus box at the photo's label is the usual
    cause."""
    from mushroom.layout import misspelt  # which imports this module

    example = f"a species of {genus} (as in “{EXAMPLE_SPECIES[genus]}”)"
    fix = (f"choose the genus {named} with it, or {example}" if named in GENERA
           else f"{named}{misspelt(named)} is none of the nine genera ({', '.join(GENERA)}); "
           f"name {example}")
    return f"species “{name}” does not belong to genus {genus}: {fix}"


@dataclass(frozen=True)
class Species:
    """One row of ``labels/taxonomy.csv``."""

    genus: str
    species: str
    edibility: str
    notes: str


def load_taxonomy(path: str | Path, torn_tail: bool = False) -> list[Species]:
    """Read the species list, validating every row.

    Args:
        path: a CSV with columns genus, species, edibility, notes.
        torn_tail: leave out an unterminated last line, for a file the app appends to
            (the row a killed writer left half-written; the next append cuts it off).
            Off for a seed list read as is, whose last row may lack its newline (the
            repository's seed is also the file appended to when the store is
            ``labels/`` itself, so it keeps its final newline; a test checks).

    Returns:
        The species, in file order. A missing file gives an empty list.

    Raises:
        ValueError: a row that does not validate (a hand edit), named by file and line.
    """
    from mushroom.filecache import complete_lines

    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    try:
        text = (complete_lines(data) if torn_tail else data).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}): {_FIX_ROW}") from err
    if not text.strip():  # nothing complete yet
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {"genus", "species"} <= set(reader.fieldnames or ()):
        raise ValueError(f"{path}:1: the header must read genus,species,edibility,notes: "
                         f"{_FIX_ROW}")
    rows = []
    for r in reader:
        try:
            rows.append(_species_row(r))
        except ValueError as err:  # a hand edit: say where, as the decisions store does
            raise ValueError(f"{path}:{reader.line_num}: unreadable species row ({err}): "
                             f"{_FIX_ROW}") from err
    return rows


_FIX_ROW = "correct or remove that line; until then the species list cannot be read"


def _species_row(r: dict[str, str | None]) -> Species:
    """One validated row of a species list (``r`` from :class:`csv.DictReader`).

    Raises:
        ValueError: a column missing, an unknown genus or a species that is no binomial of it.
    """
    if r["genus"] is None or r["species"] is None:
        raise ValueError("too few columns")
    return Species(r["genus"], validate_species(r["genus"], r["species"], strict=False),
                   r.get("edibility") or "", r.get("notes") or "")
