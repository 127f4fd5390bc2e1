"""``python -m mushroom distill``: train one network to reproduce an ensemble of runs.

Averaging the *outputs* of the fourteen fine-tuning runs beats averaging their *weights*
(the soup): on validation + test, macro-F1 0.752 against 0.713. But an ensemble costs one
forward pass per member and view, far over the app's 50-ms budget. A student of the same
size trained to match the ensemble's probabilities keeps much of the gain at the cost of one
network (Hinton et al., 2015). The recipe is "function matching" (Beyer et al., 2022,
"Knowledge distillation: a good teacher is patient and consistent"): teachers and student
see the very same augmented photo; photos are mixed pairwise, so the student is also asked
about images between the training photos; the schedule is long. Only the train split is
used, so validation and test stay unseen by the student as by its teachers.

The student starts from a trained run (the soup) with its BatchNorm statistics frozen: the
soup's averaged statistics stay, and batches of mixed photos do not shift them. All layers
train with AdamW on a cosine schedule that ends with the epochs or the time budget,
whichever comes first. The genus head learns the teachers' mean softened probabilities
(KL divergence at temperature T, scaled by T^2); the poison head learns their mean poison
probability (binary cross-entropy with soft targets). The student is then recalibrated on
the CPU exactly as ``calibrate --data`` does (logit adjustment, temperature, tau, detector,
conformal sets). Needs a GPU in practice: with fourteen teachers an epoch took 12 minutes on the
2-core CPU and 5.5 s on an H100.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mushroom.cli import add_data_flag, add_overwrite_flag, check_run_out
from mushroom.config import (TrainConfig, add_calib_flags, add_config_flags, calib_from_flags,
                             config_from_flags, option)
from mushroom.taxonomy import GENERA


@dataclass
class DistillConfig:
    """How the student is trained against the ensemble."""

    epochs: int = option(65, "passes over the train split (as many balanced draws as photos)")
    time_budget_s: float = option(0.0, "stop after this many seconds, the learning rate "
                                       "decaying to 0 by then; 0: no limit")
    lr: float = option(2e-4, "AdamW peak learning rate, every layer (the student is already "
                             "trained)")
    weight_decay: float = option(0.01, "AdamW decoupled weight decay")
    temperature: float = option(2.0, "softening of teacher and student genus logits")
    mixup: bool = option(True, "mix photo pairs (per-photo weight ~ U(0, 1)); the teachers "
                               "label the mix")
    ce_weight: float = option(0.0, "extra cross-entropy on the true genus (unmixed batches: "
                                    "needs --no-mixup)")
    poison_loss_weight: float = option(TrainConfig.poison_loss_weight,
                                       "weight of the poison head's soft binary "
                                       "cross-entropy, as in training")
    batch_size: int = option(128, "photos per optimizer step")
    input_size: int = option(224, "training crop side in pixels")
    balance_power: float = option(0.5, "sampler weight ~ genus count^-power, as in training")
    warmup_steps: int = option(20, "optimizer steps of linear warm-up before the cosine")
    workers: int = option(2, "photo-decoding worker processes")
    seed: int = option(0, "sampler, mixing and dropout seed")
    device: str = option("auto", "auto (cuda when present), cpu or cuda")


def ensemble_targets(teachers: list, x, temperature: float):
    """Mean softened genus probabilities and mean poison probability of ``teachers`` on ``x``.

    A teacher trained at another input size (a larger backbone at its own resolution) sees
    the same crop resized to that size, so it judges the photo at the scale it learned.
    """
    import torch
    from torch.nn import functional as F

    probs, poison = [], []
    with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=x.is_cuda):
        for t in teachers:
            side = t.cfg.input_size
            xt = x if x.shape[-1] == side else F.interpolate(
                x, size=(side, side), mode="bilinear", align_corners=False)
            logits, p, _ = t.classify(t.features(xt))
            probs.append(torch.softmax(logits.float() / temperature, dim=1))
            poison.append(torch.sigmoid(p.float()))
    return torch.stack(probs).mean(0), torch.stack(poison).mean(0)


def distill_loss(logits, poison_logit, probs_t, poison_t, temperature: float,
                 targets=None, ce_weight: float = 0.0,
                 poison_weight: float = DistillConfig.poison_loss_weight):
    """T^2 x KL(teacher || student) on genera + ``poison_weight`` x soft BCE on the poison
    head (+ ``ce_weight`` x CE)."""
    import torch
    from torch.nn import functional as F

    log_q = F.log_softmax(logits.float() / temperature, dim=1)
    kl = (probs_t * (torch.log(probs_t.clamp_min(1e-8)) - log_q)).sum(1).mean()
    loss = kl * temperature ** 2 + poison_weight * F.binary_cross_entropy_with_logits(
        poison_logit.float(), poison_t)
    if ce_weight and targets is not None:
        loss = loss + ce_weight * F.cross_entropy(logits.float(), targets)
    return loss


def mix_pairs(x, generator):
    """Each photo blended with a random other one of the batch, weight ~ U(0, 1) per photo."""
    import torch

    lam = torch.rand(len(x), 1, 1, 1, device=x.device, generator=generator)
    perm = torch.randperm(len(x), device=x.device, generator=generator)
    return lam * x + (1 - lam) * x[perm]


def lr_factor(step: int, steps: int, elapsed: float, budget: float, warmup: int) -> float:
    """Warm-up then cosine to 0 over the steps or the time budget, whichever is further."""
    progress = step / max(1, steps)
    if budget > 0:
        progress = max(progress, elapsed / budget)
    if progress >= 1:
        return 0.0
    return min(1.0, (step + 1) / max(1, warmup)) * 0.5 * (1 + np.cos(np.pi * progress))


def load_teachers(runs: list[str]) -> tuple[list, dict]:
    """Teacher networks with their logit adjustments removed, and the first run's metadata.

    Raises:
        ValueError: fewer than one run, or runs on different genera or manifests.
    """
    from mushroom.soup import load_unadjusted

    if not runs:
        raise ValueError("distill needs at least one teacher run")
    # teach raw probabilities; the student's own alpha comes later
    loaded = load_unadjusted(runs)
    if len({tuple(m["classes"]) for _, m in loaded}) != 1:
        raise ValueError("teacher runs predict different genera")
    return [m.eval() for m, _ in loaded], loaded[0][1]


def make_student(init: str, device):
    """The ``init`` run's network, unadjusted, with BatchNorm statistics frozen."""
    import torch

    from mushroom.checkpoint import load_checkpoint
    from mushroom.prior import undo

    student, meta = load_checkpoint(Path(init) / "model.pt")
    undo(student, meta)
    student = student.float().to(device).to(memory_format=torch.channels_last).train()
    for m in student.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    for p in student.parameters():
        p.requires_grad_(True)
    return student, meta


