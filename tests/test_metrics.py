"""Metrics on a tiny case worked out by hand, and against scikit-learn as an oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPORT_KEYS
from mushroom import metrics

CLASSES = ("Amanita", "Boletus", "Russula")  # Amanita is the only poisonous one here
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
PROBS = np.array([
    [0.8, 0.1, 0.1],  # Amanita -> Amanita
    [0.6, 0.3, 0.1],  # Amanita -> Amanita
    [0.2, 0.7, 0.1],  # Amanita -> Boletus (a poisonous photo at P(poisonous) = 0.2)
    [0.1, 0.9, 0.0],  # Boletus -> Boletus
    [0.3, 0.1, 0.6],  # Boletus -> Russula (an edible photo at P(poisonous) = 0.3)
    [0.0, 0.0, 1.0],  # Russula -> Russula
])


def test_hand_computed_report():
    report = metrics.build_report(Y_TRUE, PROBS, CLASSES, threshold=0.25)
    assert set(report) == REPORT_KEYS
    assert report["n_images"] == 6
    assert report["classes"] == list(CLASSES)
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert report["accuracy"] == pytest.approx(4 / 6)
    # recalls 2/3, 1/2, 1 -> mean
    assert report["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # precisions 1, 1/2, 1/2 -> F1 0.8, 0.5, 2/3
    assert report["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report["per_class"]["Amanita"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert report["per_class"]["Russula"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    # tau 0.25: poisonous 0.8, 0.6 flagged, 0.2 missed; edible 0.3 flagged, 0.1 and 0 pass
    assert report["poisonous"] == pytest.approx(
        {"recall": 2 / 3, "specificity": 2 / 3, "threshold": 0.25})
    json.dumps(report)  # plain Python types only


def test_threshold_is_inclusive():
    report = metrics.build_report(Y_TRUE, PROBS, CLASSES, threshold=0.2)
    assert report["poisonous"]["recall"] == 1.0  # the photo at exactly 0.2 is flagged
    assert report["poisonous"]["specificity"] == pytest.approx(2 / 3)


def test_given_flags_override_the_threshold_rule():
    flagged = np.array([True, True, True, True, False, False])  # e.g. a poison-head veto
    report = metrics.build_report(Y_TRUE, PROBS, CLASSES, threshold=0.25, flagged=flagged)
    assert report["poisonous"] == pytest.approx(
        {"recall": 1.0, "specificity": 2 / 3, "threshold": 0.25})


def test_rates_without_photos_are_none_not_invented():
    rates = metrics.poisonous_rates(np.array([False, True]), np.array([False, False]), 0.5)
    assert rates["recall"] is None
    assert rates["specificity"] == 0.5


def test_ece_by_hand():
    # two bins: every confidence is above 0.5, so one bin: mean conf 4.6/6 vs accuracy 4/6
    assert metrics.expected_calibration_error(PROBS, Y_TRUE, n_bins=2) == pytest.approx(0.1)
    calibrated = np.array([[0.75, 0.25]] * 4)
    assert metrics.expected_calibration_error(calibrated, np.array([0, 0, 0, 1])) == \
        pytest.approx(0.0)
    overconfident = np.array([[1.0, 0.0]] * 4)  # confidence exactly 1 must land in a bin
    assert metrics.expected_calibration_error(overconfident, np.array([0, 1, 0, 1])) == \
        pytest.approx(0.5)


def test_absent_classes_do_not_drag_macro_f1():
    probs = np.eye(3)[[0, 0, 1]]  # Russula neither true nor predicted
    report = metrics.build_report(np.array([0, 0, 1]), probs, CLASSES, threshold=0.5)
    assert report["macro_f1"] == 1.0
    assert report["per_class"]["Russula"]["support"] == 0


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_matches_scikit_learn_on_random_predictions():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y_true = rng.choice([0, 1, 2, 4], size=200)  # class 3 never true
    probs = rng.dirichlet(np.ones(5) * 0.5, size=200)
    y_pred = probs.argmax(axis=1)
    classes = ("Amanita", "Boletus", "Cortinarius", "Entoloma", "Russula")
    report = metrics.build_report(y_true, probs, classes, threshold=0.5)
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert report["balanced_accuracy"] == pytest.approx(
        sk.balanced_accuracy_score(y_true, y_pred))
    assert report["macro_f1"] == pytest.approx(
        sk.f1_score(y_true, y_pred, average="macro", zero_division=0))
    p, r, f, s = sk.precision_recall_fscore_support(y_true, y_pred, labels=range(5),
                                                    zero_division=0)
    for i, genus in enumerate(classes):
        row = report["per_class"][genus]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == \
            pytest.approx((p[i], r[i], f[i], s[i]))
    assert report["confusion_matrix"] == sk.confusion_matrix(y_true, y_pred,
                                                              labels=range(5)).tolist()
