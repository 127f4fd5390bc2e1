"""One training run end to end: manifest -> (CV) -> fit -> calibrate -> evaluate -> checkpoint.

``train.py`` holds the staged loop; this module wires it to data, calibration and files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mushroom import calibrate as cal
from mushroom import prior
from mushroom.checkpoint import save_checkpoint
from mushroom.config import CalibConfig, DataConfig, TrainConfig
from mushroom.data import build_manifest
from mushroom.manifest import (SPLITS, cap_train, check_photos, manifest_sha256,
                               read_manifest)
from mushroom.poison_rule import poison_flags, poison_probabilities
from mushroom.split import check_genera, split_gaps
from mushroom.taxonomy import GENERA, POISONOUS_INDEX


def load_frame(data_dir: Path, out_dir: Path, data_cfg: DataConfig, labels_dir: str | None,
               manifest: str | None, cap: int | None, log=print) -> pd.DataFrame:
    """Build (or read) the manifest, optionally cap the training rows, save a copy."""
    dropped: list[str] = []
    if manifest:
        frame = read_manifest(manifest)
        check_photos(frame, data_dir)
    else:
        frame, report = build_manifest(data_dir, data_cfg, labels_dir)
        log(report.summary())
        dropped = report.dropped
    frame = cap_train(frame, cap)
    check_genera(frame, dropped)  # before the run's manifest.csv is replaced
    frame.to_csv(out_dir / "manifest.csv", index=False)
    log(frame.groupby(["genus", "split"]).size().unstack(fill_value=0).to_string())
    for warning in split_gaps(frame):
        log(warning)
    return frame


def flagged(out: dict, temperature: float, thresholds: dict) -> np.ndarray:
    """The shipped poison rule (:func:`mushroom.poison_rule.poison_flags`): summed poisonous
    probability >= tau, or the poison head at its threshold, or a poisonous top-1 genus."""
    head_tau = thresholds.get("poison_head")
    head = _scores(out, temperature, "head") if head_tau is not None else None
    return poison_flags(cal.softmax(out["logits"], temperature), GENERA, thresholds["poison"],
                        head, head_tau)


def summarize(out: dict, temperature: float, thresholds: dict) -> dict:
    """Headline metrics for a set of predictions (accuracy, macro-F1, poison recall...)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    targets = out["targets"]
    pred = out["logits"].argmax(1)
    present = sorted(set(targets.tolist()))
    per_class = f1_score(targets, pred, labels=present, average=None, zero_division=0)
    poison_true = np.isin(targets, POISONOUS_INDEX)
    flag = flagged(out, temperature, thresholds)
    return {
        "n": int(len(targets)),
        "accuracy": round(float((pred == targets).mean()), 4),
        "balanced_accuracy": round(float(balanced_accuracy_score(targets, pred)), 4),
        "macro_f1": round(float(f1_score(targets, pred, labels=present, average="macro",
                                         zero_division=0)), 4),
        "per_class_f1": {GENERA[c]: round(float(f), 4) for c, f in zip(present, per_class)},
        "poison_recall": round(float(flag[poison_true].mean()), 4) if poison_true.any()
        else None,
        "edible_pass_rate": round(float((~flag[~poison_true]).mean()), 4),
    }


def choose_thresholds(val: dict, oof: dict | None, temperature: float,
                      calib: CalibConfig) -> dict:
    """Pick the poison signal and its tau from validation and out-of-fold predictions.

    Both the genus-sum rule and the poison head are tuned for recall 1.0 on every
    calibration set available; the one with the higher edible pass rate becomes primary
    and the other keeps a veto at ``calib.veto``.
    """
    sets = [("val", val, temperature)]
    if oof is not None:
        sets.append(("oof", oof, cal.fit_temperature(oof["logits"], oof["targets"])))
    choice: dict = {"calibration_sets": [s[0] for s in sets]}
    for signal in ("rule", "head"):
        taus, rates = [], {}
        for name, out, temp in sets:
            scores = _scores(out, temp, signal)
            poison = np.isin(out["targets"], POISONOUS_INDEX)
            pick = cal.choose_tau(scores, poison, calib.margin, calib.min_tau, calib.max_tau)
            taus.append(pick.tau)
            rates[name] = cal.pass_rate_at_full_recall(scores, poison)
        tau = min(taus)
        rates.update({f"{n}_at_tau": float((_scores(o, t, signal)[~np.isin(
            o["targets"], POISONOUS_INDEX)] < tau).mean()) for n, o, t in sets})
        choice[signal] = {"tau": tau, "pass_rate": rates}
    ref = "oof" if oof is not None else "val"
    primary = "head" if choice["head"]["pass_rate"][ref] > choice["rule"]["pass_rate"][ref] \
        else "rule"
    choice["primary"] = primary
    choice["poison"] = choice["rule"]["tau"] if primary == "rule" else calib.veto
    choice["poison_head"] = choice["head"]["tau"] if primary == "head" else calib.veto
    choice["uncertain_top1"] = calib.uncertain_max_prob
    return choice


