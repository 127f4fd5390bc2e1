"""``python -m mushroom calibrate``: re-tune a finished run without retraining.

Re-predicts the splits from the saved checkpoint (optionally), re-picks the logit adjustment,
then refits temperature, tau, the detector and the conformal sets through
:func:`mushroom.pipeline.finish`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mushroom import prior
from mushroom.config import CalibConfig, TrainConfig
from mushroom.data import read_manifest
from mushroom.pipeline import finish, save_outputs


def recalibrate(run_dir: str, calib: CalibConfig | None = None, data_dir: str | None = None,
                log=print) -> dict:
    """Redo calibration, detector and conformal fitting from a run's saved outputs.

    Uses ``outputs.npz`` (and ``oof.npz`` when CV ran) so thresholds can be re-tuned
    without retraining; rewrites ``model.pt`` and ``train_report.json``. With ``data_dir``
    the train/val/test outputs are first recomputed from the saved (fp16) checkpoint on those
    photos, on the CPU, exactly as the app will see them.
    """
    import dataclasses as dc

    from mushroom.checkpoint import load_checkpoint
    from mushroom.config import Stage

    out = Path(run_dir)
    model, ckpt = load_checkpoint(out / "model.pt")
    frame = read_manifest(out / "manifest.csv")
    if data_dir is not None:
        recompute_outputs(model, frame, Path(data_dir), out / "outputs.npz")
    saved = np.load(out / "outputs.npz")
    outs: dict = {}
    for key in saved.files:
        split, field = key.split("_", 1)
        outs.setdefault(split, {})[field] = saved[key]
    oof = dict(np.load(out / "oof.npz")) if (out / "oof.npz").exists() else None
    cfg_dict = dict(ckpt["train_config"])
    cfg_dict["stages"] = [Stage(**{**s, "trainable": tuple(s["trainable"])})
                          for s in cfg_dict["stages"]]
    cfg = TrainConfig(**{f.name: cfg_dict[f.name] for f in dc.fields(TrainConfig)
                         if f.name in cfg_dict})
    old = json.loads((out / "train_report.json").read_text())
    keep = {k: ckpt[k] for k in ("soup_of", "name", "rebalance") if k in ckpt}
    previous = (ckpt.get("logit_adjustment") or {}).get("alpha", 0.0)
    calib = calib or CalibConfig()
    keep["logit_adjustment"] = prior.adjust(model, outs, oof, frame, calib.logit_adjust,
                                            previous, log)
    save_outputs(out, outs, oof)
    return finish(out, model, cfg, calib, frame, outs, oof, old["history"],
                  ckpt["metrics"].get("train_seconds", 0.0), log, keep)


def recompute_outputs(model, frame: pd.DataFrame, data_dir: Path, dest: Path) -> None:
    """Predict every split of ``frame`` with ``model`` on the CPU and save ``outputs.npz``."""
    import torch

    from mushroom.engine import evaluate
    from mushroom.train import Loaders

    cfg = TrainConfig(workers=2, batch_size=32)
    model = model.to(memory_format=torch.channels_last)
    loaders = Loaders(data_dir, model, cfg, torch.device("cpu"))
    arrays = {}
    for split in ("train", "val", "test"):
        rows = frame[frame["split"] == split]
        if len(rows):
            got = evaluate(model, loaders.photos(rows, train=False), torch.device("cpu"), split)
            got["targets"] = got["targets"].astype(int)
            arrays.update({f"{split}_{k}": v for k, v in got.items()})
    np.savez_compressed(dest, **arrays)
