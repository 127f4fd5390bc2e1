"""Everyday non-mushroom photos that install with Python packages, for the unfamiliar-photo test.

The not-a-mushroom detector (:mod:`mushroom.ood`) must reject photos a forager might upload
by mistake: people, pets, food, buildings, textures of grass and gravel, screenshots, charts,
blank frames. None of these files is copied into the repository; they are read at run time
from packages that are already installed (see :data:`LICENCES`), plus a few rendered here.

``python -m mushroom.nonmushroom --out DIR`` writes them to ``DIR/<name>.jpg`` so that
``python -m mushroom evaluate`` can be pointed at a plain folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LICENCES: dict[str, str] = {
    "skimage": "scikit-image sample data: CC0 or public domain per skimage.data docstrings",
    "sklearn": "scikit-learn sample images (china, flower): CC BY 2.0, Flickr authors",
    "mpl": "matplotlib sample_data (grace_hopper: US Navy, public domain), matplotlib licence",
    "gradio": "gradio media assets, shipped in the Apache-2.0 gradio wheel",
    "synth": "rendered here from numpy, PIL and matplotlib: no third-party content",
}
"""Where each name prefix comes from and under which terms it ships."""

SKIMAGE_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "page",
                 "text", "horse", "hubble_deep_field", "retina", "immunohistochemistry", "brick",
                 "grass", "gravel", "clock", "colorwheel", "cell", "microaneurysms", "logo",
                 "shepp_logan_phantom")
"""skimage.data images that ship inside the wheel (no pooch download)."""

MPL_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
GRADIO_PHOTOS = ("media_assets/images/cheetah.jpg", "media_assets/images/lion.jpg",
                 "media_assets/images/tower.jpg", "media_assets/images/groot.jpeg",
                 "media_assets/images/bus.png", "test_data/cheetah2.jpg")
SYNTH_SIZE = (320, 240)  # width, height of rendered images: small, but above any min_side


def to_pil(arr: np.ndarray) -> Image.Image:
    """An RGB PIL image from a bool, grey, float, RGB or RGBA array (alpha over white)."""
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        lo, hi = float(arr.min()), float(arr.max())
        arr = np.round((arr - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)
    img = Image.fromarray(arr)
    if img.mode in ("RGBA", "LA"):
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img.convert("RGBA")).convert("RGB")
    return img.convert("RGB")


def _package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it (gradio is slow to import)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def skimage_photos() -> list[tuple[str, Image.Image]]:
    """scikit-image's bundled sample photos, plus one frame of its stereo pair."""
    from skimage import data

    out = [(f"skimage-{n}", to_pil(getattr(data, n)())) for n in SKIMAGE_NAMES]
    out.append(("skimage-motorcycle", to_pil(data.stereo_motorcycle()[0])))
    return out


def sklearn_photos() -> list[tuple[str, Image.Image]]:
    """scikit-learn's two sample photos (a Chinese temple and a flower)."""
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    return [(f"sklearn-{Path(f).stem}", to_pil(im)) for f, im in zip(bunch.filenames,
                                                                     bunch.images)]


def mpl_photos() -> list[tuple[str, Image.Image]]:
    """matplotlib's sample photos and renderings of its terrain and MRI sample arrays."""
    from matplotlib import cbook, colormaps

    out = []
    for name in MPL_PHOTOS:
        with cbook.get_sample_data(name) as fh:
            out.append((f"mpl-{Path(name).stem}", to_pil(np.asarray(Image.open(fh)))))
    for name, key, cmap in (("topobathy.npz", "topo", "terrain"),
                            ("jacksboro_fault_dem.npz", "elevation", "gist_earth")):
        with np.load(cbook.get_sample_data(name, asfileobj=False)) as npz:
            z = npz[key].astype(float)
        rgb = colormaps[cmap]((z - z.min()) / (np.ptp(z) + 1e-12))[..., :3]
        out.append((f"mpl-{Path(name).stem}", to_pil((rgb * 255).astype(np.uint8))))
    with cbook.get_sample_data("s1045.ima.gz") as fh:  # matplotlib un-gzips it for us
        mri = np.frombuffer(fh.read(), np.uint16).reshape(256, 256)
    out.append(("mpl-mri", to_pil(mri.astype(float))))
    return out


def gradio_photos() -> list[tuple[str, Image.Image]]:
    """Sample photos inside the gradio wheel (animals, a tower, a bus); read as files."""
    root = _package_dir("gradio")
    if root is None:
        return []
    return [(f"gradio-{Path(rel).stem}", to_pil(np.asarray(Image.open(root / rel))))
            for rel in GRADIO_PHOTOS if (root / rel).is_file()]


