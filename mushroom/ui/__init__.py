"""Gradio Blocks builders for the app's tabs; ``app.py`` only arranges them.

Shared pieces live here: the safety disclaimer every page shows, the ``?tab=`` address,
the launch settings (queue, upload limit, upload TTL) so that ``app.py``, the tests and the
benchmark serve the same app, the helpers the tabs refuse bad input with
(:class:`UserError`, :func:`whole_number`), and the model they share
(:func:`shared_model`, refused in words when none is usable). The page's CSS, scripts and
theme are in :mod:`mushroom.ui.page`.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr

from mushroom.settings import env_number

DISCLAIMER = (
    "**Never eat a wild mushroom because an app said so.** This model recognizes 9 genera "
    "from photos and makes mistakes; every genus it knows holds toxic species. Deadly "
    "mushrooms can look like edible ones. Ask an expert mycologist before eating anything "
    "you picked; in an emergency call your poison control centre."
)
"""Shown at the top of every page, above the tabs."""

QUEUE = {"default_concurrency_limit": 4, "max_size": 64}
"""``demo.queue`` settings: 4 events run at once (the model itself runs one batch at a time
behind a lock, so more would only queue inside torch); at most 64 wait, then new ones are
refused with "queue is full" rather than piling up memory on a 2-vCPU Space."""

TABS = ("identify", "find", "review")
"""Tab ids, as ``?tab=`` in the page address names them."""


def open_tab(request: gr.Request):
    """On page load, the tab that ``?tab=`` names; the first tab for anything else.

    Args:
        request: the page load's request (its query string is the page's).
    """
    tab = request.query_params.get("tab") if request is not None else None
    return gr.Tabs(selected=tab) if tab in TABS else gr.skip()


IMAGE_BUTTONS = ["fullscreen", "download"]
"""The corner buttons of the heatmaps, the find's gallery and the Review tab's photo: Gradio's
default "share" would post the forager's photo (the gallery's: the upload itself, EXIF GPS
and all), or a photo of the review queue, to a public Hugging Face discussion on a Space,
and anywhere else only answered "Must be on Spaces"."""

MAX_FILE_SIZE = "25mb"
"""Largest upload accepted; phone photos are 2-12 MB."""

MAX_FILE_BYTES = 25 * 1024 * 1024
""":data:`MAX_FILE_SIZE` in bytes: the same limit for photos sent inline as data URLs."""


class UserError(gr.Error):
    """A refusal the user can act on (bad photo, no login, bad value): shown to them, but not
    printed as a server traceback, which would fill the log with upload names and expected
    mistakes.

    Gradio's toast renders a message as HTML, and refusals quote what was typed or sent (a
    species "Amanita <volva>", a file name): the message is escaped (``<``, ``>``, ``&``)
    or the toast takes the quote for a tag and cuts the reason there. ``text`` keeps it
    as written, for the places that escape it themselves (:func:`said`).
    """

    def __init__(self, message: str, **kwargs):
        self.text = message
        super().__init__(html.escape(message, quote=False), print_exception=False, **kwargs)


def shared_model():
    """The shared model, or the ``gr.Error`` saying that none is installed or usable."""
    from mushroom import service

    try:
        return service.get_predictor()
    except service.ModelUnavailable as err:
        raise UserError(str(err)) from err


def said(err: gr.Error) -> str:
    """What a refusal says, as plain text (a :class:`UserError`'s message is escaped HTML)."""
    return err.text if isinstance(err, UserError) else err.message


def bound(fn, *args):
    """``functools.partial(fn, *args)`` with ``fn``'s docstring, which the view-API page shows
    as the endpoint's description (a bare partial's is functools' own).

    A label store that cannot be read or written (:class:`mushroom.labels.StoreError`) is
    refused with its message: Gradio shows any other exception as a bare "Error"."""
    from functools import partial, wraps

    from mushroom.labels import StoreError

    call = partial(fn, *args)

    @wraps(call)
    def out(*rest, **kwargs):
        try:
            return call(*rest, **kwargs)
        except StoreError as err:
            raise UserError(clip(str(err), 600), title="Label store") from err

    out.__doc__ = fn.__doc__
    return out


def close_error_toasts(pattern: str) -> str:
    """A browser function, for an event's ``js``, that closes the error toasts whose text
    matches ``pattern`` (a JavaScript regular expression literal): refusals that a later
    success has answered would otherwise linger beside it."""
    return """() => {
  for (const toast of document.querySelectorAll(".toast-body.error")) {
    if (%s.test(toast.innerText)) toast.querySelector("[data-testid=toast-close]")?.click();
  }
}""" % pattern


def clip(value: object, limit: int = 60) -> str:
    """What a caller sent, cut to ``limit`` characters for a message: refusals echo it,
    and an API client can send megabytes where a name or an id belongs."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


JSON_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A number as JSON or JavaScript's ``Number("+3")`` spells it, in ASCII digits."""


def whole_number(value: object, name: str, low: int, high: int) -> int:
    """An API argument as an int in [low, high], or the ``gr.Error`` naming the valid range.

    Events with ``preprocess=False`` get the raw JSON value, so ``"abc"``, ``null`` or
    ``1e12`` arrive unchecked; sliders in the page never send them. JSON's ``true`` is no
    number either, though Python's ``float(True)`` would make it k = 1. Text is read only
    as a JSON number spelled in it (``"3"``, ``" 3 "``, ``"3.0"``): ``float`` also reads
    ``"0_3"`` and full-width or Arabic-Indic digits, which no phone's parser reads as 3.
    """
    text = isinstance(value, str) and not JSON_NUMBER.fullmatch(value.strip(" \t\n\r"))
    try:
        number = float("nan") if isinstance(value, bool) or text else float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (low <= number <= high) or number != int(number):
        raise UserError(f"{name} must be a whole number from {low} to {high}, "
                        f"not {as_sent(value)}.")
    return int(number)


def as_sent(value: object) -> str:
    """An API value for a refusal, as JSON spells it (``null``, ``true``; Python's None and
    True read as a bug to a phone's developer), a string quoted ("not '10'" would suggest a
    number sent as text), all clipped. A list or an object is JSON too: ``[null]`` had read
    "[None]", and ``{"k": 3}`` "{'k': 3}"."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, (list, dict)):
        return clip(json.dumps(value, ensure_ascii=False, default=str))
    return repr(clip(value)) if isinstance(value, str) else clip(value)


def chosen_genus(value: object, default: str) -> str | None:
    """An API argument naming a genus in any case ("amanita"), spelled as in
    :data:`~mushroom.taxonomy.GENERA`; None for ``default`` (any case) or nothing sent.

    The package takes genus names in any case elsewhere (:func:`canonical_genus`).

    Raises:
        UserError: any other value, naming ``default`` and the genera.
    """
    from mushroom.taxonomy import GENERA, canonical_genus

    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text.casefold() in ("", default.casefold()):
        return None
    genus = canonical_genus(text) if text else None
    if genus in GENERA:
        return genus
    # a list or a number as sent (["Amanita"], not "['Amanita']": Python's spelling)
    raise UserError(f"Unknown genus {as_sent(value)}: send {default!r} (the model's most "
                    f"likely genus) or one of {', '.join(GENERA)}.")


UPLOAD_TTL_ENV = "MUSHROOM_UPLOAD_TTL_S"
"""Environment variable: seconds an uploaded photo (and any file the app made from it) may
stay on the server's disk; default six hours."""

DEFAULT_UPLOAD_TTL_S = 6 * 3600


MAX_UPLOAD_TTL_S = 10**9
"""The longest TTL taken (about 31 years): 10**400 s overflowed the sweep's float arithmetic."""


def upload_ttl_s(env: dict | None = None) -> int:
    """Seconds uploads are kept: ``$MUSHROOM_UPLOAD_TTL_S``, else six hours.

    Raises:
        ValueError: the variable is set but is not a whole number of seconds from 1 to
            :data:`MAX_UPLOAD_TTL_S`. Strict, unlike the other settings: the default could
            keep photos longer than the operator asked for.
    """
    return env_number(env, UPLOAD_TTL_ENV, DEFAULT_UPLOAD_TTL_S, kind=int, minimum=1,
                      maximum=MAX_UPLOAD_TTL_S, unit="seconds", strict=True)


def delete_cache(env: dict | None = None) -> tuple[int, int]:
    """``gr.Blocks(delete_cache=...)``: (sweep every, delete older than), in seconds.

    Photos carry EXIF GPS, and foragers keep their spots to themselves: Gradio would keep
    every upload until the Space restarts. The sweep runs hourly, or as often as the TTL
    when it is shorter, so nothing outlives the TTL by more than an hour.
    """
    ttl = upload_ttl_s(env)
    return min(3600, ttl), ttl


def expired_message(env: dict | None = None) -> str:
    """What a page left open past the TTL is told when it asks about a swept photo."""
    ttl = upload_ttl_s(env)
    age = f"{ttl / 3600:g} hours" if ttl >= 3600 else f"{ttl} seconds"
    return (f"This photo is no longer on the server: uploads are deleted after {age} for "
            "privacy. Please upload it again.")


SCRATCH_KINDS = ("preview", "labels")
"""The ``kind`` of every :func:`scratch_file` the app writes (HEIC previews, label exports):
the upload sweep (:mod:`mushroom.ui.retention`) prunes their folders too."""


def scratch_root(kind: str) -> Path:
    """``<tmp>/mushroom-<kind>``: the folder :func:`scratch_file` writes ``kind`` files in."""
    return Path(tempfile.gettempdir()) / f"mushroom-{kind}"


def prune_scratch(kind: str, env: dict | None = None) -> None:
    """Delete the :func:`scratch_file` folders of ``kind`` that are older than the TTL."""
    root = scratch_root(kind)
    if not root.is_dir():
        return
    cutoff = time.time() - upload_ttl_s(env)
    for old in root.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request pruned it first
            continue


def scratch_file(kind: str, name: str, env: dict | None = None) -> Path:
    """A fresh path ``<tmp>/mushroom-<kind>/<random>/<name>``, pruning entries past the TTL.

    For files the app writes itself (HEIC previews, label exports): Gradio copies them into
    its cache, which :func:`delete_cache` sweeps, but the originals would otherwise stay.
    ``kind`` is one of :data:`SCRATCH_KINDS`.
    """
    root = scratch_root(kind)
    root.mkdir(exist_ok=True)
    prune_scratch(kind, env)
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    return folder / Path(name).name
