"""Superpixels of a photo's view and the on/off masks over them, for :mod:`mushroom.explain`.

LIME hides superpixels to see what the model's probability does: :func:`segment` cuts the
view into them, :func:`mean_fill` gives what a hidden one becomes, and
:func:`paired_masks` says which are shown in each perturbed copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mushroom.explain import LimeConfig


def segment(view: np.ndarray, cfg: LimeConfig) -> np.ndarray:
    """Quickshift superpixels, numbered 0..n-1 (lime's default algorithm and settings)."""
    from skimage.segmentation import quickshift

    seg = quickshift(view, kernel_size=cfg.kernel_size, max_dist=cfg.max_dist, ratio=cfg.ratio,
                     rng=0)
    return np.unique(seg, return_inverse=True)[1].reshape(seg.shape).astype(np.int32)


def mean_fill(view: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Every superpixel painted with its mean colour: what a hidden superpixel becomes."""
    n = int(segments.max()) + 1
    flat = segments.ravel()
    counts = np.bincount(flat, minlength=n)[:, None]
    sums = np.stack([np.bincount(flat, view[..., c].ravel(), n) for c in range(3)], axis=1)
    return (sums / counts)[segments].astype(np.uint8)  # lime truncates the mean the same way


def paired_masks(n_samples: int, n_segments: int, seed: int, paired: bool = True) -> np.ndarray:
    """Row 0 keeps every superpixel; then random on/off masks, each followed by its inverse.

    Pairing balances the design (every superpixel is on in half the copies and no mask is
    correlated with the intercept), so lime's ridge fit ranks superpixels from a few hundred
    copies about as well as from a thousand unpaired ones. ``paired=False`` is lime's scheme.
    """
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 2, size=(n_samples, n_segments), dtype=np.int8)
    if paired:
        rand = np.stack([rand, 1 - rand], axis=1).reshape(-1, n_segments)
    return np.concatenate([np.ones((1, n_segments), np.int8), rand])[:n_samples]