def train_student(student, teachers: list, loader, cfg: DistillConfig, device,
                  log=print) -> list[dict]:
    """Run the schedule; returns one history row per epoch (mean loss, seconds, last lr)."""
    import torch
    from tqdm import tqdm

    opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    steps, step, t0, history = cfg.epochs * len(loader), 0, time.time(), []
    for epoch in range(1, cfg.epochs + 1):
        losses, factor = [], 0.0
        for x, y in tqdm(loader, desc=f"distill {epoch}/{cfg.epochs}", leave=False, unit="batch"):
            factor = lr_factor(step, steps, time.time() - t0, cfg.time_budget_s, cfg.warmup_steps)
            if factor == 0.0:
                break
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            y = y.to(device, non_blocking=True)
            if cfg.mixup:
                x = mix_pairs(x, gen)
            probs_t, poison_t = ensemble_targets(teachers, x, cfg.temperature)
            with torch.autocast("cuda", torch.bfloat16, enabled=device.type == "cuda"):
                logits, poison, _ = student.classify(student.features(x))
            loss = distill_loss(logits, poison, probs_t, poison_t, cfg.temperature,
                                None if cfg.mixup else y, cfg.ce_weight, cfg.poison_loss_weight)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * factor
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        if losses:
            history.append({"epoch": epoch, "loss": round(float(np.mean(losses)), 5),
                            "seconds": round(time.time() - t0, 1), "lr": cfg.lr * factor})
            log(" ".join(f"{k}={v}" for k, v in history[-1].items()))
        if factor == 0.0:
            break
    return history


