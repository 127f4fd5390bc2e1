"""Photo -> the ``/identify`` response: top-k genera, the safety verdict and the model.

The app, the API and the benchmark all go through here, so they answer alike. The model
is loaded once per process, from ``$MUSHROOM_MODEL`` (default ``assets/model.pt``): on first
use, or earlier by :func:`warm_up_in_background`, which ``app.py`` starts before launch.

Response schema (extra keys may be added, these never change)::

    {"top_k": [{"genus": str, "probability": float}, ...],
     "verdict": {"level": str, "message": str, "poison_probability": float,
                 "threshold": float, ...},
     "model": {"name": str, "version": str},
     "prediction_set": [str, ...] | None, "coverage": float | None, "recognized": bool,
     "greyscale": bool, ...}

Safety signals beyond the genus probabilities plug in through :func:`assess`, one
:class:`Signals` per photo: the checkpoint's unfamiliar-photo detector (``meta["ood"]``,
:mod:`mushroom.ood`) and its conformal thresholds (``meta["conformal"]``,
:mod:`mushroom.conformal`). A checkpoint without them recognizes every photo and has no sets
(``prediction_set`` and ``coverage`` are None). :func:`identify_find` combines 1-5 photos
of one find with :mod:`mushroom.combine`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mushroom.combine import MAX_PHOTOS, combine_find, find_verdict, repeats
from mushroom.conformal import prediction_sets
from mushroom.imageio import BadImage, is_greyscale, open_image
from mushroom.ood import is_unfamiliar
from mushroom.verdict import Thresholds, decide, without_colour

MODEL_ENV = "MUSHROOM_MODEL"
THREADS_ENV = "MUSHROOM_TORCH_THREADS"

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


class ModelUnavailable(RuntimeError):
    """The app has no usable model: the file is missing, or it is not a Mushroom checkpoint.

    The message says which, and how to fix it; the page and the API show it as it is.
    """


def model_path() -> Path:
    """Where the app's model lives: ``$MUSHROOM_MODEL`` or the shipped ``assets/model.pt``."""
    from mushroom.predict import DEFAULT_MODEL

    return Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def set_torch_threads() -> int:
    """Give torch ``$MUSHROOM_TORCH_THREADS`` intra-op threads (default 1); return the number.

    One thread, on purpose: on a 2-vCPU machine whose other core is busy (another request,
    a neighbour), two OpenMP threads spin at every barrier. Measured here under load, the
    fast LIME explanation took 3 s with one thread and 7-21 s with two, and /identify
    25 ms against 1.7 s.
    """
    import torch

    threads = torch_threads()
    torch.set_num_threads(threads)
    return threads


def torch_threads(env: dict | None = None) -> int:
    """``$MUSHROOM_TORCH_THREADS`` as a number of threads (default 1).

    ``app.py`` reads it before serving: a typo found at the first /identify would fail every
    request with Gradio's bare "Error" and a traceback in the log.

    Raises:
        ValueError: the variable is set but is not a whole number from 1 to 64.
    """
    raw = ((os.environ if env is None else env).get(THREADS_ENV) or "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise ValueError(f"{THREADS_ENV} must be a whole number of threads from 1 to 64, "
                         f"not {raw!r}")
    return int(raw)


def get_predictor():
    """The process-wide :class:`~mushroom.predict.Predictor`, loaded on first use.

    Raises:
        ModelUnavailable: no model at :func:`model_path`, or a file there that is not a
            checkpoint (a truncated copy, a Git LFS pointer); the message says how to fix it.
    """
    path = model_path()
    with _lock:
        if str(path) not in _loaded:
            if not path.is_file():
                raise ModelUnavailable(
                    f"No model at {path}. Train and ship one (see README) or set {MODEL_ENV}.")
            from mushroom.predict import load_model

            set_torch_threads()
            try:
                predictor = load_model(path)
            except ValueError as err:  # load_checkpoint's "is not a Mushroom checkpoint"
                raise ModelUnavailable(f"The model file cannot be used: {err}. Point "
                                       f"{MODEL_ENV} to a checkpoint written by training, or "
                                       "restore the shipped assets/model.pt.") from err
            _loaded.clear()  # one model per process: a new path replaces the old one
            _loaded[str(path)] = predictor
        return _loaded[str(path)]


