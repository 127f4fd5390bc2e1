"""Fast LIME: which superpixels of a photo push the model towards (or away from) a genus.

Both presets share the view (the eval crop), the quickshift superpixels
(:mod:`mushroom.superpixels`) and lime's own kernel-weighted ridge fit. They differ in how
the perturbed copies are scored:

* ``reference`` is the study's setting, run through ``lime_image`` unchanged: 1000 random
  on/off masks, each copy scored at 224 px.
* ``fast`` draws far fewer masks, in complementary pairs (every mask with its inverse, so
  each superpixel is on in exactly half of them), builds each batch of copies with one
  gather instead of lime's per-copy loop, and scores them under bfloat16 autocast.

Resolution is *not* a lever here: scored at 160 or 192 px instead of 224, the trained model
changes its mind enough that the top superpixels stop matching the reference; bfloat16 and
pairing keep them (see ``python -m mushroom.bench`` and the README for the numbers).

``python -m mushroom.bench`` measures both and their top-5 superpixel agreement;
:mod:`mushroom.ui.heatmap` draws the result.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from mushroom.lru import LRU
from mushroom.superpixels import mean_fill, paired_masks, segment
from mushroom.verdict import ranked_genera

if TYPE_CHECKING:  # the page imports this module's settings as the app starts: torch costs
    import torch  # seconds there, so it is imported where a photo is explained

    from mushroom.predict import Predictor

VIEW_SIZE = 224

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class LimeConfig:
    """How one explanation is computed."""

    num_samples: int  # perturbed copies scored by the model (the first is the photo itself)
    model_size: int  # side in pixels the copies are scored at (the view itself is 224)
    engine: str = "fast"  # "fast" (vectorized, paired masks) or "lime_image" (the study's loop)
    paired: bool = True  # fast engine: draw masks with their inverses (see paired_masks)
    batch_size: int = 16  # copies per forward pass (16 beat 32 and 64 here: cache-sized)
    bf16: bool = False  # score copies under bfloat16 autocast (about 2x faster on AVX-512 CPUs)
    seed: int = 0  # mask sampling seed, so the same photo always gets the same picture
    kernel_size: int = 4  # quickshift kernel (lime's default segmentation)
    max_dist: int = 200  # quickshift cut-off distance (lime's default)
    ratio: float = 0.2  # quickshift colour/space balance (lime's default)
    temperature: float = 1.0  # softmax temperature of the explained probabilities: the
    # network's own softmax, as in the study, not the calibrated one (sharper, and it moves
    # with every recalibration; a step-like target makes the local linear fit noisier)


PRESETS: dict[str, LimeConfig] = {
    "fast": LimeConfig(num_samples=320, model_size=224, bf16=True),
    "reference": LimeConfig(num_samples=1000, model_size=224, engine="lime_image"),
}


@dataclass
class Explanation:
    """LIME weights for one genus on one photo."""

    genus: str  # the genus explained
    probability: float  # the model's calibrated probability of that genus on the photo
    weights: np.ndarray  # (n_segments,) local linear weight of each superpixel
    segments: np.ndarray  # (224, 224) superpixel id of every pixel of the view
    view: np.ndarray  # (224, 224, 3) uint8: the explained crop (the model's own framing)
    score: float  # weighted R^2 of the local linear fit
    config: LimeConfig  # the settings used
    seconds: float  # wall time, segmentation included

    def top(self, k: int = 5) -> list[int]:
        """Ids of the ``k`` superpixels with the largest absolute weight (lime's ordering)."""
        return [int(i) for i in np.argsort(-np.abs(self.weights), kind="stable")[:k]]


def view_of(image: Image.Image, size: int = VIEW_SIZE) -> np.ndarray:
    """The eval transform's framing as uint8: shorter side to ``size``, centre crop."""
    w, h = image.size
    scale = size / min(w, h)
    target = (max(size, round(w * scale)), max(size, round(h * scale)))
    resized = image.convert("RGB").resize(target, Image.BILINEAR)
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    return np.asarray(resized.crop((left, top, left + size, top + size)))


def _to_model(predictor: Predictor, images: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) floats in [0, 1] -> normalized model input at ``size`` px."""
    import torch
    import torch.nn.functional as F
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                               align_corners=False)
    mean = torch.tensor(predictor.meta["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(predictor.meta["std"]).view(1, 3, 1, 1)
    return (images - mean) / std


def _score(predictor: Predictor, chunks: Iterable[torch.Tensor], n_chunks: int,
           cfg: LimeConfig, progress: Progress | None) -> np.ndarray:
    """Probabilities (at ``cfg.temperature``) for every chunk of copies, with progress."""
    import torch
    out = []
    for i, chunk in enumerate(chunks):
        batch = _to_model(predictor, chunk, cfg.model_size)
        # the lock: /identify shares the model; one view: test-time views would multiply the
        # cost of hundreds of copies, and the copies already vary far more than the views do
        with predictor._lock, torch.autocast("cpu", torch.bfloat16, enabled=cfg.bf16):
            logits = predictor.predict_batch(batch, views=False).logits
        out.append(torch.softmax(torch.from_numpy(logits) / cfg.temperature, dim=1).numpy())
        if progress:
            progress((i + 1) / n_chunks, f"Scoring {n_chunks} batches of perturbed copies")
    return np.concatenate(out)


def _to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (1, 3, size, size) in [0, 1], antialiased."""
    import torch
    import torch.nn.functional as F
    t = torch.tensor(image).permute(2, 0, 1)[None].float() / 255.0  # copies: views are read-only
    if t.shape[-1] == size:
        return t
    return F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def _fast_samples(predictor: Predictor, view: np.ndarray, segments: np.ndarray, cfg: LimeConfig,
                  progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    """Paired masks and their probabilities; copies are built at ``cfg.model_size`` directly."""
    import torch
    import torch.nn.functional as F
    masks = paired_masks(cfg.num_samples, int(segments.max()) + 1, cfg.seed, cfg.paired)
    small = torch.from_numpy(segments)[None, None].float()
    small = F.interpolate(small, size=(cfg.model_size,) * 2, mode="nearest")[0, 0].long()
    on = _to_tensor(view, cfg.model_size)
    off = _to_tensor(mean_fill(view, segments), cfg.model_size)
    keep = torch.from_numpy(masks).bool()
    starts = range(0, len(masks), cfg.batch_size)  # built lazily: one batch in memory at a time
    chunks = (torch.where(keep[i:i + cfg.batch_size][:, small][:, None], on, off) for i in starts)
    return masks, _score(predictor, chunks, len(starts), cfg, progress)


def _lime_fit(masks: np.ndarray, probs: np.ndarray, label: int, seed: int):
    """lime_image's own kernel-weighted ridge fit; returns (weights, R^2)."""
    from lime import lime_image
    from sklearn.metrics import pairwise_distances

    base = lime_image.LimeImageExplainer(random_state=seed).base
    distances = pairwise_distances(masks, masks[:1], metric="cosine").ravel()
    _, exp, score, _ = base.explain_instance_with_data(masks, probs, distances, label, 100_000)
    weights = np.zeros(masks.shape[1])
    for idx, w in exp:
        weights[idx] = w
    return weights, float(score)


def _lime_image_weights(predictor: Predictor, view: np.ndarray, segments: np.ndarray,
                        label: int, cfg: LimeConfig, progress: Progress | None):
    """The study's path: ``lime_image.explain_instance`` unchanged, copies scored at 224 px."""
    import torch
    from lime import lime_image

    n_batches = -(-cfg.num_samples // cfg.batch_size)
    done = [0]

    def classify(batch: np.ndarray) -> np.ndarray:
        done[0] += 1
        t = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
        message = f"Scoring {n_batches} batches of perturbed copies"  # not lime's "1 of 1"
        step = (lambda f, d: progress(min(1.0, done[0] / n_batches), message)) if progress \
            else None
        return _score(predictor, [t], 1, cfg, step)

    explainer = lime_image.LimeImageExplainer(random_state=cfg.seed)
    exp = explainer.explain_instance(view, classify, labels=(label,), top_labels=None,
                                     hide_color=None, num_samples=cfg.num_samples,
                                     batch_size=cfg.batch_size, random_seed=cfg.seed,
                                     segmentation_fn=lambda _: segments)
    weights = np.zeros(int(segments.max()) + 1)
    for idx, w in exp.local_exp[label]:
        weights[idx] = w
    return weights, float(exp.score)


MAX_SAMPLES = 2000
"""Most perturbed copies one explanation may score (about 45 s on two cores with the
reference preset, which scores 1000 in about 22 s): more would hold the app's single
explanation slot for minutes while other users wait."""

_SEGMENTS = LRU(64)
_EXPLANATIONS = LRU(32)


def clear_caches() -> None:
    """Forget cached segmentations and explanations (benchmarks time fresh photos)."""
    for cache in (_SEGMENTS, _EXPLANATIONS):
        cache.clear()


def resolve_config(preset: str = "fast", num_samples: int | None = None) -> LimeConfig:
    """A preset, optionally with another sample count (at least 10: lime needs a neighbourhood).

    Raises:
        ValueError: an unknown preset, or more than :data:`MAX_SAMPLES` samples.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown quality {preset!r}; choose from {', '.join(PRESETS)}")
    if num_samples and int(num_samples) > MAX_SAMPLES:
        raise ValueError(f"at most {MAX_SAMPLES} samples per explanation, not {num_samples}")
    cfg = PRESETS[preset]
    return replace(cfg, num_samples=max(10, int(num_samples))) if num_samples else cfg


def explain(predictor: Predictor, image: Image.Image, genus: str | None = None,
            cfg: LimeConfig = PRESETS["fast"], progress: Progress | None = None,
            use_cache: bool = True) -> Explanation:
    """Explain the model's probability of ``genus`` (default: its top-1) on ``image``.

    Args:
        predictor: the loaded model.
        image: an RGB photo (see :func:`mushroom.imageio.open_image`).
        genus: the genus to explain; None explains the predicted genus.
        cfg: a preset from :data:`PRESETS` or :func:`resolve_config`.
        progress: called with (fraction done, message) while copies are scored.
        use_cache: reuse an earlier identical explanation (same photo, genus, model, cfg).

    Raises:
        ValueError: ``genus`` is not one of the model's classes.
    """
    start = time.perf_counter()
    probs = predictor.predict([image]).probs[0]
    label = _label_of(predictor, probs, genus)
    view = view_of(image)
    digest = hashlib.sha1(view.tobytes()).hexdigest()
    # name and version too: id() of a model dropped from memory can be reused by another
    key = (digest, id(predictor), predictor.name, predictor.version, label, cfg)
    cached = _EXPLANATIONS.get(key) if use_cache else None
    if cached is not None:
        return cached
    segments = _segments(view, digest, cfg)
    weights, score = _weights(predictor, view, segments, label, cfg, progress)
    result = Explanation(predictor.classes[label], float(probs[label]), weights, segments, view,
                         score, cfg, time.perf_counter() - start)
    if use_cache:
        _EXPLANATIONS.put(key, result)
    return result


def _label_of(predictor: Predictor, probs: np.ndarray, genus: str | None) -> int:
    """The class index to explain: ``genus``'s, or the model's top-1 when None.

    The top-1 is the genus /identify names (:func:`~mushroom.verdict.ranked_genera`): on an
    exact tie argmax took the first in class order, so "Predicted genus" explained Agaricus
    beside a verdict naming Amanita.

    Raises:
        ValueError: ``genus`` is not one of the model's classes.
    """
    if genus is None:
        return predictor.classes.index(ranked_genera(dict(zip(predictor.classes, probs)))[0])
    if genus in predictor.classes:
        return predictor.classes.index(genus)
    raise ValueError(f"unknown genus {genus!r}; choose from {', '.join(predictor.classes)}")


def _weights(predictor: Predictor, view: np.ndarray, segments: np.ndarray, label: int,
             cfg: LimeConfig, progress: Progress | None) -> tuple[np.ndarray, float]:
    """(weight of each superpixel, R^2 of the fit) by ``cfg.engine``."""
    if cfg.engine == "lime_image":
        return _lime_image_weights(predictor, view, segments, label, cfg, progress)
    masks, sample_probs = _fast_samples(predictor, view, segments, cfg, progress)
    return _lime_fit(masks, sample_probs, label, cfg.seed)


def _segments(view: np.ndarray, digest: str, cfg: LimeConfig) -> np.ndarray:
    """Superpixels of ``view``, computed once per photo and reused by every preset."""
    key = (digest, cfg.kernel_size, cfg.max_dist, cfg.ratio)
    seg = _SEGMENTS.get(key)
    if seg is None:
        seg = segment(view, cfg)
        _SEGMENTS.put(key, seg)
    return seg


def top_k_agreement(a: Explanation, b: Explanation, k: int = 5) -> float:
    """Share of ``a``'s top-``k`` superpixels that are also in ``b``'s top-``k``."""
    return len(set(a.top(k)) & set(b.top(k))) / k
