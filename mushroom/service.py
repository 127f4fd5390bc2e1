"""Photo -> the ``/identify`` response: top-k genera, the safety verdict and the model.

The app, the API and the benchmark all go through here, so they answer alike. The model
is loaded once per process (:mod:`mushroom.served`), from ``$MUSHROOM_MODEL`` (default
``assets/model.pt``): on first use, or earlier by :func:`warm_up_in_background`, which
``app.py`` starts before launch.

Response schema (extra keys may be added, these never change)::

    {"top_k": [{"genus": str, "probability": float}, ...],
     "verdict": {"level": str, "message": str, "poison_probability": float,
                 "threshold": float, ...},
     "model": {"name": str, "version": str},
     "prediction_set": [str, ...] | None, "coverage": float | None, "recognized": bool,
     "greyscale": bool, "centre_share": float, ...}

Safety signals beyond the genus probabilities plug in through :func:`assess`, one
:class:`Signals` per photo: the checkpoint's unfamiliar-photo detector (``meta["ood"]``,
:mod:`mushroom.ood`) and its conformal thresholds (``meta["conformal"]``,
:mod:`mushroom.conformal`). A checkpoint without them recognizes every photo and has no sets
(``prediction_set`` and ``coverage`` are None); an unrecognized photo has an empty set and
no ``coverage``. :func:`identify_find` combines 1-5 photos of one find with
:mod:`mushroom.combine`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mushroom.combine import MAX_PHOTOS, FindResult, combine_find, repeats
from mushroom.combine_verdict import find_verdict, without_colour_find
from mushroom.conformal import prediction_sets
from mushroom.imageio import BadImage, is_greyscale, open_image
from mushroom.ood import is_unfamiliar
from mushroom.served import (  # noqa: F401  the app, bench and tests use them from here
    MODEL_ENV, THREADS_ENV, ModelUnavailable, get_predictor, model_path, set_torch_threads,
    torch_threads, warm_up_in_background)
from mushroom.set_note import with_outside_reason
from mushroom.verdict import Thresholds, decide, ranked_genera


@dataclass
class Signals:
    """Per-photo safety signals besides the genus probabilities."""

    recognized: bool = True  # False: the unfamiliar-photo detector rejects the photo
    prediction_set: list[str] | None = None  # conformal set of plausible genera, if shipped
    greyscale: bool = False  # the photo has no colour: the verdict says colour would help
    extra: dict[str, Any] = field(default_factory=dict)  # more keys for the response


def coverage(predictor) -> float | None:
    """The conformal sets' target coverage (e.g. 0.95), or None without conformal parameters."""
    params = predictor.meta.get("conformal")
    return float(params.get("coverage", 1.0 - params["alpha"])) if params else None


def rejected(predictor, prediction) -> np.ndarray:
    """(N,) bool: photos the checkpoint's unfamiliar-photo detector rejects (none without one)."""
    params = predictor.meta.get("ood")
    if not params:
        return np.zeros(len(prediction.probs), dtype=bool)
    return is_unfamiliar(params, prediction.embedding, prediction.logits)


def recognizes(image: Image.Image, predictor=None) -> bool:
    """False when the unfamiliar-photo detector rejects ``image`` (always True without one)."""
    predictor = predictor or get_predictor()
    return not bool(rejected(predictor, predictor.predict([image]))[0])


def centre_share(photo: Image.Image) -> float:
    """The share of ``photo`` the model looks at: its centre square (the eval transform
    scales the shorter side and crops the middle), 0.1 for a 10:1 panorama."""
    return round(min(photo.size) / max(photo.size), 3)


