"""Logit adjustment for the genus imbalance, folded into the genus head's bias.

Training samples a genus with weight ~ count^-0.5, so the model still leans toward the big
genera: most rare-genus errors are votes for them (Suillus read as Boletus, Agaricus as
Amanita or Lactarius). Subtracting ``alpha x log(training prior)`` from the logits moves the
decision toward the rare genera (Menon et al., 2021, "Long-tail learning via logit
adjustment"). ``alpha`` is one number chosen on validation macro-F1 from a short grid: one
offset per genus overfits the two to ten validation photos of a rare genus.

The shift is folded into the head's bias, so the adjusted model is an ordinary checkpoint;
temperature, tau, the detector and the conformal sets are then fitted on adjusted logits.
Saved ``outputs.npz`` / ``oof.npz`` logits always match the checkpoint beside them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mushroom.metrics import selection_macro_f1
from mushroom.taxonomy import GENERA

ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # 0.5 undoes the sampler's count^-0.5 reweighting


def log_prior(frame: pd.DataFrame) -> np.ndarray:
    """Log share of each genus (in ``GENERA`` order) among the training photos.

    Args:
        frame: manifest with ``genus`` and ``split`` columns.

    Returns:
        float64 array of shape (len(GENERA),); a genus absent from training counts as 1.
    """
    counts = frame.loc[frame["split"] == "train", "genus"].value_counts()
    n = np.array([max(int(counts.get(g, 0)), 1) for g in GENERA], dtype=np.float64)
    return np.log(n / n.sum())


def choose_alpha(logits: np.ndarray, targets: np.ndarray, prior: np.ndarray,
                 alphas: tuple[float, ...] = ALPHAS) -> tuple[float, dict]:
    """The ``alpha`` with the best macro-F1 of ``argmax(logits - alpha * prior)``.

    Ties go to the smaller ``alpha`` (the smaller change to the trained model).

    Returns:
        ``(alpha, {alpha: macro_f1})``.
    """
    scores = {a: selection_macro_f1(targets, (logits - a * prior).argmax(1)) for a in alphas}
    best = max(scores.values())
    return min(a for a, s in scores.items() if s >= best - 1e-12), scores


def offset(record: dict | None) -> np.ndarray:
    """The per-genus shift a stored ``logit_adjustment`` record added to the logits.

    Zero for no record or ``alpha = 0``.
    """
    record = record or {}
    if not record.get("alpha"):
        return np.zeros(len(GENERA))
    return -record["alpha"] * np.asarray(record["log_prior"], dtype=np.float64)


def fold_into_head(model, shift: np.ndarray) -> None:
    """Add ``shift`` (one value per genus) to the genus head's output bias, in place."""
    import torch

    linear = model.head[-1]
    with torch.no_grad():
        bias = linear.bias.float() + torch.as_tensor(shift, dtype=torch.float32,
                                                     device=linear.bias.device)
        linear.bias.copy_(bias.to(linear.bias.dtype))


def adjust(model, outs: dict, oof: dict | None, frame: pd.DataFrame, enabled: bool,
           previous: float = 0.0, log=print) -> dict:
    """Choose ``alpha`` on validation and apply it to the model, ``outs`` and ``oof``.

    Args:
        model: network whose head already carries ``previous`` (0 for a fresh run).
        outs: per-split outputs whose ``logits`` match ``model``; shifted in place.
        oof: out-of-fold outputs matching ``model`` (or None); shifted in place.
        frame: the run's manifest (the prior comes from its training split).
        enabled: False resets the adjustment to ``alpha = 0``.
        previous: the ``alpha`` already folded into ``model``.

    Returns:
        The record stored in the checkpoint: alpha, log prior and the validation scores.
    """
    prior = log_prior(frame)
    base = outs["val"]["logits"] + previous * prior
    alpha, scores = choose_alpha(base, outs["val"]["targets"], prior) if enabled else (0.0, {})
    delta = -(alpha - previous) * prior
    fold_into_head(model, delta)
    for part in [*outs.values(), *([oof] if oof is not None else [])]:
        part["logits"] = part["logits"] + delta.astype(part["logits"].dtype)
    log(f"logit adjustment: alpha {alpha} (validation macro-F1 by alpha: "
        f"{ {a: round(s, 4) for a, s in scores.items()} })")
    return {"alpha": alpha, "log_prior": prior.round(6).tolist(),
            "val_macro_f1": {str(a): round(s, 4) for a, s in scores.items()}}


def undo(model, meta: dict) -> None:
    """Remove the adjustment recorded in ``meta`` from ``model`` (e.g. before a soup)."""
    shift = offset(meta.get("logit_adjustment"))
    if shift.any():
        fold_into_head(model, -shift)
