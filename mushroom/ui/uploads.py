"""Photo uploads as the Identify tab's events receive them: undecoded, checked, decoded
with a message a forager understands (corrupt, too large, expired, not base64); and whether
a browser shows one as the model sees it (:func:`drawn_as_the_model_sees_it`).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import gradio as gr
from PIL import Image, UnidentifiedImageError

from mushroom import service
from mushroom.imageio import BadImage
from mushroom.ui import MAX_FILE_BYTES, UserError, expired_message
from mushroom.ui.api_input import checked
from mushroom.ui.api_photos import check_photo, is_data_url

Upload = str | bytes | dict | None
"""What the photo handlers take: a FileData dict from the page or API, a path, or bytes."""

INVALID_TYPE = "Invalid file types?: "
"""(A JavaScript regex) the start of Gradio's toast for files a photo box refuses (a PDF);
the tabs close it once a photo is taken."""


DRAWABLE = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".bmp"}
"""File endings every browser draws; other photos (HEIC in Chromium, TIFF) are shown as a
decoded copy, or they would sit in the page as a blank box."""

ORIENTATION = 0x0112
"""The EXIF orientation tag (1: upright as stored)."""

UPRIGHT_AS_IS = {".jpg", ".jpeg"}
"""Endings whose EXIF orientation every browser applies. Chromium draws a WebP as stored,
so a WebP tagged "rotate 90" showed sideways while the model, and the heatmap, saw it
upright."""


def drawn_as_the_model_sees_it(path: str | Path) -> bool:
    """Whether browsers show ``path`` as the model sees it: a type they draw, upright.

    Anything else (HEIC in Chromium, a non-JPEG with an EXIF rotation) is shown as an
    upright decoded copy instead. Only the header is read.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in DRAWABLE:
        return False
    if suffix in UPRIGHT_AS_IS:
        return True
    try:
        with Image.open(path) as image:
            return image.getexif().get(ORIENTATION, 1) in (0, 1)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError,
            Image.DecompressionBombError):  # a 400 MP PNG: the page showed a bare "Error"
        return True  # not for this check to refuse: the decoder says what is wrong with it


def raw_upload(payload: Upload | Path) -> str | bytes | None:
    """An image upload as its file path (or bytes, for data URLs), not decoded.

    Takes what an event with ``preprocess=False`` hands over (Gradio's FileData as a dict
    or an object), or a plain path or bytes when called from Python.
    """
    if payload is None or isinstance(payload, (str, bytes)):
        return payload
    if isinstance(payload, Path):
        return str(payload)
    get = payload.get if isinstance(payload, dict) else lambda key: getattr(payload, key, None)
    url, path = get("url"), get("path")
    if is_data_url(url):
        return _data_url_bytes(url)
    return path


def _data_url_bytes(url: str) -> bytes:
    """The bytes of a base64 data URL, held to the upload route's size limit."""
    encoded = url.split(",", 1)[-1]
    if len(encoded) * 3 // 4 > MAX_FILE_BYTES + 2:
        raise UserError(f"The photo is larger than {MAX_FILE_BYTES // 2**20} MB; send a smaller "
                       "copy (a phone's full-size photo is 2-12 MB).")
    try:
        return _forgiving_b64decode(encoded)
    except (binascii.Error, ValueError) as err:
        raise UserError("The photo's data URL is not valid base64: send "
                       "'data:image/jpeg;base64,' followed by the file in base64.") from err


URL_SAFE = str.maketrans("-_", "+/")


def _forgiving_b64decode(encoded: str) -> bytes:
    """Base64 as phones' encoders write it, as browsers decode a data URL (WHATWG's
    forgiving-base64): line breaks and missing ``=`` padding are accepted, and so is the
    URL-safe alphabet (``-``, ``_``).

    Android's ``Base64.DEFAULT`` breaks lines every 76 characters, ``NO_PADDING`` and
    ``URL_SAFE`` are common flags, and the ``base64`` command wraps too: a strict decode
    refused all of these photos as "not valid base64".

    Raises:
        binascii.Error: anything else outside the base64 alphabet, or a length no padding
            can complete.
    """
    text = "".join(encoded.split()).translate(URL_SAFE)
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def photo_input(**kwargs) -> gr.Image:
    """The photo box; every event reading it must pass ``preprocess=False`` (see RAW).

    ``gr.Image`` opens uploads with PIL before our function runs, so a corrupt file or a
    decompression bomb would fail with Gradio's bare "Error". With ``preprocess=False`` the
    handlers get the upload undecoded and :func:`mushroom.imageio.open_image` says what is
    wrong. (Overriding the instance's ``preprocess`` held only for a session's first
    event: an output update to the box makes Gradio rebuild it from its class.) What an
    API caller sends in its place is checked before Gradio sees it (see ``api_input``).
    """
    return checked(gr.Image(type="filepath", **kwargs), check_photo)


NO_PHOTO = "Upload or take a photo of the mushroom first."

RAW = {"preprocess": False}
"""Event settings for handlers that decode the photo themselves (see :func:`photo_input`)."""


def check_upload_path(path: str, name: str = "photo") -> None:
    """Refuse an upload path that no longer holds a file: swept, or a folder.

    A folder inside the upload folder (the folder itself, or one of its per-upload folders:
    the path POST /gradio_api/upload returned, cut at its last "/") passes Gradio's
    was-it-uploaded check, and was then answered "No such file", as if a photo had gone.

    Args:
        path: an uploaded path that Gradio let through.
        name: the input as the message names it ("photo", "photo 2").

    Raises:
        UserError: the photo was swept after the upload TTL, or the path is a folder.
    """
    if Path(path).is_dir():
        raise UserError(f"{name}'s path is a folder on the server, not a photo: send the "
                        "whole path POST /gradio_api/upload returned, which ends in the "
                        "file's name.")
    if not Path(path).exists():
        raise UserError(expired_message())


def decode_upload(source: Upload) -> Image.Image:
    """Decode an upload or raise the ``gr.Error`` the user sees."""
    source = raw_upload(source)
    if source is None:
        raise UserError(NO_PHOTO)
    if isinstance(source, str):
        check_upload_path(source)
    try:
        return service.load_photo(source)
    except BadImage as err:
        raise UserError(str(err)) from err


def _file_path(item) -> str | None:
    """A path from whatever ``gr.File`` hands over: a str, an object with ``.name``, or
    (with ``preprocess=False``) the raw FileData dict."""
    if item is None:
        return None
    if isinstance(item, dict):
        return item.get("path")
    return str(getattr(item, "name", item))


def file_paths(photos: list | None) -> list[str]:
    """The file paths of the photos a ``gr.File`` hands over, in order, gaps left out."""
    return [p for p in map(_file_path, photos or []) if p]