def assess(predictor, prediction,
           photos: Sequence[Image.Image] | None = None) -> list[Signals]:
    """Safety signals for every row of ``prediction``: detector verdict and conformal set.

    A rejected photo gets an empty set and no ``coverage`` (None): the coverage guarantee
    holds for mushroom photos of the nine genera, not for photos the model does not
    recognize, and "0.95" beside its empty set read as a claim. ``photos`` (the decoded
    images, in row order) adds whether each one is greyscale; None leaves that out.
    """
    rej = rejected(predictor, prediction)
    params = predictor.meta.get("conformal")
    sets = prediction_sets(prediction.probs, params) if params else [None] * len(rej)
    grey = [is_greyscale(p) for p in photos] if photos is not None else [False] * len(rej)
    out = []
    for is_rejected, members, no_colour in zip(rej, sets, grey):
        names = None if members is None else [predictor.classes[c] for c in members]
        if is_rejected and names is not None:
            names = []
        extra = {"prediction_set": names,
                 "coverage": None if is_rejected else coverage(predictor),
                 "recognized": not bool(is_rejected)}
        if photos is not None:  # a mobile client may show its own "use colour" hint
            extra["greyscale"] = no_colour
            extra["centre_share"] = centre_share(photos[len(out)])
        out.append(Signals(recognized=not bool(is_rejected), prediction_set=names,
                           greyscale=no_colour, extra=extra))
    return out


def top_k(probs, classes: tuple[str, ...], k: int) -> list[dict[str, Any]]:
    """The ``k`` most likely genera, most likely first, in the order of
    :func:`~mushroom.verdict.ranked_genera`: an exact tie lists the poisonous genus first, as
    the verdict names it."""
    k = max(1, min(int(k), len(classes)))
    by_genus = {c: float(p) for c, p in zip(classes, probs)}
    return [{"genus": g, "probability": by_genus[g]} for g in ranked_genera(by_genus)[:k]]


def response(predictor, prediction, row: int, k: int = 3,
             signals: Signals | None = None) -> dict[str, Any]:
    """The /identify JSON for photo ``row`` of ``prediction``."""
    signals = signals or Signals()
    th = Thresholds.from_meta(predictor.meta)
    probs = {c: float(p) for c, p in zip(predictor.classes, prediction.probs[row])}
    head = float(prediction.poison_head[row]) if th.poison_head is not None else None
    verdict = decide(probs, th.tau, uncertain_top1=th.uncertain_top1,
                     prediction_set=signals.prediction_set, recognized=signals.recognized,
                     p_poison_head=head, poison_head_tau=th.poison_head,
                     greyscale=signals.greyscale)
    verdict = with_outside_reason(verdict, signals.prediction_set)
    body = {
        "top_k": top_k(prediction.probs[row], predictor.classes, k),
        "verdict": verdict.to_dict(),
        "model": {"name": predictor.name, "version": predictor.version},
        "probabilities": probs,
    }
    if not signals.recognized:
        body["top_k"] = []  # no genus claims for a photo the model does not recognize
        body["probabilities"] = None
    return {**body, **signals.extra}


PHOTO_MIN_SIDE = 64
"""Smallest side of a photo to identify, as the training pipeline's (DataConfig.min_side): the
model never saw a smaller one. At imageio's 8, a 24x16 thumbnail of a fly agaric was "not
recognized: no mushroom found", which sent the forager to photograph a mushroom that was
plainly in the picture."""


def load_photo(source: str | Path | bytes | Image.Image) -> Image.Image:
    """Decode an upload; raises :class:`~mushroom.imageio.BadImage` with a user message."""
    return open_image(source, min_side=PHOTO_MIN_SIDE)


def identify(source: str | Path | bytes | Image.Image, k: int = 3, predictor=None) -> dict:
    """Decode, preprocess, predict and decide for one photo: the whole /identify call.

    Args:
        source: a path, raw bytes or a PIL image.
        k: how many genera to list (clamped to 1..number of classes).
        predictor: a loaded model; None uses :func:`get_predictor`.

    Raises:
        BadImage: the upload is not a usable photo.
        FileNotFoundError: no model is available.
    """
    predictor = predictor or get_predictor()
    photo = load_photo(source)
    prediction = predictor.predict([photo])
    return response(predictor, prediction, 0, k, assess(predictor, prediction, [photo])[0])


