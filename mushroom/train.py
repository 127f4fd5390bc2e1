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
        log=print) -> tuple[MushroomNet, list[dict]]:
    """Run every stage; keep the weights with the best validation macro-F1.

    Without ``val_frame`` (cross-validation folds) the last epoch is kept.

    Returns:
        The trained model and one history row per epoch.
    """
    model.to(device).to(memory_format=torch.channels_last)
    targets = [GENERA.index(g) for g in train_frame["genus"]]
    mask = poison_mask()
    weight = class_weights(targets, len(GENERA), cfg.balance_power) \
        if cfg.balance == "loss" else None
    power = cfg.balance_power if cfg.balance == "sampler" else 0.0
    cache: dict[str, object] = {}
    history: list[dict] = []
    best = (-1.0, None)
    for stage in cfg.stages:
        loader, val_loader = _stage_loaders(model, loaders, stage, train_frame, val_frame,
                                            targets, power, cache, cfg, device)
        opt = make_optimizer(set_trainable(model, stage.trainable), stage.lr, cfg.weight_decay)
        sched = cosine_schedule(opt, stage.epochs * len(loader))
        for epoch in range(stage.epochs):
            t0 = time.time()
            loss = train_one_epoch(model, loader, opt, sched, stage.trainable, mask,
                                   cfg.label_smoothing, device, weight,
                                   desc=f"{stage.name} {epoch + 1}/{stage.epochs}",
                                   freeze_bn_stats=cfg.freeze_bn_stats,
                                   rule_weight=cfg.poison_rule_weight,
                                   head_weight=cfg.poison_loss_weight)
            row = {"stage": stage.name, "epoch": epoch + 1, "loss": round(loss, 4)}
            if val_loader is not None:
                out = evaluate(model, val_loader, device)
                pred = out["logits"].argmax(1)
                row["val_acc"] = round(float((pred == out["targets"]).mean()), 4)
                row["val_macro_f1"] = round(selection_macro_f1(out["targets"], pred), 4)
                if row["val_macro_f1"] >= best[0]:
                    best = (row["val_macro_f1"], copy.deepcopy(model.state_dict()))
            row["seconds"] = round(time.time() - t0, 1)
            history.append(row)
            log(" ".join(f"{k}={v}" for k, v in row.items()))
    if best[1] is not None:
        model.load_state_dict(best[1])
    return model, history


def _stage_loaders(model, loaders: Loaders, stage: Stage, train_frame, val_frame, targets,
                   power, cache, cfg: TrainConfig, device):
    """Photo loaders for unfrozen stages; cached-feature loaders for frozen ones."""
    sampler = balanced_sampler(targets * (cfg.cache_views if stage.cached else 1),
                               len(GENERA), power, cfg.seed + cfg.stages.index(stage))
    has_val = val_frame is not None and len(val_frame)
    if not stage.cached:
        cache.pop("train", None)  # features go stale once the backbone trains
        val = loaders.photos(val_frame, train=False) if has_val else None
        return loaders.photos(train_frame, train=True, sampler=sampler), val
    if "train" not in cache:
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

