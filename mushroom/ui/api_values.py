"""JSON values that Gradio's own parsing chokes on, refused with the input they came in.

Gradio answered each of these with a blank ``{"error": null}`` and a logged traceback: a
FileData whose other fields have the wrong type (``"orig_name": 5``, ``"size": "big"``:
:func:`file_data_problem`), and text that UTF-8 cannot hold (:func:`check_text`). JSON can
carry a lone UTF-16 surrogate (``"\\ud83c"``: half an emoji, as a JavaScript string cut at
a fixed length leaves it); Python decodes it into a ``str`` that no UTF-8 file, path or log
line can take: a photo path holding one raised ``UnicodeEncodeError`` deep in Gradio, and
"Go to" echoed it into its status line, where a strict JSON decoder on a phone fails on the
whole answer. :class:`mushroom.ui.api_input.CheckedBlocks` runs both on the raw inputs.
"""

from __future__ import annotations

import inspect
import re

from gradio.data_classes import FileData, ImageData
from pydantic import ValidationError

from mushroom.ui import UserError, clip

SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: object) -> str | None:
    """The first lone surrogate in a JSON value (strings, lists, dict keys and values)."""
    if isinstance(value, str):
        found = None if value.isascii() else SURROGATE.search(value)  # isascii: a fast no
        return found[0] if found else None
    if isinstance(value, dict):
        value = list(value.items())
    if isinstance(value, (list, tuple)):
        return next((found for found in map(lone_surrogate, value) if found), None)
    return None


def check_text(block_fn, inputs: list) -> None:
    """Refuse a call whose input holds a lone surrogate, naming the input.

    Args:
        block_fn: the Gradio event called.
        inputs: its raw JSON inputs, in the event's order.

    Raises:
        UserError: naming the input and the surrogate's code point.
    """
    names = list(inspect.signature(block_fn.fn).parameters)
    for i, value in enumerate(inputs):
        found = lone_surrogate(value)
        if found:
            name = names[i] if i < len(names) else f"input {i + 1}"
            raise UserError(f"A lone UTF-16 surrogate (U+{ord(found):04X}) in {name}: half of "
                            "a character such as an emoji, which is not text. Send whole "
                            "characters (valid UTF-8, or a JSON \\u escape pair).")


def file_data_problem(value: dict, name: str) -> str | None:
    """Why a photo's FileData fields (``orig_name``, ``size``...) fail the model Gradio reads
    them with, in one line; None when they pass.

    Args:
        value: a FileData dict that has an upload's path or a data URL.
        name: the input as the message names it ("photo", "photo 2").
    """
    model = FileData if value.get("path") else ImageData  # the data URL's: no path
    try:
        model.model_validate(value)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        return f'{name}: its "{clip(where)}" is not valid ({first["msg"]}).'
    return None
