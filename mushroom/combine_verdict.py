"""The verdict for a whole find of 1-5 photos, from its :class:`~mushroom.combine.FindResult`.

:func:`mushroom.verdict.decide` on the combined probabilities, plus the find's own rules: any
poison signal of any photo makes the find "poisonous", headlined by what fired (a photo the
others outvote, or a photo the detector did not recognize), photos that confidently name
different genera make an otherwise edible answer "uncertain" (a find is one mushroom) with
the notes of each genus named, a repeated photo is named as counted once, and a find whose
answer rests on colourless photos names them (:func:`without_colour_find`). Pure numpy;
no torch, no UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from mushroom.combine import FindResult, looks_like, top_genera
from mushroom.genus_notes import genus_notes, notes_of
from mushroom.percent import pct
from mushroom.taxonomy import POISONOUS
from mushroom.verdict import (MESSAGES, NOT_RECOGNIZED_FIND, NOT_RECOGNIZED_FIND_REASON,
                              UNCERTAIN_TOP1, Verdict, decide, named_poisonous,
                              possibly_poisonous_message, without_colour)

NOT_ONE_MUSHROOM = ("They may not show the same mushroom: identify each photo on its own, or "
                    "add photos of this one mushroom only.")
"""Said whenever the photos of a find point to different genera (a poisonous one outvoted, or
two confident photos that disagree)."""


def find_verdict(find: FindResult, classes: Sequence[str], tau: float,
                 uncertain_top1: float = UNCERTAIN_TOP1) -> Verdict:
    """The verdict for a whole find, from :func:`mushroom.verdict.decide` plus the find rules.

    Any poison signal of any photo makes it "poisonous" (reasons list the photos); an empty
    prediction set makes an otherwise edible-genus answer "uncertain". A find whose photos
    were all rejected is "not_recognized", as for one photo. A recognized photo whose own
    top genus is poisonous leads the headline even when the other photos outvote it. Used
    photos whose top genera differ, each at or above ``uncertain_top1``, make an
    "edible_genus" or "uncertain" answer "uncertain", headlined by the disagreement. A
    repeated photo is named in the reasons, as the reason it was left out of the vote.
    """
    if find.probs is None:  # no genus to name; a poison signal is still worth saying
        uniform = {c: 1.0 / len(classes) for c in classes}
        verdict = decide(uniform, tau, recognized=False)
        # "This photo does not look like..." under three photos read as if one was looked at
        if len(find.used) > 1:
            verdict = replace(verdict, message=NOT_RECOGNIZED_FIND,
                              reasons=(NOT_RECOGNIZED_FIND_REASON,))
        verdict = replace(verdict, reasons=verdict.reasons + tuple(find.flag_reasons))
    else:
        names = [classes[c] for c in find.prediction_set] if find.has_sets else None
        verdict = decide(dict(zip(classes, map(float, find.probs))), tau,
                         uncertain_top1=uncertain_top1, prediction_set=names)
        if find.poison_flag or verdict.level == "poisonous":
            verdict = _poisonous_find(find, classes, verdict, uncertain_top1)
        else:
            verdict = _disagreeing_find(find, classes, uncertain_top1, verdict)
    counted_once = tuple(f"photo {i + 1} is the same photo as photo {first + 1}: counted once"
                         for i, first in enumerate(find.repeat_of) if first is not None)
    return replace(verdict, reasons=verdict.reasons + counted_once)


def _poisonous_find(find: FindResult, classes: Sequence[str], verdict: Verdict,
                    uncertain_top1: float) -> Verdict:
    """The "poisonous" verdict of a find, headlined by what fired (see :func:`find_verdict`)."""
    outvoted = _outvoted_poisonous(find, classes)
    notes, disagree, warned = verdict.notes, (), ()
    if verdict.genus in POISONOUS:
        message, notes, disagree, warned = _poisonous_top(find, classes, verdict.genus,
                                                          uncertain_top1)
    elif outvoted:
        message = (f"Possibly poisonous: {'; '.join(g for g, _ in outvoted)}, although the "
                   f"photos together point to {verdict.genus}. {NOT_ONE_MUSHROOM} Do not eat.")
        notes = notes_of([g for _, g in outvoted])  # the poisonous genera's, not porcini's
        warned = poisonous_of([g for _, g in outvoted])
    elif verdict.level != "poisonous" and _only_unrecognized_fired(find):
        message = _unrecognized_poison_message(verdict.genus, find)
    else:
        message, notes, disagree, warned = _possibly_poisonous(find, classes, verdict,
                                                               uncertain_top1)
    # decide() already said why the combined answer is poisonous; the combined signal in
    # flag_reasons would repeat it.
    own = verdict.reasons if verdict.level == "poisonous" else ()
    # ...and the outvoted photos are named first already.
    named = {text for text, _ in outvoted}
    extra = [r for r in find.flag_reasons if not (own and r.startswith("combined"))
             and r not in named and not r.startswith(_restated(find, own))]
    reasons = tuple(g for g, _ in outvoted) + disagree + tuple(own) + tuple(extra)
    return replace(verdict, level="poisonous", message=message, notes=notes, reasons=reasons,
                   warned_genera=warned)


def poisonous_of(genera: Sequence[str]) -> tuple[str, ...]:
    """The poisonous genera among ``genera``, each once, in their order: a headline's
    ``warned_genera`` from the genera it names."""
    return tuple(dict.fromkeys(g for g in genera if g in POISONOUS))


def _restated(find: FindResult, own: tuple[str, ...]) -> tuple[str, ...]:
    """The start of the per-photo P(poisonous) reason that ``own`` (decide's reasons for
    the combined answer) already gives, or ``()``: a find that rests on one photo (the only
    one, or the others repeat it or went unrecognized) has that photo's P(poisonous) as its
    own, and a lone Amanita photo's reasons said it twice."""
    sole = np.flatnonzero(find.used)
    return (f"photo {sole[0] + 1}: P(poisonous genus) ",) if own and len(sole) == 1 else ()


