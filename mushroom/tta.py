"""Test-time augmentation: average the network over rescaled and mirrored views of a photo.

Every view is the same centre square of the photo (the eval transform's framing). The eval
transform frames it once, at the largest view size, and the smaller views are resampled from
that tensor, so one decode serves them all. Genus logits, the poison-head logit and the
embedding are averaged over the views, so temperature, tau, the unfamiliar-photo detector and
the conformal sets are all fitted on exactly what the app computes.

Views larger than the training size help because training crops zoom in (random resized
crops), so objects look bigger in training than in a plain centre crop (Touvron et al. 2019,
"Fixing the train-test resolution discrepancy"). Which views a checkpoint uses is measured,
not assumed: see the model card.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

MIN_SIZE, MAX_SIZE = 32, 1024  # sane bounds on a view's side in pixels


@dataclass(frozen=True)
class TTA:
    """Which views of a photo the network sees at inference."""

    sizes: tuple[int, ...]  # sides in pixels of the centre-square views, e.g. (256, 288)
    flip: bool = True  # also average each view's horizontal mirror image

    def __post_init__(self):
        if not self.sizes or any(not MIN_SIZE <= int(s) <= MAX_SIZE for s in self.sizes):
            raise ValueError(f"view sizes must be {MIN_SIZE}-{MAX_SIZE} px, got {self.sizes}")
        object.__setattr__(self, "sizes", tuple(sorted({int(s) for s in self.sizes})))

    @property
    def frame_size(self) -> int:
        """Side the eval transform frames the photo at: the largest view."""
        return max(self.sizes)

    @property
    def n_views(self) -> int:
        """Forward passes per photo."""
        return len(self.sizes) * (2 if self.flip else 1)

    def to_meta(self) -> dict[str, Any]:
        """JSON-ready form stored in the checkpoint (``meta["tta"]``)."""
        return {"sizes": list(self.sizes), "flip": self.flip}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> TTA | None:
        """The checkpoint's views, or None for a single centre view."""
        spec = meta.get("tta")
        return cls(tuple(spec["sizes"]), bool(spec.get("flip", True))) if spec else None

    def views(self, batch: torch.Tensor) -> Iterator[torch.Tensor]:
        """Each view of a normalized (B, 3, S, S) batch framed at :attr:`frame_size`."""
        for size in self.sizes:
            x = batch if batch.shape[-1] == size else F.interpolate(
                batch, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            x = x.contiguous(memory_format=torch.channels_last)
            yield x
            if self.flip:
                yield x.flip(-1).contiguous(memory_format=torch.channels_last)


def parse(spec: str | None) -> TTA | None:
    """``"256,288"`` -> views at 256 and 288 px with mirrors; ``"none"`` -> None.

    Raises:
        ValueError: the sizes are not integers within bounds.
    """
    if spec is None or spec.strip().lower() in ("", "none", "off"):
        return None
    try:
        sizes = tuple(int(s) for s in spec.split(","))
    except ValueError as err:
        raise ValueError(f"--tta takes comma-separated pixel sizes or 'none', got {spec!r}") \
            from err
    return TTA(sizes)


def forward(model, batch: torch.Tensor, tta: TTA | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(genus logits, poison logit, embedding) of ``batch``, averaged over the views.

    With ``tta`` None the batch is one view at whatever size it comes in.
    """
    if tta is None:
        return model.classify(model.features(batch.contiguous(memory_format=torch.channels_last)))
    outs = [model.classify(model.features(view)) for view in tta.views(batch)]
    return tuple(torch.stack([o[i].float() for o in outs]).mean(0) for i in range(3))
