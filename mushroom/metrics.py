"""Classification and safety metrics, and the evaluation report dict. Pure numpy.

Conventions follow scikit-learn so numbers can be cross-checked against it:
precision, recall or F1 with a zero denominator count as 0; macro-F1 averages over the
classes that occur in the truth or the predictions; balanced accuracy averages recall over
the classes that occur in the truth. By default a photo is *flagged* as poisonous when its
P(poisonous) (:func:`mushroom.poison_rule.poison_probabilities`) is at least the threshold;
callers that apply all the danger rules (:func:`mushroom.poison_rule.poison_flags`) pass the
flags themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mushroom.poison_rule import poison_probabilities
from mushroom.taxonomy import POISONOUS

REPORT_KEYS = ("n_images", "accuracy", "balanced_accuracy", "macro_f1", "per_class",
               "confusion_matrix", "classes", "poisonous", "ece")
"""Exactly the keys of ``report.json``; consumers may rely on this set."""


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts with rows = true class, columns = predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Element-wise ``num / den`` with 0 where ``den`` is 0 (scikit-learn's zero_division=0)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def precision_recall_f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support from a confusion matrix."""
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    precision = _safe_div(tp, cm.sum(axis=0))
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    return precision, recall, f1, support


def accuracy(cm: np.ndarray) -> float:
    """Share of photos on the diagonal."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 0.0


def balanced_accuracy(cm: np.ndarray) -> float:
    """Mean recall over the classes that have at least one true photo."""
    _, recall, _, support = precision_recall_f1(cm)
    present = support > 0
    return float(recall[present].mean()) if present.any() else 0.0


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the classes that occur as truth or as prediction.

    Classes absent from both would add a meaningless 0, which penalizes evaluating a folder
    that holds only some genera.
    """
    _, _, f1, support = precision_recall_f1(cm)
    seen = (support > 0) | (cm.sum(axis=0) > 0)
    return float(f1[seen].mean()) if seen.any() else 0.0


def selection_macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in ``y_true``: the model-selection criterion of
    training, of the logit adjustment and of head retraining (labels, not a confusion
    matrix, so it stays cheap inside epoch loops)."""
    f1s = []
    for c in np.unique(y_true):
        tp = np.sum((y_pred == c) & (y_true == c))
        denom = np.sum(y_pred == c) + np.sum(y_true == c)
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE: |confidence - accuracy| averaged over equal-width confidence bins.

    Args:
        probs: (N, C) predicted probabilities.
        y_true: (N,) true class indices.
        n_bins: number of bins over (0, 1].

    Returns:
        The bin-size-weighted mean gap, in [0, 1]; 0 for an empty input.
    """
    probs = np.asarray(probs, dtype=float)
    if len(probs) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(y_true)).astype(float)
    # Right-closed bins, so a confidence of exactly 1.0 lands in the last bin.
    bins = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    gap = 0.0
    for b in np.unique(bins):
        sel = bins == b
        gap += sel.sum() * abs(conf[sel].mean() - correct[sel].mean())
    return float(gap / len(probs))


def poisonous_rates(flagged: np.ndarray, is_poisonous: np.ndarray,
                    threshold: float) -> dict[str, float | None]:
    """Recall on poisonous photos and specificity on edible-genus photos.

    Args:
        flagged: (N,) True where the photo is flagged as poisonous.
        is_poisonous: (N,) True where the photo's true genus is poisonous.
        threshold: tau the flags were made with; reported alongside the rates.

    Returns:
        ``{"recall", "specificity", "threshold"}``; a rate is None when it has no photos to
        rest on (e.g. a folder without any poisonous genus), never a made-up 0 or 1.
    """
    flagged = np.asarray(flagged, dtype=bool)
    mask = np.asarray(is_poisonous, dtype=bool)
    recall = float(flagged[mask].mean()) if mask.any() else None
    specificity = float((~flagged[~mask]).mean()) if (~mask).any() else None
    return {"recall": recall, "specificity": specificity, "threshold": float(threshold)}


def build_report(y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str],
                 threshold: float, flagged: np.ndarray | None = None) -> dict:
    """The evaluation report with exactly :data:`REPORT_KEYS`, JSON-serializable.

    Args:
        y_true: (N,) true class indices into ``classes``.
        probs: (N, C) calibrated probabilities; the prediction is their argmax.
        classes: class names in output order (rows and columns of the confusion matrix).
        threshold: the poison threshold tau stored with the model.
        flagged: (N,) poison flags; default ``P(poisonous) >= threshold``.

    Returns:
        The report dict (see README "Evaluation" for the meaning of each key).
    """
    probs = np.asarray(probs, dtype=float)
    y_true = np.asarray(y_true, dtype=int)
    cm = confusion_matrix(y_true, probs.argmax(axis=1), len(classes))
    precision, recall, f1, support = precision_recall_f1(cm)
    per_class = {c: {"precision": float(precision[i]), "recall": float(recall[i]),
                     "f1": float(f1[i]), "support": int(support[i])}
                 for i, c in enumerate(classes)}
    is_poisonous = np.array([classes[i] in POISONOUS for i in y_true], dtype=bool)
    if flagged is None:
        flagged = poison_probabilities(probs, classes) >= threshold
    return {
        "n_images": int(len(y_true)),
        "accuracy": accuracy(cm),
        "balanced_accuracy": balanced_accuracy(cm),
        "macro_f1": macro_f1(cm),
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "classes": list(classes),
        "poisonous": poisonous_rates(flagged, is_poisonous, threshold),
        "ece": expected_calibration_error(probs, y_true),
    }
