"""Several photos of one find (cap, gills, stem, base) combined into one answer.

Genus probabilities: a tempered product of experts. Each accepted photo's log-probabilities
are summed with weight ``N ** exponent / N``, then renormalized. ``exponent = 1`` treats the
photos as independent evidence (the plain product), which overstates confidence because
photos of one mushroom share lighting, background and the model's blind spots;
``exponent = 0`` is the geometric mean, which ignores agreement entirely. The default 0.5
lets N agreeing photos count like sqrt(N) independent ones.

Poison: any poison signal wins. The find is flagged when the combined P(poisonous) reaches
tau, *or* any single photo's does, *or* any photo's most likely genus is poisonous, *or* any
photo's dedicated poison head reaches its own threshold: every photo that would be
"poisonous" on its own keeps the find "poisonous". Photos the unfamiliar-photo detector
rejected are left out of the genus combination (their probabilities mean nothing) but still
count as poison signals: a close-up of a volva may look unfamiliar and still be the photo
that matters. If every photo is rejected the find is not recognized at all. A photo sent
twice (the same pixels) is one piece of evidence, not two: its repeats are left out of the
vote, or five copies of a 60 % photo would make it 83 % sure.

Prediction set: by default the union of the accepted photos' conformal sets. Each photo's
set covers the true genus with probability >= 1 - alpha, so the union does too. A set built
from the combined probabilities ("combined") is smaller but carries no guarantee, because
the thresholds were calibrated on single photos.

The verdict for the whole find is :func:`mushroom.combine_verdict.find_verdict`. Pure numpy;
no torch, no UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mushroom.conformal import prediction_sets
from mushroom.percent import pct, pct_pair
from mushroom.poison_rule import flags_from_scores, poison_probabilities
from mushroom.taxonomy import POISONOUS
from mushroom.verdict import top_genus

MAX_PHOTOS = 5
"""Most photos of one find the app accepts (cap, gills, stem, base, habitat)."""

SET_RULES = ("union", "combined")


@dataclass
class CombineConfig:
    """How photos of one find are merged."""

    exponent: float = 0.5  # N photos weigh like N**exponent: 1 = independent, 0 = geometric mean
    eps: float = 1e-6  # probability floor before the log, so one photo's 0 cannot veto a genus
    set_rule: str = "union"  # "union" of per-photo conformal sets (guaranteed) or "combined"


@dataclass
class FindResult:
    """The combined answer for one find of N photos over C genera."""

    recognized: bool  # at least one photo passed the unfamiliar-photo detector
    used: np.ndarray  # (N,) bool: photos that entered the genus combination
    probs: np.ndarray | None  # (C,) combined probabilities; None when nothing was recognized
    p_poisonous: float | None  # the sum rule on the combined probabilities
    photo_p_poisonous: np.ndarray  # (N,) the sum rule on each photo
    poison_flag: bool  # any poison signal fired (see module docstring)
    flag_reasons: list[str] = field(default_factory=list)  # which signals fired, for the UI
    prediction_set: list[int] = field(default_factory=list)  # genus indices, most probable first
    photo_sets: list[list[int]] = field(default_factory=list)  # per-photo sets ([] if no params)
    has_sets: bool = False  # conformal parameters were given, so an empty set means "no idea"
    photo_probs: np.ndarray | None = None  # (N, C) each photo's own probabilities
    photo_flags: np.ndarray | None = None  # (N,) bool: each photo's own poison signal fired
    repeat_of: list[int | None] = field(default_factory=list)  # earlier identical photo, or None


def combine_probs(probs: np.ndarray, exponent: float = 0.5, eps: float = 1e-6) -> np.ndarray:
    """Tempered product of experts over photos: ``softmax(N**exponent / N * sum_i log p_i)``.

    Args:
        probs: (N, C) probabilities of N photos of one find; N >= 1.
        exponent: evidence exponent in [0, 1]; see the module docstring.
        eps: floor applied before the log.

    Returns:
        (C,) probabilities; a single photo's row comes back (up to ``eps``) unchanged.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"need an (N, C) array with N >= 1 photos, got shape {probs.shape}")
    if not 0.0 <= exponent <= 1.0:
        raise ValueError(f"exponent must lie in [0, 1], got {exponent}")
    n = probs.shape[0]
    logits = (n ** exponent / n) * np.log(np.clip(probs, eps, 1.0)).sum(axis=0)
    logits -= logits.max()
    out = np.exp(logits)
    return out / out.sum()


