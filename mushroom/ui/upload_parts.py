"""Clear answers for ``POST /gradio_api/upload`` requests that carry no file to store.

Gradio's upload route stores the parts named ``files`` and answers the list of their server
paths. A form whose file part has another name (``file``, ``photo``, ``image``: each
HTTP library's examples pick one) was answered ``200 []``: the app then failed on an empty
list, or sent no photo and was told to upload one. A ``files`` part that is text is refused
by :func:`mushroom.ui.api_input.type_error_refused`.
"""

from __future__ import annotations

import json

NO_FILES = ('The upload holds no part named "files": name each photo\'s form part "files" '
            '(curl: -F "files=@photo.jpg"); the answer lists their server paths in order.')


def is_upload_route(path: str) -> bool:
    """Whether a request path is Gradio's upload route (``…/gradio_api/upload``, after any
    root path a proxy adds)."""
    return path.rstrip("/").endswith("/upload")


class NoFilesPart:
    """ASGI middleware: an upload answered with an empty list becomes a 400 saying why."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["method"] != "POST"
                or not is_upload_route(scope["path"])):
            return await self.app(scope, receive, send)
        held = []  # the 200's start, until its body shows whether the list is empty

        async def answer(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                held.append(message)
                return
            if held and message["type"] == "http.response.body":
                start = held.pop()
                if not message.get("more_body") and message.get("body", b"").strip() == b"[]":
                    return await _refuse(send)
                await send(start)
            await send(message)

        await self.app(scope, receive, answer)


async def _refuse(send) -> None:
    """Answer 400 with :data:`NO_FILES`, as JSON like the app's other refusals."""
    body = json.dumps({"error": NO_FILES, "detail": NO_FILES}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
