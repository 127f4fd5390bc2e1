"""The test launcher (``tests/server.py``) hands a test its own app, never another one.

``free_port`` finds a port free at that moment; with tests running side by side
(pytest -n 2), another worker's app could bind it first. Gradio then serves on a port of
its own choosing, and the launcher had taken the other app's answer for its own: a test
read the Review tab of another worker's app.
"""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import server
from server import running_app


class _Squatter(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = b"not the app under test"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_port_taken_before_the_app_binds_it_leads_to_the_app_where_it_is(tiny_checkpoint,
                                                                     monkeypatch):
    squatter = ThreadingHTTPServer(("127.0.0.1", 0), _Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    taken, real_free_port = squatter.server_port, server.free_port
    offered = iter([taken])  # the first port offered is already served by someone else
    monkeypatch.setattr(server, "free_port", lambda: next(offered, None) or real_free_port())
    try:
        with running_app({"MUSHROOM_MODEL": str(tiny_checkpoint)}) as app:
            assert f":{taken}/" not in app.url
            with urllib.request.urlopen(app.url + "config", timeout=30) as resp:
                assert '"mode":"blocks"' in resp.read().decode()  # Gradio's, not the squatter's
            assert app.alive()
    finally:
        squatter.shutdown()
