"""``python -m mushroom train``: the study's staged fine-tuning, declared as data.

Stages (mushroom.config.default_stages): (1) output layers on cached frozen features,
(2) + the intermediate adapter, (3) upper half of the backbone, (4) everything. Model
selection is on validation macro-F1 over all epochs of all stages.
"""

from __future__ import annotations

import copy
import random
import time

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from mushroom.config import Stage, TrainConfig
from mushroom.dataset import PhotoDataset
from mushroom.metrics import selection_macro_f1
from mushroom.engine import (balanced_sampler, class_weights, evaluate, extract_features,
                             make_optimizer, cosine_schedule, poison_mask, train_one_epoch)
from mushroom.models import MushroomNet, create_model, set_trainable
from mushroom.presets import eval_transform, train_transform
from mushroom.resume import Progress, Saver, enter_stage, rng_state
from mushroom.taxonomy import GENERA


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cuda" only when there is a GPU.

    Raises:
        ValueError: an unknown name, or "cuda" on a machine without one.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, not {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available here; use auto or cpu")
    return torch.device(name)


class Loaders:
    """Builds the DataLoaders a run needs, with the run's transforms and worker settings."""

    def __init__(self, root, model: MushroomNet, cfg: TrainConfig, device: torch.device):
        size = cfg.input_size or model.cfg.input_size
        self.root, self.cfg = root, cfg
        self.train_tf = train_transform(size, model.cfg.mean, model.cfg.std)
        self.eval_tf = eval_transform(size, model.cfg.mean, model.cfg.std)
        self.pin = device.type == "cuda"

    def photos(self, frame: pd.DataFrame, train: bool, sampler=None) -> DataLoader:
        """Loader over photos; augmented (and sampled) when ``train``."""
        ds = PhotoDataset(self.root, frame, GENERA, self.train_tf if train else self.eval_tf)
        return DataLoader(ds, batch_size=self.cfg.batch_size, sampler=sampler,
                          num_workers=self.cfg.workers, pin_memory=self.pin,
                          worker_init_fn=_one_thread, drop_last=False)


def _one_thread(_: int) -> None:
    """Loader workers decode and augment one photo at a time; extra torch threads per
    worker only oversubscribe the cores."""
    torch.set_num_threads(1)


def fit(model: MushroomNet, loaders: Loaders, train_frame: pd.DataFrame,
        val_frame: pd.DataFrame | None, cfg: TrainConfig, device: torch.device,
        log=print, saver: Saver | None = None) -> tuple[MushroomNet, list[dict]]:
    """Run every stage; keep the weights with the best validation macro-F1.

    Without ``val_frame`` (cross-validation folds) the last epoch is kept. With ``saver``
    the progress is saved as it goes (:mod:`mushroom.resume`); a saver holding an
    interrupted run's state continues that run where it stopped.

    Returns:
        The trained model and one history row per epoch.
    """
    model.to(device).to(memory_format=torch.channels_last)
    trainer = _Trainer(model, loaders, train_frame, val_frame, cfg, device, log, saver)
    for index in range(trainer.progress.stage, len(cfg.stages)):
        trainer.run_stage(index)
    best = trainer.progress.best
    if best[1] is not None:
        model.load_state_dict(best[1])
    return model, trainer.progress.history


class _Trainer:
    """One fit: its fixed inputs, the feature cache, and where it stands (:class:`Progress`)."""

    def __init__(self, model: MushroomNet, loaders: Loaders, train_frame: pd.DataFrame,
                 val_frame: pd.DataFrame | None, cfg: TrainConfig, device: torch.device,
                 log, saver: Saver | None):
        self.model, self.loaders, self.cfg, self.device = model, loaders, cfg, device
        self.train_frame, self.val_frame, self.log, self.saver = train_frame, val_frame, log, \
            saver
        self.targets = [GENERA.index(g) for g in train_frame["genus"]]
        self.mask = poison_mask()
        self.weight = class_weights(self.targets, len(GENERA), cfg.balance_power) \
            if cfg.balance == "loss" else None
        self.power = cfg.balance_power if cfg.balance == "sampler" else 0.0
        self.cache: dict[str, object] = {}
        # the interrupted run's state, used up by the first stage this fit runs
        self.pending = saver.state if saver is not None else None
        self.progress = saver.restore(model, cfg.stages) if self.pending else Progress()

    def run_stage(self, index: int) -> None:
        """Train stage ``index`` from the epoch where :attr:`progress` stands in it."""
        stage, progress = self.cfg.stages[index], self.progress
        start = progress.done if index == progress.stage else 0
        loader, val_loader, opt, sched = self.start_stage(stage, start)
        for epoch in range(start, stage.epochs):
            row = self.run_epoch(stage, epoch, loader, val_loader, opt, sched)
            progress.history.append(row)
            progress.stage, progress.done = index, epoch + 1
            # a cached stage's epoch takes a second or two: save only once it is done
            if self.saver is not None and (not stage.cached or epoch + 1 == stage.epochs):
                self.saver.save(progress, self.model, opt, sched, loader.sampler, self.cache)
            self.log(" ".join(f"{k}={v}" for k, v in row.items()))

    def start_stage(self, stage: Stage, start: int) -> tuple:
        """The stage's loaders, optimizer and schedule; a resumed fit's as they were."""
        def build():
            loader, val_loader = _stage_loaders(
                self.model, self.loaders, stage, self.train_frame, self.val_frame,
                self.targets, self.power, self.cache, self.cfg, self.device)
            opt = make_optimizer(set_trainable(self.model, stage.trainable), stage.lr,
                                 self.cfg.weight_decay)
            return loader, val_loader, opt, cosine_schedule(opt, stage.epochs * len(loader))

        state, self.pending = self.pending, None
        return build() if state is None else enter_stage(state, stage.cached, start > 0, build)

    def run_epoch(self, stage: Stage, epoch: int, loader, val_loader, opt, sched) -> dict:
        """Train one epoch, score it on validation, keep the best weights; the history row."""
        t0 = time.time()
        loss = train_one_epoch(self.model, loader, opt, sched, stage.trainable, self.mask,
                               self.cfg.label_smoothing, self.device, self.weight,
                               desc=f"{stage.name} {epoch + 1}/{stage.epochs}",
                               freeze_bn_stats=self.cfg.freeze_bn_stats,
                               rule_weight=self.cfg.poison_rule_weight,
                               head_weight=self.cfg.poison_loss_weight)
        row = {"stage": stage.name, "epoch": epoch + 1, "loss": round(loss, 4)}
        if val_loader is not None:
            out = evaluate(self.model, val_loader, self.device)
            pred = out["logits"].argmax(1)
            row["val_acc"] = round(float((pred == out["targets"]).mean()), 4)
            row["val_macro_f1"] = round(selection_macro_f1(out["targets"], pred), 4)
            if row["val_macro_f1"] >= self.progress.best[0]:
                self.progress.best = (row["val_macro_f1"], copy.deepcopy(self.model.state_dict()))
        row["seconds"] = round(time.time() - t0, 1)
        return row


def _stage_loaders(model, loaders: Loaders, stage: Stage, train_frame, val_frame, targets,
                   power, cache, cfg: TrainConfig, device):
    """Photo loaders for unfrozen stages; cached-feature loaders for frozen ones."""
    sampler = balanced_sampler(targets * (cfg.cache_views if stage.cached else 1),
                               len(GENERA), power, cfg.seed + cfg.stages.index(stage))
    has_val = val_frame is not None and len(val_frame)
    if not stage.cached:
        cache.pop("train", None)  # features go stale once the backbone trains
        cache.pop("rng", None)
        val = loaders.photos(val_frame, train=False) if has_val else None
        return loaders.photos(train_frame, train=True, sampler=sampler), val
    if "train" not in cache:
        cache["rng"] = rng_state()  # a resumed run draws the same augmented views again
        cache["train"] = extract_features(model, loaders.photos(train_frame, train=True),
                                          device, views=cfg.cache_views)
        if has_val:
            cache["val"] = extract_features(model, loaders.photos(val_frame, train=False),
                                            device, desc="caching val features")
    feats = DataLoader(cache["train"], batch_size=cfg.cached_batch_size, sampler=sampler)
    val = DataLoader(cache["val"], batch_size=512) if has_val else None
    return feats, val


def new_model(cfg: TrainConfig) -> MushroomNet:
    """The ImageNet-initialized network a run starts from."""
    return create_model(cfg.arch, len(GENERA), pretrained=True, weights=cfg.weights,
                        adapter_dim=cfg.adapter_dim, dropout=cfg.dropout)


def seeded_model(cfg: TrainConfig) -> MushroomNet:
    """:func:`new_model` under ``cfg.init_seed``, then reseed everything with ``cfg.seed``.

    The adapter's hidden units of the runs in a soup must line up, so their init has its own
    seed; ``cfg.seed`` then varies only data order, augmentation and dropout.
    """
    seed_everything(cfg.init_seed)
    model = new_model(cfg)
    seed_everything(cfg.seed)
    return model

