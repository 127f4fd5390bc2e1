"""The LIME heatmap image: the photo with its strongest superpixels tinted, and a legend.

Cyan superpixels raise the explained genus's probability, red ones lower it (the study's
colours); the tint's strength follows the weight. The legend is drawn into the image, so
API clients of /explain get it too.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mushroom.explain import Explanation, view_of
from mushroom.verdict import pct

DISPLAY_SIZE = 448
SUPPORT_RGB = (0, 230, 230)  # cyan
OPPOSE_RGB = (230, 30, 30)  # red


def overlay(exp: Explanation, num_features: int = 8, image: Image.Image | None = None,
            size: int = DISPLAY_SIZE) -> Image.Image:
    """The explained view, ``size`` px square, with its ``num_features`` strongest superpixels
    tinted and outlined, plus a legend strip underneath.

    ``image`` (the original photo) gives a sharper background than the 224 px view.
    """
    from skimage.segmentation import find_boundaries

    base = view_of(image, size) if image is not None else np.asarray(
        Image.fromarray(exp.view).resize((size, size), Image.BICUBIC))
    seg = np.asarray(Image.fromarray(exp.segments).resize((size, size), Image.NEAREST))
    top = exp.top(num_features)
    peak = max(float(np.abs(exp.weights[top]).max()), 1e-12)
    alpha = np.zeros(len(exp.weights))
    colour = np.zeros((len(exp.weights), 3))
    for i in top:
        alpha[i] = 0.25 + 0.45 * abs(exp.weights[i]) / peak
        colour[i] = SUPPORT_RGB if exp.weights[i] > 0 else OPPOSE_RGB
    a = alpha[seg][..., None]
    out = base * (1 - a) + colour[seg] * a
    edges = find_boundaries(np.where(np.isin(seg, top), seg, -1), mode="inner")
    out[edges] = 255
    return _with_legend(Image.fromarray(out.astype(np.uint8)), exp)


def _with_legend(img: Image.Image, exp: Explanation) -> Image.Image:
    """Append a legend strip: colour swatches, the genus and the settings used."""
    font = ImageFont.load_default(size=15)
    canvas = Image.new("RGB", (img.width, img.height + 52), (255, 255, 255))
    canvas.paste(img, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = img.height + 6
    draw.rectangle((8, y + 2, 24, y + 16), fill=SUPPORT_RGB)
    draw.text((30, y), f"supports {exp.genus} ({pct(exp.probability)})", fill=(0, 0, 0), font=font)
    draw.rectangle((img.width // 2 + 40, y + 2, img.width // 2 + 56, y + 16), fill=OPPOSE_RGB)
    draw.text((img.width // 2 + 62, y), "opposes it", fill=(0, 0, 0), font=font)
    draw.text((8, y + 22), f"LIME {exp.config.engine}: {exp.config.num_samples} samples at "
              f"{exp.config.model_size} px, {exp.seconds:.1f} s", fill=(90, 90, 90), font=font)
    return canvas
