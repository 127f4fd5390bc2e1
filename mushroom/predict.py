"""``load_model(path)`` -> :class:`Predictor`: PIL images -> calibrated genus probabilities.

The predictor is what the app, the evaluation and the review queue share. It applies the
checkpoint's eval transform and temperature, and also returns the poison-head probability
and the embedding used by the unfamiliar-photo detector.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from mushroom.checkpoint import check_decision_meta, load_checkpoint
from mushroom.poison_rule import poison_probabilities
from mushroom.presets import eval_transform, to_rgb
from mushroom.tta import TTA, forward

from mushroom.paths import DEFAULT_MODEL  # noqa: F401  (re-exported for callers)


@dataclass
class Prediction:
    """Model outputs for a batch of N photos over C genera."""

    probs: np.ndarray  # (N, C) temperature-calibrated genus probabilities
    logits: np.ndarray  # (N, C) raw genus logits
    poison_head: np.ndarray  # (N,) sigmoid of the dedicated poison head
    embedding: np.ndarray  # (N, D) adapter output, for the unfamiliar-photo detector

    def p_poisonous(self, classes: tuple[str, ...]) -> np.ndarray:
        """P(poisonous) of each photo (:func:`mushroom.poison_rule.poison_probabilities`)."""
        return poison_probabilities(self.probs, classes)


class Predictor:
    """A loaded checkpoint ready for inference on the CPU (or a given device).

    Attributes:
        classes: genus names in output order.
        temperature: softmax temperature fitted on validation.
        poison_threshold: tau on P(poisonous).
        tta: the test-time views averaged per photo (None: one centre view).
        meta: the checkpoint dict without its weights (metrics, config, detector...).
    """

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any], device: str = "cpu"):
        self.model = model.to(device).eval()
        self.device = device
        self.meta = {k: v for k, v in meta.items() if k != "state_dict"}
        self.classes: tuple[str, ...] = tuple(meta["classes"])
        self.temperature = float(meta["temperature"])
        self.poison_threshold = float(meta["poison_threshold"])
        self.input_size = int(meta["input_size"])
        self.tta = TTA.from_meta(meta)
        frame = self.tta.frame_size if self.tta else self.input_size
        self.transform = eval_transform(frame, meta["mean"], meta["std"])
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Model name shown to users and API clients."""
        return str(self.meta.get("name", self.meta["arch"]))

    @property
    def version(self) -> str:
        """Model version (a training date or tag)."""
        return str(self.meta["version"])

    def preprocess(self, images: list[Image.Image]) -> torch.Tensor:
        """Stack eval-transformed RGB images into one batch."""
        return torch.stack([self.transform(to_rgb(im)) for im in images])

    @torch.inference_mode()
    def predict_batch(self, batch: torch.Tensor, views: bool = True) -> Prediction:
        """Run the network on an already-preprocessed batch.

        Args:
            batch: normalized images, framed by :attr:`transform` when ``views``.
            views: average the checkpoint's test-time views; False runs the batch once as
                it is (LIME scores hundreds of perturbed copies that way).
        """
        logits, poison, emb = forward(self.model, batch.to(self.device),
                                      self.tta if views else None)
        logits = logits.float()
        probs = torch.softmax(logits / self.temperature, dim=1)
        return Prediction(probs.cpu().numpy(), logits.cpu().numpy(),
                          torch.sigmoid(poison.float()).cpu().numpy(), emb.float().cpu().numpy())

    def predict(self, images: list[Image.Image], batch_size: int = 32) -> Prediction:
        """Predict a list of PIL images (any mode; converted to RGB)."""
        parts = []
        for start in range(0, len(images), batch_size):
            batch = self.preprocess(images[start:start + batch_size])
            with self._lock:
                parts.append(self.predict_batch(batch))
        return Prediction(*(np.concatenate([getattr(p, f) for p in parts])
                            for f in ("probs", "logits", "poison_head", "embedding")))


def load_model(path: str | Path = DEFAULT_MODEL, device: str = "cpu",
               fold: bool = True) -> Predictor:
    """Load a checkpoint written by training into a :class:`Predictor`.

    Args:
        path: the checkpoint file.
        device: where the network runs.
        fold: fold BatchNorm into the convolutions (see :func:`served_network`).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a Mushroom checkpoint, or one whose classes, temperature or
            thresholds would break the safety verdict (:func:`check_decision_meta`).
    """
    model, meta = load_checkpoint(path)
    check_decision_meta(meta, path)
    return Predictor(served_network(model, fold), meta, device)


@torch.no_grad()  # not inference_mode: the folded weights must stay ordinary tensors
def served_network(model: torch.nn.Module, fold: bool = True) -> torch.nn.Module:
    """A copy of ``model`` computing exactly what the app computes.

    Weights are rounded to fp16 as the checkpoint stores them, and BatchNorm is folded into
    the convolutions (same outputs up to float rounding, much faster on a CPU). Calibration
    predicts through this copy too: a threshold fitted on validation scores only describes
    the app if the app recomputes those scores the same way.

    Args:
        model: a network in eval mode (left untouched; its state dict stays saveable).
        fold: fold BatchNorm; False keeps the network's layers as they are.
    """
    import copy

    served = copy.deepcopy(model).eval()
    for tensor in (*served.parameters(), *served.buffers()):
        if tensor.is_floating_point():
            tensor.copy_(tensor.half().float())
    if fold:
        served = _folded(served)
    return served.to(memory_format=torch.channels_last)


@torch.no_grad()
def _folded(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` with BatchNorm folded, or ``model`` itself if outputs move.

    The outputs on a fixed probe are compared before and after; should they differ (a
    backbone the pairing rule does not fit), the unfolded network is kept.
    """
    import copy
    import warnings

    from mushroom.models import fold_batchnorm

    size = model.cfg.input_size
    device = next(model.parameters()).device
    probe = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    probe = probe.to(device)
    before = model.classify(model.features(probe))
    folded = copy.deepcopy(model)
    fold_batchnorm(folded)
    after = folded.classify(folded.features(probe))
    if all(torch.allclose(a, b, rtol=1e-3, atol=1e-3) for a, b in zip(before, after)):
        return folded
    warnings.warn("BatchNorm folding changed the network's outputs; running it unfolded")
    return model
