"""Typed configuration: data cleaning and splitting, the staged recipe, calibration.

Every knob of the pipeline lives here with a comment saying what it does. The CLI builds
these from flags; the checkpoint stores them (``dataclasses.asdict``) so a run can be
reproduced from the checkpoint alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from mushroom.verdict import UNCERTAIN_TOP1


@dataclass
class DataConfig:
    """How photos are cleaned, grouped and split."""

    seed: int = 42  # drives the split; same seed + same photos -> same split
    val_frac: float = 0.15  # share of near-duplicate groups (per genus) sent to validation
    test_frac: float = 0.15  # share of groups (per genus) sent to the test split
    n_folds: int = 5  # cross-validation folds over train+val, also grouped and stratified
    min_side: int = 64  # photos whose shorter side is below this are dropped as too small
    max_pixels: int = 40_000_000  # larger photos are refused (decompression-bomb guard)
    phash_distance: int = 6  # perceptual hashes within this Hamming distance are near-duplicates
    keep_split: str | None = None  # earlier manifest whose photos keep their split (--keep-split)


@dataclass
class Stage:
    """One step of the study's staged fine-tuning recipe."""

    name: str  # shown in logs and the report
    trainable: tuple[str, ...]  # submodules to unfreeze, from mushroom.models.GROUPS
    epochs: int  # epochs spent in this stage
    lr: float  # peak AdamW learning rate (cosine decay inside the stage)
    cached: bool = False  # backbone frozen: train on cached features (much faster on CPU)


def default_stages() -> list[Stage]:
    """The study's recipe: head, + intermediate layer, upper half, everything.

    Epochs 30, 30, 8, 15 take about 27 minutes on a 2-core CPU (the 60-minute budget); the
    shorter 30, 30, 6, 6 took 14.4 minutes but scored lower on validation (MODEL_CARD.md).
    """
    return [
        Stage("1-head", ("head", "poison_head"), epochs=30, lr=3e-3, cached=True),
        Stage("2-adapter", ("head", "poison_head", "adapter"), epochs=30, lr=1e-3, cached=True),
        Stage("3-upper-half", ("head", "poison_head", "adapter", "upper"), epochs=8, lr=5e-4),
        Stage("4-all", ("head", "poison_head", "adapter", "upper", "lower"), epochs=15, lr=2e-4),
    ]


@dataclass
class TrainConfig:
    """Everything `python -m mushroom train` needs besides the data."""

    arch: str = "efficientnet_lite0"  # a name from mushroom.models.ARCHS
    weights: str | None = None  # local ImageNet weights file (required for resnet18/34)
    stages: list[Stage] = field(default_factory=default_stages)  # the staged recipe
    batch_size: int = 32  # images per optimizer step in unfrozen stages
    cached_batch_size: int = 128  # feature vectors per step in cached stages
    cache_views: int = 4  # augmented views per training photo kept in the feature cache
    weight_decay: float = 0.02  # AdamW decoupled weight decay
    label_smoothing: float = 0.05  # cross-entropy label smoothing (helps calibration)
    poison_rule_weight: float = 0.5  # weight of -log P(poisonous group) on poisonous photos
    poison_loss_weight: float = 0.5  # weight of the poison head's binary cross-entropy: the
    # head is an auxiliary task, the genus head leads
    balance: str = "sampler"  # "sampler" (class-balanced sampling), "loss" (weighted CE), "none"
    balance_power: float = 0.5  # sampling weight ~ count^-power; 1 = fully balanced
    adapter_dim: int = 256  # width of the added intermediate (bottleneck) layer
    dropout: float = 0.2  # dropout before the output layer
    workers: int = 2  # DataLoader worker processes
    seed: int = 0  # torch / numpy / sampler seed (data order, augmentation, dropout)
    init_seed: int = 0  # seeds the new layers' init; keep it equal across runs meant for a soup
    device: str = "auto"  # "auto" picks CUDA when present, else CPU
    max_train_images: int | None = None  # cap for smoke tests; None uses all
    input_size: int | None = None  # training/inference side in pixels; None = backbone default
    freeze_bn_stats: bool = False  # True keeps every BatchNorm's running statistics frozen
    cv_folds: int = 0  # >0: also run k-fold CV on train+val for out-of-fold predictions


