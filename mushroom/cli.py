"""Command line: ``python -m mushroom manifest | train | calibrate | soup | evaluate | ...``.

Each command lives in its own module, which exposes ``add_parser(subparsers)``; this file
collects them and holds what they share: help that says each default, the ``--data`` flag,
the checks of an ``--out`` (a run folder already holding a run is refused unless given
``--overwrite``), and errors a user can fix, which exit with status 2 and a one-line
message.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

DESCRIPTION = """\
Build, train, calibrate and evaluate the mushroom genus model, and manage the
experts' label store. `python -m mushroom COMMAND --help` describes a command.
A wrong path or value exits with status 2 and a one-line message."""

COMMAND_MODULES = ("mushroom.manifest_cli", "mushroom.train_cli", "mushroom.evaluate",
                   "mushroom.review_cli", "mushroom.labels_cli",
                   "mushroom.soup", "mushroom.rebalance", "mushroom.distill",
                   "mushroom.baseline", "mushroom.margin", "mushroom.compact")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Says each option's default, unless its help already does or it has none to say;
    descriptions keep their line breaks (``margin`` lays out a table in its own)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text, default = action.help or "", action.default
        # a default of 0 is worth saying, unlike a flag's False or an empty note or list
        unsaid = default is None or default is False or default == argparse.SUPPRESS or (
            isinstance(default, (str, list, tuple)) and not default)
        if unsaid or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help says the defaults; its subcommands' parsers too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subcommand per available module."""
    parser = Parser(prog="python -m mushroom", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.add_parser(sub)
    return parser


def add_data_flag(parser: argparse.ArgumentParser, required: bool = True,
                  help: str = "photo root laid out as <Genus>/*.jpg") -> None:
    """Add ``--data``, a photo root; a wrapper such as Kaggle's ``Mushrooms/`` is entered.

    See :func:`mushroom.data.photo_root`.
    """
    from mushroom.data import photo_root

    parser.add_argument("--data", required=required, default=None, type=photo_root, help=help)


def check_csv_out(path: str | Path) -> None:
    """Refuse an ``--out`` CSV path that is an existing folder (``manifest``, ``labels export``).

    Raises:
        ValueError: ``path`` is a folder; the message quotes it as given.
    """
    if Path(path).is_dir():
        raise ValueError(f"--out {path} is a folder; give a CSV file name")


def check_out_dir(path: str | Path, flag: str = "--out") -> None:
    """Refuse an output folder that cannot be one, before any long work starts.

    Raises:
        ValueError: ``path``, or a folder above it, is an existing file.
    """
    for part in (Path(path), *Path(path).parents):
        if part.exists() and not part.is_dir():
            where = "" if part == Path(path) else f": {part}"
            raise ValueError(f"{flag} {path}{where} is a file, not a folder")


def add_overwrite_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--overwrite``, the explicit consent :func:`check_run_out` asks for."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out (its model.pt and reports); "
                             "without it such an --out is refused")


def check_run_out(path: str | Path, overwrite: bool, resumable: bool = False) -> None:
    """Refuse an ``--out`` run folder that already holds a run, before any work starts.

    A run can stand for hours of training; writing a new one over it takes ``--overwrite``.

    Args:
        path: the ``--out`` folder.
        overwrite: the user passed ``--overwrite``.
        resumable: the command has ``--resume`` (``train``), so an unfinished run's
            ``train_state.pt`` is protected too.

    Raises:
        ValueError: ``path`` holds ``model.pt`` (or, if ``resumable``, ``train_state.pt``).
    """
    from mushroom.resume import STATE_NAME

    out = Path(path)
    if overwrite:
        return
    if (out / "model.pt").is_file():
        raise ValueError(f"--out {path} already holds a finished run (model.pt): give another "
                         "--out, or add --overwrite to replace it")
    if resumable and (out / STATE_NAME).is_file():
        raise ValueError(f"--out {path} holds an unfinished run ({STATE_NAME}): add --resume "
                         "to continue it, or --overwrite to start it over")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


def run_command(func: Callable[[argparse.Namespace], int | None],
                args: argparse.Namespace) -> int:
    """Run ``func(args)``; an error a user can fix prints one line and returns 2.

    Every command line of the package (this one, ``python -m mushroom.bench``) ends here,
    so a wrong path or a file of the wrong kind never ends in a traceback.
    """
    import pickle

    try:
        return int(func(args) or 0)
    except UnicodeDecodeError as err:  # a ValueError whose text names no file
        print(f"error: expected a text (CSV) file but got binary data ({err.reason}); check "
              "the paths given as CSV files", file=sys.stderr)
    except pickle.UnpicklingError as err:
        print(f"error: not a PyTorch checkpoint or weights file ({err})".splitlines()[0],
              file=sys.stderr)
    except KeyError as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
    except FileExistsError as err:  # mkdir of a path that is a file: "[Errno 17]" says little
        name = err.filename
        is_file = name is not None and Path(name).exists() and not Path(name).is_dir()
        print(f"error: {name} is a file, not a folder" if is_file else f"error: {err}",
              file=sys.stderr)
    except (OSError, ValueError) as err:  # missing, unwritable or wrong-kind paths; bad values
        print(f"error: {err}", file=sys.stderr)
    except KeyboardInterrupt:  # Ctrl-C is a choice, not a crash: no traceback
        print("interrupted", file=sys.stderr)
        return 130
    return 2
