"""Clients that misbehave at the HTTP level, against the real app: one that hangs up halfway
through its request, ones that send their body a byte at a time (slow loris). The server
must keep answering everyone else, and its log must not fill with tracebacks."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest
from test_bad_input import call_raw

from mushroom.ui.slow_clients import BODY_GRACE_S, body_grace_s

GRACE_S = 5.0
"""The app here gives a body this grace ($MUSHROOM_BODY_GRACE_S), not the default 20 s: the
rule is the same, and the slow-loris test waits for it to run out."""

BOUNDARY = b"hostile-test-boundary"
PART = (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="files"; '
        b'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n')
UPLOAD = (b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\n"
          b"Content-Type: multipart/form-data; boundary=" + BOUNDARY + b"\r\n")
CALL = b"POST /gradio_api/call/identify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def app(tiny_checkpoint):
    """The real app on a free port, with a grace of :data:`GRACE_S` (one per module)."""
    from server import running_app

    with running_app({"MUSHROOM_MODEL": str(tiny_checkpoint),
                      "MUSHROOM_BODY_GRACE_S": str(GRACE_S)}) as running:
        yield running


def test_the_grace_defaults_to_20_s_and_ignores_nonsense(capsys):
    assert body_grace_s({}) == BODY_GRACE_S == 20
    assert body_grace_s({"MUSHROOM_BODY_GRACE_S": " 90 "}) == 90
    for bad in ("0", "-5", "20s", "nan", "inf", "0.5"):  # more in test_settings.py
        assert body_grace_s({"MUSHROOM_BODY_GRACE_S": bad}) == BODY_GRACE_S
        assert f"MUSHROOM_BODY_GRACE_S={bad!r} ignored" in capsys.readouterr().err


def connect(app) -> socket.socket:
    """A raw TCP connection to the app, as a hostile client opens one."""
    return socket.create_connection(("127.0.0.1", int(app.url.rsplit(":", 1)[1].strip("/"))))


def event(app) -> str:
    """The id of a fresh /ping call, whose result stream is then read (or not)."""
    call = urllib.request.Request(f"{app.url}gradio_api/call/ping", b'{"data": []}',
                                  {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(call, timeout=30))["event_id"]


def request(head: bytes, declared: int, start: bytes) -> bytes:
    """``head``'s headers with a Content-Length of ``declared``, then the body's ``start``."""
    return head + f"Content-Length: {declared}\r\n\r\n".encode() + start


def trickle(app, sent: bytes, answers: list, give_up_s: float) -> None:
    """Send ``sent``, then a byte a second until the server answers (appended to ``answers``
    as (seconds, first line, JSON body)) or ``give_up_s`` passes (appends None)."""
    with connect(app) as sock:
        sock.sendall(sent)
        sock.settimeout(1.0)
        start = time.monotonic()
        while time.monotonic() - start < give_up_s:
            try:
                answer = sock.recv(65536)
            except socket.timeout:
                try:
                    sock.send(b"\xff")
                except OSError:  # cut off: read what the server said before it closed
                    answer = sock.recv(65536)
                else:
                    continue
            sock.settimeout(10)
            while more := sock.recv(65536):  # the 408 closes the connection: read to its end
                answer += more
            head, _, body = answer.partition(b"\r\n\r\n")
            answers.append((time.monotonic() - start, head.split(b"\r\n")[0],
                            json.loads(body) if body else None))
            return
        answers.append(None)


def steady_upload(app, size: int, rate: int, answers: list) -> None:
    """Upload ``size`` bytes at ``rate`` bytes a second, as a slow but live phone does."""
    with connect(app) as sock:
        body = PART + b"\xff" * size + b"\r\n--" + BOUNDARY + b"--\r\n"
        sock.sendall(request(UPLOAD, len(body), b""))
        for i in range(0, len(body), rate // 10):
            sock.sendall(body[i:i + rate // 10])
            time.sleep(0.1)
        sock.settimeout(30)
        answers.append(sock.recv(65536).split(b"\r\n")[0])


@pytest.mark.slow
def test_a_body_sent_a_byte_a_second_is_cut_off_and_others_are_served(app):
    # Uvicorn sets no time limit on reading a body: 800 uploads trickling in a byte every 2 s
    # held 800 connections and 800 open temporary files for as long as they liked.
    slow, steady = [], []
    threads = [threading.Thread(target=trickle, args=(app, sent, slow, GRACE_S + 15))
               for sent in (request(UPLOAD, len(PART) + 10**6, PART),
                            request(CALL, 10**6, b'{"data": [{"url": "data:image/jpeg;base64,'))]
    # 20 kB/s is a slow phone line, far above the 500 B/s floor: it goes on past the grace
    threads.append(threading.Thread(target=steady_upload, args=(app, 200_000, 20_000, steady)))
    for thread in threads:
        thread.start()
    time.sleep(2)
    start = time.monotonic()
    assert call_raw(app, "ping", []) == ("complete", ["pong"])
    assert time.monotonic() - start < 5  # the trickling clients hold up no one
    for thread in threads:
        thread.join()
    assert steady == [b"HTTP/1.1 200 OK"]
    for answer in slow:
        assert answer is not None, "a body trickling in a byte a second was never cut off"
        seconds, status, body = answer
        assert GRACE_S - 1 < seconds < GRACE_S + 10
        assert status == b"HTTP/1.1 408 Request Timeout"
        assert body["error"].startswith("The request body arrived too slowly (under 500 "
                                        "bytes a second once 5 s had passed)")
    assert "Traceback" not in app.log()
    assert app.alive()


@pytest.mark.parametrize("head, start", [
    (UPLOAD, PART + b"\xff" * 200_000),
    (CALL, b'{"data": [{"url": "data:image/jpeg;base64,'),
    (CALL.replace(b"identify", b"identify%0AERROR:%20a%20line%20of%20the%20caller's"), b"{"),
], ids=["upload", "call", "newline in the path"])
def test_a_client_that_hangs_up_mid_body_leaves_one_quiet_line(app, head, start):
    # Starlette raised ClientDisconnect and Uvicorn logged it as a 40-line traceback: 800
    # dropped uploads (a train going into a tunnel, or an attacker) wrote 28,000 lines.
    before = len(app.log().splitlines())
    for _ in range(3):
        with connect(app) as sock:
            sock.sendall(request(head, len(start) + 10**7, start))
            time.sleep(0.5)
    with connect(app) as sock:  # a result stream dropped at once: no body, nothing to say
        sock.sendall(b"GET /gradio_api/call/ping/" + event(app).encode() + b" HTTP/1.1\r\n"
                     b"Host: x\r\n\r\n")
    time.sleep(1)
    added = app.log().splitlines()[before:]
    assert "Traceback" not in app.log() and "ClientDisconnect" not in app.log()
    hung_up = [line for line in added if line.startswith("a client hung up after sending")]
    assert len(hung_up) == 3, added  # one each, none for the stream read by nobody
    assert not any(line.startswith("ERROR: a line") for line in added), added
    assert call_raw(app, "ping", []) == ("complete", ["pong"])
    with urllib.request.urlopen(app.url, timeout=10) as page:
        assert page.status == 200
