"""``python -m mushroom review-queue``: score the labeled photos and cache the review queue.

The queue itself (suspicion order, caching, the review state) is :mod:`mushroom.review`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mushroom.cli import add_data_flag, check_out_dir
from mushroom.config import at_least
from mushroom.review import (CACHE_NAME, DEFAULT_OOF, TIER_NAMES, QueueConfig, build_queue,
                             load_queue, shipped_oof_fits)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``review-queue``."""
    from mushroom.paths import DEFAULT_MODEL

    p = sub.add_parser("review-queue", help="score labeled photos and cache the review queue")
    add_data_flag(p)
    p.add_argument("--labels", required=True, help="label store folder (labels/)")
    p.add_argument("--model", default=str(DEFAULT_MODEL),
                   help="checkpoint that scores photos (default: the shipped assets/model.pt)")
    p.add_argument("--oof", default=None,
                   help="out-of-fold probabilities CSV, preferred when present; 'none': score "
                        "every photo with --model (default: assets/oof_predictions.csv, the "
                        "shipped model's: refused beside another --model)")
    p.add_argument("--out", default=None, help=f"cache file (default: LABELS/{CACHE_NAME})")
    p.add_argument("--batch-size", type=at_least(1), default=QueueConfig.batch_size,
                   help="photos per forward pass")
    p.set_defaults(func=run)


def check_shipped_oof(model: str) -> None:
    """Refuse the shipped out-of-fold file (the default ``--oof``) beside another model: it
    would score every photo it covers, leaving ``--model`` next to nothing to score.

    Raises:
        ValueError: ``model`` is a file whose content is not the shipped model's.
    """
    if shipped_oof_fits(model):  # the Review tab's Build queue applies the same rule
        return
    raise ValueError(f"--model {model} is not the shipped model, whose out-of-fold "
                     f"probabilities ({DEFAULT_OOF}, the default --oof) would score the photos "
                     "they cover: give --oof none to score every photo with --model, or --oof "
                     "with its own out-of-fold CSV")


def run(args: argparse.Namespace) -> int:
    """Build the cache with a progress bar and print how the queue splits into tiers."""
    from tqdm.auto import tqdm

    from mushroom.labels import read_store
    from mushroom.paths import DEFAULT_MODEL

    oof = None if args.oof and args.oof.lower() == "none" else args.oof or str(DEFAULT_OOF)
    for flag, value, default in (("--oof", oof, DEFAULT_OOF),
                                 ("--model", args.model, DEFAULT_MODEL)):
        if value not in (None, str(default)) and not Path(value).is_file():  # no silent fallback
            what = "a folder, not a file" if Path(value).is_dir() else "no such file"
            raise FileNotFoundError(f"{flag} {value}: {what} ('none' for no file)"
                                    if flag == "--oof" else f"{flag} {value}: {what}")
    if args.oof is None:
        check_shipped_oof(args.model)
    out = Path(args.out) if args.out else Path(args.labels) / CACHE_NAME
    for flag, folder in (("--labels", args.labels), ("--out", out.parent)):
        check_out_dir(folder, flag)  # now, not after every photo is scored
    if Path(args.labels).is_dir():
        read_store(args.labels)  # a hand-broken store, too
    cfg = QueueConfig(batch_size=args.batch_size)
    counts = build_queue(args.data, out, args.model, oof, cfg,
                         progress=lambda it: tqdm(it, desc="scoring photos", unit="batch"))
    queue = load_queue(out, args.labels, cfg)
    tiers = queue["tier"].value_counts()
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    for tier, name in enumerate(TIER_NAMES):
        print(f"  tier {tier} ({name}): {int(tiers.get(tier, 0))}")
    print(f"  reviewed: {int((queue['votes'] > 0).sum())} / {len(queue)}")
    print(f"wrote {out}")
    return 0
