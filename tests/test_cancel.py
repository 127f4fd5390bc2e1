"""Explanations nobody waits for stop, also when the cancel beats the explanation's start."""

from __future__ import annotations

import threading
import time

import gradio as gr
import pytest
from gradio_client import Client

from mushroom.ui.cancel import Abandoned, watched


def test_outside_a_queued_event_nothing_is_watched():
    steps = []
    step = watched(lambda fraction, message: steps.append(fraction))
    step(0.5, "scoring")
    assert steps == [0.5]


@pytest.fixture
def slow_app():
    """A real queued Gradio app whose event "decodes" before LIME starts, as /explain
    decodes the photo and runs the detector first, until the test sets ``decoded`` (the
    test's cancel has been answered by then); it records the steps it runs."""
    started, decoded, steps, ended = threading.Event(), threading.Event(), [], []

    def slow(text: str) -> str:
        started.set()
        # the photo is decoded and checked: no progress is reported yet. Until the test says
        # so, not for a fixed second: a cancel's round trip took longer on a loaded machine
        # (CI's two cores), LIME began first and the test saw steps it had not asked for.
        decoded.wait(30)
        try:
            step = watched(lambda fraction, message: None)
            # explain() segments the photo and predicts it before its first progress
            # report: only the check inside watched() itself can spare that work
            steps.append("superpixels")
            for i in range(20):  # LIME's batches of copies
                step(i / 20, "scoring")
                steps.append(i)
                time.sleep(0.05)
        except Abandoned:
            ended.append("abandoned")
            raise
        ended.append("finished")
        return text

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        box.submit(slow, box, out, api_name="slow", concurrency_limit=1)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        yield url, started, decoded, steps, ended
    finally:
        demo.close()


def test_an_event_cancelled_before_its_explanation_starts_stops_there(slow_app):
    # Gradio frees the slot of a cancelled event at once; an explanation that went on
    # unwatched would run beside the next one (seen: 79 at once in the one-at-a-time slot).
    url, started, decoded, steps, ended = slow_app
    job = Client(url, verbose=False).submit("photo", api_name="/slow")
    assert started.wait(30)
    # The server can start the event before the client's thread has read the event id from
    # the join's answer; a cancel sent without it is refused (422) and cancels nothing
    # (seen once in CI: the explanation ran to the end).
    deadline = time.monotonic() + 30
    while job.communicator.event_id is None and time.monotonic() < deadline:
        time.sleep(0.01)
    job.cancel()  # while it still decodes; it returns once the server has answered
    decoded.set()
    deadline = time.monotonic() + 10
    while not ended and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ended == ["abandoned"] and steps == []
