"""Hugging Face sign-in on a Space: the real app, with a local stand-in for the OpenID provider.

A Space with ``hf_oauth: true`` gets ``OAUTH_*`` variables and ``OPENID_PROVIDER_URL``; here
they point at a small HTTP server on localhost that serves the discovery document, so the
app's ``/login/huggingface`` route can be followed to the provider's authorize URL without
leaving the machine. Without those variables the app must still start, with no button.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server import running_app

pytestmark = pytest.mark.slow


class _Provider(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path != "/.well-known/openid-configuration":
            self.send_error(404)
            return
        body = json.dumps({"issuer": base, "authorization_endpoint": f"{base}/authorize",
                           "token_endpoint": f"{base}/token", "userinfo_endpoint": f"{base}/me",
                           "jwks_uri": f"{base}/jwks"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _config_text(url: str) -> str:
    with urllib.request.urlopen(url + "config", timeout=30) as resp:
        return resp.read().decode()


def _space_env(tiny_checkpoint, **extra) -> dict[str, str]:
    return {"MUSHROOM_MODEL": str(tiny_checkpoint), "SYSTEM": "spaces",
            "SPACE_ID": "someone/mushroom", "MUSHROOM_EXPERTS_HF": "ann", **extra}


def test_sign_in_button_leads_to_the_providers_authorize_page(tiny_checkpoint, provider):
    env = _space_env(tiny_checkpoint, OAUTH_CLIENT_ID="client-123", OAUTH_CLIENT_SECRET="s3cret",
                     OAUTH_SCOPES="openid profile", OPENID_PROVIDER_URL=provider)
    with running_app(env) as app:
        config = _config_text(app.url)
        assert "Sign in with Hugging Face (experts)" in config
        assert "No experts configured" not in config  # the allow-listed accounts can sign in
        # no persistent storage on this stand-in Space: the Review tab says what is at stake
        assert "wiped when the Space restarts" in config
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(app.url + "login/huggingface", timeout=30)
        assert redirect.value.code in (302, 307)
        target = urllib.parse.urlparse(redirect.value.headers["Location"])
        query = urllib.parse.parse_qs(target.query)
        assert f"{target.scheme}://{target.netloc}{target.path}" == provider + "/authorize"
        assert query["client_id"] == ["client-123"]
        assert query["scope"] == ["openid profile"]
        assert "s3cret" not in redirect.value.headers["Location"]
        assert app.alive()


def _signed_session(client_secret: str, username: str) -> str:
    """The session cookie Gradio's OAuth callback writes after a successful sign-in."""
    import base64
    import hashlib
    import time

    import itsdangerous

    info = {"oauth_info": {"access_token": "t", "expires_at": time.time() + 3600,
                           "userinfo": {"name": username.title(), "preferred_username": username,
                                        "profile": "", "picture": ""}}}
    key = hashlib.sha256(f"{client_secret}-v4".encode()).hexdigest()
    data = base64.b64encode(json.dumps(info).encode())
    return itsdangerous.TimestampSigner(key).sign(data).decode()


def test_signed_in_account_is_let_in_only_when_allow_listed(tiny_checkpoint, provider):
    from gradio_client import Client

    env = _space_env(tiny_checkpoint, OAUTH_CLIENT_ID="client-123", OAUTH_CLIENT_SECRET="s3cret",
                     OAUTH_SCOPES="openid profile", OPENID_PROVIDER_URL=provider)
    with running_app(env) as app:
        for username, expected in (("ann", "Signed in as **hf:ann**."),
                                   ("mallory", "Hugging Face account mallory is not on the "
                                               "expert list.")):
            cookie = f"session={_signed_session('s3cret', username)}"
            client = Client(app.url, verbose=False, headers={"Cookie": cookie})
            assert expected in str(client.predict(api_name="/review_hf_login"))
        anonymous = Client(app.url, verbose=False).predict(api_name="/review_hf_login")
        assert "Signed in" not in str(anonymous) and "not on the expert" not in str(anonymous)


def test_space_without_oauth_starts_without_the_button(tiny_checkpoint):
    with running_app(_space_env(tiny_checkpoint)) as app:
        config = _config_text(app.url)
        assert "Sign in with Hugging Face" not in config
        assert "hf_oauth: true" in app.log()
        # the Review tab says so too, and that nobody can sign in yet
        assert "hf_oauth: true" in config and "No experts configured" in config
        assert app.alive()
