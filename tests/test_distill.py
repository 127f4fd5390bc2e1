"""Distillation of an ensemble of runs into one student (``python -m mushroom distill``)."""

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from mushroom.checkpoint import load_checkpoint, save_checkpoint
from mushroom.cli import main
from mushroom.config import TrainConfig
from mushroom.data import build_manifest
from mushroom.manifest import manifest_sha256
from mushroom.distill import (
    distill_loss,
    ensemble_targets,
    load_teachers,
    lr_factor,
    mix_pairs,
)
from mushroom.models import create_model
from mushroom.prior import fold_into_head, offset
from mushroom.taxonomy import GENERA


def _run(folder, seed: int, frame, alpha: float = 0.0):
    """A run folder holding a randomly initialized network on ``frame``'s manifest."""
    torch.manual_seed(seed)
    model = create_model("efficientnet_lite0", len(GENERA), pretrained=False)
    meta = {"arch": "efficientnet_lite0", "classes": list(GENERA), "temperature": 1.0,
            "poison_threshold": 0.1, "metrics": {}, "train_config": asdict(TrainConfig()),
            "manifest_sha256": manifest_sha256(frame), "version": folder.name}
    if alpha:  # folded the way `calibrate` folds it
        record = {"alpha": alpha, "log_prior": np.linspace(-4, -1, len(GENERA)).tolist()}
        fold_into_head(model, offset(record))
        meta["logit_adjustment"] = record
    save_checkpoint(folder / "model.pt", model, meta)
    frame.to_csv(folder / "manifest.csv", index=False)
    (folder / "train_report.json").write_text(json.dumps({"history": []}))
    return folder


def test_loss_is_lowest_where_the_student_matches_the_teachers():
    gen = torch.Generator().manual_seed(0)
    t = 2.0
    teacher_logits = torch.randn(6, 9, generator=gen) * 3
    probs_t = torch.softmax(teacher_logits / t, dim=1)
    poison_t = torch.rand(6, generator=gen)
    match = distill_loss(teacher_logits, torch.logit(poison_t), probs_t, poison_t, t)
    for scale in (0.3, 1.0):
        noise = torch.randn(6, 9, generator=gen) * scale
        worse = distill_loss(teacher_logits + noise, torch.logit(poison_t) + scale,
                             probs_t, poison_t, t)
        assert worse > match + 1e-4
    # the genus term is a KL divergence: zero at the match, so only the poison entropy remains
    entropy = torch.nn.functional.binary_cross_entropy(poison_t, poison_t)
    assert match.item() == pytest.approx(0.5 * entropy.item(), abs=1e-5)


def test_hard_labels_only_count_when_asked():
    logits, probs_t = torch.zeros(2, 9), torch.full((2, 9), 1 / 9)
    poison, poison_t = torch.zeros(2), torch.full((2,), 0.5)
    y = torch.tensor([0, 3])
    base = distill_loss(logits, poison, probs_t, poison_t, 1.0)
    assert distill_loss(logits, poison, probs_t, poison_t, 1.0, y, 0.0) == base
    with_ce = distill_loss(logits, poison, probs_t, poison_t, 1.0, y, 0.5)
    assert with_ce.item() == pytest.approx(base.item() + 0.5 * np.log(9), rel=1e-5)


def test_mixed_photos_lie_between_two_photos_of_the_batch():
    x = torch.rand(5, 3, 8, 8)
    mixed = mix_pairs(x, torch.Generator().manual_seed(1))
    again = mix_pairs(x, torch.Generator().manual_seed(1))
    assert torch.equal(mixed, again) and mixed.shape == x.shape
    assert not torch.equal(mixed, x)
    lo, hi = x.min(0).values, x.max(0).values  # bounds over the whole batch, per pixel
    assert (mixed >= lo - 1e-6).all() and (mixed <= hi + 1e-6).all()


def test_schedule_warms_up_then_ends_with_the_steps_or_the_time_budget():
    assert lr_factor(0, 100, 0.0, 0.0, 10) == pytest.approx(0.1, rel=1e-3)
    assert lr_factor(9, 100, 0.0, 0.0, 10) == pytest.approx(1.0, abs=0.02)
    assert lr_factor(50, 100, 0.0, 0.0, 10) == pytest.approx(0.5, abs=1e-6)
    assert lr_factor(100, 100, 0.0, 0.0, 10) == 0.0
    # a time budget half spent at step 10 of 100 puts the cosine half way
    assert lr_factor(10, 100, 30.0, 60.0, 1) == pytest.approx(0.5, abs=1e-6)
    assert lr_factor(10, 100, 61.0, 60.0, 1) == 0.0


