"""The app's refusal shape for the HTTP errors that FastAPI, Starlette and Gradio answer.

The app's own refusals are JSON with an ``error`` that says what was wrong (and the same
text as ``detail``, which Gradio's clients read). The framework's were not: a body that is
not UTF-8, or JSON nested too deeply to parse, got FastAPI's bare 400 ``{"detail": "There
was an error parsing the body"}``; a wrong method ``{"detail": "Method Not Allowed"}``, a
mistyped route ``{"detail": "Not Found"}``, a heatmap past its TTL ``{"detail": "File not
allowed: …"}``; and Gradio's upload route answered a malformed form or a photo over the limit
in plain text. :func:`http_refused` (an exception handler) and :class:`PlainTextRefusals`
(middleware) add the ``error``, keeping the status, ``detail`` and headers (405's ``Allow``).
:class:`EndedStreams` ends the result stream of an unknown event id, which Gradio cut off.
"""

from __future__ import annotations

from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from mushroom.ui import MAX_FILE_BYTES, clip
from mushroom.ui.body_limit import send_refusal
from mushroom.ui.upload_parts import is_upload_route

PARSE_FAILED = "There was an error parsing the body"
"""FastAPI's ``detail`` when reading a body raised anything but a JSON syntax error."""

THE_API = ("This app's API: POST /gradio_api/upload (photos, as a form), POST "
           "/gradio_api/call/<endpoint> (JSON) and GET /gradio_api/call/<endpoint>/<event_id> "
           "(its result); details: GET /gradio_api/info.")

SEND_A_FORM = ('send each photo as a file part named "files" of a multipart/form-data body '
               '(curl: -F "files=@photo.jpg").')


async def http_refused(request, exc: HTTPException) -> Response:
    """FastAPI's answer to ``exc``, with an ``error`` beside its ``detail`` (and headers).

    Args:
        request: the refused request.
        exc: the HTTPException raised by Starlette's router, FastAPI or a Gradio route.
    """
    response = await http_exception_handler(request, exc)
    if not isinstance(response, JSONResponse):  # 204/304: no body to put an error in
        return response
    body = {"error": _message(request, exc), "detail": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _message(request, exc: HTTPException) -> str:
    """What was wrong with ``request``, in words, for the refusal ``exc``."""
    where = f"{request.method} {clip(request.url.path)}"
    detail = str(exc.detail)
    if exc.status_code == 400 and detail == PARSE_FAILED:
        return _unreadable(exc.__cause__)
    if exc.status_code == 404 and detail == "Not Found":  # the router's: no such route
        return f"There is no {where} on this server. {THE_API}"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "another method")
        return f"{where} is not allowed: it takes {allowed}. {THE_API}"
    if exc.status_code == 403 and detail.startswith("File not allowed"):
        path = request.path_params.get("path_or_url", request.url.path)
        return (f"The server does not send {clip(path)}: it sends only the files it made "
                "for a caller (an /explain heatmap's url), and deletes them with the uploads "
                "after MUSHROOM_UPLOAD_TTL_S seconds; run the call again for a new one.")
    if detail == "Session hash not found.":
        return ('POST /gradio_api/queue/join needs a "session_hash" (any id the client picks) '
                "in its body; POST /gradio_api/call/<endpoint> needs none.")
    return detail


def _unreadable(cause: BaseException | None) -> str:
    """Why FastAPI could not read a JSON body, from the exception it wrapped in its 400."""
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start]
        return (f"The request body is not UTF-8 text (byte 0x{byte:02X} at position "
                f"{cause.start}): send the JSON encoded as UTF-8, not Latin-1 or UTF-16.")
    if isinstance(cause, RecursionError):
        return ("The request body's JSON is nested too deeply to read (lists or objects "
                "hundreds of levels inside each other): send the shape GET /gradio_api/info "
                "gives.")
    kind = type(cause).__name__ if cause is not None else "no reason given"
    return f"The request body could not be read ({kind}): send JSON encoded as UTF-8."


class PlainTextRefusals:
    """ASGI middleware: a plain-text error answer becomes the app's JSON refusal, ``detail``
    keeping the text. Gradio's upload route answers that way (a malformed form, a file over
    the limit); a response to HEAD, which has no body, is left alone."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] == "HEAD":
            return await self.app(scope, receive, send)
        held, chunks = [], []  # the refusal's start and body, until the body is whole

        async def answer(message):
            if message["type"] == "http.response.start" and _plain_refusal(message):
                return held.append(message)
            if not held or message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                text = b"".join(chunks).decode("utf-8", "replace").strip()
                status = held[0]["status"]
                await send_refusal(send, status, _plain_message(scope, status, text),
                                   detail=text)

        await self.app(scope, receive, answer)


def _plain_refusal(start: dict) -> bool:
    """Whether a response start is an HTTP error with a plain-text body."""
    kind = dict(start.get("headers", [])).get(b"content-type", b"")
    return start["status"] >= 400 and kind.lower().startswith(b"text/plain")


def _plain_message(scope, status: int, text: str) -> str:
    """The ``error`` for a plain-text refusal ``text``: on the upload route, what to send."""
    if not is_upload_route(scope["path"]):
        return text
    if status == 413 and text.startswith("File size exceeded"):
        return (f"A file in the upload is larger than {MAX_FILE_BYTES // 2**20} MB, the limit "
                "for a photo: send a smaller copy (phone photos are 2-12 MB).")
    return f"The upload could not be read as a form ({clip(text, 200)}): {SEND_A_FORM}"


class EndedStreams:
    """ASGI middleware: a result stream that Gradio ends by raising is closed properly.

    ``GET /gradio_api/call/<name>/<event_id>`` with an id the server does not hold (a typo,
    an event from before a restart) sends ``event: error`` / ``data: "404: Not Found"``, then
    raises the 404 inside the stream it already began: the body was cut off mid-chunk, which
    a phone's HTTP client reads as a broken connection, and the log got a traceback.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        streaming = False  # an event stream has begun, and has not ended

        async def sending(message):
            nonlocal streaming
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                streaming = kind.startswith(b"text/event-stream")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                streaming = False
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except RuntimeError as err:  # Starlette's "...but response already started."
            if not (streaming and isinstance(err.__cause__, HTTPException)):
                raise
            await send({"type": "http.response.body", "body": b"", "more_body": False})
