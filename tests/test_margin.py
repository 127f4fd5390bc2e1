"""The margin sweep: halving, log-normal tail and pass-rate chance, and its command."""

import math

import numpy as np
import pandas as pd
import pytest

from mushroom import margin as mg
from mushroom.cli import main


def test_halving_keeps_recall_only_when_tau_sits_below_the_other_half():
    rng = np.random.default_rng(0)
    two = np.array([0.1, 0.2])
    # Margin 1 on two photos: tau is one of them, so the other is kept half the time.
    assert mg.halving_keep_rate(two, np.zeros(2, bool), 1.0, 4000, rng) == pytest.approx(
        0.5, abs=0.04)
    assert mg.halving_keep_rate(two, np.zeros(2, bool), 0.4, 200, rng) == 1.0
    # A poisonous top-1 is flagged whatever tau is.
    assert mg.halving_keep_rate(two, np.ones(2, bool), 1.0, 200, rng) == 1.0


def test_tail_miss_risk_follows_the_fitted_log_normal():
    scores = np.exp([-1.0, 0.0, 1.0])  # log mean 0, sd 1
    none = np.zeros(3, bool)
    assert mg.tail_miss_risk(scores, none, 1.0, 1) == pytest.approx(0.5)
    assert mg.tail_miss_risk(scores, none, 1.0, 2) == pytest.approx(0.75)
    lower = mg.tail_miss_risk(scores, none, math.exp(-2.0), 1)
    assert lower == pytest.approx(0.02275, abs=1e-4)  # Phi(-2)
    # Half the poisonous photos have a poisonous top-1: the per-photo risk halves.
    mixed = np.concatenate([scores, [0.9, 0.9, 0.9]])
    assert mg.tail_miss_risk(mixed, np.array([0, 0, 0, 1, 1, 1], bool), 1.0, 1) == (
        pytest.approx(0.25))
    assert math.isnan(mg.tail_miss_risk(scores, np.array([1, 1, 0], bool), 1.0, 1))


def test_pass_probability_tracks_the_observed_rate():
    rng = np.random.default_rng(1)
    assert mg.pass_probability(270, 300, 175, 0.6, 5000, rng) > 0.999
    assert mg.pass_probability(90, 300, 175, 0.6, 5000, rng) < 0.001
    even = mg.pass_probability(600, 1000, 175, 0.6, 20000, rng)
    assert 0.45 < even < 0.62  # right at the target: a coin flip (ties count as passing)


def _frame(rows):
    return pd.DataFrame(rows, columns=["true", "predicted", "p_poisonous"])


def test_sweep_sets_tau_from_the_calibration_file_and_scores_the_pool():
    val = _frame([("Amanita", "Amanita", 0.9), ("Entoloma", "Russula", 0.05),
                  ("Boletus", "Boletus", 0.01), ("Russula", "Russula", 0.03)])
    test = _frame([("Cortinarius", "Agaricus", 0.015), ("Suillus", "Amanita", 0.001),
                   ("Lactarius", "Lactarius", 0.002)])
    cfg = mg.MarginConfig(margins=(0.25, 0.5), halvings=50, draws=200)
    table = mg.sweep(val, pd.concat([val, test]), cfg)
    assert table.tau.tolist() == pytest.approx([0.0125, 0.025])
    # tau 0.0125 flags the Cortinarius (0.015); 0.025 misses it.
    assert table.recall.tolist() == pytest.approx([1.0, 2 / 3])
    # Edible: Boletus 0.01 and Lactarius 0.002 pass at both; Russula 0.03 never;
    # Suillus has a poisonous top-1.
    assert table.pass_rate.tolist() == pytest.approx([0.5, 0.5])
    assert (table.both_halving <= table.p_pass_target + 1e-12).all()
    with pytest.raises(ValueError, match="no poisonous photo"):
        mg.sweep(val.iloc[2:], val, cfg)


def test_a_margin_row_does_not_depend_on_the_other_margins_swept():
    # The model card quotes rows of one sweep; `--margins 0.9` alone, or the default list,
    # must print the same estimates for 0.9, or the card cannot be reproduced row by row.
    rng = np.random.default_rng(3)
    rows = [("Amanita", "Russula" if i % 4 else "Amanita", float(s))
            for i, s in enumerate(np.exp(rng.uniform(-5.3, -0.7, 40)))]
    rows += [("Boletus", "Boletus", float(s)) for s in rng.uniform(0.0, 0.006, 40)]
    frame = _frame(rows)
    alone = mg.sweep(frame, frame, mg.MarginConfig(margins=(0.9,), halvings=300, draws=500))
    among = mg.sweep(frame, frame, mg.MarginConfig(margins=(0.1, 0.25, 0.9), halvings=300,
                                                   draws=500))
    assert 0 < alone.halving_keep[0] < 1 and 0 < alone.p_pass_target[0] < 1
    pd.testing.assert_frame_equal(alone, among.iloc[[2]].reset_index(drop=True))


def test_margin_command_prints_the_table(tmp_path, capsys):
    path = tmp_path / "predictions.csv"
    _frame([("Amanita", "Russula", 0.04), ("Amanita", "Amanita", 0.8),
            ("Cortinarius", "Boletus", 0.2), ("Boletus", "Boletus", 0.005),
            ("Boletus", "Boletus", 0.02)]).to_csv(path, index=False)
    assert main(["margin", "--predictions", str(path), "--margins", "0.25,1",
                 "--halvings", "20"]) == 0
    out = capsys.readouterr().out
    assert "tau = margin x 0.0400" in out and "pooled over 5 photos" in out
    assert "0.0100" in out and "both_tail" in out
    assert main(["margin", "--predictions", str(path), "--margins", "a,b"]) == 2
    assert "--margins must be numbers" in capsys.readouterr().err
    assert main(["margin", "--predictions", str(path), "--margins", "0,0.4"]) == 2
    assert main(["margin", "--predictions", str(path), "--holdout-edible", "0"]) == 2
    assert main(["margin", "--predictions", str(path), "--target-pass", "60"]) == 2
    err = capsys.readouterr().err
    assert "margins must be > 0" in err and "--target-pass must be in (0, 1]" in err
    assert main(["margin", "--predictions", str(tmp_path / "missing.csv")]) == 2
    (tmp_path / "report.csv").write_text("path,genus\na.jpg,Amanita\n")
    assert main(["margin", "--predictions", str(tmp_path / "report.csv")]) == 2
    assert "not evaluate's predictions.csv: missing ['p_poisonous', 'predicted', 'true']" in (
        capsys.readouterr().err)