def test_teachers_average_their_unadjusted_probabilities(tiny_data, tmp_path):
    frame, _ = build_manifest(tiny_data)
    a = _run(tmp_path / "a", 1, frame)
    b = _run(tmp_path / "b", 2, frame, alpha=0.5)  # its folded adjustment must come out
    teachers, _ = load_teachers([str(a), str(b)])
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    probs, poison = ensemble_targets(teachers, x, 2.0)
    ma, mb = load_checkpoint(a / "model.pt")[0], load_checkpoint(b / "model.pt")[0]
    shift = torch.as_tensor(offset(load_checkpoint(b / "model.pt")[1]["logit_adjustment"]),
                            dtype=torch.float32)
    with torch.no_grad():
        za, pa, _ = ma.classify(ma.features(x))
        zb, pb, _ = mb.classify(mb.features(x))
    expected = (torch.softmax(za / 2, 1) + torch.softmax((zb - shift) / 2, 1)) / 2
    assert torch.allclose(probs, expected, atol=1e-4)
    folded = (torch.softmax(za / 2, 1) + torch.softmax(zb / 2, 1)) / 2
    assert not torch.allclose(probs, folded, atol=1e-3)  # the adjustment did come out
    assert torch.allclose(poison, (torch.sigmoid(pa) + torch.sigmoid(pb)) / 2, atol=1e-5)


def test_a_teacher_of_another_input_size_sees_the_crop_at_its_own_size(tiny_data, tmp_path):
    from dataclasses import replace

    frame, _ = build_manifest(tiny_data)
    torch.manual_seed(3)
    big = create_model("efficientnet_lite0", len(GENERA), pretrained=False)
    big.cfg = replace(big.cfg, input_size=96)  # as a larger backbone trained at its own size
    save_checkpoint(tmp_path / "model.pt", big, {
        "arch": "efficientnet_lite0", "classes": list(GENERA), "temperature": 1.0,
        "poison_threshold": 0.1, "metrics": {}, "train_config": asdict(TrainConfig()),
        "manifest_sha256": manifest_sha256(frame), "version": "big"})
    teachers, _ = load_teachers([str(tmp_path)])
    t, seen = teachers[0], []
    features = t.features
    t.features = lambda batch: seen.append(tuple(batch.shape)) or features(batch)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    probs, poison = ensemble_targets(teachers, x, 1.0)
    assert seen == [(2, 3, 96, 96)]
    with torch.no_grad():
        up = torch.nn.functional.interpolate(x, size=(96, 96), mode="bilinear",
                                             align_corners=False)
        z_up, p_up, _ = t.classify(features(up))
    assert torch.allclose(probs, torch.softmax(z_up, 1), atol=1e-5)
    assert torch.allclose(poison, torch.sigmoid(p_up), atol=1e-5)


def test_teachers_on_different_splits_are_refused(tiny_data, tmp_path):
    frame, _ = build_manifest(tiny_data)
    a = _run(tmp_path / "a", 1, frame)
    other = frame.copy()
    other.loc[other.index[0], "split"] = "test" if other["split"].iloc[0] != "test" else "val"
    b = _run(tmp_path / "b", 2, other)
    with pytest.raises(ValueError, match="different manifests"):
        load_teachers([str(a), str(b)])


