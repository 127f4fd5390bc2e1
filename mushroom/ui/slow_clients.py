"""A time limit on reading request bodies, and a quiet line for a client that hangs up.

Uvicorn sets no time limit on a request's body: a client sending an upload a byte a second
(slow loris) kept its connection, a coroutine and an open temporary file for as long as
it liked, and a few thousand such clients would use up the server's file descriptors. The
rule here is Apache's ``mod_reqtimeout`` (``body=20,MinRate=500``): a body gets
:data:`BODY_GRACE_S` seconds (or ``$MUSHROOM_BODY_GRACE_S``), plus one more for every
:data:`BODY_MIN_RATE` bytes that arrive, and only time spent waiting on the client counts.
A phone on a poor line (tens of kB/s) never comes near it; a body that misses it is
answered 408.

A client that hangs up halfway through its body made Starlette raise ``ClientDisconnect``,
which Uvicorn logged as a 40-line traceback: one line says it instead.
"""

from __future__ import annotations

import asyncio
import time

from starlette.requests import ClientDisconnect

from mushroom.settings import env_number
from mushroom.ui.body_limit import send_refusal

BODY_GRACE_S = 20.0
"""Seconds a request body may take before it must keep up :data:`BODY_MIN_RATE`, unless
:data:`GRACE_ENV` says otherwise."""

GRACE_ENV = "MUSHROOM_BODY_GRACE_S"
"""Environment variable: the grace in seconds (a server for very poor lines may want more)."""

BODY_MIN_RATE = 500
"""Bytes a second a body must average after the grace (each 500 bytes buy a second)."""


MAX_GRACE_S = 86400.0
"""The longest grace taken (a day): longer is no limit at all."""


def body_grace_s(env: dict | None = None) -> float:
    """``$MUSHROOM_BODY_GRACE_S``, else :data:`BODY_GRACE_S`: a value that is not a number
    of seconds from 1 to :data:`MAX_GRACE_S` is reported on stderr and the default used
    (:func:`mushroom.settings.env_number`)."""
    return env_number(env, GRACE_ENV, BODY_GRACE_S, minimum=1, maximum=MAX_GRACE_S,
                      unit="seconds")


def too_slow(grace_s: float) -> str:
    """What a client whose body missed the deadline is told."""
    return (f"The request body arrived too slowly (under {BODY_MIN_RATE} bytes a second once "
            f"{grace_s:g} s had passed) and was cut off: send it again on a better connection.")


class BodyDeadline:
    """ASGI middleware: a body that trickles in is cut off with 408; a client that hangs up
    mid-body gets one log line, not a traceback."""

    def __init__(self, app, grace_s: float | None = None, min_rate: int = BODY_MIN_RATE):
        self.app, self.min_rate = app, min_rate
        self.grace_s = body_grace_s() if grace_s is None else grace_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = _Body(receive, self.grace_s, self.min_rate)
        answered = refused = False  # a response has started; it is the 408

        async def sending(message):
            nonlocal answered, refused
            if body.timed_out and not answered:  # whatever the app says of the cut-off body
                answered = refused = True  # (FastAPI: 400 "error parsing the body"), the
                return await _refuse(send, self.grace_s)  # client is told why instead
            if not refused:
                answered = answered or message["type"] == "http.response.start"
                await send(message)

        try:
            await self.app(scope, body.receive, sending)
        except ClientDisconnect:
            if body.complete:  # the answer could not be sent: nobody is left to tell
                return
        if body.timed_out:
            print(f"request body cut off after {body.received} bytes: it arrived too slowly "
                  f"({_named(scope)})", flush=True)
            if not answered:
                await sending({"type": "http.response.start"})
        elif body.hung_up and _has_body(scope):  # not a stream's reader closing early
            print(f"a client hung up after sending {body.received} bytes of its request body "
                  f"({_named(scope)})", flush=True)


class _Body:
    """A request's ``receive``, with the deadline above while the body is still arriving."""

    def __init__(self, receive, grace_s: float, min_rate: int):
        self._receive, self.min_rate = receive, min_rate
        self.budget = grace_s  # seconds the client may still keep the app waiting
        self.received, self.complete, self.timed_out, self.hung_up = 0, False, False, False

    async def receive(self) -> dict:
        """The next message; ``http.disconnect`` once the body has run out of time."""
        if self.complete:  # past the body, receive() waits for a disconnect: no limit
            return await self._receive()
        if self.timed_out:
            return {"type": "http.disconnect"}
        start = time.monotonic()
        try:
            message = await asyncio.wait_for(self._receive(), max(self.budget, 0.0))
        except asyncio.TimeoutError:
            self.timed_out = True
            return {"type": "http.disconnect"}  # the app stops reading as for a hang-up
        chunk = len(message.get("body", b""))
        self.received += chunk
        self.budget += chunk / self.min_rate - (time.monotonic() - start)
        self.complete = message["type"] == "http.request" and not message.get("more_body")
        self.hung_up = message["type"] == "http.disconnect"
        return message


def _named(scope) -> str:
    """The request's method and path for a log line: escaped and clipped, as a path with
    ``%0A`` in it would otherwise write a line of the caller's choosing."""
    return f"{scope['method']} {scope['path'][:200]}".encode("unicode_escape").decode()


def _has_body(scope) -> bool:
    """Whether the request declares a body (a length above 0, or chunks)."""
    headers = dict(scope["headers"])
    return headers.get(b"content-length", b"0") not in (b"0", b"") or \
        b"transfer-encoding" in headers


async def _refuse(send, grace_s: float) -> None:
    """Answer 408 with :func:`too_slow`, as JSON like the app's other refusals, and close:
    the rest of the body is never read."""
    await send_refusal(send, 408, too_slow(grace_s))
