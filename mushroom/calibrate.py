"""Temperature scaling and the poison threshold tau. Pure numpy.

tau rule: every poisonous calibration photo must be flagged, so tau is at most the lowest
P(poisonous) among them; a multiplicative safety margin then lowers it further, because a
small validation set rarely contains the hardest poisonous photo of the held-out world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under tempered softmax."""
    p = softmax(logits, temperature)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimizing validation NLL (log-spaced grid, then a finer grid).

    A grid is used instead of LBFGS because it cannot diverge on tiny or separable sets.
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        return 1.0
    grid = np.exp(np.linspace(np.log(0.2), np.log(10.0), 121))
    best = grid[int(np.argmin([nll(logits, labels, t) for t in grid]))]
    fine = np.linspace(best * 0.95, best * 1.05, 41)
    return float(fine[int(np.argmin([nll(logits, labels, t) for t in fine]))])


@dataclass(frozen=True)
class TauChoice:
    """The chosen poison threshold and what it costs."""

    tau: float  # flag a photo when its poison score >= tau
    lowest_poisonous: float  # smallest poison score of a poisonous calibration photo
    recall: float  # share of poisonous calibration photos flagged at tau (1.0 by design)
    pass_rate: float  # share of edible-genus calibration photos NOT flagged at tau
    n_poisonous: int  # poisonous photos the choice rests on
    n_edible: int  # edible-genus photos the pass rate rests on


def choose_tau(scores: np.ndarray, is_poisonous: np.ndarray, margin: float = 0.5,
               min_tau: float = 0.02, max_tau: float = 0.5) -> TauChoice:
    """Pick tau so that every poisonous calibration photo is flagged, with a safety margin.

    Args:
        scores: poison score per photo (summed poisonous-genus probability, or poison head).
        is_poisonous: True where the photo's true genus is poisonous.
        margin: tau = margin * (lowest poisonous score); 1.0 means no margin.
        min_tau: floor, so a single hopeless photo cannot make everything "poisonous".
        max_tau: ceiling, so a poisonous photo is flagged well before it becomes top-1.

    Returns:
        A :class:`TauChoice` with the threshold, its recall and the edible pass rate.
    """
    scores = np.asarray(scores, dtype=float)
    mask = np.asarray(is_poisonous, dtype=bool)
    lowest = float(scores[mask].min()) if mask.any() else max_tau
    tau = float(np.clip(margin * lowest, min_tau, max_tau))
    recall = float((scores[mask] >= tau).mean()) if mask.any() else 1.0
    edible = scores[~mask]
    pass_rate = float((edible < tau).mean()) if len(edible) else float("nan")
    return TauChoice(tau, lowest, recall, pass_rate, int(mask.sum()), int((~mask).sum()))


def pass_rate_at_full_recall(scores: np.ndarray, is_poisonous: np.ndarray) -> float:
    """Edible-genus pass rate at the largest threshold that still flags every poisonous photo.

    Used to compare two poison signals (genus-sum rule vs poison head) on equal terms.
    """
    return choose_tau(scores, is_poisonous, margin=1.0, min_tau=0.0, max_tau=1.0).pass_rate
