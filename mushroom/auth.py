"""Expert identity for the Review tab: salted scrypt password hashes from configuration.

Experts are configured, never hard-coded, in either place (both are read on every login,
so a new expert needs no restart):

* ``MUSHROOM_EXPERTS``: entries ``name:scrypt$...`` separated by commas or whitespace;
* ``MUSHROOM_EXPERTS_FILE``: a secrets file with one ``name:scrypt$...`` per line (``#``
  comments allowed).

``python -m mushroom labels hash-password NAME`` prints such an entry. On a Hugging Face
Space, ``MUSHROOM_EXPERTS_HF`` may list HF user names allowed through OAuth instead.
Plain-text passwords are refused: an entry must be a hash this module wrote.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # ~16 MiB and tens of ms per check: slow to brute-force
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_DUMMY = None  # a hash to check against for unknown names, so timing does not reveal them


def valid_name(name: str) -> bool:
    """True for 1-64 letters, digits and ``_.@-`` (the store's annotator alphabet)."""
    return bool(_NAME.match(name or ""))


def hash_password(password: str) -> str:
    """Salted scrypt hash, encoded as ``scrypt$N$r$p$salt$hash`` (base64 parts).

    Raises:
        ValueError: for passwords shorter than :data:`MIN_PASSWORD`.
    """
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Check ``password`` against a :func:`hash_password` string in constant time."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=2**26, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def parse_experts(text: str) -> tuple[dict[str, str], list[str]]:
    """Read ``name:hash`` entries; returns the experts and one message per bad entry."""
    experts, problems = {}, []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for entry in re.split(r"[,\s]+", line.strip()):
            if not entry:
                continue
            name, _, encoded = entry.partition(":")
            if not valid_name(name) or not encoded.startswith("scrypt$") or encoded.count("$") != 5:
                problems.append(f"ignored expert entry {name or entry[:10]!r}: "
                                "expected name:scrypt$...")
                continue
            experts[name] = encoded
    return experts, problems


def load_experts(env: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Experts from ``MUSHROOM_EXPERTS`` and ``MUSHROOM_EXPERTS_FILE`` (see module doc)."""
    env = os.environ if env is None else env
    text = env.get("MUSHROOM_EXPERTS", "")
    problems = []
    path = env.get("MUSHROOM_EXPERTS_FILE", "")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                text += "\n" + fh.read()
        except OSError as err:
            problems.append(f"cannot read MUSHROOM_EXPERTS_FILE: {err.strerror}")
    experts, bad = parse_experts(text)
    return experts, problems + bad


def hf_allow_list(env: dict[str, str] | None = None) -> set[str]:
    """Hugging Face user names allowed to review via OAuth (``MUSHROOM_EXPERTS_HF``)."""
    env = os.environ if env is None else env
    return {n for n in re.split(r"[,\s]+", env.get("MUSHROOM_EXPERTS_HF", "")) if n}


# Set by Hugging Face on a Space whose card says ``hf_oauth: true``; Gradio refuses to start
# a sign-in button without them, so their absence must switch the button off, not crash.
OAUTH_VARS = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_SCOPES", "OPENID_PROVIDER_URL")


def hf_sign_in_status(env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Whether "Sign in with Hugging Face" can be offered here, and if not, why.

    Returns:
        ``(True, "")`` on a Space with OAuth enabled and an allow-list; otherwise False and
        a message for the log ("" when no allow-list asks for the button at all).
    """
    env = os.environ if env is None else env
    if not hf_allow_list(env):
        return False, ""
    if env.get("SYSTEM") != "spaces" or not env.get("SPACE_ID"):
        return False, ("MUSHROOM_EXPERTS_HF is set, but this is not a Hugging Face Space: "
                       "Hugging Face sign-in is off (experts log in with MUSHROOM_EXPERTS)")
    missing = [v for v in OAUTH_VARS if not env.get(v)]
    if missing:
        return False, ("MUSHROOM_EXPERTS_HF is set, but OAuth is not enabled on this Space "
                       f"(no {', '.join(missing)}): add `hf_oauth: true` to the README header")
    return True, ""


@dataclass
class Throttle:
    """Slows password guessing: after ``limit`` failures a name is locked for ``lock_s``."""

    limit: int = 5  # failed attempts allowed inside ``window_s``
    window_s: float = 600.0  # how long a failure is remembered
    lock_s: float = 60.0  # refusal period once the limit is reached
    max_names: int = 10_000  # past this many names, forget those with only old failures
    failures: dict[str, list[float]] = field(default_factory=dict)  # name -> failure times
    lock: threading.Lock = field(default_factory=threading.Lock)  # events run in threads

    def blocked(self, name: str, now: float) -> bool:
        """True while ``name`` has too many recent failures."""
        with self.lock:
            recent = [t for t in self.failures.get(name, []) if now - t < self.window_s]
            if recent:
                self.failures[name] = recent
            else:  # names tried by anyone must not accumulate
                self.failures.pop(name, None)
            return len(recent) >= self.limit and now - recent[-1] < self.lock_s

    def fail(self, name: str, now: float) -> None:
        """Remember a failed attempt; names whose failures are all old are forgotten."""
        with self.lock:
            if len(self.failures) >= self.max_names:
                self.failures = {n: ts for n, ts in self.failures.items()
                                 if now - ts[-1] < self.window_s}
            self.failures.setdefault(name, []).append(now)


THROTTLE = Throttle()


def authenticate(name: str, password: str, env: dict[str, str] | None = None,
                 throttle: Throttle = THROTTLE) -> str:
    """Return the expert's name if the password matches a configured hash.

    Raises:
        PermissionError: with a message safe to show (never says which part was wrong).
    """
    global _DUMMY
    experts, _ = load_experts(env)
    if not experts:
        raise PermissionError("No experts are configured; see README 'Expert review'.")
    name = (name or "").strip()
    if not valid_name(name):  # no expert has such a name; and remembering it for the
        # throttle would let anyone fill the server's memory with 10 MB "names"
        raise PermissionError("Unknown expert or wrong password.")
    now = time.monotonic()
    if throttle.blocked(name, now):
        raise PermissionError("Too many failed logins; wait a minute and try again.")
    if _DUMMY is None:
        _DUMMY = hash_password(secrets.token_hex(8))
    ok = verify_password(password or "", experts.get(name, _DUMMY)) and name in experts
    if not ok:
        throttle.fail(name, now)
        raise PermissionError("Unknown expert or wrong password.")
    return name
