"""Author citations after a scientific name: "Amanita muscaria (L.) Lam.", "Boletus edulis
Bull. ex Fr.". Mycologists paste names with them, and the species list keeps bare names, so
the citation is split off before a name is checked. Pure functions, no I/O.

Only text that reads as a citation is split off: capitalised author names or abbreviations
("L.", "Pers.", "P. Kumm.", "Quél."), in parentheses or not, joined by "ex", "&", "in", ":",
","..., with an optional year after them. Anything else ("Amanita muscaria Unknown",
"Amanita muscaria 12") is left as typed, for :func:`mushroom.taxonomy.validate_species` to
refuse as before.
"""

from __future__ import annotations

import re

RANKS = {"subsp.": "subsp.", "subsp": "subsp.", "ssp.": "subsp.", "ssp": "subsp.",
         "var.": "var.", "var": "var.", "f.": "f.", "f": "f.", "fo.": "f.", "forma": "f."}
"""The spellings of an infraspecific rank in use, and the one the list keeps (Index
Fungorum's)."""

_CONNECTORS = frozenset({"ex", "&", "et", "in", "apud", "sensu", "emend.", "f.", "fil.",
                         "de", "du", "des", "van", "von", "der", "den", "la", "le", "da", "di"})
"""Lower-case words inside a citation: "ex", "in", "&", "emend.", a son's "f." ("L. f.")
and the particles of names ("de Seynes", "van der Bijl")."""

_NOT_AUTHORS = frozenset({"sp", "spp", "spec", "species", "sect", "subsect", "subg", "ser",
                          "agg", "group", "complex", "unknown", "unidentified",
                          "undetermined", "indet", "cf", "aff", "nr", "nov", "gen",
                          "genus", "var", "subsp", "ssp", "forma", "fo", "sl", "ss"})
"""Capitalised words that name no author ("Russula emetica Spec", "Boletus edulis Unknown"):
they stay in the name, which is then refused."""

_HEDGES = frozenset({"cf", "aff", "nr"})
_EPITHET = re.compile(r"^[a-z][a-z-]+$")
_AUTHOR = re.compile(r"^[^\W\d_]+(?:[.'’-][^\W\d_]+)*\.?$")
_YEAR = re.compile(r"^\d{4}$")


def split_authority(name: str) -> tuple[str, str]:
    """Split the author citations off a scientific name.

    Args:
        name: a name as typed, e.g. "Amanita muscaria (L.) Lam." or "Amanita muscaria (L.)
            Lam. var. formosa (Pers.) Bertill.".

    Returns:
        ``(bare name, citations)``: ("Amanita muscaria", "(L.) Lam."), whitespace collapsed,
        the citations of every rank joined by a space. A name without a citation, or with
        trailing text that is none, comes back whole (whitespace collapsed) with "".
    """
    words = name.split()
    whole = (" ".join(words), "")
    # a hedge ("Russula cf. emetica (Schaeff.) Pers.") stays, for its own refusal
    i = 3 if len(words) > 1 and words[1].rstrip(".") in _HEDGES else 2
    if len(words) <= i or not _EPITHET.match(words[i - 1]):
        return whole
    kept, cited, segment = words[:i], [], []
    while i < len(words):
        if (words[i] in RANKS and i + 1 < len(words) and _EPITHET.match(words[i + 1])
                and words[i + 1] not in _CONNECTORS):
            if segment and not _citation(segment):
                return whole
            cited += segment
            kept, segment, i = kept + words[i:i + 2], [], i + 2
            continue
        segment.append(words[i])
        i += 1
    if segment and not _citation(segment):
        return whole
    cited += segment
    return (" ".join(kept), " ".join(cited)) if cited else whole


def _citation(words: list[str]) -> bool:
    """Whether ``words`` are one rank's author citation: "(L.) Lam.", "Bull. ex Fr.",
    "(Schaeff.) P. Kumm. 1871"; its parentheses balanced, and an author's name first
    inside each group."""
    depth, need_author = 0, True
    for word in words:
        pieces = re.findall(r"[()]|[^(),:;]+|[,:;]", word)
        for piece in pieces:
            if piece == "(":
                depth, need_author = depth + 1, True
            elif piece == ")":
                if depth == 0 or need_author:
                    return False
                depth -= 1
            elif piece in ",:;" or piece in _CONNECTORS and not need_author:
                continue
            elif _YEAR.match(piece) and not need_author:
                continue
            elif _author(piece):
                need_author = False
            else:
                return False
    return depth == 0 and not need_author


def _author(word: str) -> bool:
    """A capitalised author name or abbreviation ("L.", "Pers.", "Quél.", "D.C.")."""
    return (word[:1].isupper() and bool(_AUTHOR.match(word))
            and word.rstrip(".").casefold() not in _NOT_AUTHORS)
