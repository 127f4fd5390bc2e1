"""``python -m mushroom rebalance``: retrain the genus head with class-balanced sampling.

Classifier re-training ("cRT", Kang et al., 2020, "Decoupling representation and
classifier for long-tailed recognition"): the backbone and the adapter learn good features
under the sampler's mild count^-0.5 balance, but the linear head inherits the big genera's
pull (Suillus read as Boletus, Agaricus as Amanita). Here the backbone and adapter stay
frozen, the embeddings of a few augmented views of every training photo are cached, and
only the genus head is fine-tuned from its current weights with fully balanced sampling;
the epoch with the best validation macro-F1 is kept (the training run's own rule). The
poison head is left alone. Afterwards the run is recalibrated on the CPU (logit
adjustment, temperature, tau, detector, conformal sets), as ``calibrate --data`` does.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mushroom.cli import add_data_flag
from mushroom.config import (add_calib_flags, add_config_flags, calib_from_flags,
                             config_from_flags, option)
from mushroom.taxonomy import GENERA


@dataclass
class RebalanceConfig:
    """How the genus head is retrained on frozen embeddings."""

    power: float = option(1.0, "sampling weight ~ genus count^-power; 1: every genus drawn "
                               "equally")
    lr: float = option(3e-4, "AdamW learning rate (small: the head starts from trained "
                             "weights)")
    epochs: int = option(10, "passes over the cached views")
    views: int = option(4, "augmented views per training photo in the cache")
    batch_size: int = option(64, "embeddings per step (cheap: a 1280 x 9 linear layer)")
    weight_decay: float = option(0.02, "AdamW decoupled weight decay")
    label_smoothing: float = option(0.05, "label smoothing of the genus loss, as in training")
    poison_weight: float = option(0.5, "weight of -log P(poisonous genera) on poisonous photos")
    seed: int = option(0, "sampler and dropout seed")


def retrain_head(head, train: tuple, val: tuple, cfg: RebalanceConfig, log=print):
    """Fine-tune ``head`` (a copy) on cached embeddings; keep the best validation epoch.

    Args:
        head: the genus head (``Dropout -> Linear``).
        train: ``(embeddings, targets)`` tensors of the augmented training views.
        val: ``(embeddings, targets)`` tensors of the validation photos.
        cfg: the retraining settings.

    Returns:
        ``(head, history)``: the best head and one row per epoch (epoch 0 = the start).
    """
    import torch

    torch.manual_seed(cfg.seed)
    head = copy.deepcopy(head).float()
    counts = np.bincount(train[1].numpy(), minlength=len(GENERA)).clip(min=1)
    weights = torch.as_tensor(counts[train[1].numpy()] ** -cfg.power, dtype=torch.double)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history = [_score_head(head, val, 0)]
    best = (history[0]["val_macro_f1"], copy.deepcopy(head.state_dict()))
    for epoch in range(1, cfg.epochs + 1):
        _head_epoch(head, opt, train, torch.multinomial(weights, len(weights), replacement=True),
                    cfg)
        history.append(_score_head(head, val, epoch))
        log(" ".join(f"{k}={v}" for k, v in history[-1].items()))
        if history[-1]["val_macro_f1"] > best[0]:
            best = (history[-1]["val_macro_f1"], copy.deepcopy(head.state_dict()))
    head.load_state_dict(best[1])
    return head, history


def _head_epoch(head, opt, train: tuple, order, cfg: RebalanceConfig) -> None:
    """One pass over ``train`` in the sampled ``order``, in batches of ``cfg.batch_size``."""
    from torch.nn import functional as F

    from mushroom.engine import poison_group_loss, poison_mask

    mask = poison_mask()
    head.train()
    for start in range(0, len(order), cfg.batch_size):
        idx = order[start:start + cfg.batch_size]
        logits, y = head(train[0][idx]), train[1][idx]
        # Balanced batches hold fewer poisonous photos than training's did; the group
        # term keeps their poisonous mass, which is what tau is cut from.
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing) + \
            cfg.poison_weight * poison_group_loss(logits, y, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _score_head(head, val: tuple, epoch: int) -> dict:
    """Validation accuracy and selection macro-F1 of ``head`` as one history row."""
    import torch

    from mushroom.metrics import selection_macro_f1

    head.eval()
    with torch.no_grad():
        pred = head(val[0]).argmax(1).numpy()
    y = val[1].numpy()
    return {"epoch": epoch, "val_acc": round(float((pred == y).mean()), 4),
            "val_macro_f1": round(selection_macro_f1(y, pred), 4)}


def cached_embeddings(model, data_dir: Path, frame, views: int) -> dict:
    """Adapter embeddings of ``views`` augmented passes over train and one pass over val."""
    import torch

    from mushroom.config import TrainConfig
    from mushroom.engine import extract_features
    from mushroom.train import Loaders

    cpu = torch.device("cpu")
    loaders = Loaders(data_dir, model, TrainConfig(workers=2, batch_size=32), cpu)
    out = {}
    with torch.inference_mode():
        for split, train, n in (("train", True, views), ("val", False, 1)):
            rows = frame[frame["split"] == split]
            feats, targets = extract_features(model, loaders.photos(rows, train=train), cpu,
                                              views=n, desc=f"embedding {split}").tensors
            out[split] = (model.adapter(feats).clone(), targets.clone())
    return out


def rebalance(run_dir: str, data_dir: str, cfg: RebalanceConfig | None = None,
              calib=None, log=print) -> dict:
    """Retrain the genus head of ``run_dir/model.pt`` on ``data_dir``, then recalibrate.

    ``calib`` (a :class:`mushroom.config.CalibConfig`) is passed on to the recalibration.

    Returns:
        The recalibrated run's report.
    """
    from mushroom.checkpoint import load_checkpoint, save_checkpoint
    from mushroom.manifest import check_photos, read_manifest
    from mushroom.prior import undo
    from mushroom.recalibrate import recalibrate, refuse_unused_oof_flag

    cfg = cfg or RebalanceConfig()
    run = Path(run_dir)
    model, meta = load_checkpoint(run / "model.pt")
    refuse_unused_oof_flag(run, calib)  # before model.pt is replaced, not at the end
    undo(model, meta)  # retrain the raw head; recalibration picks alpha again
    model.float().eval()
    frame = read_manifest(run / "manifest.csv")
    check_photos(frame, data_dir)
    emb = cached_embeddings(model, Path(data_dir), frame, cfg.views)
    head, history = retrain_head(model.head, emb["train"], emb["val"], cfg, log)
    model.head.load_state_dict(head.state_dict())
    extra = {k: v for k, v in meta.items() if k != "state_dict"}
    extra["logit_adjustment"] = {"alpha": 0.0}
    extra["rebalance"] = {"config": asdict(cfg), "history": history}
    save_checkpoint(run / "model.pt", model, extra)
    return recalibrate(str(run), calib, data_dir, log)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``rebalance``."""
    p = sub.add_parser("rebalance", help="retrain the genus head with balanced sampling on "
                                         "frozen features, then recalibrate")
    p.add_argument("--run", required=True,
                   help="run folder (model.pt + manifest.csv); its model.pt is replaced")
    add_data_flag(p)
    add_config_flags(p, RebalanceConfig())
    add_calib_flags(p)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Build the configs from flags, retrain the head and recalibrate."""
    cfg = config_from_flags(RebalanceConfig, args)
    rebalance(args.run, args.data, cfg, calib_from_flags(args))
    return 0