@dataclass
class CalibConfig:
    """How probabilities are calibrated and the poison threshold tau is set."""

    margin: float = 0.4  # tau = margin x lowest poisonous calibration score (safety cushion);
    # 0.4 maximises the chance of recall 1.0 *and* pass rate >= 0.60 on new photos
    # (`python -m mushroom margin`, MODEL_CARD "Poison threshold")
    logit_adjust: bool = True  # fold alpha x log(train prior) into the head; alpha from val
    tau_from_oof: bool = True  # False: out-of-fold outputs of other models (a soup's first
    # run's folds) only widen rare-genus conformal sets; tau and the signal come from val
    min_tau: float = 0.0  # floor on tau; above 0 it may break recall 1.0 on calibration data
    max_tau: float = 0.5  # never demand more than this P(poisonous) to flag
    veto: float = 0.5  # threshold kept by the poison signal (genus-sum rule or poison head)
    # that is not shipped as primary: any poison signal wins, this one only when it is sure
    uncertain_max_prob: float = UNCERTAIN_TOP1  # top-1 below this -> verdict "uncertain"
    conformal_alpha: float = 0.05  # 1 - target coverage of prediction sets
    tta_sizes: tuple[int, ...] | None = None  # test-time view sides in px, averaged per photo;
    # () or None: one centre view (train); None in `calibrate`: keep the checkpoint's views
    tta_flip: bool = True  # with tta_sizes, also average each view's mirror image

    def __post_init__(self) -> None:
        """Refuse settings that would put tau above the lowest poisonous score by design.

        Raises:
            ValueError: margin outside (0, 1], or not 0 <= min_tau <= max_tau <= 1.
        """
        if not 0 < self.margin <= 1:
            raise ValueError(f"margin must be in (0, 1] (tau = margin x the lowest poisonous "
                             f"score; above 1 misses poisonous photos), not {self.margin}")
        if not 0 <= self.min_tau <= self.max_tau <= 1:
            raise ValueError(f"need 0 <= min_tau <= max_tau <= 1, not min_tau {self.min_tau}, "
                             f"max_tau {self.max_tau}")

    def tta(self):
        """The :class:`mushroom.tta.TTA` these fields describe, or None for one view."""
        from mushroom.tta import TTA

        return TTA(tuple(self.tta_sizes), self.tta_flip) if self.tta_sizes else None


def option(default, help: str):
    """A dataclass field whose ``--flag`` (see :func:`add_config_flags`) says ``help``."""
    return field(default=default, metadata={"help": help})


def at_least(low: int | float, kind: type = int) -> Callable[[str], int | float]:
    """An argparse ``type``: a ``kind`` number no smaller than ``low``.

    A batch of 0 photos, -1 workers or an 8-px input otherwise passed the parser and failed
    after the photo scan, in torch's words or in a traceback; a negative loss weight
    trained the wrong way without a word. argparse names the flag and exits 2.
    """
    def parse(text: str) -> int | float:
        value = kind(text)  # a ValueError: argparse says "invalid int value"
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def add_config_flags(parser: argparse.ArgumentParser, config) -> None:
    """One ``--flag`` per field of the dataclass instance ``config``, defaulting to its value.

    Booleans become ``--flag/--no-flag``; the help is the field's (:func:`option`), and the
    parser's formatter adds the default.
    """
    for f in fields(config):
        name, default = f.name, getattr(config, f.name)
        flag = f"--{name.replace('_', '-')}"
        doc = f.metadata.get("help", name.replace("_", " "))
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=doc)
        else:
            # every number of these recipes (epochs, rates, weights, sizes) is >= 0
            kind = type(default)
            parser.add_argument(flag, type=at_least(0, kind) if kind in (int, float) else kind,
                                default=default, help=doc)


def config_from_flags(cls, args: argparse.Namespace):
    """The ``cls`` dataclass built from the flags :func:`add_config_flags` registered."""
    return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def add_calib_flags(parser: argparse.ArgumentParser) -> None:
    """The recalibration flags shared by ``calibrate``, ``distill`` and ``rebalance``."""
    parser.add_argument("--margin", type=float, default=CalibConfig.margin,
                        help="tau = margin x lowest poisonous score")
    parser.add_argument("--min-tau", type=float, default=CalibConfig.min_tau,
                        help="floor on tau; above the lowest poisonous validation score it "
                             "leaves poisonous photos unflagged (the report's poison_recall)")
    parser.add_argument("--oof-sets-only", action="store_true",
                        help="out-of-fold outputs widen rare-genus conformal sets but do not "
                             "set tau (for a soup, whose out-of-fold outputs come from other "
                             "models)")
    parser.add_argument("--no-logit-adjust", action="store_true",
                        help="remove the prior correction of the genus logits (alpha = 0)")
    parser.add_argument("--tta", default=None,
                        help="test-time views averaged per photo: comma-separated sides in px, "
                             "each also mirrored (e.g. 256,288), or 'none' for one centre "
                             "view; default keeps the checkpoint's; changing them needs --data")


def calib_from_flags(args: argparse.Namespace) -> CalibConfig:
    """The :class:`CalibConfig` built from the flags :func:`add_calib_flags` registered.

    Raises:
        ValueError: ``--tta`` is not a list of pixel sizes or 'none'.
    """
    from mushroom.tta import parse

    sizes = None
    if args.tta is not None:
        views = parse(args.tta)
        sizes = views.sizes if views else ()
    return CalibConfig(margin=args.margin, min_tau=args.min_tau,
                       logit_adjust=not args.no_logit_adjust,
                       tau_from_oof=not args.oof_sets_only, tta_sizes=sizes)
