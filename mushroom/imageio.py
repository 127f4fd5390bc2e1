"""Safe image decoding shared by the pipeline, the app and the label store.

One place decides what counts as a readable photo, so the CLI, the API and training agree.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mushroom.presets import to_rgb

try:  # HEIC/HEIF is the default camera format of iPhones and of many Android phones
    from pillow_heif import register_heif_opener
except ImportError:  # optional at run time: without it HEIC gets the "cannot read" message
    HEIF = False
else:
    register_heif_opener()
    HEIF = True

MAX_PIXELS = 40_000_000
"""Largest accepted image (about 7700 x 5200); bigger ones are decompression-bomb sized."""

MIN_SIDE = 8
"""Smallest side the app accepts at all; the training pipeline is stricter (DataConfig.min_side)."""

MAX_SCAN_BYTES = 200 * 2**20
"""Largest file read as a photo (the app's uploads stop at 25 MB; this guards folder scans)."""


GREY_TOLERANCE = 6
"""Largest channel spread (max - min of R, G, B, out of 255) a greyscale pixel may show:
a grey photo saved as an RGB JPEG comes back with channels a level or two apart."""

TOO_DARK_TO_TELL = 32
"""Brightest-channel level (out of 255) under which 95 % of a photo's pixels lie when it is
too dark to tell colour from grey: a colour photo at 6 % of its brightness has its channels
within :data:`GREY_TOLERANCE` because every level is small, and was told it had no colour."""

GREY_CHECK_SIDE = 64
"""Side of the downscaled copy :func:`is_greyscale` looks at: cheap, and it averages away
compression noise while a coloured region of any real size survives."""


CORRUPT = (OSError, SyntaxError, ValueError, EOFError, RuntimeError)
"""What decoders raise for a damaged file: PIL's plugins OSError or ValueError (a PNG text or
colour-profile chunk that inflates past ``MAX_TEXT_CHUNK``, a PPM header token too long),
pillow-heif's HEIC and AVIF decoders EOFError or RuntimeError ("Decoding of color planes
failed"). Uncaught, they reached the page and the API as a bare "Error"."""


class BadImage(ValueError):
    """An input that cannot be used as a photo; the message is safe to show to users."""


def open_image(source: str | Path | bytes | Image.Image, max_pixels: int = MAX_PIXELS,
               min_side: int = MIN_SIDE) -> Image.Image:
    """Decode a photo fully, apply EXIF orientation and return 8-bit RGB.

    Animated images use their first frame. The pixel budget is checked from the header,
    before any pixel is decoded, so a decompression bomb costs nothing.

    Args:
        source: a path, raw bytes or an already-open PIL image.
        max_pixels: refuse images with more pixels than this.
        min_side: refuse images whose shorter side is below this.

    Returns:
        The decoded RGB image.

    Raises:
        BadImage: with a user-facing message for every unusable input.
    """
    img = source if isinstance(source, Image.Image) else _open(source)
    width, height = img.size
    if width * height > max_pixels:
        raise BadImage(too_large(width, height, max_pixels))
    if min(width, height) < min_side:
        raise BadImage(f"The image is too small ({width}x{height} pixels); at least "
                       f"{min_side} on each side is needed: send the full-size photo, not a "
                       "thumbnail.")
    try:
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img)
        return to_rgb(img)
    except (*CORRUPT, Image.DecompressionBombError) as err:
        raise BadImage("The image file is truncated or corrupt.") from err


def _open(source: str | Path | bytes) -> Image.Image:
    """Open (not decode) a path or raw bytes; the header is read, the pixels are not."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise BadImage("The file is empty (0 bytes).")
        fh = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise BadImage(f"No such file: {path.name}")
        size = path.stat().st_size
        if size == 0:
            raise BadImage("The file is empty (0 bytes).")
        if size > MAX_SCAN_BYTES:
            raise BadImage(f"The file is too large ({size // 2**20} MB) for a photo.")
        fh = io.BytesIO(path.read_bytes())  # PIL never closes a handle it was given
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fh)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        formats = "JPEG, PNG, WebP, HEIC, AVIF" if HEIF else "JPEG, PNG, WebP, AVIF"
        raise BadImage(f"This file is not an image we can read ({formats}, ...).") from err
    except CORRUPT as err:  # a known format whose header or metadata does not parse
        raise BadImage("The image file is truncated or corrupt.") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # PIL refuses past its own limit (89 MP) and keeps the size to itself: a 144 MP
        # photo was told "over 89 megapixels", neither its size nor the app's limit
        raise BadImage(too_large(*_header_size(fh), MAX_PIXELS)) from err


def too_large(width: int, height: int, max_pixels: int) -> str:
    """The refusal of a ``width`` x ``height`` photo over ``max_pixels``, for users.

    Args:
        width: the photo's width in pixels (0 when unknown).
        height: its height in pixels (0 when unknown).
        max_pixels: the limit it is over.

    Returns:
        A message naming the photo's size and the limit.
    """
    size = (f"{width} \u00d7 {height} px, {width * height / 1e6:.0f} megapixels"
            if width and height else f"over {max_pixels // 1_000_000} megapixels")
    return (f"The image is too large ({size}); the limit is {max_pixels // 1_000_000} "
            "megapixels: send a smaller copy.")


def _header_size(fh: io.BytesIO) -> tuple[int, int]:
    """Width and height from the header alone, as the format's reader finds them.

    ``Image.open`` hides them when it refuses a decompression bomb; the readers it tries
    (``Image.OPEN``, in ``Image.ID`` order) are asked directly, which reads no pixel.

    Returns:
        ``(width, height)``, or ``(0, 0)`` when no reader takes the header.
    """
    prefix = fh.getvalue()[:16]
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        accepted = not accept or accept(prefix)  # a str is a reason it was not taken
        if not accepted or isinstance(accepted, str):
            continue
        try:
            fh.seek(0)
            return factory(fh, "").size
        except (*CORRUPT, IndexError, TypeError):
            continue
    return 0, 0


def is_greyscale(img: Image.Image, tolerance: int = GREY_TOLERANCE) -> bool:
    """True when ``img`` has no colour: its R, G and B are equal, or within ``tolerance``.

    Checked on a downscaled copy, so a few stray coloured pixels do not count as colour.
    Sepia and duotone photos have colour by this test, on purpose: only "no colour at all"
    is claimed. So has an RGB photo too dark to tell (:data:`TOO_DARK_TO_TELL`).

    Args:
        img: a decoded image in any PIL mode (L, LA, I;16 are greyscale without a look).
        tolerance: the largest per-pixel channel spread, out of 255, that still counts as grey.
    """
    if img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return True
    small = to_rgb(img).copy()
    small.thumbnail((GREY_CHECK_SIDE, GREY_CHECK_SIDE), Image.Resampling.BOX)
    arr = np.asarray(small, dtype=np.int16)
    if np.percentile(arr.max(axis=2), 95) < TOO_DARK_TO_TELL:
        return False  # too dark to tell: "no colour" would send a colour photo's owner astray
    return int((arr.max(axis=2) - arr.min(axis=2)).max()) <= tolerance
