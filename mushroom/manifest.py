"""The manifest once built: its columns, reading its CSV back, its hash, its photos' presence
and the training cap.

:func:`mushroom.data.build_manifest` builds it from a photo folder; every command that takes
``--manifest`` reads it through here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from mushroom.layout import no_folder
from mushroom.taxonomy import GENERA

MANIFEST_COLUMNS = ["path", "image_id", "genus", "folder_genus", "species", "split", "fold",
                    "group", "width", "height", "label_source"]
SPLITS = ("train", "val", "test")
"""The splits a manifest file holds (a scanned folder for ``evaluate`` is "all", never saved)."""


def manifest_sha256(frame: pd.DataFrame) -> str:
    """Hash of the manifest's content, stored in checkpoints to tie a model to its data."""
    return hashlib.sha256(frame[MANIFEST_COLUMNS].to_csv(index=False).encode()).hexdigest()


def cap_train(frame: pd.DataFrame, cap: int | None) -> pd.DataFrame:
    """``cap // len(GENERA)`` training rows per genus, at least one (a cap of 100 keeps 99, of
    5 keeps 9: as ``train --max-images`` says); other splits whole."""
    if not cap:
        return frame
    train = frame[frame.split == "train"].groupby("genus", group_keys=False).head(
        max(1, cap // len(GENERA)))
    return pd.concat([train, frame[frame.split != "train"]]).reset_index(drop=True)


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Load a manifest CSV written by ``python -m mushroom manifest``."""
    try:
        frame = pd.read_csv(path, dtype={"species": str, "group": str, "image_id": str},
                            keep_default_na=False)
    except pd.errors.EmptyDataError:  # an empty file: refused below, by its name
        frame = pd.DataFrame()
    missing = set(MANIFEST_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path} is not a manifest: missing columns {sorted(missing)}")
    # a hand-edited genus would stop training deep inside on "x not in tuple", and a row
    # whose split is misspelt would be neither trained on nor scored, unsaid
    for column, allowed in (("genus", GENERA), ("split", SPLITS)):
        bad = ~frame[column].isin(allowed)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise ValueError(f"{path} line {row + 2} ({frame['path'].iloc[row]}): {column} "
                             f"{frame[column].iloc[row]!r} is not one of {', '.join(allowed)}")
    return frame


def read_kept_split(path: str | Path, n_folds: int) -> pd.DataFrame:
    """Read the earlier manifest that ``--keep-split`` names, refusing one it cannot keep.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder, binary or not a manifest, a path listed twice, or a ``fold``
            that is not -1 on test rows and 0..``n_folds``-1 on the others.
    """
    flag = f"--keep-split {path}"
    if not Path(path).exists():
        raise FileNotFoundError(f"{flag}: no such file")
    if Path(path).is_dir():
        raise ValueError(f"{flag} is a folder; give the manifest CSV of the earlier run")
    try:
        old = read_manifest(path)
    except UnicodeDecodeError:
        raise ValueError(f"{flag}: not a text (CSV) file") from None
    except pd.errors.ParserError as err:  # its text runs over several lines
        raise ValueError(f"{flag}: not a readable CSV ({str(err).strip().splitlines()[0]})"
                         ) from None
    except ValueError as err:  # it names the file
        raise ValueError(f"--keep-split: {err}") from None
    twice = old["path"][old["path"].duplicated()]
    if len(twice):
        raise ValueError(f"{flag}: {twice.iloc[0]} is listed twice (not a manifest this "
                         "package wrote)")
    fold = pd.to_numeric(old["fold"], errors="coerce")
    bad = ~((old["split"] == "test") & (fold == -1) | (old["split"] != "test")
            & fold.between(0, n_folds - 1) & (fold % 1 == 0))
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ValueError(f"{flag} line {row + 2} ({old['path'].iloc[row]}): fold "
                         f"{str(old['fold'].iloc[row])!r} is not -1 (test) or 0..{n_folds - 1}")
    return old.assign(fold=fold.astype(int))


def check_photos(frame: pd.DataFrame, data_dir: str | Path) -> None:
    """Make sure the manifest's photos are under ``data_dir`` before any work starts.

    Raises:
        FileNotFoundError: ``data_dir`` is missing, or some photos are not in it (a wrong
            ``--data`` for this manifest otherwise fails deep inside a loader worker).
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise no_folder(data_dir)
    missing = [p for p in frame["path"] if not (root / p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(frame)} photos of the manifest are not under {data_dir} "
            f"(first: {missing[0]}); pass the photo folder the manifest was built from")


def unused_photos_note(frame: pd.DataFrame, data_dir: str | Path) -> str | None:
    """What a resumed run says of the photos under ``data_dir`` its manifest does not hold.

    A resumed run trains on its ``manifest.csv``: photos added to ``--data`` since it
    started were left out unsaid. Paths only (a scan, no decoding or hashing), so photos
    the cleaning dropped when the manifest was built (duplicates, unreadable) count too.

    Returns:
        str | None: one line naming how many, the first, and how to use them; None when
            every photo found is in ``frame``.
    """
    from mushroom.data import CleaningReport, scan

    known = set(frame["path"])
    unused = [path for path, _ in scan(Path(data_dir), CleaningReport()) if path not in known]
    if not unused:
        return None
    return (f"{len(unused)} photo{'s' * (len(unused) > 1)} under {data_dir} "
            f"{'are' if len(unused) > 1 else 'is'} not in the run's manifest.csv (added since "
            f"the run started, or left out when it was built; first: {unused[0]}): a resumed "
            "run trains on its manifest only; to train on them, start afresh (--overwrite "
            "instead of --resume)")
