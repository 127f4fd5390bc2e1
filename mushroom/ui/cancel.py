"""Stop an explanation nobody waits for any more.

Gradio cancels an event (a new photo in the Identify tab, ``Job.cancel()`` in
gradio_client) by cancelling the asyncio task that awaits it, which frees the event's
concurrency slot at once; an event whose client dropped its event stream (a closed tab, a
mobile app giving up) is only marked as no longer alive. Either way a function running in
a worker thread cannot be interrupted: a reference explanation would go on scoring copies
for up to 45 s, beside the next explanation on the same two cores or holding its slot.
LIME reports progress after every batch of copies; :func:`watched` turns that report into
the point where such an explanation stops.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from mushroom.ui import UserError


class Abandoned(UserError):
    """Raised inside an explanation nobody waits for. A user error, so that Gradio logs no
    traceback for it when the event is still running (a dropped stream); nobody reads it."""


def _running_event() -> tuple[object, str] | None:
    """(Gradio's queue, event id) of the queued event this thread runs for, else None.

    None outside a queued Gradio event: tests and the CLI call the functions directly, and
    Gradio gives ``queue=False`` events (which never enter the running jobs) no event id.
    """
    from gradio.context import LocalContext

    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    # An event cancelled before the explanation began (while its photo was decoded) is
    # already gone from the running jobs: it must stop too, not run on unwatched. Seen
    # live: a client that cancelled a queue of explanations got each next one started and
    # cancelled at once, and 79 ran side by side in one "one at a time" slot (6 GB).
    if queue is None or event_id is None:
        return None
    return queue, event_id


def _active(queue, event_id: str) -> bool:
    """Whether ``event_id`` is among the queue's running jobs and someone still listens.

    A cancel removes the event from the running jobs; a client that drops its event stream
    (a closed tab, a mobile app giving up on ``/call/explain/<id>``) leaves it there but
    marked not ``alive``, and nothing would deliver its result.
    """
    jobs = getattr(queue, "active_jobs", None) or []
    return any(getattr(event, "_id", None) == event_id and getattr(event, "alive", True)
               for job in jobs if job for event in job)


def watched(report: Callable[[float, str], None]) -> Callable[[float, str], None]:
    """``report`` (fraction done, message), raising :class:`Abandoned` once the Gradio event
    it runs for is cancelled.

    Args:
        report: the progress callback to pass progress on to.

    Returns:
        A callback of the same shape for :func:`mushroom.explain.explain`.

    Raises:
        Abandoned: the event was cancelled before the explanation began.
    """
    running = _running_event()

    def stop_if_abandoned(fraction: float) -> None:
        if running is not None and not _active(*running):
            print(f"explanation stopped at {fraction:.0%}: its caller cancelled it or "
                  "stopped listening",
                  file=sys.stderr, flush=True)
            raise Abandoned("The explanation was cancelled.")

    def step(fraction: float, message: str) -> None:
        stop_if_abandoned(fraction)
        report(fraction, message)

    stop_if_abandoned(0.0)  # cancelled while its photo was decoded: not one superpixel more
    return step