def _scores(out: dict, temperature: float, signal: str) -> np.ndarray:
    if signal == "rule":
        return poison_probabilities(cal.softmax(out["logits"], temperature), GENERA)
    return 1.0 / (1.0 + np.exp(-out["poison"]))


def write_json(path: Path, obj: dict) -> None:
    """Pretty JSON with numpy scalars converted."""
    path.write_text(json.dumps(obj, indent=2, default=lambda o: o.item()
                               if hasattr(o, "item") else str(o)))


def build_meta(cfg: TrainConfig, frame: pd.DataFrame, temperature: float, thresholds: dict,
               metrics: dict, extras: dict, input_size: int) -> dict:
    """Everything the checkpoint carries besides the weights."""
    return {
        "arch": cfg.arch, "classes": list(GENERA), "temperature": temperature,
        "poison_threshold": thresholds["poison"], "thresholds": thresholds,
        "metrics": metrics, "train_config": dataclasses.asdict(cfg),
        "manifest_sha256": manifest_sha256(frame), "input_size": input_size,
        "version": dt.datetime.now(dt.timezone.utc).strftime("%Y.%m.%d-%H%M"),
        "name": f"mushroom-{cfg.arch}", **extras,
    }


def predict_splits(model, frame: pd.DataFrame, data_dir: Path, cfg: TrainConfig, device,
                   tta=None) -> dict:
    """Genus/poison logits, embeddings and targets of every non-empty split of ``frame``.

    With ``tta`` (a :class:`mushroom.tta.TTA`) photos are framed at its largest view and
    every view is averaged, exactly as :class:`mushroom.predict.Predictor` does. The network
    is first made the one the app runs (fp16 weights, BatchNorm folded; ``model`` itself is
    left as it is), so thresholds fitted on these outputs hold for the app's own numbers.
    """
    from mushroom.engine import evaluate
    from mushroom.predict import served_network
    from mushroom.train import Loaders

    model = served_network(model)
    if tta is not None:
        cfg = dataclasses.replace(cfg, input_size=tta.frame_size)
    loaders = Loaders(data_dir, model, cfg, device)
    outs = {}
    for split in SPLITS:
        rows = frame[frame["split"] == split]
        if len(rows):
            outs[split] = evaluate(model, loaders.photos(rows, train=False), device, split, tta)
            outs[split]["targets"] = outs[split]["targets"].astype(int)
    return outs


def run(data_dir: str, out_dir: str, cfg: TrainConfig, calib: CalibConfig | None = None,
        data_cfg: DataConfig | None = None, labels_dir: str | None = None,
        manifest: str | None = None, log=print, resume: bool = False) -> dict:
    """Train, calibrate, evaluate and save ``out_dir/model.pt``; return the run report.

    The final model is trained and saved first; optional CV then adds out-of-fold
    predictions, re-tunes the thresholds on them and saves again (so a run cut short
    still leaves a usable checkpoint). Training progress is kept in ``train_state.pt``
    until model.pt is written; ``resume`` continues from it (:mod:`mushroom.resume`).
    """
    from mushroom.resume import open_run
    from mushroom.train import Loaders, fit, pick_device, seeded_model

    calib, data_cfg = calib or CalibConfig(), data_cfg or DataConfig()
    data, out = Path(data_dir), Path(out_dir)
    frame, saver = open_run(out, data, cfg, resume, lambda: load_frame(
        data, out, data_cfg, labels_dir, manifest, cfg.max_train_images, log), manifest,
        labels_dir, log, data_cfg.keep_split)
    device = pick_device(cfg.device)
    log(f"device: {device}")
    model = seeded_model(cfg)
    loaders = Loaders(data, model, cfg, device)
    split = {s: frame[frame["split"] == s] for s in SPLITS}
    model, history = fit(model, loaders, split["train"], split["val"], cfg, device, log, saver)
    outs = predict_splits(model, frame, data, cfg, device, calib.tta())
    keep = {"logit_adjustment": prior.adjust(model, outs, None, frame, calib.logit_adjust,
                                             log=log)}
    save_outputs(out, outs, None)
    model.cpu()
    train_seconds = round(time.time() - saver.started, 1)
    report = finish(out, model, cfg, calib, frame, outs, None, history, train_seconds, log, keep)
    saver.finished()
    if cfg.cv_folds:
        from mushroom.cv import cross_validate, save_oof

        oof = cross_validate(data, frame, cfg, device, log)
        save_oof(out, frame, oof, keep["logit_adjustment"])
        report = finish(out, model, cfg, calib, frame, outs, oof, history, train_seconds, log,
                        keep)
    return report


