"""The expert label store: append-only decisions, read and written safely (their consensus
and export: :mod:`mushroom.consensus`; the store as a zip and its merge:
:mod:`mushroom.store_merge`).

One JSON object per line in ``labels/decisions.jsonl``. A writer takes a file lock, repairs
a torn tail left by a crashed writer, appends its whole line in one ``write`` and fsyncs,
so concurrent writers never interleave and a SIGKILL loses at most the row being written
(which its caller never saw succeed). Readers need no lock: they ignore an unterminated
last line. Nothing is ever rewritten; "undo" is a new row that cancels an earlier one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mushroom.decision import (Decision, from_json, infer_action, resolve_image, safe_relpath,
                               validate)
from mushroom.filecache import AppendOnlyLines, append_line
from mushroom.species import ensure_species
from mushroom.taxonomy import canonical_genus, canonical_species

if TYPE_CHECKING:
    import pandas as pd

STORE_NAME = "decisions.jsonl"
TORN_NAME = "decisions.torn"  # fragments cut from a crashed write, kept for forensics
MAX_PER_PHOTO = 50  # decisions one expert may have in force on one photo (see record)
LOCK_TIMEOUT_S = 60.0


class StoreError(ValueError):
    """The label store cannot be read (a complete line that is not a valid row) or written
    (a read-only or full disk, a lock that never comes free): nothing was saved, and the
    message says what to fix. Every Review event shows it (see :func:`mushroom.ui.bound`)."""


def existing_store(labels_dir: str | Path) -> Path:
    """``labels_dir`` when it is a folder: reading a mistyped store must not pass for an
    empty one (nor create it).

    Raises:
        FileNotFoundError: no such folder, or a file (the store's own ``decisions.jsonl``).
    """
    if zip_download(labels_dir):  # its folder is no store: the store is inside the zip
        raise FileNotFoundError(f"{labels_dir} is a zip (a label store download): bring it "
                                "into your store with `python -m mushroom labels merge "
                                f"--labels labels/ --from {labels_dir}`, or unzip it and give "
                                "the labels/ folder inside")
    if Path(labels_dir).is_file():  # labels/decisions.jsonl: "not found" would mislead
        raise FileNotFoundError(f"{labels_dir} is a file: the label store is the folder "
                                f"that holds it, {Path(labels_dir).parent}")
    if not Path(labels_dir).is_dir():
        raise FileNotFoundError(f"label store not found: {labels_dir} (a folder such as "
                                "labels/)")
    return Path(labels_dir)


def zip_download(path: str | Path) -> bool:
    """Whether ``path`` is a zip file, as the Review tab's *Download label store* gives."""
    import zipfile

    return Path(path).is_file() and zipfile.is_zipfile(path)


def read_rows(labels_dir: str | Path) -> list[Decision]:
    """All complete rows, in write order. A torn (unterminated) last line is ignored.

    Rows are parsed once and shared between calls (see :func:`read_store`): do not modify.

    Raises:
        ValueError: if a complete line is not a valid row (the store was edited by hand):
            bad JSON or a field :func:`validate` refuses.
    """
    return list(read_store(labels_dir)[0])


def read_store(labels_dir: str | Path) -> tuple[list[Decision], int]:
    """The rows (a shared list: do not modify) and a version number that changes whenever
    they do; only lines appended since the last call are parsed (any process's writes are
    seen, see :mod:`mushroom.filecache`)."""
    return _STORE.read(Path(labels_dir) / STORE_NAME)


def _parse_row(line: bytes, where: str) -> Decision:
    try:  # a hand-edited row must not reach the consensus and the next training run
        return validate(from_json(json.loads(line)), strict=False)
    except RecursionError as err:  # "[[[[..." nested past Python's limit: not a ValueError
        raise StoreError(f"{where}: unreadable row (JSON nested too deeply). The label store "
                         "was edited by hand: correct or remove that line") from err
    except (ValueError, TypeError) as err:
        raise StoreError(f"{where}: unreadable row ({err}). The label store was edited by "
                         "hand: correct or remove that line; until then nothing reads the "
                         "store or writes to it") from err


_STORE = AppendOnlyLines(_parse_row)


def append(labels_dir: str | Path, d: Decision, locked: bool = False) -> Decision:
    """Validate ``d`` and append it durably; returns it with ``time`` and ``row_id`` set."""
    labels_dir = Path(labels_dir)
    d = validate(d)
    d.time = datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    d.row_id = uuid.uuid4().hex
    if not locked:
        with store_lock(labels_dir):
            return append(labels_dir, d, locked=True)
    append_line(labels_dir / STORE_NAME, row_line(d), labels_dir / TORN_NAME, whole_row)
    return d


def whole_row(fragment: bytes) -> bool:
    """Whether an unterminated last line is a complete, valid row: a killed writer leaves a
    prefix of its line, which never parses as a whole JSON object."""
    try:
        _parse_row(fragment, "last line")
    except ValueError:
        return False
    return True


def row_line(d: Decision) -> bytes:
    """The store's line for a decision, newline included."""
    return (json.dumps(asdict(d), ensure_ascii=False) + "\n").encode()


@contextmanager
def store_lock(labels_dir: str | Path) -> Iterator[None]:
    """Take the inter-process lock every writer holds; use as ``with store_lock(d):``.

    The OS drops it when its holder dies, so a crashed writer never blocks the store.

    Raises:
        StoreError: the store's folder cannot be written (taking the lock, or inside the
            block), or the lock stayed taken for :data:`LOCK_TIMEOUT_S`.
    """
    from filelock import FileLock

    try:
        Path(labels_dir).mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(Path(labels_dir) / (STORE_NAME + ".lock")), timeout=LOCK_TIMEOUT_S)
        # writes take milliseconds, so poll often: the default 50 ms would idle the writers
        with lock.acquire(poll_interval=0.002):
            yield
    except OSError as err:  # a bare OSError reached the page as an unexplained "Error"
        if Path(labels_dir).is_file():  # a mistyped --labels: the disk is not to blame
            raise StoreError(f"Nothing was saved: the label store {labels_dir} is a file, "
                             "not a folder") from err
        raise StoreError(f"Nothing was saved: the label store {labels_dir} cannot be "
                         f"written ({err.strerror or err}). Its folder must be on a writable "
                         "disk with free space.") from err


