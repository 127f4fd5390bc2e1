"""Resumable training: ``RUN/train_state.pt``, written by :func:`mushroom.train.fit`.

``fit`` saves its progress after every epoch of the photo stages and at the end of each
cached-feature stage (whose epochs take a second or two; a restart redoes at most one such
stage). ``python -m mushroom train --resume`` loads it back: model, optimizer, schedule
position, best weights so far, history, and every random state (Python, NumPy, torch, the
balanced sampler's generator, and the state the feature cache was drawn with), so the
resumed run sees the data order and augmentation an uninterrupted run would have seen.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mushroom.checkpoint import load_data, load_failure, save_atomic
from mushroom.config import Stage, TrainConfig

STATE_NAME = "train_state.pt"
FOLDS_STOPPED = ("model.pt is written but its --cv folds were stopped, and folds do not "
                 "resume: model.pt is usable without out-of-fold outputs, or the same command "
                 "with --overwrite instead of --resume trains the run again, folds included")
FORMAT_VERSION = 1
# How a run executes rather than what it trains: a resume may change them (fewer workers
# after running out of memory, another GPU). Workers draw their own augmentation streams,
# so changing --workers changes the augmentation from there on; nothing else does.
RUNTIME_FIELDS = ("workers", "device")


@dataclass
class Progress:
    """Where a fit stands: stage index, epochs done in it, history rows, best (score, weights)."""

    stage: int = 0
    done: int = 0
    history: list[dict] = field(default_factory=list)
    best: tuple[float, dict | None] = (-1.0, None)


def rng_state() -> dict:
    """The global random states a training epoch draws from (CUDA's too, when present)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "random": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["random"])
    if "cuda" in state and torch.cuda.is_available() \
            and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_state(path: Path) -> dict:
    """Read a training state written by :class:`Saver`.

    Raises:
        ValueError: the file is not one (unreadable, or another format version).
    """
    try:
        state = load_data(path)
    except Exception as err:  # pickle, zip and EOF errors all mean "not a usable state"
        raise ValueError(f"{path} is not a readable training state ({load_failure(err)}); "
                         "drop --resume to start the run over") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a training state this version can resume; drop "
                         "--resume to start the run over")
    return state


class Saver:
    """Writes ``RUN/train_state.pt`` during a fit; holds the state a resumed fit starts from.

    Args:
        out: the run folder.
        cfg: the run's configuration (stored to identify the run).
        manifest_hash: :func:`mushroom.manifest.manifest_sha256` of the run's manifest.
        state: the interrupted run's state, for ``--resume``; None for a fresh run.
        started: when the run started (``time.time()``); a resumed run counts on from the
            time the interrupted one had recorded.
    """

    def __init__(self, out: Path, cfg: TrainConfig, manifest_hash: str,
                 state: dict | None = None, started: float | None = None):
        self.path = Path(out) / STATE_NAME
        self.identity = {"train_config": dataclasses.asdict(cfg),
                         "manifest_sha256": manifest_hash}
        self.state = state
        self.started = time.time() - state["elapsed"] if state else started or time.time()

    def save(self, progress: Progress, model: torch.nn.Module, opt, sched, sampler,
             cache: dict) -> None:
        """Write the state after ``progress.done`` epochs of stage ``progress.stage``."""
        save_atomic({
            "format": FORMAT_VERSION, **self.identity, "stage": progress.stage,
            "done": progress.done, "history": progress.history, "best": progress.best,
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "sampler": sampler.generator.get_state(),
            "rng": rng_state(), "cache_rng": cache.get("rng") if "train" in cache else None,
            "elapsed": time.time() - self.started}, self.path)

    def restore(self, model: torch.nn.Module, stages: list[Stage]) -> Progress:
        """Load the interrupted run's weights into ``model``; return where it stopped."""
        model.load_state_dict(self.state["model"])
        set_rng(self.state["rng"])
        stage, done = resume_point(self.state, stages)
        return Progress(stage, done, list(self.state["history"]), self.state["best"])

    def finished(self) -> None:
        """Drop the state once model.pt holds the run: it is large, and nothing is left."""
        self.path.unlink(missing_ok=True)


