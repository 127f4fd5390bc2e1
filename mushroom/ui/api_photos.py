"""An API value for a photo, checked before Gradio reads it: an upload's FileData or a data
URL, never a URL for the server to fetch.

:func:`mushroom.ui.api_input.checked` attaches :func:`check_photo` / :func:`check_photos` to
the photo inputs; :class:`mushroom.ui.api_input.CheckedBlocks` runs them on the raw JSON.
"""

from __future__ import annotations

from gradio_client.utils import is_http_url_like

from mushroom.combine import MAX_PHOTOS
from mushroom.ui import UserError
from mushroom.ui.api_values import file_data_problem

# No "<placeholder>" in these: a refusal is escaped for Gradio's HTML toast, and the API
# would then read "&lt;...&gt;" (see mushroom.ui.UserError).
FILE_DATA = ('a FileData dict: {"path": the path POST /gradio_api/upload returned, "meta": '
             '{"_type": "gradio.FileData"}}, as gradio_client\'s handle_file sends')
PHOTO = f'an image file ({FILE_DATA}; or {{"url": "data:image/jpeg;base64,..."}})'
"""What a photo input takes, as the error messages spell it out."""

REMOTE = ("the server does not fetch photos from URLs: upload the file itself "
          "(handle_file with a local path, or POST /gradio_api/upload) or send it inline "
          "as a data URL")

NOT_UPLOADED = ("A photo's path must be one that POST /gradio_api/upload returned (or use "
                "handle_file in gradio_client); this server cannot read files from your "
                "computer or its own disk. Or send the photo inline as a data URL.")

KINDS = {str: "a string", bool: "true/false", int: "a number", float: "a number",
         list: "a list", dict: "one file"}


def is_data_url(value: object) -> bool:
    """Whether ``value`` is a data URL: its scheme, like any URL's, in any case (RFC 2397,
    RFC 3986), so "DATA:" and "Data:" are one too."""
    return isinstance(value, str) and value[:5].lower() == "data:"


def _kind(value: object) -> str:
    """'a string', 'a number'... for what a caller sent in place of a file."""
    return "null" if value is None else KINDS.get(type(value), f"a {type(value).__name__}")


def photo_problem(value: object, name: str = "photo", data_url: bool = True) -> str | None:
    """Why an API value is not a usable photo upload, in one line; None when it is.

    Args:
        value: the JSON value the caller sent for one photo.
        name: the input as the message names it ("photo", "photo 2").
        data_url: whether an inline ``data:`` URL is accepted in place of an upload.
    """
    return _shape_problem(value, name, data_url) or file_data_problem(value, name)


def _shape_problem(value: object, name: str, data_url: bool) -> str | None:
    """:func:`photo_problem` for the FileData's shape: a dict with an upload's path or a
    data URL, no URL to fetch."""
    expected = PHOTO if data_url else f"an image file ({FILE_DATA})"
    if not isinstance(value, dict):
        return f"{name} must be {expected}; got {_kind(value)}."
    path, url = value.get("path"), value.get("url")
    if isinstance(path, str) and path:
        if is_http_url_like(path):
            return f"{name} is a URL, but {REMOTE}."
        if not _could_be_a_file(path):
            return f"{name}: {NOT_UPLOADED}"
        meta = value.get("meta")
        if not isinstance(meta, dict) or meta.get("_type") != "gradio.FileData":
            # Without the marker Gradio skips its was-it-uploaded check: refuse, or any
            # image on the server's disk could be read.
            return (f'{name} must be {expected}; its "meta" is missing, so the server cannot '
                    "tell that the path was uploaded.")
        return None
    if is_data_url(url):
        return None if data_url else f"{name}: send uploaded files here, not data URLs."
    if isinstance(url, str) and url:
        return f"{name} has no uploaded path and its url is not a data URL; {REMOTE}."
    return f"{name} must be {expected}; got a dict without a path or url."


PATH_MAX, NAME_MAX = 4096, 255
"""Linux's longest path and longest file name, in bytes."""


def _could_be_a_file(path: str) -> bool:
    """Whether any file can have ``path``: no NUL byte, no name or path past the limits.

    Gradio's was-it-uploaded check resolves the path first, and a NUL byte (``ValueError``)
    or a 5000-character name (``OSError``) there answered a blank ``{"error": null}`` and
    logged a traceback.
    """
    if "\x00" in path:
        return False
    encoded = path.encode("utf-8", "surrogatepass")  # lone surrogates: refused before this
    return len(encoded) < PATH_MAX and all(len(name) <= NAME_MAX
                                           for name in encoded.split(b"/"))


def check_photo(value: object) -> None:
    """Refuse an API value for one photo that is not an upload (null passes: the handler
    then says "upload a photo first"); a data URL's empty ``path`` is dropped.

    Raises:
        UserError: naming what was wrong and what is expected.
    """
    problem = None if value is None else photo_problem(value)
    if problem:
        raise UserError(problem)
    if isinstance(value, dict) and value.get("path") == "" and is_data_url(value.get("url")):
        # A client's FileData type with an empty-string default (Swift, Kotlin): Gradio takes
        # any string path for an upload and refused "" as not uploaded, beside a good data URL.
        del value["path"]


def check_photos(value: object) -> None:
    """Refuse an API value for several photos that is not a list of uploads (null passes).

    Raises:
        UserError: naming what was wrong and what is expected.
    """
    if value is None:
        return
    if not isinstance(value, list):
        hint = " (send one photo as a list of one)" if isinstance(value, dict) else ""
        raise UserError(f"photos must be a list of 1 to {MAX_PHOTOS} image files{hint}; "
                        f"got {_kind(value)}.")
    for i, item in enumerate(value, 1):
        problem = photo_problem(item, f"photo {i}", data_url=False)
        if problem:
            raise UserError(problem)
