"""The app's one model: where it lives, the threads torch gets, loading it once, warm-up.

:mod:`mushroom.service` answers photos with it; ``app.py`` checks the thread setting and
starts the warm-up before launch. The model comes from ``$MUSHROOM_MODEL`` (default
``assets/model.pt``) and is loaded on first use, once per process.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from mushroom.settings import env_number

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
    from mushroom.paths import DEFAULT_MODEL

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
    """``$MUSHROOM_TORCH_THREADS`` as a number of threads from 1 to 64 (default 1).

    ``app.py`` reads it before serving, so a value that is not one ("two") is reported on
    stderr at start (:func:`mushroom.settings.env_number`) and one thread used.
    """
    return env_number(env, THREADS_ENV, 1, kind=int, minimum=1, maximum=64, unit="threads")


def get_predictor():
    """The process-wide :class:`~mushroom.predict.Predictor`, loaded on first use.

    Raises:
        ModelUnavailable: no model at :func:`model_path`, or a file there that is not a
            checkpoint (a truncated copy, a Git LFS pointer); the message says how to fix it.
    """
    path = model_path()
    with _lock:
        if str(path) not in _loaded:
            if path.is_dir():  # a run folder: "no model at runs/X" would deny the run
                raise ModelUnavailable(f"{path} is a folder, not a checkpoint file: set "
                                       f"{MODEL_ENV} to the model.pt inside it.")
            if not path.is_file():
                raise ModelUnavailable(
                    f"No model at {path}. Train and ship one (see README) or set {MODEL_ENV}.")
            from mushroom.predict import load_model

            set_torch_threads()
            try:
                predictor = load_model(path)
            except ValueError as err:  # not a checkpoint, or one with unusable thresholds
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