def _poisonous_top(find: FindResult, classes: Sequence[str], genus: str, uncertain_top1: float
                   ) -> tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """Headline, notes, extra reasons and the poisonous genera the headline names when the
    combined top genus is poisonous.

    A photo that confidently names another genus (porcini on photo 2, Amanita on the
    others) is said: the photos may show two mushrooms, and "Likely a poisonous genus" alone
    left the forager to guess why. The verdict stays poisonous; the notes are those of each
    poisonous genus named, never an edible genus's "Many are edible" on this card.
    """
    others, named = _disputing(find, classes, genus, uncertain_top1)
    if not others:
        return MESSAGES["poisonous"], genus_notes(genus), (), ()
    message = (f"{MESSAGES['poisonous']} The photos together point to {genus}, but {named}. "
               f"{NOT_ONE_MUSHROOM} Treat the find as poisonous.")
    notes = notes_of([genus] + [g for g in others if g in POISONOUS])
    return message, notes, (_dispute_reason(named, genus),), poisonous_of([genus, *others])


def _possibly_poisonous(find: FindResult, classes: Sequence[str], verdict: Verdict,
                        uncertain_top1: float
                        ) -> tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """Headline, notes, extra reasons and the poisonous genera the headline names when
    ``verdict``'s edible genus leads the find and a poison signal fired.

    A photo that confidently names another genus (Russula on photo 3, Boletus on the others)
    is said, as when the top genus is poisonous: "most likely Boletus" alone read as settled.
    The verdict stays poisonous; the notes are each named genus's, as for photos that
    disagree, the poisonous genus the headline warns of included.
    """
    genus, probs = verdict.genus, dict(zip(classes, find.probs))
    # a find of one photo must read as /identify does for that photo, not "these photos"
    subject = "this photo" if len(find.used) == 1 else "these photos"
    message = possibly_poisonous_message(genus, probs, subject)
    others, named = _disputing(find, classes, genus, uncertain_top1)
    warned = named_poisonous(probs)
    notes = notes_of([genus, *others, *([warned] if warned else [])])
    if not others:
        return message, notes, (), poisonous_of([warned] if warned else [])
    message = (f"{message.removesuffix('. Do not eat.')}, and {named}. {NOT_ONE_MUSHROOM} "
               "Do not eat.")
    return (message, notes, (_dispute_reason(named, genus),),
            poisonous_of([*([warned] if warned else []), *others]))


def _disputing(find: FindResult, classes: Sequence[str], genus: str,
               uncertain_top1: float) -> tuple[list[str], str]:
    """The genera that used photos confidently name instead of the combined top ``genus``,
    and those photos in words ("photo 3 looks like Boletus (97%), photo 4 like ..."); ([], '')
    when none does."""
    others = [(i, g, p) for i, g, p in _confident(find, classes, uncertain_top1) if g != genus]
    if not others:
        return [], ""
    return [g for _, g, _ in others], _in_words(others)


def _in_words(photos: list[tuple[int, str, float]]) -> str:
    """(index, genus, probability) of photos as "photo 3 looks like Boletus (97%), photo 4
    like Russula (88%)"."""
    (first, genus, p), rest = photos[0], photos[1:]
    return ", ".join([looks_like(f"photo {first + 1}", genus, p)]
                     + [f"photo {i + 1} like {g} ({pct(q)})" for i, g, q in rest])


