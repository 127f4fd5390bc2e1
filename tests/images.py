"""Generated photos in the file formats phones and browsers send, for the bad-input tests
(`test_bad_input`) and the decoding-agreement test (`test_evaluate`)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from conftest import make_photo
from PIL import Image

from mushroom.taxonomy import GENERA


def photo(size: tuple[int, int] = (160, 120), seed: int = 0) -> Image.Image:
    """A synthetic Russula-class photo."""
    return make_photo(GENERA.index("Russula"), seed=seed, size=size)


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    """``img`` as JPEG quality 90."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    """``img`` in file format ``fmt``."""
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def animated_gif() -> bytes:
    frames = [photo(seed=s).convert("P") for s in range(3)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def sixteen_bit() -> bytes:
    grey = np.asarray(photo().convert("L"), dtype=np.uint16) * 257
    return encode(Image.fromarray(grey), "PNG")


def with_alpha() -> bytes:
    rgba = photo().convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    return encode(rgba, "PNG")


HANDLED = {  # valid files the app must decode: name -> bytes maker
    "animated.gif": animated_gif,
    "cmyk.jpg": lambda: jpeg_bytes(photo().convert("CMYK")),
    "sixteen_bit.png": sixteen_bit,
    "alpha.png": with_alpha,
    "grey.jpg": lambda: jpeg_bytes(photo().convert("L")),
    "phone.avif": lambda: encode(photo(), "AVIF", quality=90),
    "phone.heic": lambda: encode(photo(), "HEIF", quality=90),
}


def rotated_webp(path: Path, genus: str, seed: int) -> Path:
    """A 320x240 photo stored as 240x320 in a WebP tagged "rotate 90 clockwise" (EXIF 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = make_photo(GENERA.index(genus), seed=seed, size=(320, 240))
    upright.transpose(Image.Transpose.ROTATE_90).save(path, "WEBP", exif=exif, quality=95)
    return path
