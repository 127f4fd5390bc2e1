"""The note that a "poisonous" headline warns of a genus the prediction set leaves out.

P(poisonous) >= tau (and any other poison check) is deliberately stricter than the 95 %
conformal set, so "cannot rule out Amanita" may stand above "Plausible genera: Russula,
Entoloma", which read as a contradiction. The page's card says why right after its set line
(:mod:`mushroom.ui.cards`); an API client, such as a mobile app that shows the verdict's
``reasons``, gets the same note among them (:func:`with_outside_reason`). Which genera the
headline names comes from the verdict's ``warned_genera``, never from its text. Pure: no
torch, no UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mushroom.verdict import Verdict

IN_REASONS = "the prediction set"
"""How the reasons entry names the set: a list of reasons has no set line for "this set"."""


def outside_set(level: str, warned: Sequence[str], prediction_set: Sequence[str] | None
                ) -> list[str]:
    """The genera of ``warned`` (a verdict's ``warned_genera``) that ``prediction_set`` leaves
    out, in the headline's order; [] unless ``level`` is "poisonous", and without sets.

    An "uncertain" headline names only poisonous genera inside the set.
    """
    if level != "poisonous" or prediction_set is None:
        return []
    return [g for g in warned if g not in prediction_set]


def outside_note(genera: Sequence[str], fired: bool = True, where: str = "this set") -> str:
    """Why the headline names ``genera`` that the prediction set leaves out ('' for none).

    Args:
        genera: the poisonous genera named outside the set (:func:`outside_set`).
        fired: P(poisonous) reached tau (else another poison check, stricter too, fired).
        where: how the note names the set: "this set" right after the card's set line,
            :data:`IN_REASONS` among the reasons.
    """
    if not genera:
        return ""
    one = len(genera) == 1
    why = ("P(poisonous genus) reaches its threshold" if fired
           else "a poison check fired")
    return (f"{' and '.join(genera)} {'is' if one else 'are'} outside {where}, but {why} (a "
            f"stricter test than the set), so the headline names {'it' if one else 'them'} "
            "for safety.")


def with_outside_reason(verdict: Verdict, prediction_set: Sequence[str] | None) -> Verdict:
    """``verdict`` with the outside-set note last among its ``reasons`` when its headline
    names a poisonous genus that ``prediction_set`` leaves out; else ``verdict`` itself."""
    genera = outside_set(verdict.level, verdict.warned_genera, prediction_set)
    if not genera:
        return verdict
    fired = verdict.poison_probability >= verdict.threshold
    note = outside_note(genera, fired, IN_REASONS)
    return replace(verdict, reasons=(*verdict.reasons, note))
