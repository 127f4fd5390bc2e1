"""Mondrian split-conformal sets: a case solved by hand, the fallback, and the guarantee."""

from __future__ import annotations

import numpy as np
import pytest

from mushroom.conformal import (conformal_rank, coverage_report, fit_mondrian, prediction_sets,
                                set_mask)


def probs_with_true(p_true: list[float], label: int, n_classes: int = 3) -> np.ndarray:
    """Rows whose true-class probability is ``p_true`` and the rest split evenly."""
    rows = np.tile((1 - np.array(p_true))[:, None] / (n_classes - 1), (1, n_classes))
    rows[:, label] = p_true
    return rows


def test_threshold_known_by_hand():
    # Class 0: 9 calibration photos with scores 0.1..0.9. alpha = 0.2 -> rank ceil(10 * 0.8) = 8,
    # so qhat is the 8th smallest score, 0.8. Class 1: 4 photos -> rank ceil(5 * 0.8) = 4 = n,
    # qhat = the largest score. Class 2: 3 photos -> rank 4 > 3: too few, qhat = 1.
    scores0 = np.round(np.arange(1, 10) / 10, 2)
    scores1 = np.array([0.05, 0.3, 0.2, 0.6])
    scores2 = np.array([0.1, 0.2, 0.3])
    probs = np.vstack([probs_with_true(list(1 - scores0), 0),
                       probs_with_true(list(1 - scores1), 1),
                       probs_with_true(list(1 - scores2), 2)])
    labels = np.array([0] * 9 + [1] * 4 + [2] * 3)
    params = fit_mondrian(probs, labels, alpha=0.2)
    assert params["qhat"] == pytest.approx([0.8, 0.6, 1.0])
    assert params["n"] == [9, 4, 3]
    assert params["fallback_classes"] == [2]
    # A new photo with p = (0.25, 0.35, 0.40): class 0 needs p >= 0.2, class 1 p >= 0.4,
    # class 2 is always in. Set ordered by probability: [2, 0].
    assert prediction_sets(np.array([[0.25, 0.35, 0.40]]), params) == [[2, 0]]
    # Exactly on the boundary counts as inside (score <= qhat), like the calibration photos.
    assert set_mask(np.array([[0.2, 0.4, 0.4]]), params).tolist() == [[True, True, True]]
    # A boundary photo recomputed with float rounding (1e-7 lower) stays in; clearly
    # below the bound (1e-4) it is out.
    assert set_mask(np.array([[0.2 - 1e-7, 0.4 - 1e-7, 0.4]]), params)[0, :2].tolist() \
        == [True, True]
    assert set_mask(np.array([[0.2 - 1e-4, 0.4 - 1e-4, 0.4]]), params)[0, :2].tolist() \
        == [False, False]


def test_rank_uses_finite_sample_correction():
    assert conformal_rank(19, 0.05) == 19  # (19 + 1) * 0.95 = 19 exactly, despite float error
    assert conformal_rank(18, 0.05) == 19  # needs more photos than exist: fallback
    assert conformal_rank(99, 0.1) == 90


def test_fallbacks_for_a_rare_class():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=60)
    labels = np.array([0] * 30 + [1] * 27 + [2] * 3)
    always = fit_mondrian(probs, labels, alpha=0.1, fallback="always")
    pooled = fit_mondrian(probs, labels, alpha=0.1, fallback="marginal")
    largest = fit_mondrian(probs, labels, alpha=0.1, fallback="max")
    scores = 1 - probs[np.arange(60), labels]
    assert always["qhat"][2] == 1.0
    assert pooled["qhat"][2] == pytest.approx(np.sort(scores)[conformal_rank(60, 0.1) - 1])
    assert largest["qhat"][2] == pytest.approx(scores[labels == 2].max())
    assert pooled["qhat"][:2] == always["qhat"][:2] == largest["qhat"][:2]
    # "max" covers every calibration photo of the rare class, and nothing beyond that bound.
    mask = set_mask(probs[labels == 2], largest)
    assert mask[:, 2].all()


def test_class_conditional_coverage_holds_on_fresh_data():
    # Simulated model: confident on class 0, poor on rare class 2. Mondrian must still cover
    # each class at >= 1 - alpha on average over many calibration draws (the guarantee).
    rng = np.random.default_rng(1)
    alpha, counts = 0.1, np.array([400, 150, 40])

    def draw(scale: float) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(3), (counts * scale).astype(int))
        conc = np.array([[8.0, 1, 1], [1, 4.0, 1], [1.5, 1.5, 2.0]])[labels]
        return np.array([rng.dirichlet(c) for c in conc]), labels

    per_class = []
    for _ in range(30):
        params = fit_mondrian(*draw(1.0), alpha=alpha)
        test_probs, test_labels = draw(2.0)
        report = coverage_report(prediction_sets(test_probs, params), test_labels, "ABC")
        per_class.append([report["per_class"][c]["coverage"] for c in "ABC"])
    assert np.mean(per_class, axis=0).min() >= 1 - alpha - 0.01


def test_coverage_report_counts():
    sets = [[0], [0, 1], [], [2, 1]]
    report = coverage_report(sets, np.array([0, 1, 1, 0]), ["a", "b", "c"])
    assert report["coverage"] == pytest.approx(0.5)
    assert report["mean_size"] == pytest.approx(1.25)
    assert report["empty_rate"] == pytest.approx(0.25)
    assert report["size_counts"] == {0: 1, 1: 1, 2: 2}
    assert report["per_class"]["a"] == {"n": 2, "coverage": 0.5, "mean_size": 1.5}
    assert report["per_class"]["c"]["coverage"] is None


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 0.0}, "alpha"), ({"fallback": "drop"}, "fallback"),
    ({"labels": np.array([0, 3])}, "labels"), ({"labels": np.array([0])}, "one label"),
])
def test_bad_calibration_input_is_refused(kwargs, match):
    args = {"probs": np.full((2, 3), 1 / 3), "labels": np.array([0, 1]), **kwargs}
    with pytest.raises(ValueError, match=match):
        fit_mondrian(**args)


def test_sets_refuse_mismatched_class_count():
    params = fit_mondrian(np.full((30, 3), 1 / 3), np.zeros(30, int), alpha=0.1)
    with pytest.raises(ValueError, match="thresholds"):
        prediction_sets(np.full((1, 4), 0.25), params)
