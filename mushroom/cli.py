"""Command line: ``python -m mushroom manifest | train | calibrate | soup | evaluate | ...``.

Each command lives in its own module, which exposes ``add_parser(subparsers)``; this file
only collects them. Errors a user can fix exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("mushroom.manifest_cli", "mushroom.train_cli", "mushroom.evaluate",
                   "mushroom.review", "mushroom.labels_cli",
                   "mushroom.soup", "mushroom.rebalance", "mushroom.distill",
                   "mushroom.baseline", "mushroom.margin")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subcommand per available module."""
    parser = argparse.ArgumentParser(prog="python -m mushroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
