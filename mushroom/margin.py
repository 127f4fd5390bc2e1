"""``python -m mushroom margin``: what each safety margin on tau risks and buys.

tau = margin x the lowest P(poisonous) of a poisonous calibration photo; a smaller margin
makes a miss on new photos less likely and flags more edible-genus photos. The estimates
(halving, log-normal tail, beta-binomial pass chance) are those :data:`DESCRIPTION` gives
the person at the terminal; everything but :func:`run` is pure numpy.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mushroom.metrics import poisonous_rates
from mushroom.poison_rule import flags_from_scores
from mushroom.taxonomy import POISONOUS


DESCRIPTION = """\
What each safety margin on tau risks and buys.

tau = margin x the lowest P(poisonous) of a poisonous calibration photo. A smaller margin
makes a miss on new photos less likely and flags more edible-genus photos. This command
puts numbers on both sides from evaluate's predictions.csv files (the first one is the
calibration set, as in training; all of them are pooled for the estimates):

  halving_keep   split the pooled poisonous photos in two at random many times, set tau
                 from one half, and count how often it still flags every photo of the
                 other half;
  tail_miss      a log-normal fitted to the poison scores of the poisonous photos whose
                 top-1 genus is edible (the only ones tau decides; a poisonous top-1 is
                 flagged anyway), giving the chance of at least one miss among
                 --holdout-poisonous new photos;
  p_pass_target  the chance that --holdout-edible new edible-genus photos pass at
                 --target-pass or better, from a beta-binomial on the pooled pass count.

The release target it serves: recall 1.000 and pass rate (specificity) >= 0.60 on a
held-out set."""
"""The command's --help, in plain text (argparse prints it as written)."""


@dataclass
class MarginConfig:
    """What the sweep assumes about the held-out set and how hard it samples."""

    margins: tuple[float, ...] = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.75, 1.0)  # rows
    holdout_poisonous: int = 150  # poisonous photos in the set the release is judged on
    holdout_edible: int = 175  # edible-genus photos in that set
    target_pass: float = 0.60  # the pass rate (specificity) the release must reach
    halvings: int = 2000  # random halvings for the "halving" column
    draws: int = 20000  # beta-binomial draws for the "pass" column
    seed: int = 0  # with the margin, seeds each row's two Monte Carlo columns (reproducible)


def halving_keep_rate(scores: np.ndarray, always: np.ndarray, margin: float,
                      halvings: int, rng: np.random.Generator) -> float:
    """Share of random halvings where tau from one half flags every photo of the other.

    Args:
        scores: P(poisonous) of the pooled poisonous photos.
        always: True where a photo is flagged whatever tau is (poisonous top-1 genus).
        margin: tau = margin x the lowest score of the calibration half.
        halvings: how many random halvings.
        rng: the random generator.
    """
    scores, always = np.asarray(scores, float), np.asarray(always, bool)
    half = len(scores) // 2
    kept = 0
    for _ in range(halvings):
        order = rng.permutation(len(scores))
        tau = margin * scores[order[:half]].min()
        rest = order[half:]
        kept += bool(flags_from_scores(scores[rest], always[rest], tau).all())
    return kept / halvings


def tail_miss_risk(scores: np.ndarray, always: np.ndarray, tau: float, n_new: int) -> float:
    """Chance of at least one poisonous photo below tau among ``n_new``, log-normal tail.

    Only photos with an edible top-1 can be missed; their share times the fitted chance of
    a score below tau is the per-photo risk. NaN with fewer than three such photos.
    """
    scores, always = np.asarray(scores, float), np.asarray(always, bool)
    logs = np.log(np.clip(scores[~always], 1e-12, None))
    if len(logs) < 3:
        return float("nan")
    z = (math.log(tau) - logs.mean()) / logs.std(ddof=1)
    per_photo = (~always).mean() * 0.5 * math.erfc(-z / math.sqrt(2))
    return float(1 - (1 - per_photo) ** n_new)


def pass_probability(n_pass: int, n_edible: int, n_new: int, target: float,
                     draws: int, rng: np.random.Generator) -> float:
    """Chance that ``n_new`` new edible photos pass at ``target`` or better.

    The pass rate gets a uniform-prior beta posterior from ``n_pass`` of ``n_edible``; each
    draw then samples a held-out set of ``n_new`` photos.
    """
    rates = rng.beta(n_pass + 1, n_edible - n_pass + 1, draws)
    return float((rng.binomial(n_new, rates) >= math.ceil(target * n_new - 1e-9)).mean())


