"""Every HTTP refusal a mobile app can meet, against the real app: a JSON body whose
``error`` says what was wrong, Gradio's own status code and ``detail`` kept beside it."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

JSON = "application/json"
FORM = "multipart/form-data; boundary=b"


def too_large_upload() -> bytes:
    """A form whose one file is a byte over the 25 MB upload limit."""
    head = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.jpg"\r\n\r\n'
    return head + bytes(25 * 1024 * 1024 + 1) + b"\r\n--b--\r\n"


# (method, path under /gradio_api/, body, Content-Type, status, words the error must hold)
CASES = {
    # FastAPI's bare 400 {"detail": "There was an error parsing the body"}: which error?
    "not UTF-8": ("POST", "call/identify", '{"data": ["été", 3]}'.encode("latin-1"), JSON, 400,
                  "not UTF-8 text (byte 0xE9 at position 11"),
    "not UTF-8, named inputs": ("POST", "call/v2/identify", b'{"k": "\xe9"}', JSON, 400,
                                "not UTF-8 text"),
    "not UTF-8, queue": ("POST", "queue/join", b'{"data": ["\xe9"]}', JSON, 400,
                         "not UTF-8 text"),
    "nested too deep": ("POST", "call/identify", b"[" * 100_000, JSON, 400,
                        "nested too deeply"),
    # the app's own refusals already had an error: they keep it
    "not JSON": ("POST", "call/identify", b"photo.jpg", JSON, 422, "it is not valid JSON"),
    "data not a list": ("POST", "call/identify", b'{"data": 5}', JSON, 422,
                        "Input should be a valid list at body.data"),
    "no data": ("POST", "call/identify", b"{}", JSON, 422, "Field required at body.data"),
    "unknown api_name": ("POST", "call/identfy", b'{"data": []}', JSON, 404,
                         "There is no endpoint /identfy."),
    "labelled a form": ("POST", "call/identify", b'{"data": []}',
                        "application/x-www-form-urlencoded", 415, "Content-Type: application"),
    # FastAPI's 422 on Gradio's other routes: {"detail": [...]} only, the value echoed
    "queue, not JSON": ("POST", "queue/join", b'{"data": [null, 3]', JSON, 422,
                        "POST /gradio_api/queue/join: it is not valid JSON"),
    "queue, data not a list": ("POST", "queue/join", b'{"data": "PHOTO"}', JSON, 422,
                               "Input should be a valid list at body.data"),
    "queue, no session": ("POST", "queue/join", b'{"data": [], "fn_index": 0}', JSON, 400,
                          "session_hash"),
    "stream, no session": ("GET", "queue/data", None, None, 422,
                           "Field required at query.session_hash"),
    # Starlette's {"detail": "Method Not Allowed"} and {"detail": "Not Found"}
    "GET a call": ("GET", "call/identify", None, None, 405,
                   "GET /gradio_api/call/identify is not allowed: it takes POST"),
    "PUT an upload": ("PUT", "upload", b"", JSON, 405, "it takes POST"),
    "no such route": ("POST", "identify", b'{"data": []}', JSON, 404,
                      "There is no POST /gradio_api/identify"),
    "a file not served": ("GET", "file=/tmp/no-such-heatmap.png", None, None, 403,
                          "The server does not send /tmp/no-such-heatmap.png"),
    # Gradio's upload route answered these in plain text
    "upload, no boundary": ("POST", "upload", b"photo", "multipart/form-data", 400,
                            "could not be read as a form (Missing boundary in multipart.)"),
    "upload over 25 MB": ("POST", "upload", None, FORM, 413, "larger than 25 MB"),
}


def answer(app, method: str, path: str, body: bytes | None, kind: str | None):
    """Status, headers and raw body of one request, as a phone's HTTP client sends it."""
    url = urlsplit(app.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request(method, f"/gradio_api/{path}", body,
                           {"Content-Type": kind} if kind else {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_refusal_is_json_with_an_error_naming_what_was_wrong(app, case):
    method, path, body, kind, status, words = CASES[case]
    body = too_large_upload() if case == "upload over 25 MB" else body
    got, headers, raw = answer(app, method, path, body, kind)
    assert got == status, raw[:300]
    assert headers["Content-Type"] == JSON, raw[:300]
    refusal = json.loads(raw)
    assert isinstance(refusal["error"], str) and words in refusal["error"], refusal
    assert refusal["detail"], refusal  # what Gradio's own clients read is still there
    assert b"PHOTO" not in raw  # the value sent is not echoed back
    if status == 405:  # HTTP's Allow header still lists the methods the route takes
        assert headers["Allow"] == "POST", headers
    assert "Traceback" not in app.log()


def test_an_unknown_event_ids_stream_ends_cleanly(app):
    # Gradio sent the error block, then raised inside the stream: the chunked body was cut
    # off (http.client: IncompleteRead, a phone: "unexpected end of stream") and the log
    # got a 60-line traceback per request, which anyone could repeat with a GET.
    logged = len(app.log())
    status, headers, raw = answer(app, "GET", "call/identify/no-such-event", None, None)
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    assert raw == b'event: error\ndata: "404: Not Found"\n\n'
    assert "Traceback" not in app.log()[logged:] and app.alive()
