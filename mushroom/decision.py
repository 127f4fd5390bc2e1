"""What a valid expert decision is: the row's fields, their rules and safe photo paths.

Pure logic, no file I/O beyond resolving paths; the store that writes and reads these rows
is :mod:`mushroom.labels`.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path, PurePosixPath

from mushroom.layout import misspelt
from mushroom.taxonomy import GENERA, INVISIBLE as _INVISIBLE, validate_species

FLAGS = ("not_a_mushroom", "unusable")
VOTES = ("confirm", "relabel", "flag")  # actions that count towards the consensus
ACTIONS = (*VOTES, "note", "undo")
MAX_NOTE = 2000
_ANNOTATOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$")
_IMAGE_ID = re.compile(r"^[0-9a-f]{16}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Decision:
    """One row of the store: who decided what about which photo, and when."""

    annotator: str  # expert identity (login name or "hf:<user>")
    action: str  # one of ACTIONS
    image_id: str  # first 16 hex of the photo's SHA-256 (mushroom.data.file_id)
    path: str  # posix path relative to the data folder, for humans and exports
    previous_genus: str  # effective genus just before this decision
    genus: str  # genus after this decision (== previous_genus for notes and flags)
    species: str = ""  # "Genus epithet" inside ``genus``, or "" when unknown
    flags: list[str] = field(default_factory=list)  # subset of FLAGS; non-empty only for "flag"
    note: str = ""  # free text; neutralized against formula injection on export
    model_version: str = ""  # version of the model whose queue the expert was working from
    undoes: str = ""  # row_id cancelled by an "undo" row
    time: str = ""  # UTC ISO-8601, set when written
    row_id: str = ""  # random id, set when written


def from_json(obj: object) -> Decision:
    """The decision one parsed store line holds (not yet validated: see :func:`validate`).

    Another writer (a script, an older tool) may write ``null`` for a field it leaves empty:
    such a field reads as its default ("" or no flags).

    Raises:
        ValueError: not a JSON object, or a field of the wrong type (named).
        TypeError: a field missing or unknown.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"a row must be a JSON object, not {type(obj).__name__}")
    empty = {f.name: (f.default_factory() if f.default_factory is not MISSING else f.default)
             for f in fields(Decision) if f.default is not MISSING
             or f.default_factory is not MISSING}
    d = Decision(**{k: (empty[k] if v is None and k in empty else v) for k, v in obj.items()})
    for name, value in ((f.name, getattr(d, f.name)) for f in fields(Decision)):
        if name == "flags":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"flags {value!r} must be a list such as [\"unusable\"]")
        elif not isinstance(value, str):
            raise ValueError(f"{name} {value!r} must be text")
    return d


def check_annotator(name: str) -> str:
    """``name`` when it is a valid expert identity (login name or "hf:<user>").

    Raises:
        ValueError: it is empty, too long or holds other characters than letters, digits
            and _.@:-.
    """
    if not _ANNOTATOR.match(name or ""):
        raise ValueError(f"annotator {name!r} must be 1-64 letters, digits or _.@:-")
    return name


def validate(d: Decision, strict: bool = True) -> Decision:
    """Check and normalize every field of a decision.

    Args:
        d: the decision.
        strict: hold species to the rules for new names; False reads rows written before
            those rules (see :func:`mushroom.taxonomy.validate_species`).

    Returns:
        The same decision with whitespace, species and flags normalized.

    Raises:
        ValueError: naming the first invalid field, in words a user can act on.
    """
    check_annotator(d.annotator)
    if d.action not in ACTIONS:
        raise ValueError(f"action {d.action!r} must be one of {', '.join(ACTIONS)}")
    if not _IMAGE_ID.match(d.image_id or ""):
        raise ValueError(f"image id {d.image_id!r} is not 16 lowercase hex digits")
    safe_relpath(d.path)
    for name in ("previous_genus", "genus"):
        if getattr(d, name) not in GENERA:
            raise ValueError(f"{name} {getattr(d, name)!r}{misspelt(getattr(d, name))} must be "
                             f"one of {', '.join(GENERA)}")
    d.species = validate_species(d.genus, d.species, strict) if d.species.strip() else ""
    d.flags = _checked_flags(d)
    if d.action in ("flag", "note") and (d.genus != d.previous_genus or d.species):
        raise ValueError(f"a {d.action} cannot change the genus or species")
    d.note = _checked_note(d)
    if (d.action == "undo") != bool(d.undoes):
        raise ValueError("an undo must name the row it cancels, and only an undo may")
    d.model_version = clean_text(d.model_version)[:100]
    return d


