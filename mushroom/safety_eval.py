"""The safety report: does the model refuse to guess where it should, and is that enough?

Given model outputs on held-out mushroom photos (and on everyday non-mushroom photos) and
the checkpoint's parameters, :func:`safety_report` answers:

- rejection: which share of mushroom photos and of non-mushroom photos the unfamiliar-photo
  detector rejects (targets: <= 3% and >= 95%);
- conformal: coverage overall and per genus, and the mean set size;
- verdicts: the app's verdict for every mushroom photo *with sets applied*, and how many
  photos of a poisonous genus still get ``edible_genus`` (must be 0);
- poison signal: the genus-sum rule against the dedicated poison head, compared at equal
  recall 1.0 by their edible-genus pass rate.

Model outputs are anything with ``probs``, ``logits``, ``poison_head`` and ``embedding``
arrays (a :class:`mushroom.predict.Prediction`). Pure numpy; no torch.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mushroom.atomic import write_atomic
from mushroom.calibrate import pass_rate_at_full_recall
from mushroom.conformal import coverage_report, prediction_sets
from mushroom.ood import is_unfamiliar
from mushroom.poison_rule import poison_probabilities
from mushroom.taxonomy import poisonous_index
from mushroom.verdict import Thresholds, decide


def _rate(mask: np.ndarray) -> float | None:
    return float(np.mean(mask)) if len(mask) else None


def rejected(meta: dict, outputs: Any) -> np.ndarray:
    """Which photos the checkpoint's detector rejects (none when it ships no detector)."""
    if not meta.get("ood") or len(outputs.embedding) == 0:
        return np.zeros(len(outputs.probs), dtype=bool)
    return is_unfamiliar(meta["ood"], outputs.embedding, outputs.logits)


def rejection_section(meta: dict, test: Any, labels: np.ndarray, classes: Sequence[str],
                      everyday: Any | None, everyday_names: Sequence[str] | None) -> dict:
    """Rejection rates on mushroom photos (overall, per genus) and on everyday photos."""
    if not meta.get("ood"):
        return {"available": False}
    rej = rejected(meta, test)
    out: dict[str, Any] = {
        "available": True, "threshold": float(meta["ood"]["threshold"]),
        "max_reject": meta["ood"].get("max_reject"),
        "mushroom": {"n": len(rej), "rate": _rate(rej),
                     "per_genus": {g: _rate(rej[labels == c]) for c, g in enumerate(classes)}},
    }
    if everyday is not None:
        rej_e = rejected(meta, everyday)
        names = list(everyday_names or range(len(rej_e)))
        out["non_mushroom"] = {"n": len(rej_e), "rate": _rate(rej_e),
                               "missed": [str(n) for n, r in zip(names, rej_e) if not r]}
    return out


def photo_sets(meta: dict, probs: np.ndarray, classes: Sequence[str]) -> list[list[str]] | None:
    """Genus-name prediction sets from the checkpoint's conformal parameters, or None."""
    if not meta.get("conformal"):
        return None
    return [[classes[c] for c in s] for s in prediction_sets(probs, meta["conformal"])]


def conformal_section(meta: dict, probs: np.ndarray, labels: np.ndarray,
                      classes: Sequence[str]) -> dict:
    """Empirical coverage and set sizes on held-out photos, plus the calibration settings."""
    if not meta.get("conformal"):
        return {"available": False}
    params = meta["conformal"]
    report = coverage_report(prediction_sets(probs, params), labels, classes)
    return {"available": True, "target": params.get("coverage"), "fallback": params.get("fallback"),
            "fallback_genera": [classes[c] for c in params.get("fallback_classes", [])],
            **report}


def verdict_levels(meta: dict, outputs: Any, classes: Sequence[str],
                   use_sets: bool = True) -> list[str]:
    """The app's verdict level for each photo (detector, thresholds and optionally sets)."""
    th = Thresholds.from_meta(meta)
    rej = rejected(meta, outputs)
    sets = photo_sets(meta, outputs.probs, classes) if use_sets else None
    levels = []
    for i, row in enumerate(outputs.probs):
        verdict = decide(dict(zip(classes, map(float, row))), th.tau,
                         uncertain_top1=th.uncertain_top1,
                         prediction_set=sets[i] if sets else None, recognized=not rej[i],
                         p_poison_head=float(outputs.poison_head[i]),
                         poison_head_tau=th.poison_head)
        levels.append(verdict.level)
    return levels