def load_find(sources: Sequence[str | Path | bytes | Image.Image]) -> list[Image.Image]:
    """Decode 1-5 uploads of one find.

    Raises:
        BadImage: no photo, too many, or some are unusable (the message names each one:
            a forager fixing them one per try made a round trip per bad photo).
    """
    sources = [s for s in sources if s is not None]
    if not 1 <= len(sources) <= MAX_PHOTOS:
        raise BadImage(f"Give 1 to {MAX_PHOTOS} photos of the same mushroom "
                       f"(cap, gills, stem, base); got {len(sources)}.")
    photos, bad = [], []
    for i, source in enumerate(sources, 1):
        try:
            photos.append(load_photo(source))
        except BadImage as err:
            # The page lists the photos by file name, not number: name the file too
            name = f" ({Path(source).name})" if isinstance(source, (str, Path)) else ""
            bad.append(f"Photo {i}{name}: {err}")
    if bad:
        raise BadImage(" ".join(bad))
    return photos


def identify_find(sources: Sequence[str | Path | bytes | Image.Image], k: int = 3,
                  predictor=None) -> dict:
    """Several photos of one find -> one combined answer (the whole /identify_find call).

    The response has the /identify keys for the combined answer (``top_k``, ``verdict``,
    ``model``, ``prediction_set``, ``coverage``, ``recognized``, ``probabilities``) plus
    ``photos`` (each photo's own /identify response), ``used`` (which photos entered the
    genus combination: neither an unrecognized photo nor a repeat of an earlier one) and
    ``n_photos``; ``greyscale`` says that the answer rests on colourless photos only (every
    used photo, or every photo when none was used), and then the verdict says colour would
    help, naming the colourless photos of a find of several. Any poison signal of any photo
    makes the find "poisonous" (see :mod:`mushroom.combine`).

    Raises:
        BadImage: see :func:`load_find`.
        FileNotFoundError: no model is available.
    """
    predictor = predictor or get_predictor()
    photos = load_find(sources)
    prediction = predictor.predict(photos)
    signals = assess(predictor, prediction, photos)
    find = _combine(predictor, prediction, photos, signals)
    no_colour = _colourless(signals, find.used)
    grey = [s.greyscale for s in signals] if no_colour else None
    return {
        **_find_answer(predictor, find, k, grey),
        "greyscale": no_colour,
        "used": [bool(u) for u in find.used],
        "n_photos": len(signals),
        "photos": [response(predictor, prediction, i, k, s) for i, s in enumerate(signals)],
    }


def _combine(predictor, prediction, photos: list[Image.Image],
             signals: list[Signals]) -> FindResult:
    """One find's photos combined (:func:`mushroom.combine.combine_find`), leaving out the
    photos the detector rejects and exact repeats of an earlier photo."""
    th = Thresholds.from_meta(predictor.meta)
    return combine_find(prediction.probs, predictor.classes, th.tau,
                        rejected=np.array([not s.recognized for s in signals]),
                        poison_head=prediction.poison_head if th.poison_head is not None else None,
                        head_tau=th.poison_head, conformal=predictor.meta.get("conformal"),
                        repeat_of=repeats([(p.size, hashlib.sha1(p.tobytes()).digest())
                                           for p in photos]))


def _colourless(signals: list[Signals], used: np.ndarray) -> bool:
    """Whether the find's answer rests on colourless photos only: every used photo is
    greyscale, or every photo when none was used."""
    grey = [s.greyscale for s in signals]
    return all([g for g, u in zip(grey, used) if u] or grey)


def _find_answer(predictor, find: FindResult, k: int,
                 grey: list[bool] | None) -> dict[str, Any]:
    """The /identify keys of the find's combined answer; its verdict says colour would help,
    naming the colourless photos, when ``grey`` (each photo's greyscale flag) is given."""
    th = Thresholds.from_meta(predictor.meta)
    classes = predictor.classes
    verdict = find_verdict(find, classes, th.tau, th.uncertain_top1)
    if grey is not None:
        verdict = without_colour_find(verdict, grey)
    has_sets = predictor.meta.get("conformal") is not None
    names = [classes[c] for c in find.prediction_set] if has_sets else None
    verdict = with_outside_reason(verdict, names)
    return {
        "top_k": top_k(find.probs, classes, k) if find.recognized else [],
        "verdict": verdict.to_dict(),
        "model": {"name": predictor.name, "version": predictor.version},
        "probabilities": dict(zip(classes, map(float, find.probs))) if find.recognized else None,
        "prediction_set": names,
        "coverage": coverage(predictor) if find.recognized else None,  # as for one photo
        "recognized": find.recognized,
    }