@pytest.mark.slow
def test_distill_cli_trains_and_recalibrates_a_student(tiny_data, tmp_path, capsys):
    frame, _ = build_manifest(tiny_data)
    a, b = _run(tmp_path / "a", 1, frame, alpha=0.5), _run(tmp_path / "b", 2, frame)
    # the init's out-of-fold outputs (another model's, as for a soup), its alpha folded in
    val = frame.index[frame["split"] == "val"].to_numpy()
    rng = np.random.default_rng(0)
    oof = {"logits": rng.normal(size=(len(val), len(GENERA))).astype(np.float32),
           "targets": np.array([GENERA.index(g) for g in frame.loc[val, "genus"]]),
           "index": val}
    oof["logits"] += offset(load_checkpoint(a / "model.pt")[1]["logit_adjustment"]).astype(
        np.float32)
    np.savez_compressed(a / "oof.npz", **oof)
    out = tmp_path / "student"
    code = main(["distill", "--teachers", str(a), str(b), "--init", str(a), "--data",
                 str(tiny_data), "--out", str(out), "--epochs", "2", "--batch-size", "16",
                 "--workers", "0", "--input-size", "64", "--lr", "1e-3", "--warmup-steps", "1",
                 "--oof-sets-only"])
    assert code == 0
    assert "epoch=2" in capsys.readouterr().out
    student, meta = load_checkpoint(out / "model.pt")
    start, _ = load_checkpoint(a / "model.pt")
    key = "upper.8.weight"  # the last backbone conv: every layer trains
    assert not torch.allclose(student.state_dict()[key], start.state_dict()[key])
    # BatchNorm statistics stay the init run's
    stats = [k for k in start.state_dict() if k.endswith(("running_mean", "running_var"))]
    assert stats and all(torch.equal(student.state_dict()[k], start.state_dict()[k])
                         for k in stats)
    record = meta["distillation"]
    assert record["teachers"] == [str(a), str(b)] and record["init"] == str(a)
    assert record["config"]["epochs"] == 2 and len(record["history"]) == 2
    assert meta["name"].endswith("-distilled") and "soup_of" not in meta
    assert meta["manifest_sha256"] == manifest_sha256(frame)
    # recalibrated like `calibrate --data`: thresholds and metrics from the student's outputs
    assert meta["metrics"]["val"]["poison_recall"] == 1.0
    assert (out / "outputs.npz").exists() and (out / "manifest.csv").exists()
    # the copied out-of-fold logits carry the student's adjustment, not the init's on top
    unadjusted = np.load(out / "oof.npz")["logits"] - offset(meta["logit_adjustment"])
    assert np.allclose(unadjusted, oof["logits"] - offset(
        load_checkpoint(a / "model.pt")[1]["logit_adjustment"]), atol=1e-5)


def test_distill_cli_rejects_bad_settings(tiny_data, tmp_path, capsys):
    code = main(["distill", "--teachers", str(tmp_path / "none"), "--init", str(tmp_path),
                 "--data", str(tiny_data), "--out", str(tmp_path / "o"), "--epochs", "0"])
    assert code == 2 and "--epochs" in capsys.readouterr().err
    code = main(["distill", "--teachers", str(tmp_path / "none"), "--init", str(tmp_path),
                 "--data", str(tiny_data), "--out", str(tmp_path / "o")])
    assert code == 2 and "checkpoint not found" in capsys.readouterr().err


def test_flags_map_onto_the_config():
    from mushroom.cli import build_parser
    from mushroom.config import config_from_flags
    from mushroom.distill import DistillConfig

    base = ["distill", "--teachers", "a", "b", "--init", "a", "--data", "d", "--out", "o"]
    args = build_parser().parse_args(base)
    assert config_from_flags(DistillConfig, args) == DistillConfig()
    args = build_parser().parse_args(base + ["--no-mixup", "--temperature", "1.5",
                                             "--time-budget-s", "300", "--epochs", "3"])
    cfg = config_from_flags(DistillConfig, args)
    assert (cfg.mixup, cfg.temperature, cfg.time_budget_s, cfg.epochs) == (False, 1.5, 300.0, 3)
    assert args.teachers == ["a", "b"]


def test_teachers_that_normalize_photos_otherwise_are_refused(tiny_data, tmp_path):
    from dataclasses import replace

    from mushroom.distill import distill
    from mushroom.models import IMAGENET_MEAN, IMAGENET_STD

    frame, _ = build_manifest(tiny_data)
    init = _run(tmp_path / "init", 1, frame)
    torch.manual_seed(2)
    other = create_model("efficientnet_lite0", len(GENERA), pretrained=False)
    other.cfg = replace(other.cfg, mean=IMAGENET_MEAN, std=IMAGENET_STD)  # as MobileNetV2
    (tmp_path / "t").mkdir()
    save_checkpoint(tmp_path / "t" / "model.pt", other, {
        "arch": "efficientnet_lite0", "classes": list(GENERA), "temperature": 1.0,
        "poison_threshold": 0.1, "metrics": {}, "train_config": asdict(TrainConfig()),
        "manifest_sha256": manifest_sha256(frame), "version": "t"})
    with pytest.raises(ValueError, match="normalize photos differently"):
        distill([str(tmp_path / "t")], str(init), str(tiny_data), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
