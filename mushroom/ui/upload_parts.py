"""Clear answers for ``POST /gradio_api/upload`` requests that carry no file to store.

Gradio's upload route stores the parts named ``files`` and answers the list of their server
paths. A form whose file part has another name (``file``, ``photo``, ``image``: each
HTTP library's examples pick one) was answered ``200 []``: the app then failed on an empty
list, or sent no photo and was told to upload one. A body that is no form at all (JSON, the
photo's bytes) is told what the route takes (:func:`not_a_form`). A ``files`` part that is
text is refused by :func:`mushroom.ui.api_input.type_error_refused`.
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
    """ASGI middleware: an upload that is no form, or one answered with an empty list, gets
    a 400 saying why."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["method"] != "POST"
                or not is_upload_route(scope["path"])):
            return await self.app(scope, receive, send)
        kind = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
        if kind.lower() != b"multipart/form-data":
            return await _refuse(send, not_a_form(kind.decode("latin-1")))
        held = []  # the 200's start, until its body shows whether the list is empty

        async def answer(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                held.append(message)
                return
            if held and message["type"] == "http.response.body":
                start = held.pop()
                if not message.get("more_body") and message.get("body", b"").strip() == b"[]":
                    return await _refuse(send, NO_FILES)
                await send(start)
            await send(message)

        await self.app(scope, receive, answer)


def not_a_form(kind: str) -> str:
    """The refusal of an upload whose body is labelled ``kind``, not a multipart form.

    Gradio answered ``{"detail": "Invalid content type."}``: an app that posted the photo's
    base64 as JSON, or its raw bytes, was not told what the route takes.
    """
    labelled = f"labelled {kind[:60]}" if kind else "not labelled"
    return ("POST /gradio_api/upload takes a multipart/form-data body, each photo a file part "
            f'named "files" (curl: -F "files=@photo.jpg"); this body is {labelled}. To send '
            'a photo as JSON, pass it to the endpoint inline: {"url": "data:image/jpeg;base64,'
            '..."}.')


async def _refuse(send, message: str) -> None:
    """Answer 400 with ``message``, as JSON like the app's other refusals."""
    body = json.dumps({"error": message, "detail": message}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
