"""Expert credentials: salted hashes from configuration, no plain text, throttled guessing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from mushroom import auth


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return auth.hash_password("correct horse battery")


def test_hash_is_salted_and_verifies(alice_hash):
    again = auth.hash_password("correct horse battery")
    assert alice_hash != again and alice_hash.startswith("scrypt$")
    assert "correct horse" not in alice_hash
    assert auth.verify_password("correct horse battery", alice_hash)
    assert auth.verify_password("correct horse battery", again)
    assert not auth.verify_password("correct horse batterx", alice_hash)
    assert not auth.verify_password("correct horse battery", "plain:text")


def test_short_passwords_are_refused():
    with pytest.raises(ValueError, match="at least"):
        auth.hash_password("short")


def test_experts_come_from_env_and_secrets_file(alice_hash, tmp_path):
    secrets = tmp_path / "experts.txt"
    secrets.write_text(f"# mycologists\nbob:{alice_hash}\n")
    env = {"MUSHROOM_EXPERTS": f"alice:{alice_hash}, carol:hunter22",
           "MUSHROOM_EXPERTS_FILE": str(secrets)}
    experts, problems = auth.load_experts(env)
    assert set(experts) == {"alice", "bob"}
    assert len(problems) == 1 and "carol" in problems[0]  # plain text is never accepted
    missing = auth.load_experts({"MUSHROOM_EXPERTS_FILE": str(tmp_path / "nope")})
    assert missing[0] == {} and "cannot read" in missing[1][0]


def test_authenticate_accepts_only_the_right_password(alice_hash):
    env = {"MUSHROOM_EXPERTS": f"alice:{alice_hash}"}
    throttle = auth.Throttle()
    assert auth.authenticate("alice", "correct horse battery", env, throttle) == "alice"
    for name, password in (("alice", "wrong password"), ("mallory", "correct horse battery"),
                           ("", "")):
        with pytest.raises(PermissionError, match="Unknown expert or wrong password"):
            auth.authenticate(name, password, env, throttle)
    with pytest.raises(PermissionError, match="No experts"):
        auth.authenticate("alice", "correct horse battery", {}, throttle)


def test_repeated_failures_lock_the_name(alice_hash):
    env = {"MUSHROOM_EXPERTS": f"alice:{alice_hash}"}
    throttle = auth.Throttle(limit=3, window_s=60, lock_s=60)
    for _ in range(3):
        with pytest.raises(PermissionError, match="wrong password"):
            auth.authenticate("alice", "guess guess", env, throttle)
    with pytest.raises(PermissionError, match="Too many"):
        auth.authenticate("alice", "correct horse battery", env, throttle)
    assert auth.authenticate("alice", "correct horse battery", env,
                             auth.Throttle()) == "alice"  # a fresh throttle: not locked


def test_hf_allow_list_parsing():
    assert auth.hf_allow_list({"MUSHROOM_EXPERTS_HF": "ann, ben  cy"}) == {"ann", "ben", "cy"}
    assert auth.hf_allow_list({}) == set()


def test_hash_password_command_prints_a_usable_entry():
    result = subprocess.run([sys.executable, "-m", "mushroom", "labels", "hash-password", "dora"],
                            input="sporeprint42\n", capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    experts, problems = auth.parse_experts(result.stdout)
    assert problems == [] and auth.verify_password("sporeprint42", experts["dora"])
    assert "sporeprint42" not in result.stdout


def _profile(username: str):
    import gradio as gr

    return gr.OAuthProfile({"name": username.title(), "preferred_username": username,
                            "profile": f"https://example.invalid/{username}", "picture": ""})


def test_hf_sign_in_accepts_only_allow_listed_accounts(monkeypatch):
    from mushroom.ui.review_signin import hf_login

    monkeypatch.setenv("MUSHROOM_EXPERTS_HF", "ann, ben")
    user, message, login_box, work_area, own_logout = hf_login(_profile("ann"))
    assert user == "hf:ann" and "hf:ann" in message
    assert login_box["visible"] is False and work_area["visible"] is True
    assert own_logout["visible"] is False  # the Hugging Face button signs out for real
    user, message, login_box, work_area, _ = hf_login(_profile("mallory"))
    assert user is None and "not on the expert list" in message
    assert login_box["visible"] is True and work_area["visible"] is False
    assert hf_login(None)[0] is None  # no sign-in yet: the page stays as it is


def test_hf_sign_in_needs_a_space_with_oauth_and_an_allow_list():
    space = {"SYSTEM": "spaces", "SPACE_ID": "someone/mushroom", "MUSHROOM_EXPERTS_HF": "ann",
             **{v: "x" for v in auth.OAUTH_VARS}}
    assert auth.hf_sign_in_status(space) == (True, "")
    assert auth.hf_sign_in_status({**space, "MUSHROOM_EXPERTS_HF": ""}) == (False, "")
    ok, why = auth.hf_sign_in_status({**space, "SYSTEM": ""})
    assert not ok and "not a Hugging Face Space" in why
    ok, why = auth.hf_sign_in_status({k: v for k, v in space.items() if k != "OAUTH_SCOPES"})
    assert not ok and "OAUTH_SCOPES" in why and "hf_oauth: true" in why


def test_names_tried_by_anyone_do_not_pile_up_in_the_throttle():
    throttle = auth.Throttle(limit=3, window_s=60, lock_s=60, max_names=100)
    for i in range(1000):  # /review_login is open to anyone: random names, never a hit
        assert not throttle.blocked(f"guess{i}", now=float(i))
    assert throttle.failures == {}
    for i in range(1000):
        throttle.fail(f"guess{i}", now=float(i))
    assert len(throttle.failures) <= 100 + 60  # pruned to the last minute's names
    throttle.fail("alice", 1000.0), throttle.fail("alice", 1000.5), throttle.fail("alice", 1001.0)
    assert throttle.blocked("alice", 1001.5)  # a real lock still holds


def test_names_no_expert_could_have_are_not_remembered(alice_hash):
    # /review_login is open to anyone: a 10 MB "name" kept for the throttle for ten minutes
    # per request would let a visitor fill the server's memory (15 MB a try, seen live).
    env = {"MUSHROOM_EXPERTS": f"alice:{alice_hash}"}
    throttle = auth.Throttle()
    for name in ("n" * 10 * 2**20, "<img src=x onerror=alert(1)>", "alice\x00", "hf:alice"):
        with pytest.raises(PermissionError, match="Unknown expert or wrong password"):
            auth.authenticate(name, "correct horse battery", env, throttle)
    assert throttle.failures == {}
    with pytest.raises(PermissionError, match="wrong password"):
        auth.authenticate("alice", "guess guess", env, throttle)
    assert list(throttle.failures) == ["alice"]  # real names are still throttled
