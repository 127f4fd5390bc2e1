"""The safety verdict: a pure function from calibrated genus probabilities and thresholds.

Four levels, checked in this order, so the first rule that fires wins:

1. ``not_recognized``: the photo does not look like the nine genera; no genus is claimed.
2. ``poisonous``: P(poisonous) >= tau, the poison head fires, or the top-1 genus is poisonous.
3. ``uncertain``: the top-1 probability is low, the output is not a valid distribution, a
   poisonous genus is inside the prediction set, or the set is empty (no genus is plausible
   enough to name); it is treated as poisonous.
4. ``edible_genus``: names the genus, warns that it also holds toxic species, and never says
   the mushroom is safe to eat.

No torch here: the app, the API, the evaluation and the tests all call :func:`decide`.
The poison rule itself (P(poisonous) and which photos it flags) is defined here per photo
(:func:`poison_probability`, :func:`decide`); :mod:`mushroom.poison_rule` applies the same
rules to arrays of photos, for evaluation, calibration and finds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from mushroom.genus_notes import genus_notes, notes_of
from mushroom.percent import pct, pct_pair
from mushroom.taxonomy import POISONOUS

LEVELS = ("poisonous", "uncertain", "edible_genus", "not_recognized")
"""Every verdict level; all but ``edible_genus`` mean "do not eat"."""

MESSAGES = {
    "poisonous": "Likely a poisonous genus: do not eat.",
    "uncertain": "Uncertain: the model is not sure. Treat it as poisonous: do not eat.",
    "not_recognized": "No mushroom found — photograph the cap, gills and stem close up. This "
                      "photo does not look like the nine genera the model knows, so no "
                      "identification is given. Do not eat.",
}

NOT_RECOGNIZED_FIND = MESSAGES["not_recognized"].replace(
    "This photo does not", "These photos do not")
"""The ``not_recognized`` headline of a find of several photos, every one of them rejected."""

NOT_RECOGNIZED_REASON = "the photo is unlike the photos the model was trained on"
"""The reason of a ``not_recognized`` verdict."""

NOT_RECOGNIZED_FIND_REASON = "none of these photos is like the photos the model was trained on"
"""The reason of a ``not_recognized`` find of several photos, every one of them rejected."""

NO_COLOUR = ("the photo has no colour; the model was trained on colour photos and colour "
             "helps tell genera apart: send a colour photo if you can")
"""The reason added to every verdict of a greyscale photo (the level never changes)."""

NO_COLOUR_NOT_RECOGNIZED = ("This photo has no colour, which may be why it was not "
                            "recognized: try a colour photo.")
"""Added to the ``not_recognized`` headline of a greyscale photo."""

NO_COLOUR_NOT_RECOGNIZED_FIND = ("These photos have no colour, which may be why they were not "
                                 "recognized: try colour photos.")
"""Added to the ``not_recognized`` headline of a find of several greyscale photos."""


UNCERTAIN_TOP1 = 0.55
"""Default: a top-1 probability below this is "uncertain" (checkpoints may carry their own)."""

NO_PLAUSIBLE_GENUS = "no genus is plausible enough to name"
"""The reason given when the prediction set is empty: never "edible_genus" then."""


@dataclass(frozen=True)
class Thresholds:
    """The decision thresholds a checkpoint ships."""

    tau: float  # P(poisonous) at or above which the verdict is "poisonous"
    uncertain_top1: float  # top-1 probability below which the verdict is "uncertain"
    poison_head: float | None  # threshold on the poison head's sigmoid; None: not used

    @classmethod
    def from_meta(cls, meta: Mapping) -> Thresholds:
        """Read them from a checkpoint's ``poison_threshold`` and ``thresholds`` entries."""
        extra = meta.get("thresholds") or {}
        head = extra.get("poison_head")
        return cls(float(meta["poison_threshold"]),
                   float(extra.get("uncertain_top1", UNCERTAIN_TOP1)),
                   None if head is None else float(head))


@dataclass(frozen=True)
class Verdict:
    """What the forager is told about one photo."""

    level: str  # one of LEVELS
    message: str  # the headline, one or two sentences
    poison_probability: float  # P(poisonous): summed probability of the poisonous genera
    threshold: float  # tau: P(poisonous) at or above which the level is "poisonous"
    genus: str | None  # the top-1 genus, None when the photo is not recognized
    top1_probability: float  # the top-1 genus's probability
    reasons: tuple[str, ...] = ()  # which rules fired, in plain words
    notes: dict[str, str] = field(default_factory=dict)  # edibility and lookalikes of the genus
    warned_genera: tuple[str, ...] = ()  # the poisonous genera the message names, in its order

    def to_dict(self) -> dict:
        """JSON-ready dict (the ``verdict`` object of the /identify response)."""
        out = asdict(self)
        out["reasons"], out["warned_genera"] = list(self.reasons), list(self.warned_genera)
        return out


