"""``python -m mushroom train``: flags -> :class:`TrainConfig` -> :func:`mushroom.pipeline.run`.

Kept apart from :mod:`mushroom.train` so that ``python -m mushroom --help`` does not load torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from mushroom.cli import add_data_flag, add_overwrite_flag, check_run_out
from mushroom.config import (CalibConfig, DataConfig, TrainConfig, add_calib_flags, at_least,
                             calib_from_flags)
from mushroom.manifest_cli import keep_split_help
from mushroom.taxonomy import GENERA

ARCH_NAMES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "mobilenet_v2",
              "resnet18", "resnet34")
"""The keys of :data:`mushroom.models.ARCHS`, named here so that ``--help`` needs no torch."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``train`` and ``calibrate``."""
    p = sub.add_parser("train", help="staged fine-tuning of a pretrained CNN on the genera")
    add_data_flag(p)
    p.add_argument("--out", required=True,
                   help="run folder to write (model.pt, reports, manifest.csv)")
    p.add_argument("--arch", default=TrainConfig.arch, help=f"backbone: {', '.join(ARCH_NAMES)}")
    p.add_argument("--weights", default=None,
                   help="local ImageNet weights file (required for the ResNets)")
    p.add_argument("--labels", default=None, help="expert label store to apply (labels/)")
    p.add_argument("--manifest", default=None,
                   help="manifest CSV to use instead of scanning --data")
    # --seed here seeds training; the manifest train builds keeps manifest's default split seed
    seed = f"drawn with the split seed {DataConfig.seed} (not --seed: `manifest --seed` picks one)"
    p.add_argument("--keep-split", default=None, metavar="OLD.csv",
                   help=keep_split_help(seed) + " (see `manifest --keep-split`)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    _add_recipe_flags(p)
    p.add_argument("--tta", default=None,
                   help="test-time views for the shipped outputs, e.g. 256,288 (default: one "
                        "centre view); see `calibrate --tta`")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the interrupted run in --out from its train_state.pt "
                            "(give the flags it was started with; its manifest.csv is reused)")
    add_overwrite_flag(again)
    p.set_defaults(func=run_cli)
    _add_calibrate_parser(sub)


def _add_recipe_flags(p: argparse.ArgumentParser) -> None:
    """The flags that become :class:`TrainConfig` fields: seeds, sizes, epochs, losses."""
    p.add_argument("--seed", type=int, default=0, help="training seed (data order, augmentation)")
    p.add_argument("--init-seed", type=int, default=0,
                   help="seed of the new layers' init; keep it fixed across soup ingredients")
    p.add_argument("--workers", type=at_least(0), default=TrainConfig.workers,
                   help="photo-decoding worker processes")
    p.add_argument("--batch-size", type=at_least(1), default=TrainConfig.batch_size,
                   help="photos per optimizer step in the stages that train on photos")
    p.add_argument("--epochs", default=None,
                   help="comma-separated epochs per stage, default 30,30,8,15")
    p.add_argument("--cv", type=int, default=0,
                   help=f"also run {DataConfig.n_folds}-fold CV over the manifest's folds "
                        "(out-of-fold probs); 0: none")
    p.add_argument("--max-images", type=at_least(1), default=None,
                   help=f"cap the training photos for a quick smoke run: the cap is split "
                        f"evenly over the {len(GENERA)} genera, whole photos, at least one "
                        f"each (100 gives {100 // len(GENERA) * len(GENERA)}, 5 gives "
                        f"{len(GENERA)}); validation and test photos are all kept")
    p.add_argument("--input-size", type=at_least(32), default=None,
                   help="side of the square input in pixels (default: the backbone's, 224 "
                        "for efficientnet_lite0)")
    p.add_argument("--freeze-bn-stats", action="store_true",
                   help="keep BatchNorm running statistics frozen in unfrozen stages too")
    p.add_argument("--poison-rule-weight", type=at_least(0.0, float),
                   default=TrainConfig.poison_rule_weight,
                   help="weight of -log P(poisonous genera) on poisonous photos")