def repeats(keys: Sequence[object]) -> list[int | None]:
    """For each photo, the 0-based index of the first earlier photo with the same key (its
    pixels' digest), else None: ``repeats("aba")`` is ``[None, None, 0]``."""
    first: dict[object, int] = {}
    out = []
    for i, key in enumerate(keys):
        out.append(first.get(key))
        first.setdefault(key, i)
    return out


def looks_like(photo: str, genus: str, p: float) -> str:
    """``photo 3 looks like Amanita (80%)``: a photo named by its own most likely genus."""
    return f"{photo} looks like {genus} ({pct(p)})"


def top_genera(probs: np.ndarray, classes: Sequence[str]) -> list[tuple[str, float]]:
    """Each photo's most likely genus and its probability, as
    :func:`mushroom.verdict.decide` picks it (:func:`mushroom.verdict.top_genus`)."""
    rows = [dict(zip(classes, map(float, row))) for row in np.asarray(probs)]
    return [(genus, row[genus]) for row in rows for genus in [top_genus(row)]]


def poison_signals(photo_p: np.ndarray, combined_p: float | None, tau: float,
                   poison_head: np.ndarray | None = None, head_tau: float | None = None,
                   known: np.ndarray | None = None,
                   top: Sequence[tuple[str, float]] | None = None) -> list[str]:
    """Human-readable reasons to flag the find as possibly poisonous (empty: no signal).

    A photo the detector rejected (``known`` False) is named as such: its poison signal
    still counts, and the forager should know why an unrecognized photo matters. ``top``
    (:func:`top_genera`) adds the photos whose most likely genus is poisonous when nothing
    else about them fired: below tau (the 0.5 veto when the poison head is primary) such a
    photo is still "poisonous" on its own.
    """
    def photo(i: int) -> str:
        left_out = known is not None and not known[i]
        return f"photo {i + 1}" + (" (not recognized, still counted for safety)" if left_out
                                   else "")

    reasons = []
    if combined_p is not None and combined_p >= tau:
        reasons.append("combined P(poisonous genus) {} is at or above {}".format(
            *pct_pair(combined_p, tau)))
    for i in np.flatnonzero(np.asarray(photo_p) >= tau):
        reasons.append("{}: P(poisonous genus) {} is at or above {}".format(
            photo(i), *pct_pair(float(photo_p[i]), tau)))
    if poison_head is not None and head_tau is not None:
        for i in np.flatnonzero(np.asarray(poison_head) >= head_tau):
            reasons.append("{}: the poison detector gives {} (threshold {})".format(
                photo(i), *pct_pair(float(poison_head[i]), head_tau)))
    quiet = ~_photo_flags(photo_p, tau, poison_head, head_tau, None)
    reasons += [looks_like(photo(i), *top[i]) for i in np.flatnonzero(quiet)
                if top is not None and top[i][0] in POISONOUS]
    return reasons


