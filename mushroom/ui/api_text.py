"""Text that UTF-8 cannot hold, refused at the API's door with the input it came in.

JSON can carry a lone UTF-16 surrogate (``"\\ud83c"``: half an emoji, as a JavaScript
string cut at a fixed length leaves it); Python decodes it into a ``str`` that no UTF-8
file, path or log line can take. Before this check a photo path holding one raised
``UnicodeEncodeError`` deep in Gradio, which answered a blank ``{"error": null}`` and logged
a traceback, and "Go to" echoed it into its status line, where a strict JSON decoder on a
phone fails on the whole answer. :class:`mushroom.ui.api_input.CheckedBlocks` runs
:func:`check_text` on every call's raw inputs.
"""

from __future__ import annotations

import inspect
import re

from mushroom.ui import UserError

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
