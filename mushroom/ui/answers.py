"""The page's answers, kept from landing beside a newer photo than the one they are for.

A new photo blanks the card at once and says "Identifying this photo…"; its answer comes
later. An answer still on its way for the photo before (a busy Space runs the model
calls one after another: Gradio defers the new photo's call until the old one is done)
used to land after that and stay there until the new one's came, or for good when it was
the Identify button's: an "edible genus" card beside a new Amanita photo.

So the page's model calls do not write the card. Each puts its answer, stamped with what
it answers (the photo and k it read), into a ``gr.State``, and a ``queue=False`` step
after it shows it only when that is still what the page shows; otherwise the pending
card stays until the answer for the new photo (always on its way: every change of the
photo or of k starts one) is shown. The public API endpoints are untouched: they return
what they always did, and only the page's steps after them compare.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import gradio as gr

PENDING_STYLE = ("border:2px dashed #888;border-radius:10px;padding:12px 16px;"
                 "background:#f4f4f4;color:#111;font-size:1.1em")


def pending_card(subject: str = "this photo") -> str:
    """HTML saying that ``subject`` is being identified, for the verdict's place.

    Not a ``.verdict``: nothing may read it as an answer (the phone's scroll-to-card and
    the tests look for that class).
    """
    return (f'<div class="verdict-pending" style="{PENDING_STYLE}">'
            f'Identifying {html.escape(subject)}…</div>')


def stamped(outputs: tuple, key: Any, k: Any) -> dict:
    """``outputs`` (a model call's answer for the page) with what they answer.

    Args:
        outputs: what the tab's show step draws: its outputs' values, or what it draws
            them from.
        key: what tells the photo (or photos) the call read apart: a path, a tuple of
            paths.
        k: the k the call read.
    """
    return {"for": (key, k), "outputs": tuple(outputs)}


def answered(answer: dict | None, key: Any, k: Any) -> bool:
    """Whether ``answer`` answers ``key`` and ``k`` with a result (its first output), not a
    refusal or a blank."""
    return is_for(answer, key, k) and answer["outputs"][0] is not None


def if_current(answer: dict | None, key: Any, k: Any, n: int) -> tuple:
    """``answer``'s outputs when it answers ``key`` and ``k`` (what the page shows now) and
    they are the page's outputs, else ``n`` skips: the pending card stays for the answer
    still to come."""
    if is_for(answer, key, k):
        return answer["outputs"]
    return (gr.skip(),) * n


def is_for(answer: dict | None, key: Any, k: Any) -> bool:
    """Whether ``answer`` (from :func:`stamped`) answers ``key`` and ``k``."""
    return bool(answer) and answer["for"] == (key, k)


def asked_or_latest(drawn: Callable[[], tuple], asked: tuple, now: tuple,
                    answer: dict | None, shown: Callable[[], tuple], n: int) -> tuple:
    """The page's ``n`` outputs after a button's public call, the JSON first.

    Args:
        drawn: the outputs after the JSON, drawn from the call's answer.
        asked: (key, k) the call was for.
        now: (key, k) the page shows now.
        answer: the page's own latest answer (:func:`stamped`).
        shown: the outputs that draw ``answer``.

    Returns:
        The call's answer drawn if it is for what the page shows; else ``answer`` drawn if
        that is; else the JSON blanked and the rest left as is (the answer for ``now`` is on
        its way, and its pending card stays).
    """
    if asked == now:
        return gr.skip(), *drawn()
    if is_for(answer, *now):
        return shown()
    return None, *(gr.skip(),) * (n - 1)