def resume_point(state: dict, stages: list[Stage]) -> tuple[int, int]:
    """(stage index, epochs done in it) to continue from; a finished stage means the next."""
    stage, done = state["stage"], state["done"]
    while stage < len(stages) and done >= stages[stage].epochs:
        stage, done = stage + 1, 0
    return stage, done


def enter_stage(state: dict, cached: bool, mid_stage: bool, build) -> tuple:
    """Start the stage a resumed fit continues in as the interrupted run had started it.

    The feature cache is drawn again from the random state it was first drawn with; then
    the optimizer, schedule and sampler (when stopped mid-stage) and the random states are
    restored.

    Args:
        state: the interrupted run's state.
        cached: whether the stage trains on cached features.
        mid_stage: whether the run stopped inside this stage (else it starts it afresh).
        build: () -> (loader, val_loader, optimizer, scheduler), as a fresh stage makes them.
    """
    set_rng(state["cache_rng"] if cached and state["cache_rng"] else state["rng"])
    loader, val_loader, opt, sched = build()
    if mid_stage:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        loader.sampler.generator.set_state(state["sampler"])
    set_rng(state["rng"])
    return loader, val_loader, opt, sched


def config_changes(saved: dict, now: dict) -> list[str]:
    """``"field (was X, now Y)"`` for each TrainConfig field that differs, runtime ones aside."""
    keys = [k for k in dict.fromkeys([*saved, *now]) if k not in RUNTIME_FIELDS]
    return [f"{k} (was {_show(k, saved.get(k))}, now {_show(k, now.get(k))})"
            for k in keys if saved.get(k) != now.get(k)]


def _show(key: str, value) -> str:
    if key == "stages" and isinstance(value, list):  # --epochs is what tells stages apart
        return "epochs " + ",".join(f"{s['name']}:{s['epochs']}" for s in value)
    return repr(value)


def open_run(out: Path, data: Path, cfg: TrainConfig, resume: bool, load_fresh,
             manifest: str | None, labels_dir: str | None,
             log=print, keep_split: str | None = None) -> tuple[pd.DataFrame, Saver]:
    """The run's manifest and the :class:`Saver` its fit uses; makes the run folder.

    With ``resume`` the interrupted run's (see :func:`reopen`, which refuses before anything
    is written); else ``load_fresh()``'s manifest and a fresh state, said to replace one an
    unfinished run left (the command line asks for ``--overwrite`` first).
    """
    from mushroom.manifest import manifest_sha256

    if resume:
        return reopen(out, data, cfg, manifest, labels_dir, log, keep_split)
    out.mkdir(parents=True, exist_ok=True)
    if (out / STATE_NAME).is_file():  # only with --overwrite, see mushroom.cli.check_run_out
        log(f"{out / STATE_NAME} (an unfinished run's progress) will be overwritten by this "
            "run's (--overwrite)")
    started = time.time()
    frame = load_fresh()
    return frame, Saver(out, cfg, manifest_sha256(frame), started=started)


def cv_was_asked(model: Path) -> bool:
    """Whether the run that wrote ``model`` (a ``train`` checkpoint) was given ``--cv``."""
    try:
        return bool(load_data(model).get("train_config", {}).get("cv_folds"))
    except Exception:  # another kind of file: the plain message will do
        return False


def nothing_to_resume(out: Path) -> FileNotFoundError:
    """The refusal of ``--resume`` in a folder without train_state.pt, saying why if known."""
    why = ""
    if (out / "model.pt").is_file():
        why = " (model.pt is written: the run finished training)"
    if why and not (out / "oof.npz").is_file() and cv_was_asked(out / "model.pt"):
        why = f" ({FOLDS_STOPPED})"
    return FileNotFoundError(f"--resume: nothing to resume in {out}: no {STATE_NAME}{why}")