def _add_calibrate_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``calibrate``: a finished run's thresholds, detector and conformal sets again."""
    c = sub.add_parser("calibrate", help="re-tune thresholds, detector and conformal sets "
                                         "of a finished run without retraining")
    c.add_argument("--run", required=True,
                   help="run folder written by `train`; its model.pt and reports are updated "
                        "in place (the trained weights are kept)")
    add_data_flag(c, required=False,
                  help="photo root: recompute train/val/test outputs from the saved "
                       "checkpoint on the CPU first (what the app will see)")
    add_calib_flags(c)
    c.set_defaults(func=calibrate_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Build the config from flags and run the pipeline; return the exit status (0).

    Raises:
        ValueError: ``--out`` already holds a run and neither ``--overwrite`` nor
            ``--resume`` was given (refused before anything is written), or a bad flag.
    """
    from mushroom.pipeline import run
    from mushroom.train import pick_device

    if not args.resume:  # before the run's manifest.csv is replaced, hours before model.pt
        check_run_out(args.out, args.overwrite, resumable=True)
    pick_device(args.device)  # a bad --device is refused before the photos are scanned
    cfg = train_config(args)
    from mushroom.tta import parse

    views = parse(args.tta)
    calib = CalibConfig(tta_sizes=views.sizes if views else ())
    try:
        run(args.data, args.out, cfg, calib, DataConfig(keep_split=args.keep_split),
            labels_dir=args.labels, manifest=args.manifest, resume=args.resume)
    except (KeyboardInterrupt, OSError):  # Ctrl-C, or a full disk, hours into the run
        from pathlib import Path

        from mushroom.resume import FOLDS_STOPPED, STATE_NAME

        state = Path(args.out) / STATE_NAME
        if state.is_file():
            print(f"progress is saved in {state}: run the same command with --resume to "
                  "continue", file=sys.stderr)
        elif args.cv and (Path(args.out) / "model.pt").is_file():
            print(f"{FOLDS_STOPPED} (in {args.out})", file=sys.stderr)
        raise
    return 0


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` that ``train``'s flags ask for.

    Raises:
        ValueError: flags that do not go together, a --cv other than the manifest's folds,
            or unreadable --epochs.
    """
    if args.manifest and args.labels:
        raise ValueError("--labels is not applied to a --manifest, which keeps the labels it "
                         "was built with: build it with `python -m mushroom manifest --labels "
                         f"{args.labels}`, or give --labels without --manifest")
    if args.manifest and args.keep_split:
        raise ValueError("--keep-split is not applied to a --manifest, which keeps its own split: "
                         f"build it with `python -m mushroom manifest --keep-split "
                         f"{args.keep_split}`, or give --keep-split without --manifest")
    if args.cv and args.cv != DataConfig.n_folds:
        raise ValueError(f"--cv must be {DataConfig.n_folds} (the manifest's folds), or 0 for "
                         f"no cross-validation; not {args.cv}")
    cfg = TrainConfig(arch=args.arch, weights=args.weights, device=args.device, seed=args.seed,
                      init_seed=args.init_seed,
                      workers=args.workers, batch_size=args.batch_size, cv_folds=args.cv,
                      max_train_images=args.max_images, input_size=args.input_size,
                      freeze_bn_stats=args.freeze_bn_stats,
                      poison_rule_weight=args.poison_rule_weight)
    if args.epochs:
        epochs = parse_epochs(args.epochs, len(cfg.stages))
        cfg.stages = [dataclasses.replace(s, epochs=e) for s, e in zip(cfg.stages, epochs)
                      if e > 0]
    return cfg


def parse_epochs(text: str, n_stages: int) -> list[int]:
    """``"30,30,8,15"`` -> epochs per stage.

    Raises:
        ValueError: not ``n_stages`` whole numbers >= 0, or all of them 0 (nothing trained).
    """
    parts = text.split(",")
    if len(parts) != n_stages or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--epochs needs {n_stages} comma-separated whole numbers (epochs per "
                         f"stage, e.g. 30,30,8,15), not {text!r}")
    epochs = [int(p) for p in parts]
    if not any(epochs):
        raise ValueError("--epochs: every stage has 0 epochs, so nothing would be trained")
    return epochs


def calibrate_cli(args: argparse.Namespace) -> int:
    """Recalibrate a finished run from its saved outputs."""
    from mushroom.recalibrate import recalibrate

    recalibrate(args.run, calib_from_flags(args), args.data)
    return 0