def verdict_section(meta: dict, test: Any, labels: np.ndarray, classes: Sequence[str],
                    names: Sequence[str] | None) -> dict:
    """Verdict counts with and without sets; poisonous photos that pass as edible (must be 0)."""
    poison = np.isin(labels, poisonous_index(classes))
    out: dict[str, Any] = {}
    for key, use_sets in (("with_sets", True), ("without_sets", False)):
        levels = np.array(verdict_levels(meta, test, classes, use_sets))
        edible = levels == "edible_genus"
        out[key] = {"levels": dict(Counter(levels.tolist())),
                    "poisonous_as_edible": int(np.sum(edible & poison)),
                    "edible_pass_rate": _rate(edible[~poison])}
        if key == "with_sets" and names is not None:
            out[key]["poisonous_as_edible_photos"] = [str(names[i]) for i in
                                                      np.flatnonzero(edible & poison)]
    return out


def poison_section(meta: dict, test: Any, labels: np.ndarray, classes: Sequence[str]) -> dict:
    """Genus-sum rule vs poison head on held-out photos, at recall 1.0 and at shipped taus.

    ``pass_rate_at_full_recall`` uses each signal's own best threshold on these photos (the
    fair comparison the issue asks for); ``at_shipped_tau`` uses the thresholds chosen on
    validation, i.e. what a forager gets. Validation numbers come from the checkpoint.
    """
    poison = np.isin(labels, poisonous_index(classes))
    thresholds = meta.get("thresholds") or {}
    scores = {"rule": poison_probabilities(test.probs, classes),
              "head": np.asarray(test.poison_head)}
    th = Thresholds.from_meta(meta)
    shipped = {"rule": th.tau, "head": th.poison_head}
    out: dict[str, Any] = {"primary": thresholds.get("primary"), "n_poisonous": int(poison.sum()),
                           "n_edible": int((~poison).sum())}
    # a pass rate at recall 1.0 needs both kinds of photo: without an edible-genus photo it
    # is 0/0 (NaN, which strict JSON readers refuse) and no signal can be called better
    comparable = poison.any() and (~poison).any()
    for signal, s in scores.items():
        entry: dict[str, Any] = {
            "pass_rate_at_full_recall": pass_rate_at_full_recall(s, poison) if comparable
            else None,
            "validation": (thresholds.get(signal) or {}).get("pass_rate")}
        tau = shipped[signal]
        if tau is not None:
            entry["at_shipped_tau"] = {"tau": float(tau), "recall": _rate(s[poison] >= tau),
                                       "pass_rate": _rate(s[~poison] < tau)}
        out[signal] = entry
    rule, head = (out[s]["pass_rate_at_full_recall"] for s in ("rule", "head"))
    out["better_on_test"] = None if rule is None else ("head" if head > rule else "rule")
    return out


def safety_report(meta: dict, test: Any, labels: np.ndarray, everyday: Any | None = None,
                  names: Sequence[str] | None = None,
                  everyday_names: Sequence[str] | None = None) -> dict:
    """Everything issue 5 asks the evaluation to show, as one JSON-able dict.

    Args:
        meta: the checkpoint dict without weights (``predictor.meta``): ``classes``,
            ``poison_threshold``, and optionally ``thresholds``, ``ood``, ``conformal``.
        test: model outputs on held-out mushroom photos.
        labels: their true genus indices.
        everyday: model outputs on non-mushroom photos (see :mod:`mushroom.nonmushroom`).
        names: photo names or paths of ``test``, to list failures.
        everyday_names: names of the ``everyday`` photos, to list the ones not rejected.
    """
    classes = tuple(meta["classes"])
    labels = np.asarray(labels, dtype=int)
    if len(labels) != len(test.probs):
        raise ValueError(f"{len(labels)} labels for {len(test.probs)} photos")
    return {
        "rejection": rejection_section(meta, test, labels, classes, everyday, everyday_names),
        "conformal": conformal_section(meta, test.probs, labels, classes),
        "verdicts": verdict_section(meta, test, labels, classes, names),
        "poison_signal": poison_section(meta, test, labels, classes),
    }


def write_safety_report(path: str | Path, report: dict) -> Path:
    """Write ``report`` as indented JSON (numpy scalars converted); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=lambda o: o.item()
                      if hasattr(o, "item") else str(o)).encode("utf-8")
    return write_atomic(path, lambda f: f.write(text))  # whole or not at all