def distill(teacher_runs: list[str], init: str, data_dir: str, out_dir: str,
            cfg: DistillConfig | None = None, calib=None, log=print) -> dict:
    """Distil ``teacher_runs`` into a copy of ``init`` on the train split, then recalibrate.

    Writes ``out_dir`` as a run folder (``model.pt``, ``manifest.csv``, reports) that
    ``calibrate``, ``soup`` and ``evaluate`` accept. ``calib`` is a
    :class:`mushroom.config.CalibConfig` for the recalibration.

    Returns:
        The recalibrated run's report.
    """
    import torch

    from mushroom.manifest import read_manifest
    from mushroom.recalibrate import recalibrate, refuse_unused_oof_flag
    from mushroom.soup import refuse_overwrite

    refuse_overwrite([init, *teacher_runs], out_dir)
    cfg = cfg or DistillConfig()
    device = torch.device(cfg.device if cfg.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(cfg.seed)
    teachers, teacher_meta = load_teachers(teacher_runs)
    student, meta = make_student(init, device)
    refuse_unused_oof_flag(init, calib)  # the student gets the init's oof.npz: say it now
    if meta["manifest_sha256"] != teacher_meta["manifest_sha256"]:
        raise ValueError("the student's run and the teachers use different manifests")
    if any(t.cfg.mean != student.cfg.mean or t.cfg.std != student.cfg.std for t in teachers):
        raise ValueError("teachers and student normalize photos differently; the teachers "
                         "would see the student's batches wrongly scaled")
    teachers = [t.to(device).to(memory_format=torch.channels_last) for t in teachers]
    frame = read_manifest(Path(init) / "manifest.csv")
    loader = _train_loader(frame, data_dir, student, cfg, device)
    history = train_student(student, teachers, loader, cfg, device, log)
    out = _write_run(Path(init), Path(out_dir), student.cpu().eval(), meta, {
        "teachers": [str(r) for r in teacher_runs], "init": str(init),
        "config": asdict(cfg), "history": history})
    return recalibrate(str(out), calib, data_dir, log)


def _train_loader(frame, data_dir: str, student, cfg: DistillConfig, device):
    """The manifest's train split as the student's loader (augmented, drawn genus-balanced
    by ``cfg.balance_power``), once every photo of the manifest is found under ``data_dir``.

    Raises:
        FileNotFoundError: ``data_dir`` is missing, or lacks a photo of the manifest.
    """
    from mushroom.manifest import check_photos
    from mushroom.engine import balanced_sampler
    from mushroom.train import Loaders

    check_photos(frame, data_dir)
    train = frame[frame["split"] == "train"]
    targets = [GENERA.index(g) for g in train["genus"]]
    loaders = Loaders(Path(data_dir), student, TrainConfig(
        workers=cfg.workers, batch_size=cfg.batch_size, input_size=cfg.input_size), device)
    sampler = balanced_sampler(targets, len(GENERA), cfg.balance_power, cfg.seed)
    return loaders.photos(train, True, sampler)


def _write_run(init: Path, out: Path, student, meta: dict, record: dict) -> Path:
    """Save the student as a run folder: checkpoint, the init run's manifest and OOF files."""
    from mushroom.checkpoint import save_checkpoint
    from mushroom.soup import copy_unadjusted

    out.mkdir(parents=True, exist_ok=True)
    # outputs.npz is not inherited: recalibration re-predicts every split from the photos
    copy_unadjusted(init, out, meta, ("manifest.csv", "oof.npz", "oof_predictions.csv"))
    extra = {k: v for k, v in meta.items() if k not in ("state_dict", "soup_of")}
    extra["logit_adjustment"] = {"alpha": 0.0}
    extra["distillation"] = record
    extra["name"] = f"mushroom-{meta['arch']}-distilled"
    save_checkpoint(out / "model.pt", student, extra)
    (out / "train_report.json").write_text(json.dumps({"history": record["history"]}, indent=2))
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``distill``."""
    p = sub.add_parser("distill", help="train one network to match an ensemble of runs "
                                       "(function matching), then recalibrate")
    p.add_argument("--teachers", nargs="+", required=True, help="run folders to imitate")
    p.add_argument("--init", required=True, help="run folder the student starts from")
    add_data_flag(p)
    p.add_argument("--out", required=True, help="new run folder for the student")
    add_overwrite_flag(p)
    add_config_flags(p, DistillConfig())
    add_calib_flags(p)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Build the configs from flags, distil and recalibrate."""
    check_run_out(args.out, args.overwrite)
    cfg = config_from_flags(DistillConfig, args)
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.temperature <= 0:
        raise ValueError("--epochs and --batch-size must be at least 1, --temperature above 0")
    if cfg.ce_weight and cfg.mixup:  # else accepted and silently unused
        raise ValueError("--ce-weight is added on unmixed batches only, and --mixup mixes every "
                         "batch: add --no-mixup, or drop --ce-weight")
    distill(args.teachers, args.init, args.data, args.out, cfg, calib_from_flags(args))
    return 0
