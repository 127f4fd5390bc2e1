"""Photo -> the ``/identify`` response: top-k genera, the safety verdict and the model.

The app, the API and the benchmark all go through here, so they answer alike. The model
is loaded lazily, once per process, from ``$MUSHROOM_MODEL`` (default ``assets/model.pt``).

Response schema (extra keys may be added, these never change)::

    {"top_k": [{"genus": str, "probability": float}, ...],
     "verdict": {"level": str, "message": str, "poison_probability": float,
                 "threshold": float, ...},
     "model": {"name": str, "version": str}, ...}

Safety signals beyond the genus probabilities (the unfamiliar-photo detector, conformal
prediction sets) plug in through :func:`assess`, one :class:`Signals` per photo.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from mushroom.imageio import open_image
from mushroom.verdict import decide

MODEL_ENV = "MUSHROOM_MODEL"
DEFAULT_UNCERTAIN_TOP1 = 0.55

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def model_path() -> Path:
    """Where the app's model lives: ``$MUSHROOM_MODEL`` or the shipped ``assets/model.pt``."""
    from mushroom.predict import DEFAULT_MODEL

    return Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def get_predictor():
    """The process-wide :class:`~mushroom.predict.Predictor`, loaded on first use.

    Raises:
        FileNotFoundError: no model at :func:`model_path` (message says how to fix it).
    """
    path = model_path()
    with _lock:
        if str(path) not in _loaded:
            if not path.is_file():
                raise FileNotFoundError(
                    f"No model at {path}. Train and ship one (see README) or set {MODEL_ENV}.")
            from mushroom.predict import load_model

            _loaded.clear()  # one model per process: a new path replaces the old one
            _loaded[str(path)] = load_model(path)
        return _loaded[str(path)]


def warm_up_in_background() -> threading.Thread:
    """Load the model and run one photo in a daemon thread, so the first user is not slow.

    A missing model is not an error here: the page still serves, and /identify explains.
    """

    def run() -> None:
        try:
            get_predictor().predict([Image.new("RGB", (64, 64), (120, 90, 60))])
        except FileNotFoundError:
            pass

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class Thresholds:
    """The decision thresholds shipped in a checkpoint."""

    tau: float  # P(poisonous) at or above which the verdict is "poisonous"
    uncertain_top1: float  # top-1 probability below which the verdict is "uncertain"
    poison_head: float | None  # threshold on the poison head's sigmoid; None: not used

    @classmethod
    def of(cls, predictor) -> Thresholds:
        """Read them from ``predictor`` (``poison_threshold`` and ``meta["thresholds"]``)."""
        extra = predictor.meta.get("thresholds") or {}
        head = extra.get("poison_head")
        return cls(float(predictor.poison_threshold),
                   float(extra.get("uncertain_top1", DEFAULT_UNCERTAIN_TOP1)),
                   None if head is None else float(head))


@dataclass
class Signals:
    """Per-photo safety signals besides the genus probabilities."""

    recognized: bool = True  # False: the unfamiliar-photo detector rejects the photo
    prediction_set: list[str] | None = None  # conformal set of plausible genera, if shipped
    extra: dict[str, Any] = field(default_factory=dict)  # more keys for the response


def assess(predictor, prediction) -> list[Signals]:
    """Safety signals for every row of ``prediction``.

    This is where the unfamiliar-photo detector and conformal sets plug in; with neither
    shipped every photo counts as recognized and has no prediction set.
    """
    return [Signals() for _ in range(len(prediction.probs))]


def top_k(probs, classes: tuple[str, ...], k: int) -> list[dict[str, Any]]:
    """The ``k`` most likely genera, most likely first."""
    k = max(1, min(int(k), len(classes)))
    order = sorted(range(len(classes)), key=lambda i: -float(probs[i]))[:k]
    return [{"genus": classes[i], "probability": float(probs[i])} for i in order]


def response(predictor, prediction, row: int, k: int = 3,
             signals: Signals | None = None) -> dict[str, Any]:
    """The /identify JSON for photo ``row`` of ``prediction``."""
    signals = signals or Signals()
    th = Thresholds.of(predictor)
    probs = {c: float(p) for c, p in zip(predictor.classes, prediction.probs[row])}
    head = float(prediction.poison_head[row]) if th.poison_head is not None else None
    verdict = decide(probs, th.tau, uncertain_top1=th.uncertain_top1,
                     prediction_set=signals.prediction_set, recognized=signals.recognized,
                     p_poison_head=head, poison_head_tau=th.poison_head)
    body = {
        "top_k": top_k(prediction.probs[row], predictor.classes, k),
        "verdict": verdict.to_dict(),
        "model": {"name": predictor.name, "version": predictor.version},
        "probabilities": probs,
    }
    if not signals.recognized:
        body["top_k"] = []  # no genus claims for a photo the model does not recognize
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
    prediction = predictor.predict([load_photo(source)])
    return response(predictor, prediction, 0, k, assess(predictor, prediction)[0])