def clean_text(text: str | None) -> str:
    """Free text as the store keeps it: control characters (C0, C1, line and paragraph
    separators) become spaces, invisible formatting characters go, a lone UTF-16 surrogate
    (which JSON can carry but UTF-8 cannot store) becomes U+FFFD, ends trimmed."""
    text = _SURROGATE.sub("\ufffd", text or "")
    return _INVISIBLE.sub("", _CONTROL.sub(" ", text)).strip()


def _checked_flags(d: Decision) -> list[str]:
    """The decision's flags, sorted and without repeats, once each is known and they go
    with a "flag" action (and only with it)."""
    bad = [f for f in d.flags if f not in FLAGS]
    if bad:
        raise ValueError(f"unknown flag(s) {bad}; allowed: {', '.join(FLAGS)}")
    flags = sorted(set(d.flags))
    if (d.action == "flag") != bool(flags):
        raise ValueError("flags go with the 'flag' action, and a 'flag' needs at least one")
    return flags


def _checked_note(d: Decision) -> str:
    """The decision's note as :func:`clean_text` keeps it, once it fits :data:`MAX_NOTE`
    and a "note" action has one."""
    note = clean_text(d.note)
    if len(note) > MAX_NOTE:
        raise ValueError(f"note is {len(note)} characters; the limit is {MAX_NOTE}")
    if d.action == "note" and not note:
        raise ValueError("a note cannot be empty")
    return note


def safe_relpath(rel: str) -> str:
    """Refuse a relative photo path that is absolute or climbs out with ``..``."""
    text = str(rel or "")
    posix = PurePosixPath(text.replace("\\", "/"))
    if (not text or "\x00" in text or posix.is_absolute() or re.match(r"^[A-Za-z]:", text)
            or ".." in posix.parts):
        raise ValueError(f"image path {text!r} must be relative to the data folder, without '..'")
    return posix.as_posix()


def resolve_image(data_dir: str | Path, rel: str) -> Path:
    """Map a stored relative path to a file that is guaranteed to lie inside ``data_dir``.

    Symlinks are resolved before the check, so a link pointing outside is refused too.

    Raises:
        ValueError: when the path escapes the data folder.
    """
    root = Path(data_dir).resolve()
    full = (root / safe_relpath(rel)).resolve()
    if not full.is_relative_to(root) or full == root:
        raise ValueError(f"image path {rel!r} is outside the data folder")
    return full


def relative_to_data(data_dir: str | Path, image: str | Path) -> str:
    """The posix path of ``image`` relative to ``data_dir``; refuses files outside it."""
    root = Path(data_dir).resolve()
    full = Path(image).resolve()
    if not full.is_relative_to(root) or full == root:
        raise ValueError(f"{image} is not inside the data folder {data_dir}")
    return full.relative_to(root).as_posix()


def infer_action(genus: str | None, species: str, flags: tuple[str, ...], previous: str,
                 kept_species: str) -> str:
    """What a decision is, from its fields: "flag", "note", "confirm" or "relabel".

    Args:
        genus: the genus the expert assigns; None keeps the current one.
        species: the species the expert gives ("" for none).
        flags: flags the expert sets.
        previous: the photo's genus before this decision.
        kept_species: the photo's species before this decision.
    """
    if flags:
        return "flag"
    if genus is None and not species:
        return "note"
    same = (genus or previous) == previous and species in ("", kept_species)
    return "confirm" if same else "relabel"