def record(labels_dir: str | Path, data_dir: str | Path, rel_path: str, annotator: str, *,
           genus: str | None = None, species: str = "", flags: tuple[str, ...] = (),
           note: str = "", model_version: str = "", seen: str | None = None) -> Decision:
    """Write one expert decision about a photo; the action is inferred from the fields.

    Flags make a "flag", a note alone a "note", the current genus (and species) a "confirm",
    anything else a "relabel". A species missing from the taxonomy is added to it once it
    validates as a binomial of ``genus``.

    Args:
        labels_dir: the store folder.
        data_dir: the photo root; ``rel_path`` must stay inside it.
        rel_path: the photo, relative to ``data_dir`` (``<Genus>/<file>``).
        annotator: the verified expert identity.
        genus: the genus the expert assigns, any case; None keeps the current one (notes, flags).
        species: optional species inside ``genus``.
        flags: subset of :data:`FLAGS`.
        note: optional free text.
        model_version: the model whose queue was shown.
        seen: the genus the expert saw as the photo's label; when another expert's vote
            changed it meanwhile, nothing is written (a vote must mean what was on screen).

    Returns:
        The decision as written.

    Raises:
        ValueError: on any invalid field or a missing photo; nothing is written then.
    """
    rel_path = safe_relpath(rel_path)
    # "amanita" is Amanita: also for telling a confirm from a relabel below
    genus, species, flags = canonical_genus(genus), canonical_species(species or ""), tuple(flags)
    image_id = _photo_id(data_dir, rel_path, readable=not flags)
    with store_lock(labels_dir):
        _check_cap(labels_dir, image_id, annotator)
        previous, previous_species = _label_in_force(labels_dir, image_id, rel_path, seen)
        action = infer_action(genus, species, flags, previous, previous_species)
        d = validate(Decision(annotator, action, image_id, rel_path, previous, genus or previous,
                              species, list(flags), note, model_version))
        if d.species:
            ensure_species(labels_dir, d.genus, d.species, annotator, locked=True)
        return append(labels_dir, d, locked=True)


