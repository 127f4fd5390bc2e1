"""The operator's numeric settings (``MUSHROOM_TORCH_THREADS``, ``MUSHROOM_UPLOAD_TTL_S``,
``MUSHROOM_BODY_GRACE_S``, ``MUSHROOM_REVIEW_REFRESH_S``) read from the environment by one
rule: :func:`env_number`. Pure and import-light.

A value that is not a number in the setting's range ("two", "20s", "-5", "0", "nan", "inf",
a number beyond the range) is ignored: stderr says once which value was ignored, why, and
what is used instead, and the app goes on with the default. The upload TTL is the one
setting that refuses instead (``strict``): its default, six hours, could keep photos (and
their GPS) longer than the operator asked for, so ``python app.py`` stops with one line.
"""

from __future__ import annotations

import math
import os
import sys

_reported: set[tuple[str, str]] = set()  # (name, raw): each ignored value is said once


def env_number(env: dict | None, name: str, default: float, *, kind: type = float,
               minimum: float, maximum: float, unit: str, strict: bool = False) -> float:
    """The setting ``name`` from ``env`` (default ``os.environ``), or ``default`` when unset.

    Args:
        env: the environment to read; ``None`` reads ``os.environ``.
        name: the variable, e.g. ``"MUSHROOM_BODY_GRACE_S"``.
        default: the value when the variable is unset, blank or (not ``strict``) bad.
        kind: ``int`` for a whole number (no sign, no point: "2.5" and "+3" are bad), or
            ``float``.
        minimum: the smallest value allowed (inclusive).
        maximum: the largest value allowed (inclusive): beyond it a value is an error
            (a huge TTL overflowed float arithmetic in the upload sweep).
        unit: what the number counts, for messages ("seconds", "threads").
        strict: raise instead of falling back to ``default``.

    Returns:
        float | int: the value, of type ``kind``.

    Raises:
        ValueError: ``strict`` and the value is bad; the message names the variable, the
            range and the value.
    """
    raw = ((os.environ if env is None else env).get(name) or "").strip()
    if not raw:
        return default
    value = _parse(raw, kind)
    if value is not None and minimum <= value <= maximum:
        return value
    what = (f"a {'whole ' if kind is int else ''}number of {unit} "
            f"from {_number(minimum)} to {_number(maximum)}")
    shown = repr(raw if len(raw) <= 40 else raw[:37] + "...")  # a message stays one line
    if strict:
        raise ValueError(f"{name} must be {what}, not {shown}")
    if (name, raw) not in _reported:  # read again on every model load or tab build
        _reported.add((name, raw))
        print(f"warning: {name}={shown} ignored (not {what}); using {_number(default)}",
              file=sys.stderr, flush=True)
    return default


def _number(value: float) -> str:
    """``value`` as an operator types it: 1000000000, not 1e+09; 0.1, not 0.1000."""
    return str(int(value)) if value == int(value) else f"{value:g}"


def _parse(raw: str, kind: type) -> float | None:
    """``raw`` as a finite ``kind``, or None."""
    if kind is int:
        return int(raw) if raw.isascii() and raw.isdigit() else None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