def synthetic_photos(seed: int = 0) -> list[tuple[str, Image.Image]]:
    """Blank frames, noise, gradients, patterns and rendered text: what a misfire uploads."""
    rng = np.random.default_rng(seed)
    w, h = SYNTH_SIZE
    out = [(f"synth-flat-{name}", Image.new("RGB", (w, h), rgb)) for name, rgb in
           (("black", (0, 0, 0)), ("white", (255, 255, 255)), ("grey", (128, 128, 128)),
            ("sky", (135, 190, 235)), ("brown", (120, 80, 40)), ("green", (60, 140, 60)))]
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out.append(("synth-noise", Image.fromarray(noise)))
    out.append(("synth-clouds", Image.fromarray(noise).filter(ImageFilter.GaussianBlur(12))))
    ramp = np.linspace(0, 255, w)[None, :, None] * np.array([1.0, 0.6, 0.2])
    out.append(("synth-gradient", to_pil(np.broadcast_to(ramp, (h, w, 3)).astype(np.uint8))))
    yy, xx = np.mgrid[0:h, 0:w]
    out.append(("synth-checker", to_pil(((xx // 40 + yy // 40) % 2).astype(bool))))
    out.append(("synth-stripes", to_pil((np.sin(xx / 6.0) > 0)[..., None] * np.array(
        [200, 30, 30], np.uint8))))
    out.append(("synth-text", _text_image("Mushroom hunting permit\nNo. 0042\nvalid 2024")))
    return out


def _text_image(text: str) -> Image.Image:
    """Black text on white, like a photographed document or a screenshot."""
    img = Image.new("RGB", SYNTH_SIZE, "white")
    ImageDraw.Draw(img).multiline_text((20, 40), text, fill="black", font_size=28, spacing=12)
    return img


def chart_photos(seed: int = 0) -> list[tuple[str, Image.Image]]:
    """Line, bar, scatter and pie charts rendered with matplotlib's Agg backend."""
    from matplotlib.figure import Figure

    rng = np.random.default_rng(seed)
    draw: dict[str, Callable] = {
        "line": lambda ax: ax.plot(np.cumsum(rng.normal(size=200))),
        "bar": lambda ax: ax.bar(list("ABCDEFG"), rng.uniform(1, 9, 7)),
        "scatter": lambda ax: ax.scatter(*rng.normal(size=(2, 150)), c=rng.uniform(size=150)),
        "pie": lambda ax: ax.pie(rng.uniform(1, 5, 5)),
    }
    out = []
    for name, fn in draw.items():
        fig = Figure(figsize=(4, 3), dpi=80)
        fn(fig.add_subplot())
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        out.append((f"synth-chart-{name}", to_pil(np.asarray(Image.open(buf)))))
    return out


SOURCES: tuple[Callable[[], list[tuple[str, Image.Image]]], ...] = (
    skimage_photos, sklearn_photos, mpl_photos, gradio_photos, synthetic_photos, chart_photos)
"""Every collector; each returns ``(name, RGB image)`` pairs with unique names."""


def collect(synthetic: bool = True) -> list[tuple[str, Image.Image]]:
    """All non-mushroom photos available on this machine.

    Args:
        synthetic: include the images rendered here (flat colours, noise, text, charts).

    Returns:
        ``(name, RGB PIL image)`` pairs, in a fixed order; names carry their source prefix
        (see :data:`LICENCES`).
    """
    found: list[tuple[str, Image.Image]] = []
    for source in SOURCES:
        if synthetic or source not in (synthetic_photos, chart_photos):
            found.extend(source())
    return found


def write_folder(out: str | Path, photos: list[tuple[str, Image.Image]]) -> list[Path]:
    """Save ``photos`` as ``out/<name>.jpg`` (quality 92, like a phone photo); return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, img in photos:
        path = out / f"{name}.jpg"
        img.save(path, quality=92)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m mushroom.nonmushroom --out DIR [--no-synthetic]``."""
    parser = argparse.ArgumentParser(prog="python -m mushroom.nonmushroom",
                                     description="Write everyday non-mushroom photos to a folder.")
    parser.add_argument("--out", required=True, type=Path, help="folder to write .jpg files to")
    parser.add_argument("--no-synthetic", action="store_true",
                        help="only photos from installed packages, no rendered images")
    args = parser.parse_args(argv)
    paths = write_folder(args.out, collect(synthetic=not args.no_synthetic))
    print(f"wrote {len(paths)} non-mushroom photos to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