def finish(out: Path, model, cfg: TrainConfig, calib: CalibConfig, frame: pd.DataFrame,
           outs: dict, oof: dict | None, history: list, train_seconds: float,
           log=print, keep: dict | None = None) -> dict:
    """Calibrate on validation (and out-of-fold data), then write model.pt and the report."""
    temperature = cal.fit_temperature(outs["val"]["logits"], outs["val"]["targets"])
    thresholds = choose_thresholds(outs["val"], oof if calib.tau_from_oof else None,
                                   temperature, calib)
    metrics = {s: summarize(outs[s], temperature, thresholds) for s in ("val", "test")
               if s in outs}
    if oof is not None and calib.tau_from_oof:  # else they are other models' (a soup's)
        metrics["cv"] = summarize(oof, cal.fit_temperature(oof["logits"], oof["targets"]),
                                  thresholds)
    metrics["train_seconds"] = train_seconds
    extras = {**fit_extras(outs, oof, temperature, calib, log), **(keep or {})}
    views = calib.tta()
    extras["tta"] = views.to_meta() if views else None
    meta = build_meta(cfg, frame, temperature, thresholds, metrics, extras,
                      cfg.input_size or model.cfg.input_size)
    nbytes = save_checkpoint(out / "model.pt", model, meta)
    report = {"metrics": metrics, "thresholds": thresholds, "temperature": temperature,
              "history": history, "checkpoint_bytes": nbytes}
    write_json(out / "train_report.json", report)
    log(json.dumps({"metrics": metrics, "thresholds": thresholds}, indent=1, default=str))
    # A recalibration (calibrate, rebalance, distill) keeps the run's recorded time.
    log(f"saved {out / 'model.pt'} ({nbytes / 1e6:.2f} MB); training time on record "
        f"{train_seconds} s")
    return report


def fit_extras(outs: dict, oof: dict | None, temperature: float, calib: CalibConfig,
               log=print) -> dict:
    """Fit the unfamiliar-photo detector and the conformal thresholds for the checkpoint.

    The detector's bank comes from training embeddings and its threshold from validation.
    Conformal thresholds come from the shipped model's validation predictions, the only
    ones exchangeable with new photos. A genus with too few validation photos for the
    guarantee takes the threshold of its worst validation photo ("max" fallback) or, when
    CV ran, the out-of-fold threshold if that is larger: the cautious choice for rare genera.
    """
    from mushroom.conformal import fit_mondrian
    from mushroom.ood import fit_detector

    ood = fit_detector(outs["train"]["embedding"], outs["train"]["targets"],
                       outs["val"]["embedding"], outs["val"]["logits"])
    val_probs = cal.softmax(outs["val"]["logits"], temperature)
    conformal = fit_mondrian(val_probs, outs["val"]["targets"], calib.conformal_alpha,
                             fallback="max")
    conformal["calibration"] = "validation"
    if oof is not None:
        probs = cal.softmax(oof["logits"], cal.fit_temperature(oof["logits"], oof["targets"]))
        other = fit_mondrian(probs, oof["targets"], calib.conformal_alpha, fallback="max")
        for c in conformal["fallback_classes"]:
            conformal["qhat"][c] = max(conformal["qhat"][c], other["qhat"][c])
        conformal["calibration"] = "validation; rare genera: max(validation, out-of-fold)"
    log(f"detector: val reject rate {ood['val_reject_rate']:.3f}; conformal: "
        f"{conformal['calibration']}; rare genera "
        f"{[GENERA[c] for c in conformal['fallback_classes']]}")
    return {"ood": ood, "conformal": conformal}


def save_outputs(out: Path, outs: dict, oof: dict | None) -> None:
    """Write ``outputs.npz`` (and ``oof.npz``) so that they match the checkpoint beside them.

    Without ``oof``, the out-of-fold files of an earlier ``--cv`` run in ``out`` are removed:
    they are another model's, and ``calibrate`` would fit this one's thresholds on them.
    """
    from mushroom.atomic import write_atomic

    # whole or not at all: a Ctrl-C or full disk mid-write must not leave a torn file that
    # `calibrate` would read in place of the outputs
    arrays = {f"{s}_{k}": v for s, o in outs.items() for k, v in o.items()}
    write_atomic(out / "outputs.npz", lambda f: np.savez_compressed(f, **arrays))
    if oof is not None:
        write_atomic(out / "oof.npz", lambda f: np.savez_compressed(f, **oof))
        return
    for stale in ("oof.npz", "oof_predictions.csv"):
        (out / stale).unlink(missing_ok=True)