def _dispute_reason(named: str, genus: str) -> str:
    """The reasons entry of photos that dispute the combined top genus."""
    return f"{named}, not {genus}: the photos may not show one mushroom"


def _confident(find: FindResult, classes: Sequence[str],
               uncertain_top1: float) -> list[tuple[int, str, float]]:
    """(index, top genus, its probability) of each used photo whose own top genus is at or
    above ``uncertain_top1``: the photos sure enough to disagree with each other."""
    if find.photo_probs is None:
        return []
    return [(i, genus, p) for i, (genus, p) in enumerate(top_genera(find.photo_probs, classes))
            if find.used[i] and p >= uncertain_top1]


def _only_unrecognized_fired(find: FindResult) -> bool:
    """True when every photo whose own poison signal fired was left out of the genus vote."""
    if find.photo_flags is None or not find.photo_flags.any():
        return False
    return not (find.photo_flags & find.used).any()


def _unrecognized_poison_message(genus: str, find: FindResult) -> str:
    """Headline when only unrecognized photos raised the poison signal.

    "Cannot rule out Amanita" would blame the recognized photos, which rule it out; the
    unrecognized photo's genus probabilities mean nothing, so it is named, not a genus.
    """
    fired, recognized = np.flatnonzero(find.photo_flags), np.flatnonzero(find.used)
    return (f"Possibly poisonous: {_photos(recognized, 'points', 'point')} to {genus}, but "
            f"{_photos(fired, 'is', 'are')} not recognized and could show a poisonous "
            "mushroom (a volva or bulb close-up can look unfamiliar). Do not eat.")


def without_colour_find(verdict: Verdict, grey: Sequence[bool]) -> Verdict:
    """``verdict`` of a find whose answer rests on colourless photos (``grey``: whether each
    photo is greyscale): :func:`mushroom.verdict.without_colour`, whose reason names the
    colourless photos ("photos 1 and 3 have no colour; ...") when the find has several.

    "the photo has no colour" under three photos read as if one had been looked at.
    """
    if len(grey) == 1:
        return without_colour(verdict)
    which = _photos(np.flatnonzero(np.asarray(grey, dtype=bool)), "has", "have")
    reason = (f"{which} no colour; the model was trained on colour photos and colour helps "
              "tell genera apart: send colour photos if you can")
    return without_colour(verdict, several=True, reason=reason)


def _photos(indices: np.ndarray, one: str, several: str) -> str:
    """``photo 2 is`` or ``photos 1, 2 and 3 are`` (with ``one``/``several`` as the verb),
    from 0-based photo indices."""
    ids = [str(i + 1) for i in indices]
    if len(ids) == 1:
        return f"photo {ids[0]} {one}"
    return f"photos {', '.join(ids[:-1])} and {ids[-1]} {several}"


def _outvoted_poisonous(find: FindResult, classes: Sequence[str]) -> list[tuple[str, str]]:
    """("photo 1 looks like Amanita (>99%)", "Amanita") for each used photo whose own top-1
    is poisonous."""
    if find.photo_probs is None:
        return []
    return [(looks_like(f"photo {i + 1}", genus, p), genus)
            for i, (genus, p) in enumerate(top_genera(find.photo_probs, classes))
            if find.used[i] and genus in POISONOUS]


def _disagreeing_find(find: FindResult, classes: Sequence[str], uncertain_top1: float,
                      verdict: Verdict) -> Verdict:
    """``verdict`` made "uncertain" when used photos confidently name different genera.

    Boletus >99% on one photo and Russula 97% on another are two mushrooms, not one: their
    combined "Boletus 83%" is an answer for neither. Photos below ``uncertain_top1``, not
    recognized or repeated do not count (the vote already weighs their doubt).
    """
    sure = _confident(find, classes, uncertain_top1)
    if len({genus for _, genus, _ in sure}) < 2:
        return verdict
    named = _in_words(sure)
    message = (f"The photos disagree: {named}. {NOT_ONE_MUSHROOM} Treat it as poisonous: "
               "do not eat.")
    reason = f"the photos name different genera, each at or above {pct(uncertain_top1)}: {named}"
    doubts = verdict.reasons if verdict.level == "uncertain" else ()
    return replace(verdict, level="uncertain", message=message, reasons=(reason, *doubts),
                   notes=notes_of([g for _, g, _ in sure]),
                   warned_genera=poisonous_of([g for _, g, _ in sure]))
