"""k-fold cross-validation of a training run's recipe over its train and validation photos.

The out-of-fold predictions re-tune the run's poison threshold (``CalibConfig.tau_from_oof``),
widen the rare genera's conformal thresholds and feed the review queue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mushroom import calibrate as cal
from mushroom import prior
from mushroom.atomic import staged_set
from mushroom.config import TrainConfig
from mushroom.taxonomy import GENERA


def cross_validate(data_dir: Path, frame: pd.DataFrame, cfg: TrainConfig, device,
                   log=print) -> dict:
    """k-fold CV over train+val: out-of-fold logits, poison logits and targets per photo."""
    from mushroom.engine import evaluate
    from mushroom.train import Loaders, fit, new_model, seed_everything

    pool = frame[frame["fold"] >= 0]
    parts = []
    for k in range(cfg.cv_folds):
        log(f"--- CV fold {k + 1}/{cfg.cv_folds}")
        seed_everything(cfg.seed + 100 + k)
        model = new_model(cfg)
        loaders = Loaders(data_dir, model, cfg, device)
        held = pool[pool["fold"] == k]
        model, _ = fit(model, loaders, pool[pool["fold"] != k], None, cfg, device, log)
        out = evaluate(model, loaders.photos(held, train=False), device, desc=f"fold {k}")
        out["index"] = held.index.to_numpy()
        parts.append(out)
    oof = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    oof["targets"] = oof["targets"].astype(int)
    return oof


def oof_table(frame: pd.DataFrame, oof: dict) -> pd.DataFrame:
    """Out-of-fold probabilities per photo (for the review queue and the model card)."""
    temp = cal.fit_temperature(oof["logits"], oof["targets"])
    probs = cal.softmax(oof["logits"], temp)
    table = frame.loc[oof["index"], ["path", "image_id", "genus", "fold"]].reset_index(drop=True)
    for i, g in enumerate(GENERA):
        table[f"p_{g}"] = probs[:, i].round(5)
    return table


def save_oof(out: Path, frame: pd.DataFrame, oof: dict, logit_adjustment) -> None:
    """Shift ``oof``'s logits by the run's logit adjustment (in place), as the shipped head
    has it folded in, and write ``oof_predictions.csv`` and ``oof.npz`` into ``out``.

    The pair is written whole or not at all (:func:`~mushroom.atomic.staged_set`): a Ctrl-C
    or a full disk mid-write leaves the earlier pair as it was, never a torn ``oof.npz`` or
    a new table beside the old arrays.
    """
    shift = prior.offset(logit_adjustment)
    oof["logits"] = oof["logits"] + shift.astype(oof["logits"].dtype)
    table = oof_table(frame, oof)
    with staged_set(out, ("oof_predictions.csv", "oof.npz")) as stage:
        table.to_csv(stage / "oof_predictions.csv", index=False)
        np.savez_compressed(stage / "oof.npz", **oof)
