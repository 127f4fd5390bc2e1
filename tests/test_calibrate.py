"""Temperature scaling and the poison-threshold (tau) rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mushroom import calibrate as cal


def test_choose_tau_flags_every_poisonous_photo_with_margin():
    scores = np.array([0.9, 0.4, 0.2, 0.05, 0.01, 0.3])
    poison = np.array([True, True, True, False, False, False])
    pick = cal.choose_tau(scores, poison, margin=0.5, min_tau=0.0, max_tau=1.0)
    assert pick.tau == pytest.approx(0.1)  # half of the lowest poisonous score, 0.2
    assert pick.recall == 1.0
    assert pick.pass_rate == pytest.approx(2 / 3)  # 0.05 and 0.01 pass, 0.3 is flagged
    assert (pick.n_poisonous, pick.n_edible) == (3, 3)


def test_choose_tau_clips_to_floor_and_ceiling():
    poison = np.array([True, False])
    low = cal.choose_tau(np.array([0.001, 0.0]), poison, margin=0.5, min_tau=0.02)
    assert low.tau == 0.02 and low.recall == 0.0  # the floor wins; recall shows the cost
    high = cal.choose_tau(np.array([0.99, 0.0]), poison, margin=1.0, max_tau=0.5)
    assert high.tau == 0.5 and high.recall == 1.0


def test_pass_rate_at_full_recall_compares_signals_fairly():
    poison = np.array([True, True, False, False, False, False])
    good = np.array([0.8, 0.7, 0.1, 0.2, 0.3, 0.75])
    bad = np.array([0.8, 0.05, 0.1, 0.2, 0.3, 0.04])
    assert cal.pass_rate_at_full_recall(good, poison) == pytest.approx(0.75)
    assert cal.pass_rate_at_full_recall(bad, poison) == pytest.approx(0.25)


def test_fit_temperature_recovers_overconfidence():
    rng = np.random.default_rng(0)
    n, c = 4000, 5
    true_logits = rng.normal(0, 1.5, (n, c))
    labels = np.array([rng.choice(c, p=p) for p in cal.softmax(true_logits)])
    temp = cal.fit_temperature(true_logits * 3.0, labels)  # logits 3x too sharp
    assert temp == pytest.approx(3.0, rel=0.15)
    assert cal.nll(true_logits * 3.0, labels, temp) < cal.nll(true_logits * 3.0, labels, 1.0)


def test_softmax_rows_sum_to_one():
    p = cal.softmax(np.array([[1000.0, 0.0], [0.0, 0.0]]), temperature=2.0)
    assert np.allclose(p.sum(1), 1.0) and p[1, 0] == pytest.approx(0.5)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=40),
       st.floats(0.01, 1), st.floats(0, 0.5), st.floats(0.5, 1))
def test_tau_stays_in_its_clamps_and_flags_every_poisonous_photo_unless_the_floor_forbids(
        rows, margin, min_tau, max_tau):
    scores, poison = (np.array(c) for c in zip(*rows))
    pick = cal.choose_tau(scores, poison, margin, min_tau, max_tau)
    assert min_tau <= pick.tau <= max_tau
    if not poison.any() or margin * scores[poison].min() >= min_tau:
        assert pick.recall == 1.0 and (scores[poison] >= pick.tau).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.floats(-50, 50),
                         min_size=3, max_size=3), min_size=1, max_size=8))
def test_temperature_is_always_positive_and_finite(logits):
    """Even degenerate validation logits (NaN, inf, ties) give a usable temperature: the
    app divides by it, and a negative one would turn the genus ranking upside down."""
    logits = np.array(logits)
    with np.errstate(all="ignore"):  # inf/NaN logits warn on the way; the answer is checked
        temp = cal.fit_temperature(logits, np.zeros(len(logits), dtype=int))
    assert np.isfinite(temp) and temp > 0