def warm_up_in_background() -> threading.Thread:
    """Load the model, run one photo and a tiny LIME in a daemon thread, so that neither the
    first /identify nor the first /explain pays for imports and kernel set-up.

    A missing or unusable model is not an error here: the page still serves, /identify
    explains, and the log says it once (a Space's log is where its admin looks).
    """

    def run() -> None:
        from mushroom import explain

        try:
            predictor = get_predictor()
        except ModelUnavailable as err:
            print(f"model: {err}", file=sys.stderr, flush=True)
            return
        photo = Image.effect_mandelbrot((96, 96), (-2, -1.5, 1, 1.5), 60).convert("RGB")
        predictor.predict([photo])
        explain.explain(predictor, photo, cfg=explain.resolve_config("fast", 16),
                        use_cache=False)

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


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


def assess(predictor, prediction,
           photos: Sequence[Image.Image] | None = None) -> list[Signals]:
    """Safety signals for every row of ``prediction``: detector verdict and conformal set.

    A rejected photo gets an empty set: the coverage guarantee holds for mushroom photos of
    the nine genera, not for photos the model does not recognize. ``photos`` (the decoded
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
        extra = {"prediction_set": names, "coverage": coverage(predictor),
                 "recognized": not bool(is_rejected)}
        if photos is not None:  # a mobile client may show its own "use colour" hint
            extra["greyscale"] = no_colour
        out.append(Signals(recognized=not bool(is_rejected), prediction_set=names,
                           greyscale=no_colour, extra=extra))
    return out


def top_k(probs, classes: tuple[str, ...], k: int) -> list[dict[str, Any]]:
    """The ``k`` most likely genera, most likely first."""
    k = max(1, min(int(k), len(classes)))
    order = sorted(range(len(classes)), key=lambda i: -float(probs[i]))[:k]
    return [{"genus": classes[i], "probability": float(probs[i])} for i in order]


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


def load_photo(source: str | Path | bytes | Image.Image) -> Image.Image:
    """Decode an upload; raises :class:`~mushroom.imageio.BadImage` with a user message."""
    return open_image(source)


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
        BadImage: no photo, too many, or one is unusable (the message names which one).
    """
    sources = [s for s in sources if s is not None]
    if not 1 <= len(sources) <= MAX_PHOTOS:
        raise BadImage(f"Give 1 to {MAX_PHOTOS} photos of the same mushroom "
                       f"(cap, gills, stem, base); got {len(sources)}.")
    photos = []
    for i, source in enumerate(sources, 1):
        try:
            photos.append(load_photo(source))
        except BadImage as err:
            # The page lists the photos by file name, not number: name the file too
            name = f" ({Path(source).name})" if isinstance(source, (str, Path)) else ""
            raise BadImage(f"Photo {i}{name}: {err}") from err
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
    help. Any poison signal of any photo makes the find
    "poisonous" (see :mod:`mushroom.combine`).

    Raises:
        BadImage: see :func:`load_find`.
        FileNotFoundError: no model is available.
    """
    predictor = predictor or get_predictor()
    photos = load_find(sources)
    prediction = predictor.predict(photos)
    signals = assess(predictor, prediction, photos)
    th = Thresholds.from_meta(predictor.meta)
    classes = predictor.classes
    find = combine_find(prediction.probs, classes, th.tau,
                        rejected=np.array([not s.recognized for s in signals]),
                        poison_head=prediction.poison_head if th.poison_head is not None else None,
                        head_tau=th.poison_head, conformal=predictor.meta.get("conformal"),
                        repeat_of=repeats([(p.size, hashlib.sha1(p.tobytes()).digest())
                                           for p in photos]))
    verdict = find_verdict(find, classes, th.tau, th.uncertain_top1)
    grey = [s.greyscale for s in signals]
    no_colour = all([g for g, used in zip(grey, find.used) if used] or grey)
    if no_colour:
        verdict = without_colour(verdict)
    has_sets = predictor.meta.get("conformal") is not None
    return {
        "top_k": top_k(find.probs, classes, k) if find.recognized else [],
        "verdict": verdict.to_dict(),
        "model": {"name": predictor.name, "version": predictor.version},
        "probabilities": dict(zip(classes, map(float, find.probs))) if find.recognized else None,
        "prediction_set": [classes[c] for c in find.prediction_set] if has_sets else None,
        "coverage": coverage(predictor),
        "recognized": find.recognized,
        "greyscale": no_colour,
        "used": [bool(u) for u in find.used],
        "n_photos": len(signals),
        "photos": [response(predictor, prediction, i, k, s) for i, s in enumerate(signals)],
    }
