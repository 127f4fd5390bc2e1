"""The photo root's layout: which folders are genera, which are a system's leftovers, and
what a root without genus folders is instead (a zip, one genus, a misspelt genus).

Shared by every scan of a ``DIR/<Genus>/*.jpg`` folder (:mod:`mushroom.data`, the review
tab, the non-mushroom set of ``evaluate``).
"""

from __future__ import annotations

import difflib
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from mushroom.taxonomy import GENERA

if TYPE_CHECKING:
    import pandas as pd

GENUS_OF_FOLDER = {g.lower(): g for g in GENERA}
"""Folder name (lower-cased) -> genus: ``amanita/`` and ``AMANITA/`` are Amanita too."""


def hidden(path: Path) -> bool:
    """Dot files and folders, and the ``__MACOSX`` folder a zip made on a Mac carries.

    A Mac archive holds an AppleDouble ``._IMG_1.jpg`` beside every ``IMG_1.jpg``: with a
    photo's suffix but no photo inside, it would be reported as corrupt.
    """
    return path.name.startswith(".") or path.name == "__MACOSX"


def under_hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` or any folder between ``root`` and it is hidden (see :func:`hidden`)."""
    return any(hidden(Path(part)) for part in path.relative_to(root).parts)


def has_genus_folders(folder: Path) -> bool:
    """Whether ``folder`` holds at least one genus folder (any letter case)."""
    return any(p.is_dir() and p.name.lower() in GENUS_OF_FOLDER for p in folder.iterdir())


def no_folder(data_dir: str | Path) -> FileNotFoundError:
    """The error for a photo root that is not a folder: missing, or a file given by mistake.

    Kaggle's download is ``archive.zip``: given as ``--data`` unopened, it is named as a zip
    to unpack, not just as "a file".
    """
    if zipfile.is_zipfile(data_dir):
        return FileNotFoundError(f"data folder {data_dir} is a zip archive, not a folder: "
                                 f"unzip it first and give the folder it unpacks to")
    if Path(data_dir).exists():
        return FileNotFoundError(f"data folder {data_dir} is a file, not a folder")
    return FileNotFoundError(f"data folder not found: {data_dir}")


def folder_hint(name: str) -> str:
    """``Bolettus (Boletus misspelt?)``: a folder that is no genus, with the genus it nearly
    spells, so that a typo's photos are not left out unnoticed; a genus with a stray space,
    or a species folder (``Amanita muscaria``: sub-folders of a genus folder are read), is
    named with what to rename or move."""
    genus = GENUS_OF_FOLDER.get(name.strip().lower())
    if genus:  # the space is invisible in the list: quote the name
        return f"{name!r} (a space around {genus}: rename it {genus})"
    first = GENUS_OF_FOLDER.get(name.split()[0].lower()) if name.split() else None
    if first:
        return f"{name} (a species of {first}: move it into {first}/, whose sub-folders are read)"
    return name + misspelt(name)


def misspelt(name: str) -> str:
    """`` (Boletus misspelt?)`` when ``name`` nearly spells a genus, else ``""``: the hint
    every refusal of a genus name adds (a folder, ``labels add --genus``, the Review tab)."""
    close = difflib.get_close_matches(str(name).lower(), GENUS_OF_FOLDER, n=1, cutoff=0.75)
    return f" ({GENUS_OF_FOLDER[close[0]]} misspelt?)" if close else ""


def layout_hint(folder: Path) -> str:
    """What ``folder``, which holds no genus folder, is instead, as advice to append to the
    refusal: a zip archive never unpacked, a genus folder itself (``--data photos/Amanita``),
    or ``""``."""
    zips = sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not hidden(p) and p.suffix.lower() == ".zip")
    if zips:
        return f"; it holds {', '.join(zips[:3])}: unzip it first"
    if folder.name.lower() in GENUS_OF_FOLDER:
        parent = folder.parent if folder.parent != Path(".") else folder.resolve().parent
        return f"; {folder.name} is itself a genus folder: give the folder above it, {parent}"
    return ""


def genus_root_below(data_dir: Path, names: list[str]) -> Path | None:
    """The first folder holding genus folders in ``data_dir``'s subfolders ``names``, or a
    level below them (``k/archive/Mushrooms/<Genus>``: "found only archive" left the user to
    dig for the path to give), or None."""
    level = [data_dir / name for name in names]
    for _ in range(2):
        found = next((d for d in level if has_genus_folders(d)), None)
        if found:
            return found
        level = [d for parent in level for d in sorted(parent.iterdir())
                 if d.is_dir() and not hidden(d)]
    return None


def read_metadata(path: Path) -> pd.DataFrame | None:
    """The optional ``metadata.csv`` beside the genus folders, indexed by its ``file`` column;
    None when it has no such column or is empty.

    Raises:
        ValueError: it cannot be read, or lists a file twice; the message names the file,
            which the user never gave on the command line.
    """
    import pandas as pd

    try:
        meta = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:  # an empty file says nothing: as if it were absent
        return None
    except UnicodeDecodeError:
        why = "not UTF-8 text (save it as CSV UTF-8)"
    except pd.errors.ParserError as err:
        why = str(err).strip().splitlines()[-1]
    else:
        if "file" not in meta.columns:
            return None
        twice = meta["file"][meta["file"].duplicated()]
        if twice.empty:
            return meta.set_index("file")
        why = f"{twice.iloc[0]} is listed twice"
    raise ValueError(f"cannot read {path} (optional: species hints and near-duplicate groups; "
                     f"fix or remove it): {why}")
