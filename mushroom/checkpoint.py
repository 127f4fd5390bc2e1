"""Self-describing checkpoints: weights (fp16) plus everything needed to rebuild and use them.

A checkpoint is one ``torch.save`` dict (see :data:`REQUIRED_KEYS`). :func:`load_checkpoint`
rebuilds the network from it alone, without any pretrained-weight package.
"""

from __future__ import annotations

from pathlib import Path
from dataclasses import replace
from typing import Any

import torch

from mushroom.models import MushroomNet, create_model
from mushroom.taxonomy import GENERA

FORMAT_VERSION = 1
REQUIRED_KEYS = ("arch", "classes", "input_size", "mean", "std", "state_dict", "temperature",
                 "poison_threshold", "metrics", "train_config", "manifest_sha256", "version")


def save_checkpoint(path: str | Path, model: MushroomNet, meta: dict[str, Any]) -> int:
    """Write ``model`` with ``meta`` to ``path``; float weights are stored as fp16.

    Args:
        path: destination file; parent folders are created, writes are atomic.
        model: the trained network.
        meta: the other :data:`REQUIRED_KEYS` (``arch``, ``classes``, ``temperature``...)
            plus optional extras (``adapter_dim``, ``ood``, ``conformal``...).

    Returns:
        The file size in bytes.
    """
    state = {k: (v.half() if v.is_floating_point() else v).clone()
             for k, v in model.state_dict().items()}
    ckpt = {
        "input_size": model.cfg.input_size,
        "mean": list(model.cfg.mean),
        "std": list(model.cfg.std),
        "adapter_dim": model.adapter.down.out_features,
        "format_version": FORMAT_VERSION,
        **meta,
        "state_dict": state,
    }
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(ckpt, path)
    return path.stat().st_size


def save_atomic(obj: object, path: Path) -> None:
    """``torch.save`` whole or not at all (:func:`mushroom.atomic.write_atomic`).

    A kill at any moment leaves the previous file or the new one, never a torn one. The
    bytes are made in memory first: written straight to a file, torch reports a full disk
    as "enforce fail at inline_container.cc ... unexpected pos" (a traceback), here it is
    ``OSError`` ENOSPC.

    Raises:
        OSError: the write failed; it names ``path``, whose earlier version is untouched.
    """
    import io

    from mushroom.atomic import write_atomic

    data = io.BytesIO()
    torch.save(obj, data)
    write_atomic(path, lambda f: f.write(data.getbuffer()))


def load_data(path: str | Path) -> Any:
    """``torch.load`` that builds data only: tensors, containers, numbers and NumPy arrays.

    A checkpoint or training state is a pickle, and a pickle can run any code while it
    loads. ``evaluate --model`` and ``MUSHROOM_MODEL`` take files from anywhere, so only
    torch's own data types and the NumPy globals that rebuild plain numeric arrays (the
    detector's bank, NumPy's random state) are allowed; anything else is refused unrun.
    """
    import numpy as np

    numeric = [type(np.dtype(c)) for c in "?bhilqBHILQefdg"]  # every dtype but object/str
    core = np._core if hasattr(np, "_core") else np.core  # NumPy 2, else 1.26
    allowed = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype,
               *numeric]
    with torch.serialization.safe_globals(allowed):
        return torch.load(path, map_location="cpu", weights_only=True)


def load_failure(err: Exception) -> str:
    """Why :func:`load_data` failed, in a few words a user can act on: a refused pickle
    global by name ("it would load posix.system; nothing was run"), an empty file, a cut-short
    file, or a file that ``torch.save`` did not write. The error's type ends it, for a bug
    report ("KeyError" alone had read as a bug in the app)."""
    import re

    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    if found:
        return f"it would load {found.group(1)}, which is not data; nothing was run"
    kind = type(err).__name__
    if isinstance(err, EOFError):
        return f"the file is empty or cut short: {kind}"
    if "zip archive" in str(err) or "central directory" in str(err):
        return f"the file is cut short or damaged: {kind}"
    return f"not a file that torch.save wrote: {kind}"


