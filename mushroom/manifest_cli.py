"""``python -m mushroom manifest --data DIR [--labels DIR] [--keep-split OLD.csv] --out
manifest.csv``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mushroom.atomic import write_atomic
from mushroom.cli import add_data_flag, check_csv_out
from mushroom.config import DataConfig
from mushroom.data import build_manifest
from mushroom.split import check_genera, split_gaps


def keep_split_help(drawn: str = "drawn (with --seed)") -> str:
    """``--keep-split``'s help, saying how new groups are ``drawn`` (train words it apart)."""
    return ("an earlier manifest (e.g. the last run's manifest.csv): its photos keep their "
            "split and fold, a new near-duplicate of one joins it, and only new groups are "
            f"{drawn}, so no photo moves between the splits")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``manifest`` subcommand."""
    p = sub.add_parser("manifest", help="clean, group and split a <Genus>/*.jpg folder")
    add_data_flag(p)
    p.add_argument("--labels", default=None, help="expert label store to apply (labels/)")
    p.add_argument("--out", required=True, help="manifest CSV to write")
    p.add_argument("--seed", type=int, default=DataConfig.seed, help="split seed")
    p.add_argument("--keep-split", default=None, metavar="OLD.csv", help=keep_split_help())
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the manifest, print the cleaning report and per-split counts; warn when a
    genus the model must learn has no photos (an empty, missing or misspelt folder)."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)  # an unwritable --out fails before the scan
    check_csv_out(out)
    cfg = DataConfig(seed=args.seed, keep_split=args.keep_split)
    frame, report = build_manifest(args.data, cfg, args.labels)
    # whole or untouched: a full disk must not leave a truncated manifest that reads as a
    # smaller valid one (`train --manifest` would train on it)
    write_atomic(out, lambda f: frame.to_csv(f, index=False))
    print(report.summary())
    print(frame.groupby(["genus", "split"]).size().unstack(fill_value=0).to_string())
    print(f"wrote {out} ({len(frame)} rows)")
    for warning in split_gaps(frame):
        print(warning, file=sys.stderr)
    try:  # a manifest for `evaluate` may hold some genera only; one for `train` may not
        check_genera(frame, report.dropped)
    except ValueError as err:
        print(f"warning: `train --manifest {out}` will refuse it: {err}", file=sys.stderr)
    return 0
