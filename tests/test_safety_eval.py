"""The safety report on constructed model outputs whose answers are known by hand."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import probs_row

from mushroom.conformal import fit_mondrian
from mushroom.ood import fit_detector
from mushroom.safety_eval import safety_report, verdict_levels, write_safety_report
from mushroom.taxonomy import GENERA

C = len(GENERA)
AMANITA, RUSSULA, BOLETUS = (GENERA.index(g) for g in ("Amanita", "Russula", "Boletus"))
DIM = 64


def embed(n: int, familiar: bool, rng: np.random.Generator) -> np.ndarray:
    """Familiar embeddings use the first half of the features, unfamiliar ones the second."""
    emb = np.zeros((n, DIM))
    half = slice(0, DIM // 2) if familiar else slice(DIM // 2, DIM)
    emb[:, half] = 1.0 + np.abs(rng.normal(scale=0.3, size=(n, DIM // 2)))
    return emb


def outputs(probs: np.ndarray, head: np.ndarray, emb: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(probs=probs, logits=np.log(np.clip(probs, 1e-9, 1)), poison_head=head,
                           embedding=emb)


@pytest.fixture(scope="module")
def meta() -> dict:
    rng = np.random.default_rng(0)
    ood = fit_detector(embed(300, True, rng), rng.integers(0, C, 300), embed(200, True, rng),
                       max_reject=0.03)
    # Conformal thresholds: every genus is in the set when p >= 0.3 (qhat = 0.7).
    labels = np.repeat(np.arange(C), 40)
    cal = np.stack([probs_row(**{GENERA[c]: 0.3}) for c in labels])
    return {"classes": list(GENERA), "poison_threshold": 0.5, "ood": ood,
            "conformal": fit_mondrian(cal, labels, alpha=0.05),
            "thresholds": {"poison": 0.5, "poison_head": 0.9, "uncertain_top1": 0.55,
                           "primary": "rule"}}


def test_rejection_rates_and_missed_everyday_photos(meta):
    rng = np.random.default_rng(1)
    test = outputs(np.tile(probs_row(Boletus=0.9), (12, 1)), np.zeros(12),
                   np.vstack([embed(10, True, rng), embed(2, False, rng)]))
    labels = np.full(12, BOLETUS)
    everyday = outputs(np.tile(probs_row(Boletus=0.9), (6, 1)), np.zeros(6),
                       np.vstack([embed(5, False, rng), embed(1, True, rng)]))
    names = [f"photo{i}" for i in range(6)]
    rej = safety_report(meta, test, labels, everyday, everyday_names=names)["rejection"]
    assert rej["mushroom"]["rate"] == pytest.approx(2 / 12)
    assert rej["mushroom"]["per_genus"]["Boletus"] == pytest.approx(2 / 12)
    assert rej["mushroom"]["per_genus"]["Amanita"] is None
    assert rej["non_mushroom"]["rate"] == pytest.approx(5 / 6)
    assert rej["non_mushroom"]["missed"] == ["photo5"]


def test_sets_stop_a_poisonous_photo_passing_as_edible(meta):
    # An Amanita the model takes for a Russula: P(poisonous) 0.35 < tau 0.5, top-1 0.6.
    rng = np.random.default_rng(2)
    probs = np.stack([probs_row(Russula=0.6, Amanita=0.35), probs_row(Russula=0.9),
                      probs_row(Boletus=0.95)])
    test = outputs(probs, np.array([0.1, 0.1, 0.1]), embed(3, True, rng))
    labels = np.array([AMANITA, RUSSULA, BOLETUS])
    report = safety_report(meta, test, labels, names=["a.jpg", "r.jpg", "b.jpg"])
    verdicts = report["verdicts"]
    assert verdicts["without_sets"]["poisonous_as_edible"] == 1
    assert verdicts["with_sets"]["poisonous_as_edible"] == 0
    assert verdicts["with_sets"]["poisonous_as_edible_photos"] == []
    assert verdicts["with_sets"]["levels"] == {"uncertain": 1, "edible_genus": 2}
    assert verdicts["with_sets"]["edible_pass_rate"] == pytest.approx(1.0)
    assert report["conformal"]["coverage"] == pytest.approx(1.0)
    assert report["conformal"]["per_class"]["Amanita"]["mean_size"] == 2


def test_poison_head_vs_rule_at_full_recall(meta):
    # Rule scores: poisonous 0.3, 0.5; edible 0.1, 0.4, 0.6, 0.2 -> at tau 0.3, 2 of 4 pass.
    # Head scores: poisonous 0.8, 0.95; edible 0.1, 0.2, 0.3, 0.85 -> at tau 0.8, 3 of 4 pass.
    rule = [0.3, 0.5, 0.1, 0.4, 0.6, 0.2]
    probs = np.stack([probs_row(Amanita=p, Boletus=1 - p) for p in rule])
    head = np.array([0.8, 0.95, 0.1, 0.2, 0.3, 0.85])
    labels = np.array([AMANITA, AMANITA] + [BOLETUS] * 4)
    test = outputs(probs, head, embed(6, True, np.random.default_rng(3)))
    section = safety_report(meta, test, labels)["poison_signal"]
    assert section["rule"]["pass_rate_at_full_recall"] == pytest.approx(0.5)
    assert section["head"]["pass_rate_at_full_recall"] == pytest.approx(0.75)
    assert section["better_on_test"] == "head"
    assert section["rule"]["at_shipped_tau"] == {"tau": 0.5, "recall": 0.5, "pass_rate": 0.75}
    assert section["head"]["at_shipped_tau"]["recall"] == pytest.approx(0.5)


def test_without_detector_or_sets_the_report_says_so(meta):
    bare = {k: v for k, v in meta.items() if k not in ("ood", "conformal")}
    test = outputs(np.stack([probs_row(Boletus=0.9)]), np.zeros(1), np.zeros((1, DIM)))
    report = safety_report(bare, test, np.array([BOLETUS]))
    assert report["rejection"] == {"available": False}
    assert report["conformal"] == {"available": False}
    assert verdict_levels(bare, test, GENERA) == ["edible_genus"]


def test_report_is_written_as_json(meta, tmp_path):
    test = outputs(np.stack([probs_row(Boletus=0.9)]), np.zeros(1),
                   embed(1, True, np.random.default_rng(4)))
    report = safety_report(meta, test, np.array([BOLETUS]))
    path = write_safety_report(tmp_path / "out" / "safety_report.json", report)
    assert json.loads(path.read_text()) == json.loads(json.dumps(report))


def test_label_count_must_match(meta):
    test = outputs(np.stack([probs_row(Boletus=0.9)]), np.zeros(1), np.zeros((1, DIM)))
    with pytest.raises(ValueError, match="labels"):
        safety_report(meta, test, np.array([BOLETUS, BOLETUS]))
