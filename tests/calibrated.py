"""A tiny checkpoint that also carries conformal thresholds (and optionally a detector).

The untrained ``tiny_checkpoint`` ships neither, so the app shows no prediction set. Tests
of the set and the detector fit both for real, on the tiny model's own outputs for
generated photos, and store them in a copy of the checkpoint, as calibration does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from conftest import make_photo
from mushroom.conformal import fit_mondrian
from mushroom.ood import DetectorConfig, fit_detector
from mushroom.predict import load_model
from mushroom.taxonomy import GENERA


def calibrated_checkpoint(src: Path, dst: Path, per_class: int = 4,
                          with_detector: bool = False) -> Path:
    """Copy ``src`` to ``dst`` with ``conformal`` (and ``ood``) fitted on generated photos.

    Conformal uses the "max" fallback: with a handful of photos per genus no threshold
    carries the 95% guarantee, and "always" would put every genus in every set.
    """
    predictor = load_model(src)
    labels = np.repeat(np.arange(len(GENERA)), per_class)
    photos = [make_photo(int(c), seed=500 + i, size=(120, 96)) for i, c in enumerate(labels)]
    out = predictor.predict(photos)
    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    ckpt["conformal"] = fit_mondrian(out.probs, labels, alpha=0.05, fallback="max")
    if with_detector:
        train = np.arange(len(labels)) % 2 == 0  # half the bank, half calibration
        ckpt["ood"] = fit_detector(out.embedding[train], labels[train], out.embedding[~train],
                                   cfg=DetectorConfig(n_components=16, bank_size=64, k=1))
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, dst)
    return dst