def _label_in_force(labels_dir: str | Path, image_id: str, rel_path: str,
                    seen: str | None) -> tuple[str, str]:
    """The photo's (genus, species) as the store stands: the consensus, else the genus of
    its folder. Call under the store lock.

    Raises:
        ValueError: a vote cast elsewhere (another expert's, or this one's in another tab)
            changed the genus from ``seen`` meanwhile.
    """
    from mushroom.consensus import current as current_consensus

    current = current_consensus(labels_dir).get(image_id)
    # a genus folder may be named in any case ("amanita/"), as the data scan allows
    previous = current.genus if current else canonical_genus(PurePosixPath(rel_path).parts[0])
    if seen and seen != previous:
        raise ValueError(f"the label changed from {seen} to {previous} (a vote cast elsewhere)"
                         " while you had the photo open; look at it again")
    return previous, current.species if current else ""


def _photo_id(data_dir: str | Path, rel_path: str, readable: bool) -> str:
    """The content id of a photo inside ``data_dir``; ``readable`` also decodes it.

    Raises:
        ValueError: no photo file there, or (with ``readable``) one that does not decode.
    """
    from mushroom.data import IMAGE_SUFFIXES, file_id

    full = resolve_image(data_dir, rel_path)
    if not full.is_file() or full.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"no photo at {rel_path!r} in {data_dir}")
    if readable:  # flagging a bad file as unusable stays possible
        _readable(full, rel_path)
    return file_id(full)


def _check_cap(labels_dir: str | Path, image_id: str, annotator: str) -> None:
    """Refuse a row past :data:`MAX_PER_PHOTO` of one expert's rows in force on a photo.

    Every row in force is shown to every expert who opens the photo: one account's
    thousands of notes would make that page megabytes long.
    """
    from mushroom.consensus import rows_in_force

    if sum(r.annotator == annotator
           for r in rows_in_force(labels_dir, image_id)) >= MAX_PER_PHOTO:
        raise ValueError(f"you have {MAX_PER_PHOTO} decisions and notes in force on this "
                         "photo, the most one expert may have: undo some first")


def _readable(full: Path, rel_path: str) -> None:
    """Refuse a file that does not decode as a photo: a label on it could never be used."""
    from mushroom.imageio import BadImage, open_image

    try:
        open_image(full, min_side=1)
    except BadImage as err:
        raise ValueError(f"{rel_path} is not a readable photo: {err}") from err


def undo_last(labels_dir: str | Path, annotator: str) -> Decision | None:
    """Cancel ``annotator``'s most recent decision that is still in force.

    Returns:
        The undo row written, or None when there was nothing left to undo.
    """
    from mushroom.consensus import current as current_consensus, last_in_force

    with store_lock(labels_dir):
        target = last_in_force(labels_dir, annotator)
        if target is None:
            return None
        current = current_consensus(labels_dir).get(target.image_id)
        genus = current.genus if current else target.previous_genus
        return append(labels_dir, Decision(annotator, "undo", target.image_id, target.path, genus,
                                           genus, undoes=target.row_id), locked=True)


def apply_consensus(frame: pd.DataFrame, labels_dir: str | Path, dropped: Iterable[str] = (),
                    duplicate_of: Mapping[str, str] | None = None
                    ) -> tuple[pd.DataFrame, dict[str, object]]:
    """Apply the experts' consensus to a manifest frame; see :func:`mushroom.relabel.apply`."""
    from mushroom.relabel import apply

    return apply(frame, labels_dir, dropped, duplicate_of)
