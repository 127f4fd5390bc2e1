"""The danger rules of :func:`mushroom.verdict.decide` over arrays of N photos at once.

Evaluation, calibration (the choice of tau), the margin study and finds of several photos
all flag photos here, so they flag exactly the photos the app would call poisonous: one
photo through :func:`~mushroom.verdict.decide`, N photos through :func:`poison_flags`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mushroom.taxonomy import poisonous_index


def poison_probabilities(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """:func:`~mushroom.verdict.poison_probability` of N photos at once, summed in float64
    as it does.

    Args:
        probs: (N, C) genus probabilities, columns in ``classes`` order.
        classes: genus names in output order.
    """
    return np.asarray(probs, dtype=np.float64)[:, poisonous_index(classes)].sum(axis=1)


def flags_from_scores(p_poison: np.ndarray, top1_poisonous: np.ndarray, tau: float,
                      poison_head: np.ndarray | None = None,
                      head_tau: float | None = None) -> np.ndarray:
    """The danger rules of :func:`~mushroom.verdict.decide` over N photos, from their
    poison scores.

    A photo is flagged when P(poisonous) >= tau, when its top-1 genus is poisonous, or when
    ``head_tau`` is given and the poison head reaches it.

    Args:
        p_poison: (N,) P(poisonous) (:func:`poison_probabilities`).
        top1_poisonous: (N,) True where the most probable genus is poisonous.
        tau: the threshold on ``p_poison``.
        poison_head: (N,) the poison head's probabilities, if the model has one.
        head_tau: the threshold on ``poison_head``; None leaves the head out.
    """
    # float64 like verdict.decide(): a float32 head would compare with tau rounded to float32
    flags = np.asarray(p_poison, dtype=np.float64) >= tau
    if poison_head is not None and head_tau is not None:
        flags |= np.asarray(poison_head, dtype=np.float64) >= head_tau
    return flags | np.asarray(top1_poisonous, dtype=bool)


def poison_flags(probs: np.ndarray, classes: Sequence[str], tau: float,
                 poison_head: np.ndarray | None = None,
                 head_tau: float | None = None) -> np.ndarray:
    """Which of N photos :func:`~mushroom.verdict.decide` calls poisonous when each is
    recognized.

    Args:
        probs: (N, C) calibrated genus probabilities, columns in ``classes`` order.
        classes: genus names in output order.
        tau: the threshold on P(poisonous).
        poison_head: (N,) the poison head's probabilities, if the model has one.
        head_tau: the threshold on ``poison_head``; None leaves the head out.
    """
    return flags_from_scores(poison_probabilities(probs, classes),
                             top1_poisonous(probs, classes), tau, poison_head, head_tau)


def top1_poisonous(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """(N,) True where :func:`~mushroom.verdict.top_genus` of a row of (N, C) ``probs`` is
    poisonous."""
    raw = np.asarray(probs, dtype=np.float64)
    p = np.where(np.isfinite(raw), raw, -1.0)
    top = (p >= p.max(axis=1, keepdims=True)) & np.isfinite(raw)
    return top[:, poisonous_index(classes)].any(axis=1)