def combine_find(probs: np.ndarray, classes: Sequence[str], tau: float,
                 rejected: np.ndarray | None = None, poison_head: np.ndarray | None = None,
                 head_tau: float | None = None, conformal: dict | None = None,
                 cfg: CombineConfig | None = None,
                 repeat_of: Sequence[int | None] | None = None) -> FindResult:
    """Combine 1-5 photos of one find into one probability vector, poison flag and set.

    Args:
        probs: (N, C) calibrated genus probabilities, one row per photo.
        classes: genus names in column order.
        tau: threshold on P(poisonous genus) (:func:`mushroom.poison_rule.poison_probabilities`).
        rejected: (N,) bool from the unfamiliar-photo detector; None means all accepted.
        poison_head: (N,) dedicated poison-head probabilities, if the model has one.
        head_tau: threshold for ``poison_head``; the head is ignored when None.
        conformal: parameters from :func:`mushroom.conformal.fit_mondrian`, or None (no sets).
        cfg: combination settings; defaults to :class:`CombineConfig`.
        repeat_of: (N,) from :func:`repeats`: a photo repeating an earlier one is left out
            of the vote; None means no repeats.

    Raises:
        ValueError: no photo, more than :data:`MAX_PHOTOS`, or mismatched lengths.
    """
    cfg = cfg or CombineConfig()
    probs, known, repeat_of = _checked_inputs(probs, rejected, poison_head, repeat_of,
                                              cfg.set_rule)
    used = known & np.array([r is None for r in repeat_of])
    photo_p = poison_probabilities(probs, classes)
    combined = combine_probs(probs[used], cfg.exponent, cfg.eps) if used.any() else None
    combined_p = float(poison_probabilities(combined[None], classes)[0]) \
        if combined is not None else None
    top = top_genera(probs, classes)
    reasons = poison_signals(photo_p, combined_p, tau, poison_head, head_tau, known, top)
    flags = _photo_flags(photo_p, tau, poison_head, head_tau, [g in POISONOUS for g, _ in top])
    photo_sets = prediction_sets(probs, conformal) if conformal is not None else [[] for _ in probs]
    final_set = _find_set(combined, photo_sets, used, conformal, cfg.set_rule)
    return FindResult(bool(used.any()), used, combined, combined_p, photo_p, bool(reasons),
                      reasons, final_set, photo_sets, conformal is not None, probs, flags,
                      repeat_of)


def _checked_inputs(probs: np.ndarray, rejected: np.ndarray | None,
                    poison_head: np.ndarray | None, repeat_of: Sequence[int | None] | None,
                    set_rule: str) -> tuple[np.ndarray, np.ndarray, list[int | None]]:
    """:func:`combine_find`'s photos as (probs as floats, (N,) bool: the detector accepts
    the photo, each photo's earlier identical one or None), once the arguments check out.

    Raises:
        ValueError: no photo, more than :data:`MAX_PHOTOS`, an unknown ``set_rule``, or
            mismatched lengths.
    """
    probs = np.asarray(probs, dtype=np.float64)
    n = probs.shape[0] if probs.ndim == 2 else 0
    if not 1 <= n <= MAX_PHOTOS:
        raise ValueError(f"a find needs 1 to {MAX_PHOTOS} photos, got {n}")
    if set_rule not in SET_RULES:
        raise ValueError(f"set_rule must be one of {SET_RULES}, got {set_rule!r}")
    known = ~np.asarray(rejected, dtype=bool) if rejected is not None else np.ones(n, bool)
    repeat_of = list(repeat_of) if repeat_of is not None else [None] * n
    if known.shape != (n,) or len(repeat_of) != n or (
            poison_head is not None and np.shape(poison_head) != (n,)):
        raise ValueError("rejected, poison_head and repeat_of need one entry per photo")
    return probs, known, repeat_of


def _photo_flags(photo_p: np.ndarray, tau: float, poison_head: np.ndarray | None,
                 head_tau: float | None, top_poisonous: Sequence[bool] | None) -> np.ndarray:
    """(N,) bool: each photo's own poison signal fired (the per-photo reasons of
    :func:`poison_signals`): the danger rules of :func:`mushroom.verdict.decide`, with the
    top-genus rule left out when ``top_poisonous`` is None."""
    top = np.zeros(len(photo_p), bool) if top_poisonous is None else top_poisonous
    return flags_from_scores(photo_p, top, tau, poison_head, head_tau)


def _find_set(combined: np.ndarray | None, photo_sets: list[list[int]], used: np.ndarray,
              conformal: dict | None, rule: str) -> list[int]:
    """The find's prediction set, ordered by combined probability (see module docstring)."""
    if combined is None or conformal is None:
        return []
    if rule == "combined":
        return prediction_sets(combined[None, :], conformal)[0]
    members = {c for s, u in zip(photo_sets, used) if u for c in s}
    return sorted(members, key=lambda c: -combined[c])
