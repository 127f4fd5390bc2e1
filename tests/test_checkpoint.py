"""Checkpoint round-trip: metadata survives, fp16 weights predict like the fp32 model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import Hostile, make_photo
from mushroom.checkpoint import REQUIRED_KEYS, load_checkpoint, save_checkpoint
from mushroom.taxonomy import GENERA

META = {
    "arch": "efficientnet_lite0", "classes": list(GENERA), "temperature": 1.7,
    "poison_threshold": 0.12, "version": "2024-test", "name": "roundtrip",
    "metrics": {"test": {"accuracy": 0.91, "per_class_f1": {"Entoloma": 0.5}}},
    "train_config": {"arch": "efficientnet_lite0", "stages": [{"name": "1-head", "lr": 3e-3}]},
    "manifest_sha256": "ab" * 32,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[torch.nn.Module, Path, int]:
    """An ImageNet Lite0 with a random (seeded) head, saved once."""
    from mushroom.models import create_model

    torch.manual_seed(0)
    model = create_model("efficientnet_lite0", len(GENERA), pretrained=True).eval()
    with torch.no_grad():  # a non-trivial adapter and head, as after training
        for p in (*model.adapter.parameters(), *model.head.parameters()):
            p.normal_(0, 0.05)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    return model, path, save_checkpoint(path, model, META)


def photos_batch(model) -> torch.Tensor:
    from mushroom.presets import eval_transform

    tf = eval_transform(model.cfg.input_size, model.cfg.mean, model.cfg.std)
    return torch.stack([tf(make_photo(g, seed=g)) for g in (0, 1, 4, 8)])


def test_metadata_round_trips(saved):
    model, path, _ = saved
    loaded, ckpt = load_checkpoint(path)
    for key, value in META.items():
        assert ckpt[key] == value, key
    assert set(REQUIRED_KEYS) <= set(ckpt)
    assert ckpt["input_size"] == model.cfg.input_size
    assert tuple(ckpt["mean"]) == model.cfg.mean and tuple(ckpt["std"]) == model.cfg.std
    assert not loaded.training
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_a_run_trained_at_another_size_is_rebuilt_at_that_size(saved, tmp_path):
    model, _, _ = saved
    path = tmp_path / "m256.pt"
    save_checkpoint(path, model, {**META, "input_size": 256})  # `train --input-size 256`
    loaded, _ = load_checkpoint(path)
    assert loaded.cfg.input_size == 256  # not the backbone's default 224
    assert loaded.cfg.mean == model.cfg.mean and loaded.cfg.std == model.cfg.std


def test_weights_are_stored_in_fp16_and_the_file_is_small(saved):
    model, path, size = saved
    raw = torch.load(path, map_location="cpu", weights_only=False)
    floats = [t for t in raw["state_dict"].values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 for t in floats)
    fp32_bytes = sum(t.numel() * 4 for t in model.state_dict().values() if t.is_floating_point())
    assert size == path.stat().st_size
    assert size < 0.6 * fp32_bytes
    assert size < 10 * 1024 * 1024


def test_fp16_predictions_match_fp32(saved):
    model, path, _ = saved
    loaded, _ = load_checkpoint(path)
    batch = photos_batch(model)
    with torch.no_grad():
        ref, got = model(batch), loaded(batch)
    assert not torch.equal(ref, got)  # really a rounded copy, not the same tensors
    torch.testing.assert_close(got, ref, atol=2e-2, rtol=2e-2)
    p_ref, p_got = torch.softmax(ref, 1), torch.softmax(got, 1)
    assert (p_ref - p_got).abs().max() < 5e-3
    assert torch.equal(p_ref.argmax(1), p_got.argmax(1))


def test_load_model_applies_the_stored_temperature(saved):
    from mushroom.predict import load_model

    model, path, _ = saved
    predictor = load_model(path)
    assert predictor.classes == GENERA
    assert predictor.temperature == 1.7 and predictor.poison_threshold == 0.12
    assert predictor.name == "roundtrip" and predictor.version == "2024-test"
    assert "state_dict" not in predictor.meta
    out = predictor.predict([make_photo(g, seed=g) for g in (0, 1, 4, 8)])
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0, atol=1e-5)
    tempered = torch.softmax(torch.from_numpy(out.logits) / 1.7, dim=1).numpy()
    np.testing.assert_allclose(out.probs, tempered, atol=1e-6)
    with torch.no_grad():
        ref = torch.softmax(model(photos_batch(model)) / 1.7, dim=1).numpy()
    np.testing.assert_allclose(out.probs, ref, atol=5e-3)


def test_missing_metadata_is_refused_before_writing(tmp_path, saved):
    model, _, _ = saved
    meta = {k: v for k, v in META.items() if k != "poison_threshold"}
    with pytest.raises(ValueError, match="poison_threshold"):
        save_checkpoint(tmp_path / "bad.pt", model, meta)
    assert not (tmp_path / "bad.pt").exists()


def test_a_file_that_is_not_a_checkpoint_is_a_value_error(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match=r"not a Mushroom checkpoint \(a PyTorch file without "
                                         r"arch, classes, input_size…\)"):
        load_checkpoint(other)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.pt")


def test_random_bytes_are_a_value_error(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is a text file, not a model\n" * 10)
    with pytest.raises(ValueError, match=r"junk\.pt is not a Mushroom checkpoint \(not a file "
                                         r"that torch\.save wrote: \w+Error\)"):
        load_checkpoint(junk)


def test_an_empty_or_cut_short_checkpoint_says_so(tmp_path, saved):
    """A download or copy that stopped part way is named as such, not as an error type."""
    whole = saved[1].read_bytes()
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "cut.pt").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"\(the file is empty or cut short: EOFError\)"):
        load_checkpoint(tmp_path / "empty.pt")
    with pytest.raises(ValueError, match=r"\(the file is cut short or damaged: \w+Error\)"):
        load_checkpoint(tmp_path / "cut.pt")


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path, saved):
    """A checkpoint is a pickle: loading one with code in it (from `evaluate --model` or
    MUSHROOM_MODEL) must refuse, not run it; a real one with NumPy arrays still loads."""
    ckpt = torch.load(saved[1], map_location="cpu", weights_only=False)
    ckpt["ood"] = {"bank": np.ones((4, 3), np.float16), "threshold": np.float64(0.5)}
    torch.save(ckpt, tmp_path / "real.pt")
    ood = load_checkpoint(tmp_path / "real.pt")[1]["ood"]
    assert ood["bank"].dtype == np.float16 and ood["threshold"] == 0.5
    marker = tmp_path / "pwned.txt"
    ckpt["metrics"] = {"test": Hostile(marker)}
    torch.save(ckpt, tmp_path / "trap.pt")
    with pytest.raises(ValueError, match=r"not a Mushroom checkpoint \(it would load "
                       r"[\w.]+, which is not data; nothing was run\)"):
        load_checkpoint(tmp_path / "trap.pt")
    assert not marker.exists()


def test_model_card_header_describes_the_shipped_checkpoint(shipped_model):
    """The card's details table names the checkpoint in assets/ and its fitted numbers.

    A new model shipped without redoing the card would otherwise leave the card describing
    the previous one.
    """
    import re

    import torch
    from conftest import ROOT

    meta = torch.load(shipped_model, map_location="cpu", weights_only=False)
    rows = dict(re.findall(r"^\| ([^|]+?) \| (.+) \|$",
                           (ROOT / "MODEL_CARD.md").read_text(encoding="utf-8"), re.M))
    assert f"`{meta['name']}`, version `{meta['version']}`" in rows["name / version"]
    assert rows["temperature"].startswith(f"{meta['temperature']:.3f} ")
    assert rows["poison threshold τ"].startswith(f"{meta['poison_threshold']:.4f} ")
    assert rows["classes"] == ", ".join(meta["classes"])
    alpha = meta["logit_adjustment"]["alpha"]
    assert rows["logit adjustment"].startswith(f"alpha = {alpha:g}:")
    size = shipped_model.stat().st_size
    assert rows["checkpoint"].startswith(f"{size / 1e6:.2f} MB ({size:,} bytes)")


BAD_VALUES = [  # (field class, change to the stored metadata, what the error must name)
    ("temperature", {"temperature": -1.7}, "temperature must be a finite number above 0, not -1.7"),
    ("temperature", {"temperature": 0.0}, "temperature must be a finite number above 0, not 0.0"),
    ("temperature", {"temperature": float("inf")}, "temperature must be .*, not inf"),
    ("tau", {"poison_threshold": float("nan")}, r"poison_threshold must be a number in \(0, 1\], "
     "not nan"),
    ("tau", {"poison_threshold": 1.2}, "poison_threshold must be .*, not 1.2"),
    ("tau", {"poison_threshold": 0}, "poison_threshold must be .*, not 0"),
    ("thresholds", {"thresholds": {"uncertain_top1": float("nan")}},
     r"thresholds.uncertain_top1 must be a number in \(0, 1\], not nan"),
    ("thresholds", {"thresholds": {"uncertain_top1": -0.5}}, "uncertain_top1 .*, not -0.5"),
    ("thresholds", {"thresholds": {"uncertain_top1": 0.55, "poison_head": 1.5}},
     "thresholds.poison_head must be .*, not 1.5"),
    ("classes", {"classes": [g if g != "Entoloma" else "Boletus" for g in GENERA]},
     r"classes must be the nine genera .*'Boletus', 'Hygrocybe'.*\] \(missing Entoloma\)$"),
    ("classes", {"classes": [g.lower() for g in GENERA]}, "classes must be the nine genera"),
]


@pytest.mark.parametrize("field, change, message", BAD_VALUES,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_VALUES)])
def test_values_that_break_a_safety_rule_are_refused_at_load(saved, tmp_path, field, change,
                                                             message):
    """A NaN tau or top-1 cut-off compares False with everything (the rule silently stops
    firing), a negative temperature inverts the ranking, a model without Entoloma can never
    flag it: such a checkpoint must not load, and the one-line error names field and value."""
    from mushroom.predict import load_model

    ckpt = torch.load(saved[1], map_location="cpu", weights_only=False)
    torch.save({**ckpt, **change}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=message) as refused:
        load_model(tmp_path / "bad.pt")
    assert str(refused.value).startswith(f"{tmp_path / 'bad.pt'}: ")
    assert "\n" not in str(refused.value)


def test_classes_in_another_order_and_the_shipped_model_still_load(saved, tmp_path,
                                                                   shipped_model):
    from mushroom.predict import load_model

    ckpt = torch.load(saved[1], map_location="cpu", weights_only=False)
    torch.save({**ckpt, "classes": list(reversed(GENERA)),
                "thresholds": {"uncertain_top1": 1.0, "poison_head": None}}, tmp_path / "r.pt")
    assert load_model(tmp_path / "r.pt").classes == tuple(reversed(GENERA))
    assert load_model(shipped_model).classes == GENERA


def test_weights_that_do_not_fit_the_class_list_are_a_value_error(tmp_path):
    """A RuntimeError here escaped the app's "model unavailable" message (a bare "Error")."""
    from mushroom.models import create_model

    path = tmp_path / "mismatch.pt"
    save_checkpoint(path, create_model("efficientnet_lite0", 3, pretrained=False), META)
    with pytest.raises(ValueError, match=r"mismatch\.pt is not a usable Mushroom checkpoint: "
                       "its weights do not fit a efficientnet_lite0 with 9 classes"):
        load_checkpoint(path)
