"""Training and evaluation loops: ``train_one_epoch``, ``evaluate``, feature caching.

Functions take what they need as arguments and return results; nothing here reads flags
or writes files. Frozen-backbone stages train on cached pooled features, which is what
makes the staged recipe fit in an hour on a 2-core CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler
from tqdm.auto import tqdm

from mushroom.config import TrainConfig
from mushroom.models import MushroomNet, set_trainable
from mushroom.taxonomy import GENERA, poisonous_index
from mushroom.tta import TTA, forward


def class_weights(targets: Iterable[int], num_classes: int, power: float) -> torch.Tensor:
    """Per-class weight ``count ** -power``, normalized to mean 1 over present classes."""
    counts = np.bincount(np.asarray(list(targets)), minlength=num_classes).astype(float)
    w = np.where(counts > 0, np.maximum(counts, 1) ** -power, 0.0)
    return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)


def balanced_sampler(targets: list[int], num_classes: int, power: float,
                     seed: int) -> WeightedRandomSampler:
    """Sampler drawing each photo with probability ~ count(its class) ** -power."""
    w = class_weights(targets, num_classes, power)[torch.tensor(targets)]
    gen = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(w.double(), num_samples=len(targets), replacement=True,
                                 generator=gen)


def poison_mask(classes: Sequence[str] = GENERA) -> torch.Tensor:
    """(C,) bool, True at the poisonous genera (:func:`mushroom.taxonomy.poisonous_index`):
    the losses' view of the same genera the poison rule sums over."""
    mask = torch.zeros(len(classes), dtype=torch.bool)
    mask[poisonous_index(classes)] = True
    return mask


def poison_group_loss(logits: torch.Tensor, y: torch.Tensor,
                      poison_mask: torch.Tensor) -> torch.Tensor:
    """``-log P(any poisonous genus)`` summed over the poisonous photos, divided by the batch.

    It costs nothing to confuse Amanita with Cortinarius, but a lot to call Amanita a Boletus,
    which is the error that decides how low tau must go. Zero for a batch without poisonous
    photos.
    """
    is_poison = poison_mask[y]
    if not is_poison.any():
        return logits.new_zeros(())
    log_group = torch.logsumexp(logits[is_poison][:, poison_mask], dim=1) - \
        torch.logsumexp(logits[is_poison], dim=1)
    return -log_group.sum() / len(y)


def multitask_loss(logits: torch.Tensor, poison_logit: torch.Tensor, y: torch.Tensor,
                   poison_mask: torch.Tensor, label_smoothing: float,
                   weight: torch.Tensor | None = None, rule_weight: float = 0.0,
                   head_weight: float = TrainConfig.poison_loss_weight) -> torch.Tensor:
    """Genus cross-entropy + the poison head's binary loss (weighted by ``head_weight``) +
    the poison-group loss (:func:`poison_group_loss`, weighted by ``rule_weight``)."""
    ce = F.cross_entropy(logits, y, weight=weight, label_smoothing=label_smoothing)
    is_poison = poison_mask[y]
    bce = F.binary_cross_entropy_with_logits(poison_logit, is_poison.float())
    loss = ce + head_weight * bce
    if rule_weight:
        loss = loss + rule_weight * poison_group_loss(logits, y, poison_mask)
    return loss


def cosine_schedule(opt: torch.optim.Optimizer, total_steps: int,
                    warmup: float = 0.05) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up then cosine decay to zero over ``total_steps``."""
    warm = max(1, int(total_steps * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + np.cos(np.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def train_one_epoch(model: MushroomNet, loader: DataLoader, opt: torch.optim.Optimizer,
                    sched, groups: tuple[str, ...], poison_mask: torch.Tensor,
                    label_smoothing: float, device: torch.device,
                    weight: torch.Tensor | None = None, desc: str = "train",
                    freeze_bn_stats: bool = False, rule_weight: float = 0.0,
                    head_weight: float = TrainConfig.poison_loss_weight) -> float:
    """One pass over ``loader`` updating only ``groups``; returns the mean loss.

    ``loader`` yields images (full stages) or cached features (cached stages: then the
    backbone is skipped entirely).
    """
    model.train()
    set_trainable(model, groups, freeze_bn_stats)
    cached = _is_feature_loader(loader)
    total, n = 0.0, 0
    for x, y in tqdm(loader, desc=desc, leave=False, unit="batch"):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if not cached:
            x = model.features(x.contiguous(memory_format=torch.channels_last))
        logits, poison, _ = model.classify(x)
        loss = multitask_loss(logits, poison, y, poison_mask.to(device), label_smoothing,
                              None if weight is None else weight.to(device), rule_weight,
                              head_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(y)
        n += len(y)
    return total / max(n, 1)


def _is_feature_loader(loader: DataLoader) -> bool:
    return isinstance(loader.dataset, TensorDataset)


@torch.inference_mode()
def evaluate(model: MushroomNet, loader: DataLoader, device: torch.device,
             desc: str = "eval", tta: TTA | None = None) -> dict[str, np.ndarray]:
    """Predict every item of ``loader``: genus logits, poison logits, embeddings, targets.

    ``tta`` averages those test-time views (photo loaders only; the loader must frame
    photos at ``tta.frame_size``).
    """
    model.eval()
    out: dict[str, list] = {"logits": [], "poison": [], "embedding": [], "targets": []}
    for x, y in tqdm(loader, desc=desc, leave=False, unit="batch"):
        x = x.to(device)
        if _is_feature_loader(loader):
            logits, poison, emb = model.classify(x)
        else:
            logits, poison, emb = forward(model, x, tta)
        for key, val in zip(out, (logits, poison, emb, y)):
            out[key].append(val.float().cpu())
    return {k: torch.cat(v).numpy() for k, v in out.items()}


@torch.inference_mode()
def extract_features(model: MushroomNet, loader: DataLoader, device: torch.device,
                     views: int = 1, desc: str = "caching features") -> TensorDataset:
    """Pooled backbone features of ``views`` passes over ``loader`` (augmented if it is)."""
    model.eval()
    feats, targets = [], []
    for v in range(views):
        for x, y in tqdm(loader, desc=f"{desc} {v + 1}/{views}", leave=False, unit="batch"):
            x = x.to(device).contiguous(memory_format=torch.channels_last)
            feats.append(model.features(x).float().cpu())
            targets.append(y)
    return TensorDataset(torch.cat(feats), torch.cat(targets))


def make_optimizer(params: list[nn.Parameter], lr: float,
                   weight_decay: float) -> torch.optim.AdamW:
    """AdamW with no weight decay on biases and normalization parameters."""
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)