def reopen(out: Path, data: Path, cfg: TrainConfig, manifest: str | None,
           labels_dir: str | None, log=print,
           keep_split: str | None = None) -> tuple[pd.DataFrame, Saver]:
    """The interrupted run in ``out``: its manifest and state, checked against this command.

    Nothing is written here, so a refusal leaves the folder as it was. ``keep_split`` (an
    earlier manifest, ``--keep-split``) is not drawn from again: the run's manifest must
    already keep its split (see :func:`split_moves`).

    Raises:
        FileNotFoundError: no train_state.pt or manifest.csv in ``out``, or photos missing.
        ValueError: the state is unreadable, or the config or manifest differ from the run's.
    """
    from mushroom.manifest import cap_train, check_photos, manifest_sha256, read_manifest

    path = out / STATE_NAME
    if not path.is_file():
        raise nothing_to_resume(out)
    state = load_state(path)
    frame = read_manifest(out / "manifest.csv")
    problems = config_changes(state["train_config"], dataclasses.asdict(cfg))
    if manifest_sha256(frame) != state["manifest_sha256"]:
        problems.append(f"manifest ({out / 'manifest.csv'} changed since the run started)")
    if manifest and manifest_sha256(cap_train(read_manifest(manifest), cfg.max_train_images)) \
            != state["manifest_sha256"]:
        problems.append(f"manifest (--manifest {manifest} is not the run's)")
    if keep_split:
        problems += split_moves(frame, keep_split)
    if problems:
        raise ValueError(f"--resume: {out} holds a run started with other settings: "
                         f"{'; '.join(problems)}. Give the flags it was started with, or drop "
                         "--resume to start over")
    check_photos(frame, data)
    _say_what_stays(frame, data, manifest, labels_dir, keep_split, log)
    log(describe(state, cfg.stages))
    return frame, Saver(out, cfg, state["manifest_sha256"], state)


def _say_what_stays(frame: pd.DataFrame, data: Path, manifest: str | None,
                    labels_dir: str | None, keep_split: str | None, log) -> None:
    """Tell which of this command's inputs the resumed run does not take up again: new
    photos under ``data``, ``--labels``; and that ``--keep-split`` was checked."""
    from mushroom.manifest import unused_photos_note

    note = None if manifest else unused_photos_note(frame, data)  # --manifest chose its photos
    if note:
        log(note)
    if labels_dir:
        log(f"--labels {labels_dir}: not applied again; the run's manifest.csv holds the labels "
            "it started with")
    if keep_split:
        log(f"--keep-split {keep_split}: the run's manifest.csv keeps its split (checked)")


def split_moves(frame: pd.DataFrame, keep_split: str) -> list[str]:
    """``--keep-split``'s difference from the run's manifest ``frame``, as a
    :func:`config_changes` entry: the photos of the earlier manifest it places in another
    split or fold (none: the run keeps its split, and the resume may go on).

    Raises:
        FileNotFoundError, ValueError: ``keep_split`` is no manifest that can be kept
            (:func:`mushroom.manifest.read_kept_split`).
    """
    from mushroom.config import DataConfig
    from mushroom.manifest import read_kept_split
    from mushroom.split import kept_from

    old_split, old_fold = kept_from(frame, read_kept_split(keep_split, DataConfig.n_folds))
    kept = old_split.notna()
    moved = kept & ((frame["split"] != old_split) | (frame["fold"].astype(str) != old_fold))
    if kept.any() and not moved.any():
        return []
    why = (f"{int(moved.sum())} of its photos are in another split or fold, e.g. "
           f"{frame['path'][moved].iloc[0]}") if moved.any() else "it shares no photo with it"
    return [f"split (--keep-split {keep_split} is not the run's manifest.csv's: {why})"]


def describe(state: dict, stages: list[Stage]) -> str:
    """``"resuming at stage 3 epoch 5/8, best val macro-F1 0.71 so far"``."""
    stage, done = resume_point(state, stages)
    score = state["best"][0]
    best = f"best val macro-F1 {score:.4g} so far" if score >= 0 else "no validation score"
    if stage == len(stages):
        return f"resuming after the last epoch of training ({best}): predictions and " \
               "calibration follow"
    return f"resuming at stage {stage + 1} ({stages[stage].name}) epoch {done + 1}/" \
           f"{stages[stage].epochs}, {best}"