def sweep(calibration: pd.DataFrame, pooled: pd.DataFrame, cfg: MarginConfig) -> pd.DataFrame:
    """One row per margin: tau, the two recall estimates, the pass rate and its chance.

    Both frames have ``evaluate``'s prediction columns (``true``, ``predicted``,
    ``p_poisonous``); ``calibration`` sets tau, ``pooled`` (which includes it) is scored.
    """
    cal_poison = calibration["true"].isin(POISONOUS)
    if not cal_poison.any():
        raise ValueError("the calibration predictions hold no poisonous photo")
    lowest = float(calibration.loc[cal_poison, "p_poisonous"].min())
    poison = pooled["true"].isin(POISONOUS).to_numpy()
    scores = pooled["p_poisonous"].to_numpy(float)
    always = pooled["predicted"].isin(POISONOUS).to_numpy()
    rows = []
    for margin in cfg.margins:
        # One stream per row, keyed by the margin: a row then reads the same whichever
        # other margins are swept, so each row of a quoted table can be reproduced alone.
        rng = np.random.default_rng([cfg.seed, round(margin * 1_000_000)])
        tau = margin * lowest
        flagged = flags_from_scores(scores, always, tau)
        rates = poisonous_rates(flagged, poison, tau)
        keep = halving_keep_rate(scores[poison], always[poison], margin, cfg.halvings, rng)
        tail = tail_miss_risk(scores[poison], always[poison], tau, cfg.holdout_poisonous)
        chance = pass_probability(int((~flagged & ~poison).sum()), int((~poison).sum()),
                                  cfg.holdout_edible, cfg.target_pass, cfg.draws, rng)
        rows.append({"margin": margin, "tau": tau, "recall": rates["recall"],
                     "pass_rate": rates["specificity"],
                     "halving_keep": keep, "tail_miss": tail, "p_pass_target": chance,
                     "both_halving": keep * chance, "both_tail": (1 - tail) * chance})
    return pd.DataFrame(rows)


def read_predictions(path: str) -> pd.DataFrame:
    """One ``predictions.csv`` written by ``evaluate``, with the columns the sweep needs."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:  # an empty file: refused below, by its name
        frame = pd.DataFrame()
    missing = {"true", "predicted", "p_poisonous"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path} is not evaluate's predictions.csv: missing {sorted(missing)}")
    return frame


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``margin``."""
    p = sub.add_parser("margin", help="what each safety margin on tau risks and buys",
                       description=DESCRIPTION)
    p.add_argument("--predictions", nargs="+", required=True,
                   help="evaluate's predictions.csv files; the first is the calibration set")
    p.add_argument("--margins", default=",".join(map(str, MarginConfig.margins)),
                   help="comma-separated margins to sweep")
    p.add_argument("--holdout-poisonous", type=int, default=MarginConfig.holdout_poisonous,
                   help="poisonous photos assumed in the set the release is judged on")
    p.add_argument("--holdout-edible", type=int, default=MarginConfig.holdout_edible,
                   help="edible-genus photos assumed in that set")
    p.add_argument("--target-pass", type=float, default=MarginConfig.target_pass,
                   help="pass rate (specificity) the release must reach")
    p.add_argument("--halvings", type=int, default=MarginConfig.halvings,
                   help="random halvings behind the 'halving_keep' column")
    p.add_argument("--seed", type=int, default=MarginConfig.seed,
                   help="seed of the two Monte Carlo columns")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the prediction files, sweep the margins and print the table."""
    try:
        margins = tuple(float(m) for m in args.margins.split(","))
    except ValueError:
        raise ValueError(f"--margins must be numbers separated by commas, not {args.margins!r}")
    if min(margins) <= 0 or min(args.holdout_poisonous, args.holdout_edible, args.halvings) < 1:
        raise ValueError("margins must be > 0; holdout sizes and --halvings at least 1")
    if not 0 < args.target_pass <= 1:
        raise ValueError(f"--target-pass must be in (0, 1], not {args.target_pass}")
    cfg = MarginConfig(margins, args.holdout_poisonous, args.holdout_edible, args.target_pass,
                       args.halvings, seed=args.seed)
    frames = [read_predictions(p) for p in args.predictions]
    table = sweep(frames[0], pd.concat(frames, ignore_index=True), cfg)
    print(f"tau = margin x {table.tau.iloc[0] / table.margin.iloc[0]:.4f} (lowest poisonous "
          f"score in {args.predictions[0]}); pooled over {sum(map(len, frames))} photos")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return 0
