"""The LIME heatmap image: the photo with its strongest superpixels tinted, and a legend.

Cyan superpixels raise the explained genus's probability, red ones lower it (the study's
colours), hatched so that colour is not the only difference; the tint's strength follows
the weight. The legend is drawn into the image, so
API clients of /explain get it too, fit score included: how far to trust the colours.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mushroom.explain import Explanation, view_of
from mushroom.percent import pct

DISPLAY_SIZE = 448
SUPPORT_RGB = (0, 230, 230)  # cyan
OPPOSE_RGB = (230, 30, 30)  # red
HATCH = 8  # px between the white diagonal stripes over opposing regions and their swatch:
# with colour alone, a light red tint on a dark cap and a cyan one on dark soil looked the same
# in greyscale (colour blindness, a grey print; WCAG 1.4.1)
TINTED = 8  # superpixels tinted: the strongest of the 28-50 regions LIME's fit covers
WEAK_FIT = 0.5  # below this R^2 LIME's linear model of all the regions accounts for less
# than half of how the model's answer moved as regions were hidden (0.33 on a real Hygrocybe
# photo; most score 0.6-0.8)
MIN_SAMPLES_PER_REGION = 3  # below this the fit is measured on the few samples it was fitted
# to, and flatters: on three real photos (32-36 regions) 10-30 samples fit at 0.56-0.93 while
# only 0-3 of their top-5 regions were the 320-sample default's; 100 samples shared 4 of 5.
# The default's 320 samples give 6 or more per region (photos split into 28-50 regions).


def fit_note(score: float, samples: int = 0, regions: int = 0) -> str:
    """The legend's reliability line: LIME's fit R^2, with a caution when it is weak or
    rests on too few samples (``samples`` below 3 per superpixel: the Samples slider set low).

    Spelled "fit 0.33 of 1": Pillow's default font has no superscript two.
    """
    text = f"Fit {score:.2f} of 1"
    if samples and samples < MIN_SAMPLES_PER_REGION * regions:
        return f"{text}: too few samples to trust"
    return f"{text}: weak, read with caution" if score < WEAK_FIT else text


def exp_fit_note(exp: Explanation) -> str:
    """:func:`fit_note` for an explanation: its fit, sample count and number of regions."""
    return fit_note(exp.score, exp.config.num_samples, len(exp.weights))


def describe(exp: Explanation) -> str:
    """The legend as a sentence: the heatmap's text alternative for screen readers, who
    cannot read the genus, its probability or the fit drawn into the image."""
    return (f"LIME heatmap: cyan regions support {exp.genus} ({pct(exp.probability)}), red "
            f"regions oppose it. {exp_fit_note(exp)}.")


def overlay(exp: Explanation, num_features: int = TINTED, image: Image.Image | None = None,
            size: int = DISPLAY_SIZE) -> Image.Image:
    """The explained view, ``size`` px square, with its ``num_features`` strongest superpixels
    tinted and outlined, plus a legend strip underneath; ``info["alt"]`` is :func:`describe`.

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
    out[np.isin(seg, [i for i in top if exp.weights[i] < 0]) & stripes(seg.shape)] = 255
    drawn = _with_legend(Image.fromarray(out.astype(np.uint8)), exp)
    drawn.info["alt"] = describe(exp)  # for the page's <img alt>; PNG files drop it
    return drawn


def stripes(shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of ``shape``'s first two axes: 2-px diagonal stripes every HATCH px."""
    rows, cols = np.indices(shape[:2])
    return (rows + cols) % HATCH < 2


def _swatch(rgb: tuple[int, int, int], side: int) -> Image.Image:
    """A ``side`` px legend square of ``rgb``, hatched as the regions are for OPPOSE_RGB."""
    square = np.empty((side, side, 3), np.uint8)
    square[:] = rgb
    if rgb == OPPOSE_RGB:
        square[stripes(square.shape)] = 255
    return Image.fromarray(square)


def _with_legend(img: Image.Image, exp: Explanation) -> Image.Image:
    """Append a legend strip: colour swatches, the genus, the fit and the settings used.

    Type scales with the image: a phone shows the 448-px heatmap about 300 px wide, where
    15-px type came out at 10 px. The two swatches share a line when they fit.
    """
    size = max(15, img.width // 22)
    font, small = ImageFont.load_default(size=size), ImageFont.load_default(size=size * 3 // 4)
    items = [(SUPPORT_RGB, f"supports {exp.genus} ({pct(exp.probability)})"),
             (OPPOSE_RGB, "opposes it")]
    measure = ImageDraw.Draw(img).textlength
    widths = [size + 8 + measure(text, font=font) for _, text in items]
    one_line = sum(widths) + 3 * size <= img.width - 16
    line = size + 8
    places = ([(8, 0), (8 + widths[0] + 2 * size, 0)] if one_line
              else [(8, 0), (8, line)])
    height = places[-1][1] + 2 * line + size + 8
    canvas = Image.new("RGB", (img.width, img.height + height), (255, 255, 255))
    canvas.paste(img, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for (rgb, text), (x, dy) in zip(items, places):
        y = img.height + 6 + dy
        canvas.paste(_swatch(rgb, size + 1), (round(x), y + 2))
        draw.text((x + size + 8, y), text, fill=(0, 0, 0), font=font)
    draw.text((8, img.height + 6 + places[-1][1] + line), exp_fit_note(exp), fill=(0, 0, 0),
              font=font)
    draw.text((8, img.height + 6 + places[-1][1] + 2 * line),
              f"LIME {exp.config.engine}: {exp.config.num_samples} samples at "
              f"{exp.config.model_size} px, {exp.seconds:.1f} s", fill=(90, 90, 90), font=small)
    return canvas
