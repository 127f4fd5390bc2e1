"""``python -m mushroom calibrate``: re-tune a finished run without retraining.

Re-predicts the splits from the saved checkpoint (optionally), re-picks the logit adjustment,
then refits temperature, tau, the detector and the conformal sets through
:func:`mushroom.pipeline.finish`.
"""

from __future__ import annotations

import dataclasses as dc
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mushroom import prior
from mushroom.config import CalibConfig, TrainConfig
from mushroom.manifest import check_photos, read_manifest
from mushroom.pipeline import finish, save_outputs


def recalibrate(run_dir: str, calib: CalibConfig | None = None, data_dir: str | None = None,
                log=print) -> dict:
    """Redo calibration, detector and conformal fitting from a run's saved outputs.

    Uses ``outputs.npz`` (and ``oof.npz`` when CV ran) so thresholds can be re-tuned
    without retraining; rewrites ``model.pt`` and ``train_report.json``. With ``data_dir``
    the train/val/test outputs are first recomputed from the saved (fp16) checkpoint on those
    photos, on the CPU, exactly as the app will see them (with ``calib``'s test-time views;
    ``calib.tta_sizes`` None keeps the checkpoint's).
    """
    from mushroom.checkpoint import load_checkpoint, not_a_run

    out = Path(run_dir)
    if out.is_file():  # the run's model.pt given for the run
        raise not_a_run(out)
    if not (out / "model.pt").is_file():  # a mistyped --run is not "a soup without outputs"
        raise FileNotFoundError(f"{out} is not a run folder: it has no model.pt")
    refuse_unused_oof_flag(out, calib)
    if data_dir is None and not (out / "outputs.npz").is_file():
        raise FileNotFoundError(f"{out} has no saved outputs of its own (a soup or a fresh "
                                "student): pass --data <photos> so calibration predicts them")
    model, ckpt = load_checkpoint(out / "model.pt")
    frame = read_manifest(out / "manifest.csv")
    calib = resolve_views(calib or CalibConfig(), ckpt, data_dir is not None)
    if data_dir is not None:
        check_photos(frame, data_dir)
        outs = recompute_outputs(model, frame, Path(data_dir), calib.tta())
    else:
        outs = load_outputs(out / "outputs.npz")
    oof = read_npz(out / "oof.npz", "remove it to calibrate without out-of-fold outputs, "
                   "or train again with --cv") if (out / "oof.npz").exists() else None
    cfg = train_config(ckpt)
    old = json.loads((out / "train_report.json").read_text())
    keep = {k: ckpt[k] for k in ("soup_of", "name", "rebalance", "distillation") if k in ckpt}
    previous = (ckpt.get("logit_adjustment") or {}).get("alpha", 0.0)
    keep["logit_adjustment"] = prior.adjust(model, outs, oof, frame, calib.logit_adjust,
                                            previous, log)
    save_outputs(out, outs, oof)
    return finish(out, model, cfg, calib, frame, outs, oof, old["history"],
                  ckpt["metrics"].get("train_seconds", 0.0), log, keep)


def refuse_unused_oof_flag(run: str | Path, calib: CalibConfig | None) -> None:
    """Refuse ``--oof-sets-only`` for a run that has no out-of-fold outputs to act on.

    Recalibrated as if the flag were absent, such a run got none of the wider rare-genus
    sets the flag is asked for, unsaid. ``rebalance`` and ``distill`` call this before they
    write anything, as their recalibration comes last.

    Raises:
        ValueError: ``calib`` keeps out-of-fold outputs out of tau and ``run`` has no
            ``oof.npz``.
    """
    if calib is not None and not calib.tau_from_oof and not (Path(run) / "oof.npz").exists():
        raise ValueError(f"--oof-sets-only keeps out-of-fold outputs out of tau, and {run} has "
                         "none (no oof.npz: `train --cv` writes it; `soup` copies its first run's, "
                         "`distill` its --init's): drop --oof-sets-only")


def train_config(ckpt: dict) -> TrainConfig:
    """The :class:`TrainConfig` a checkpoint was trained with (keys this version's config
    lacks, saved by an older or newer one, are left out)."""
    from mushroom.config import Stage

    cfg_dict = dict(ckpt["train_config"])
    cfg_dict["stages"] = [Stage(**{**s, "trainable": tuple(s["trainable"])})
                          for s in cfg_dict["stages"]]
    return TrainConfig(**{f.name: cfg_dict[f.name] for f in dc.fields(TrainConfig)
                          if f.name in cfg_dict})


def resolve_views(calib: CalibConfig, ckpt: dict, recompute: bool) -> CalibConfig:
    """Make ``calib.tta_sizes`` concrete: None keeps the checkpoint's test-time views.

    Raises:
        ValueError: the views would change but the saved outputs are not recomputed, so
            the thresholds would be fitted on outputs the app never produces.
    """
    from mushroom.tta import TTA

    current = TTA.from_meta(ckpt)
    if calib.tta_sizes is None:
        return dc.replace(calib, tta_sizes=current.sizes if current else (),
                          tta_flip=current.flip if current else calib.tta_flip)
    if calib.tta() != current and not recompute:
        raise ValueError("changing the test-time views needs --data: the saved outputs must be "
                         "recomputed with the new views before calibrating on them")
    return calib


def load_outputs(path: Path) -> dict:
    """``outputs.npz`` (written by :func:`mushroom.pipeline.save_outputs`) as {split: {field}}."""
    saved = read_npz(path, f"run `calibrate --run {path.parent} --data PHOTOS` to predict "
                           "them again")
    outs: dict = {}
    for key in saved:
        split, field = key.split("_", 1)
        outs.setdefault(split, {})[field] = saved[key]
    return outs


def read_npz(path: Path, fix: str) -> dict:
    """The arrays of a saved ``.npz``, read whole.

    Raises:
        ValueError: it is cut short or not an npz (a write stopped by an older version);
            the message says ``fix``.
    """
    import zipfile

    try:
        with np.load(path) as saved:
            return {key: saved[key] for key in saved.files}
    except (zipfile.BadZipFile, EOFError, ValueError) as err:
        raise ValueError(f"{path} is damaged ({err}): {fix}") from err


def recompute_outputs(model, frame: pd.DataFrame, data_dir: Path, tta=None) -> dict:
    """Predict every split of ``frame`` with ``model`` on the CPU (through ``tta``'s views),
    as the app's network computes them (see :func:`mushroom.pipeline.predict_splits`).

    :func:`recalibrate` saves them once the logit adjustment has been applied.
    """
    import torch

    from mushroom.pipeline import predict_splits

    cfg = TrainConfig(workers=2, batch_size=32)
    return predict_splits(model, frame, data_dir, cfg, torch.device("cpu"), tta)
