"""Refuse JSON request bodies larger than any legitimate API call, before Gradio reads them.

Gradio parses a JSON body whole and keeps each queued event's inputs until it runs (up to
``QUEUE["max_size"]`` events): with no limit, an anonymous caller could fill the server's
memory with a few huge bodies. The largest legitimate body is one photo at the upload
limit sent inline as a base64 data URL (4/3 of its size); file uploads are multipart and
held to :data:`~mushroom.ui.MAX_FILE_SIZE` by Gradio itself. Only the upload route is let
through that way: the API routes read a multipart-labelled body whole too, before they
find it is not JSON.
"""

from __future__ import annotations

import json

from mushroom.ui import MAX_FILE_BYTES

MAX_JSON_BYTES = MAX_FILE_BYTES * 4 // 3 + 1024 * 1024
"""A 25 MB photo as a base64 data URL (~33.3 MB), plus room for the other inputs."""

TOO_LARGE = (f"The request body is larger than {MAX_JSON_BYTES // 2**20} MB. A photo may be "
             f"at most {MAX_FILE_BYTES // 2**20} MB, inline as a data URL or (better for "
             "large files) uploaded with POST /gradio_api/upload.")


class JsonBodyLimit:
    """ASGI middleware answering 413 to a POST body over ``limit`` bytes, file uploads apart."""

    def __init__(self, app, limit: int = MAX_JSON_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or _upload(scope):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _refuse(receive, send, pending=True)
        if length is not None:  # the server stops reading at the declared length
            return await self.app(scope, receive, send)
        # Chunked: no length up front, so read (at most the limit) before the app does.
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                return await _refuse(receive, send, pending=message.get("more_body", False))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        replay = iter(messages)

        async def replayed():
            return next(replay, None) or await receive()

        return await self.app(scope, replayed, send)


def _upload(scope) -> bool:
    """A multipart POST to Gradio's upload route, which streams files to disk itself."""
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return (content_type.lower().startswith(b"multipart/")
            and scope["path"].rstrip("/").endswith("/upload"))


async def _refuse(receive, send, pending: bool) -> None:
    """Read the rest of the body, dropping it, then answer 413: answering while the client
    still sends would reset its connection, and it would never read why."""
    while pending:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        pending = message.get("more_body", False)
    await send_refusal(send, 413, TOO_LARGE)


async def send_refusal(send, status: int, message: str, detail: str | None = None) -> None:
    """Answer ``status`` with ``message`` as JSON, like the app's other refusals, and close.

    Args:
        send: the ASGI send of the request refused.
        status: the HTTP status.
        message: the ``error``: what was wrong, in words.
        detail: the ``detail``, when a framework's own wording goes there; else ``message``.
    """
    body = json.dumps({"error": message, "detail": message if detail is None else detail})
    body = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