def poison_probability(probs: Mapping[str, float]) -> float:
    """P(poisonous) by the rule: the summed probability of the poisonous genera."""
    return float(sum(p for g, p in probs.items() if g in POISONOUS))


def top_genus(probs: Mapping[str, float]) -> str:
    """The most probable genus: a non-finite value never wins, and a tie goes to a poisonous
    genus (Agaricus and Amanita at 30 % each is no edible answer)."""
    return ranked_genera(probs)[0]


def ranked_genera(probs: Mapping[str, float]) -> list[str]:
    """Every genus, most probable first, by :func:`top_genus`'s rule: non-finite values last,
    and on an exact tie the poisonous genus first, so a list of genera never puts on top a
    genus other than the one the verdict names."""
    finite = {g: math.isfinite(p) for g, p in probs.items()}
    return sorted(probs, reverse=True, key=lambda g: (probs[g] if finite[g] else -1.0,
                                                      finite[g] and g in POISONOUS))


def _valid(probs: Mapping[str, float]) -> bool:
    """True when the probabilities are finite, non-negative and sum to about 1."""
    values = list(probs.values())
    return all(math.isfinite(p) and p >= 0 for p in values) and abs(sum(values) - 1) < 1e-3


def _danger_reasons(probs: Mapping[str, float], tau: float, genus: str,
                    p_poison_head: float | None, poison_head_tau: float | None) -> list[str]:
    """Why the photo counts as poisonous (empty when it does not)."""
    p_poison = poison_probability(probs)
    reasons = []
    if p_poison >= tau:
        reasons.append("P(poisonous) {} is at or above the threshold {}".format(
            *pct_pair(p_poison, tau)))
    if None not in (p_poison_head, poison_head_tau) and p_poison_head >= poison_head_tau:
        reasons.append("the poison detector gives {} (threshold {})".format(
            *pct_pair(p_poison_head, poison_head_tau)))
    if genus in POISONOUS:
        reasons.append(f"the most likely genus, {genus}, is poisonous")
    return reasons


def _doubt_reasons(probs: Mapping[str, float], genus: str, uncertain_top1: float,
                   prediction_set: Sequence[str] | None) -> list[str]:
    """Why the model counts as unsure (empty when it is confident)."""
    reasons = []
    if not _valid(probs):
        reasons.append("the model's output is not a valid probability distribution")
    elif probs[genus] < uncertain_top1:
        reasons.append("the top genus has only {} (needs {})".format(
            *pct_pair(probs[genus], uncertain_top1)))
    risky = sorted(set(prediction_set or ()) & POISONOUS)
    if risky:
        reasons.append(f"the model cannot rule out {', '.join(risky)}")
    if prediction_set is not None and len(prediction_set) == 0:
        reasons.append(NO_PLAUSIBLE_GENUS)
    return reasons


def possibly_poisonous_message(genus: str, probs: Mapping[str, float],
                               subject: str = "this photo") -> str:
    """Headline when an edible genus leads but a poisonous one cannot be ruled out.

    "Likely a poisonous genus" next to "Boletus 98 %" reads as a contradiction; the rule
    that fired is that too much probability sits on the poisonous genera.
    """
    named = named_poisonous(probs)
    what = f"{named} or another poisonous genus" if named else "a poisonous genus"
    return (f"Possibly poisonous: most likely {genus}, but the model cannot rule out "
            f"{what} for {subject}. Do not eat.")


def named_poisonous(probs: Mapping[str, float]) -> str | None:
    """The poisonous genus a "Possibly poisonous" headline names: the most probable one."""
    risky = sorted((g for g in POISONOUS if g in probs), key=lambda g: -probs[g])
    return risky[0] if risky else None


def uncertain_message(genus: str, probs: Mapping[str, float], uncertain_top1: float,
                      prediction_set: Sequence[str] | None) -> str:
    """Headline of an "uncertain" verdict that says why, so it never contradicts the bars.

    "The model is not sure" beside "Lactarius >99%" reads as nonsense when the real reason
    is a poisonous genus inside the prediction set.
    """
    risky = uncertain_names(genus, probs, uncertain_top1, prediction_set)
    if risky:
        return (f"Uncertain: most likely {genus} ({pct(probs[genus])}), but the model cannot "
                f"rule out {' or '.join(risky)}. Treat it as poisonous: do not eat.")
    if not _valid(probs) or (prediction_set is not None and len(prediction_set) == 0):
        return MESSAGES["uncertain"]
    return (f"Uncertain: the model is not sure ({genus} only {pct(probs[genus])}). Treat it "
            "as poisonous: do not eat.")


