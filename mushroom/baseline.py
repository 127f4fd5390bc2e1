"""``python -m mushroom baseline --data DIR --out OUT_DIR``: the frozen-feature yardstick.

A multinomial logistic regression on the pooled features of the ImageNet backbone, never
fine-tuned: the baseline the release targets are stated against (the maintainers quote
accuracy 0.86, macro-F1 0.66 and top-1 poisonous recall 0.89 for it on their held-out
photos). Running it on this project's own split tells how hard that split is next to the
held-out set, so the shipped model's test numbers can be read as a forecast.

Features: one centre view per photo through :func:`mushroom.presets.eval_transform` at the
backbone's input size. The regression is fitted with class-balanced weights on the train
split and scored on validation, test and the two pooled (``val+test``); ``--cv`` adds
out-of-fold predictions over train+val on the manifest's folds. tau follows the training
rule (every poisonous validation photo flagged, with the same margin). Writes
``OUT_DIR/baseline.json``: per set, the ``evaluate`` report keys plus
``top1_poisonous_recall``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from mushroom.cli import add_data_flag, check_out_dir
from mushroom import metrics
from mushroom.config import CalibConfig, DataConfig, at_least
from mushroom.poison_rule import poison_probabilities
from mushroom.taxonomy import GENERA, POISONOUS_INDEX


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``baseline`` subcommand."""
    p = sub.add_parser("baseline", help="logistic regression on frozen ImageNet features")
    add_data_flag(p)
    p.add_argument("--out", required=True, help="folder for baseline.json")
    p.add_argument("--manifest", default=None, help="manifest CSV to reuse (default: build one)")
    p.add_argument("--arch", default="efficientnet_lite0", help="backbone (ImageNet weights)")
    p.add_argument("--weights", default=None, help="local ImageNet weights file (ResNets)")
    p.add_argument("--C", type=float, default=0.1, help="inverse L2 strength of the regression")
    p.add_argument("--cv", action="store_true", help="also score out-of-fold over train+val")
    p.add_argument("--batch-size", type=at_least(1), default=32, help="photos per forward pass")
    p.set_defaults(func=run)


def frozen_features(root: Path, frame: pd.DataFrame, arch: str, weights: str | None,
                    batch_size: int) -> np.ndarray:
    """(N, D) pooled features of the pretrained backbone, one centre view per photo."""
    import torch
    from torch.utils.data import DataLoader

    from mushroom.dataset import PhotoDataset
    from mushroom.engine import extract_features
    from mushroom.models import create_model
    from mushroom.presets import eval_transform

    model = create_model(arch, len(GENERA), pretrained=True, weights=weights).eval()
    cfg = model.cfg
    dataset = PhotoDataset(root, frame, GENERA, eval_transform(cfg.input_size, cfg.mean, cfg.std))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    with torch.no_grad():
        feats = extract_features(model, loader, torch.device("cpu"), desc="frozen features")
    return feats.tensors[0].numpy()


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                c: float) -> np.ndarray:
    """Class-balanced logistic regression fitted on train; (N, C) probabilities on test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(scaler.transform(x_train), y_train)
    probs = np.zeros((len(x_test), len(GENERA)))
    probs[:, model.classes_] = model.predict_proba(scaler.transform(x_test))
    return probs


def score(y: np.ndarray, probs: np.ndarray, tau: float) -> dict:
    """The evaluate report for one set, plus the share of poisonous photos whose top-1 is."""
    report = metrics.build_report(y, probs, GENERA, tau)
    poison = np.isin(y, POISONOUS_INDEX)
    top1 = np.isin(probs.argmax(1)[poison], POISONOUS_INDEX)
    report["top1_poisonous_recall"] = float(top1.mean()) if poison.any() else None
    return report


def baseline_reports(x: np.ndarray, frame: pd.DataFrame, c: float, cv: bool,
                     calib: CalibConfig) -> dict:
    """Fit on train, choose tau on validation, score validation, test and (optionally) OOF."""
    from mushroom.calibrate import choose_tau

    y = np.array([GENERA.index(g) for g in frame["genus"]])
    split = frame["split"].to_numpy()
    sets = {s: split == s for s in ("val", "test") if (split == s).any()}
    probs = {s: fit_predict(x[split == "train"], y[split == "train"], x[m], c)
             for s, m in sets.items()}
    # No validation photos: the ceiling. (choose_tau, given photos but no poisonous ones,
    # returns margin x max_tau instead, clipped to [min_tau, max_tau].)
    tau = calib.max_tau
    if "val" in probs:
        p_val = poison_probabilities(probs["val"], GENERA)
        tau = choose_tau(p_val, np.isin(y[sets["val"]], POISONOUS_INDEX), calib.margin,
                         calib.min_tau, calib.max_tau).tau
    out = {s: score(y[m], probs[s], tau) for s, m in sets.items()}
    if len(sets) == 2:  # a few hundred photos each: pooled, they make a steadier yardstick
        out["val+test"] = score(np.concatenate([y[m] for m in sets.values()]),
                                np.concatenate(list(probs.values())), tau)
    if cv:
        folds = frame["fold"].to_numpy()
        pool = folds >= 0
        oof = np.zeros((len(frame), len(GENERA)))
        for f in sorted(set(folds[pool])):
            fit, held = pool & (folds != f), folds == f
            oof[held] = fit_predict(x[fit], y[fit], x[held], c)
        out["cv_oof"] = score(y[pool], oof[pool], tau)
    return {"tau": tau, "C": c, "sets": out}


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def run(args: argparse.Namespace) -> int:
    """Build or read the manifest, extract features, fit, score, write and print."""
    from mushroom.data import build_manifest
    from mushroom.manifest import check_photos, read_manifest
    from mushroom.pipeline import write_json

    check_out_dir(args.out)  # refused now, not after the features of every photo
    if args.manifest:
        frame = read_manifest(args.manifest)
        check_photos(frame, args.data)
    else:
        frame, report = build_manifest(args.data, DataConfig())
        print(report.summary())
    if not (frame["split"] == "train").any():
        raise SystemExit("baseline: the manifest has no train split to fit on")
    x = frozen_features(Path(args.data), frame, args.arch, args.weights, args.batch_size)
    result = baseline_reports(x, frame, args.C, args.cv, CalibConfig())
    result["arch"] = args.arch
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "baseline.json", result)
    print(f"frozen {args.arch} + logistic regression (C={args.C}, balanced), "
          f"tau {result['tau']:.4f}")
    for name, r in result["sets"].items():
        p = r["poisonous"]
        print(f"  {name:8s} n={r['n_images']:4d}  accuracy {r['accuracy']:.3f}  macro-F1 "
              f"{r['macro_f1']:.3f}  top-1 poisonous recall {_rate(r['top1_poisonous_recall'])}  "
              f"recall at tau {_rate(p['recall'])}  pass rate {_rate(p['specificity'])}")
    print(f"wrote {out / 'baseline.json'}")
    return 0