def load_checkpoint(path: str | Path) -> tuple[MushroomNet, dict[str, Any]]:
    """Rebuild the network (fp32, eval mode) and return it with the checkpoint dict.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a Mushroom checkpoint, or its weights do not fit its
            architecture and classes.
    """
    path = Path(path)
    if path.is_dir():  # a run folder given for its model.pt: "not found" would deny it exists
        inside = path / "model.pt"
        raise FileNotFoundError(f"checkpoint {path} is a folder, not a checkpoint file"
                                + (f": give {inside}" if inside.is_file() else ""))
    if path.parent.is_file():  # RUN/model.pt of a "run" that is the model.pt itself
        raise not_a_run(path.parent)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = load_data(path)
    except Exception as err:  # pickle, zip, EOF and refused-global errors all mean "not ours"
        raise ValueError(f"{path} is not a Mushroom checkpoint ({load_failure(err)})") from err
    missing = [k for k in REQUIRED_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:  # another project's weights, or a bare state_dict saved by hand
        raise ValueError(f"{path} is not a Mushroom checkpoint (a PyTorch file without "
                         f"{', '.join(missing[:3])}{'…' if len(missing) > 3 else ''})")
    model = create_model(ckpt["arch"], len(ckpt["classes"]), pretrained=False,
                         adapter_dim=ckpt.get("adapter_dim", 256))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in ckpt["state_dict"].items()})
    except RuntimeError as err:  # weights of another shape: a head for another class count
        raise ValueError(f"{path} is not a usable Mushroom checkpoint: its weights do not fit "
                         f"a {ckpt['arch']} with {len(ckpt['classes'])} classes") from err
    # The run's own input size and normalization (`train --input-size 256`), not the
    # backbone's defaults: recalibration must see photos as the app does.
    model.cfg = replace(model.cfg, input_size=int(ckpt["input_size"]),
                        mean=tuple(ckpt["mean"]), std=tuple(ckpt["std"]))
    return model.eval(), ckpt


def check_decision_meta(meta: dict[str, Any], path: str | Path) -> None:
    """Refuse a checkpoint whose stored numbers would break or silently switch off a safety
    rule: the genus list, the temperature and the verdict's thresholds.

    A temperature at or below 0 inverts the genus ranking, a NaN tau or top-1 cut-off
    compares False with everything (the rule never fires), and a model missing a poisonous
    genus can never sum its probability into P(poisonous).

    Raises:
        ValueError: one line naming the file, the field and the value found.
    """
    classes = meta["classes"]
    if not isinstance(classes, (list, tuple)) or sorted(classes, key=str) != sorted(GENERA):
        missing = [g for g in GENERA if not isinstance(classes, (list, tuple)) or g not in classes]
        raise ValueError(f"{path}: classes must be the nine genera {', '.join(GENERA)} "
                         f"(in any order), not {classes!r}"
                         + (f" (missing {', '.join(missing)})" if missing else ""))
    extra = meta.get("thresholds") or {}
    if not isinstance(extra, dict):
        raise ValueError(f"{path}: thresholds must be a dict, not {extra!r}")
    fields = [("temperature", meta["temperature"], False),
              ("poison_threshold", meta["poison_threshold"], True)]
    fields += [(f"thresholds.{k}", extra[k], True) for k in ("uncertain_top1", "poison_head")
               if extra.get(k) is not None]
    for name, value, probability in fields:
        if not _in_range(value, probability):
            need = "a number in (0, 1]" if probability else "a finite number above 0"
            raise ValueError(f"{path}: {name} must be {need}, not {value!r}")


def _in_range(value: Any, probability: bool) -> bool:
    """True for a real number above 0 that is finite (and at most 1 for a ``probability``)."""
    import math

    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0 and (number <= 1 or not probability)


def not_a_run(path: Path) -> FileNotFoundError:
    """The error for a checkpoint file given where its run folder goes (``--run``,
    ``--runs``, ``--teachers``, ``--init``)."""
    return FileNotFoundError(f"{path} is a file, not a run folder: give the folder that "
                             f"holds it ({path.parent})")