def uncertain_names(genus: str, probs: Mapping[str, float], uncertain_top1: float,
                    prediction_set: Sequence[str] | None) -> tuple[str, ...]:
    """The poisonous genera of the set that :func:`uncertain_message` names, or ()."""
    if not _valid(probs) or (prediction_set is not None and len(prediction_set) == 0):
        return ()
    risky = sorted(set(prediction_set or ()) & POISONOUS)
    return tuple(risky) if probs[genus] >= uncertain_top1 else ()


def edible_genus_message(genus: str) -> str:
    """The most a photo can tell a forager about a genus with edible species."""
    # The model names one of its nine genera for any mushroom; a forager holding a deadly
    # Galerina or Lepiota must learn that here, not from the README.
    return (f"Most likely {genus}. This genus has edible species but also toxic ones, and a "
            f"photo cannot tell them apart. The model also knows only nine genera: a "
            f"mushroom of any other genus (deadly Galerina and Lepiota among them) is still "
            f"named as one of these. Never eat it on the strength of this app: have it "
            f"checked by an expert mycologist.")


def decide(probs: Mapping[str, float], tau: float, *, uncertain_top1: float = UNCERTAIN_TOP1,
           prediction_set: Sequence[str] | None = None, recognized: bool = True,
           p_poison_head: float | None = None, poison_head_tau: float | None = None,
           greyscale: bool = False) -> Verdict:
    """Turn calibrated genus probabilities into a :class:`Verdict`.

    Args:
        probs: genus -> calibrated probability (all classes of the model).
        tau: P(poisonous) threshold, from the checkpoint (``predictor.poison_threshold``).
        uncertain_top1: a top-1 probability below this makes the verdict "uncertain".
        prediction_set: the conformal prediction set, when the model ships one.
        recognized: False when the unfamiliar-photo detector rejects the photo.
        p_poison_head: the dedicated poison head's probability, when shipped.
        poison_head_tau: the threshold on ``p_poison_head``; None disables that rule.
        greyscale: the photo has no colour; adds :data:`NO_COLOUR` to the reasons (and to
            a ``not_recognized`` headline) without changing the level.

    Raises:
        ValueError: ``probs`` is empty or ``tau`` is not in (0, 1].
    """
    if not probs:
        raise ValueError("no genus probabilities given")
    if not 0 < tau <= 1:
        raise ValueError(f"tau must be in (0, 1], got {tau}")
    verdict = _apply_rules(probs, tau, uncertain_top1, prediction_set, recognized,
                           p_poison_head, poison_head_tau)
    return without_colour(verdict) if greyscale else verdict


def without_colour(verdict: Verdict, several: bool = False, reason: str = NO_COLOUR) -> Verdict:
    """``verdict`` for a greyscale photo (``several``: a find of several greyscale photos):
    same level, plus why colour would have helped (``reason``: a find's names its photos)."""
    message = verdict.message
    if verdict.level == "not_recognized":
        hint = NO_COLOUR_NOT_RECOGNIZED_FIND if several else NO_COLOUR_NOT_RECOGNIZED
        message = f"{message} {hint}"
    return replace(verdict, message=message, reasons=(*verdict.reasons, reason))


def _apply_rules(probs: Mapping[str, float], tau: float, uncertain_top1: float,
                 prediction_set: Sequence[str] | None, recognized: bool,
                 p_poison_head: float | None, poison_head_tau: float | None) -> Verdict:
    """The four levels of :func:`decide`, first rule that fires wins (arguments as there)."""
    genus = top_genus(probs)
    common = dict(poison_probability=poison_probability(probs), threshold=float(tau),
                  top1_probability=float(probs[genus]))
    if not recognized:
        return Verdict("not_recognized", MESSAGES["not_recognized"], genus=None,
                       reasons=(NOT_RECOGNIZED_REASON,),
                       **common)
    notes = genus_notes(genus)
    danger = _danger_reasons(probs, tau, genus, p_poison_head, poison_head_tau)
    if danger:
        likely = genus in POISONOUS or not _valid(probs)
        message = MESSAGES["poisonous"] if likely else possibly_poisonous_message(genus, probs)
        warned = () if likely else tuple(filter(None, [named_poisonous(probs)]))
        if not likely:  # the genus the headline warns of gets its notes too, not Russula's alone
            notes = notes_of([genus, *warned])
        return Verdict("poisonous", message, genus=genus, reasons=tuple(danger), notes=notes,
                       warned_genera=warned, **common)
    doubt = _doubt_reasons(probs, genus, uncertain_top1, prediction_set)
    if doubt:
        message = uncertain_message(genus, probs, uncertain_top1, prediction_set)
        return Verdict("uncertain", message, genus=genus, reasons=tuple(doubt), notes=notes,
                       warned_genera=uncertain_names(genus, probs, uncertain_top1,
                                                     prediction_set), **common)
    return Verdict("edible_genus", edible_genus_message(genus), genus=genus, notes=notes,
                   reasons=(f"{genus} at {pct(probs[genus])}; P(poisonous) below the threshold",),
                   **common)
