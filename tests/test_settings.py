"""The operator's numeric settings: one parser (:func:`mushroom.settings.env_number`) and
the same handling of a bad value in all four settings that use it."""

from __future__ import annotations

import pytest

from mushroom import service, settings
from mushroom.ui import DEFAULT_UPLOAD_TTL_S, UPLOAD_TTL_ENV, expired_message, upload_ttl_s
from mushroom.ui.slow_clients import BODY_GRACE_S, GRACE_ENV, body_grace_s

BAD = ["two", "20s", "-5", "0", "nan", "inf", "-inf", "1e400", "1e12", "", " ", "0x10",
       "1_0e99"]
"""Not a number of seconds from 1 to 1000 (blank ones mean unset: the default, silently)."""


@pytest.fixture(autouse=True)
def fresh_reports(monkeypatch):
    """Each test sees its warnings, though an earlier one reported the same value."""
    monkeypatch.setattr(settings, "_reported", set())


def read(raw: str, **kw) -> float:
    """``X_S=raw`` through :func:`env_number` as a float from 1 to 1000, default 20."""
    args = {"kind": float, "minimum": 1, "maximum": 1000, "unit": "seconds", **kw}
    return settings.env_number({"X_S": raw}, "X_S", 20.0, **args)


@pytest.mark.parametrize("raw", BAD)
def test_a_bad_value_is_ignored_once_on_stderr_and_the_default_used(raw, capsys):
    assert read(raw) == 20.0 and read(raw) == 20.0
    err = capsys.readouterr().err
    if not raw.strip():
        assert err == ""
        return
    assert err == (f"warning: X_S={raw.strip()!r} ignored (not a number of seconds from 1 "
                   "to 1000); using 20\n")


@pytest.mark.parametrize("raw", [*BAD[:-4], "2.5", "+3", "٣", "²"])
def test_a_bad_whole_number_is_refused_when_strict(raw, capsys):
    with pytest.raises(ValueError) as err:
        read(raw, kind=int, strict=True)
    assert str(err.value) == (f"X_S must be a whole number of seconds from 1 to 1000, not "
                              f"{raw.strip()!r}")
    assert capsys.readouterr().err == ""


def test_good_values_and_the_edges_of_the_range_are_taken(capsys):
    assert read(" 1 ") == 1 and read("1000") == 1000 and read("2.5") == 2.5
    assert read("1e3") == 1000 and read("7", kind=int) == 7
    assert isinstance(read("7", kind=int), int)
    assert settings.env_number({}, "X_S", 20.0, minimum=1, maximum=9, unit="s") == 20.0
    assert capsys.readouterr().err == ""


def test_torch_threads_fall_back_to_one_with_a_warning(capsys):
    """"two" had stopped `python app.py`; now the app starts on the default, and says so."""
    assert service.torch_threads({}) == 1 and service.torch_threads({"X": "2"}) == 1
    assert service.torch_threads({service.THREADS_ENV: " 3 "}) == 3
    for bad in ("two", "0", "-1", "1.5", "65"):
        assert service.torch_threads({service.THREADS_ENV: bad}) == 1
        assert (f"warning: MUSHROOM_TORCH_THREADS={bad!r} ignored (not a whole number of "
                "threads from 1 to 64); using 1") in capsys.readouterr().err


def test_the_body_grace_falls_back_to_20_s_with_a_warning(capsys):
    for bad in ("0", "-5", "20s", "nan", "inf", "0.5", "1e12"):
        assert body_grace_s({GRACE_ENV: bad}) == BODY_GRACE_S == 20
        assert f"{GRACE_ENV}={bad!r} ignored" in capsys.readouterr().err
    assert body_grace_s({GRACE_ENV: "3600"}) == 3600


def test_a_huge_upload_ttl_is_refused_like_any_bad_one():
    """Taken before, 10**400 s broke the page's "no longer on the server" message and the
    scratch sweep with an OverflowError; a TTL falls back on nothing (see module doc)."""
    huge = {UPLOAD_TTL_ENV: "1" + "0" * 400}
    with pytest.raises(ValueError) as err:
        expired_message(huge)
    assert str(err.value) == ("MUSHROOM_UPLOAD_TTL_S must be a whole number of seconds from 1 "
                              "to 1000000000, not '1" + "0" * 36 + "...'")  # one short line
    assert upload_ttl_s({UPLOAD_TTL_ENV: "1000000000"}) == 10**9
    assert upload_ttl_s({UPLOAD_TTL_ENV: ""}) == DEFAULT_UPLOAD_TTL_S


def test_the_review_refresh_falls_back_on_stderr_once(monkeypatch, capsys):
    from mushroom.ui import review_refresh as refresh

    for bad in ("1e7", "0.01"):  # a 116-day interval is past a browser timer's 24.8 days
        monkeypatch.setenv("MUSHROOM_REVIEW_REFRESH_S", bad)
        assert refresh.refresh_seconds() == refresh.REFRESH_S
        assert refresh.refresh_seconds() == refresh.REFRESH_S
        assert capsys.readouterr().err == (
            f"warning: MUSHROOM_REVIEW_REFRESH_S={bad!r} ignored (not a number of seconds "
            "from 0.1 to 86400); using 15\n")
