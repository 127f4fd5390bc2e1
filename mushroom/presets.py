"""Train and eval transforms, side by side, with normalization from the backbone config.

Augmentations follow the study (rotation, horizontal flip) plus the ones it proposes for
its failure modes: zoom (random resized crop), perspective and cutout (random erasing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:  # torch costs seconds to import: the app imports to_rgb at start, no torch
    from torchvision.transforms import v2 as T


def train_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> T.Compose:
    """Augmenting transform for training photos (PIL in, normalized tensor out)."""
    import torch
    from torchvision.transforms import v2 as T

    return T.Compose([
        T.PILToTensor(),
        T.RandomResizedCrop(size, scale=(0.35, 1.0), ratio=(0.75, 1.333), antialias=True),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.RandomRotation(25)], p=0.5),
        T.RandomPerspective(distortion_scale=0.25, p=0.25),
        T.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.15, hue=0.02),
        T.ToDtype(torch.float32, scale=True),
        T.Normalize(mean, std),
        T.RandomErasing(p=0.25, scale=(0.02, 0.15), value=0.0),
    ])


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> T.Compose:
    """Deterministic transform: shorter side to ``size``, centre crop, normalize."""
    import torch
    from torchvision.transforms import v2 as T

    return T.Compose([
        T.PILToTensor(),
        T.Resize(size, antialias=True),
        T.CenterCrop(size),
        T.ToDtype(torch.float32, scale=True),
        T.Normalize(mean, std),
    ])


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode (P, LA, CMYK, I;16, RGBA...) to 8-bit RGB.

    Transparent pixels are composited on white so a cut-out photo keeps its subject.
    16-bit and float images are rescaled to 0-255 rather than clipped.
    """
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(arr.astype("uint8")).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")
