"""Launch the real app (``python app.py``) on a free port for tests and benchmarks.

Usage::

    with running_app({"MUSHROOM_MODEL": str(ckpt)}) as app:
        Client(app.url).predict(..., api_name="/identify")
        assert app.alive()

The app runs in its own process, exactly as ``python app.py`` on a Space, with the given
environment variables (``MUSHROOM_MODEL``, ``MUSHROOM_EXPERTS``...) on top of the current ones.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    """Handle on a launched app."""

    url: str  # base URL, e.g. http://127.0.0.1:51234/, where the app says it listens
    process: subprocess.Popen  # the ``python app.py`` process
    log_path: Path  # its stdout and stderr
    tmp_dir: Path  # its own TMPDIR (removed when it stops)

    def alive(self) -> bool:
        """True while the process runs and the page still answers."""
        return self.process.poll() is None and _answers(self.url)

    def log(self) -> str:
        """Everything the app printed so far."""
        return self.log_path.read_text(errors="replace")


def _answers(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


@contextmanager
def running_app(env: dict[str, str] | None = None, startup_timeout: float = 180.0,
                script: str | Path = ROOT / "app.py") -> Iterator[RunningApp]:
    """Start ``python app.py`` on a free localhost port and stop it afterwards.

    Args:
        env: extra environment variables for the app (they override the current ones).
        startup_timeout: seconds to wait for the page to answer.
        script: the app file to run.

    Raises:
        RuntimeError: the app exited or did not answer in time (its log is in the message).
    """
    port = free_port()
    # a <tmp> of its own: apps running side by side (pytest -n 2) must not sweep each
    # other's uploads and scratch files in a shared <tmp>/mushroom-* by the TTL of one of them
    own_tmp = tempfile.mkdtemp(prefix="mushroom-app-tmp-")
    full_env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", "TMPDIR": own_tmp,
                **(env or {})}
    log_file = tempfile.NamedTemporaryFile("w+b", prefix="mushroom-app-", suffix=".log",
                                           delete=False)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=full_env,
                            stdout=log_file, stderr=subprocess.STDOUT)
    app = RunningApp(f"http://127.0.0.1:{port}/", proc, Path(log_file.name), Path(own_tmp))
    try:
        _wait_until_up(app, startup_timeout)
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()
        # one per launched app: a full run would leave hundreds in <tmp> (a failed start
        # already carries the log's tail in its RuntimeError)
        app.log_path.unlink(missing_ok=True)
        shutil.rmtree(own_tmp, ignore_errors=True)


def _wait_until_up(app: RunningApp, timeout: float) -> None:
    """Wait until the app says where it listens and answers there; ``app.url`` becomes it.

    The port asked for is only a wish: ``free_port`` finds a port free at that moment, and
    with tests side by side (pytest -n 2) another worker's app can bind it first. Gradio
    then serves on another port and prints that one, while the port asked for answers with
    the other app (seen: a test read the Review tab of another worker's app).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"app exited with {app.process.returncode}:\n{app.log()[-3000:]}")
        said = re.search(r"Running on local URL: +(http://[^\s,]+)", app.log())
        if said and _answers(said.group(1).rstrip("/") + "/", timeout=2.0):
            app.url = said.group(1).rstrip("/") + "/"
            return
        time.sleep(0.3)
    raise RuntimeError(f"app did not answer within {timeout:.0f} s:\n{app.log()[-3000:]}")
