"""Where the Review tab finds its photos, label store and model: :class:`ReviewContext`,
read from the environment (and a Space's persistent storage) by :func:`context_from_env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mushroom.review import CACHE_NAME, QueueConfig

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class ReviewContext:
    """Where the tab finds its photos, store and model (from environment variables)."""

    data_dir: Path | None  # MUSHROOM_REVIEW_DATA; None when no photo folder is configured
    labels_dir: Path  # MUSHROOM_LABELS, default labels/
    model_path: Path  # MUSHROOM_MODEL, default assets/model.pt
    cfg: QueueConfig = field(default_factory=QueueConfig)  # suspicion thresholds
    predictor: object = None  # own model, only when it differs from the Identify tab's

    @property
    def cache(self) -> Path:
        """The queue cache written by ``review-queue`` or the Build button."""
        return self.labels_dir / CACHE_NAME


def context_from_env(storage: Path | None = None) -> ReviewContext:
    """Read MUSHROOM_REVIEW_DATA, MUSHROOM_LABELS and MUSHROOM_MODEL (see README).

    A photo folder that wraps the genus folders (``archive/Mushrooms/``) is entered, as
    every command's ``--data`` does. On a Space with persistent storage, the defaults are
    ``labels/`` and ``mushrooms/`` inside it: the Space's own disk forgets every decision
    at its next restart.

    Args:
        storage: the persistent folder to use; None: ``/data`` on a Space, if attached.
    """
    from mushroom.data import photo_root
    from mushroom.paths import space_storage
    from mushroom.paths import DEFAULT_MODEL

    storage = storage or space_storage()
    default_data = ROOT.parent / "shared" / "data" / "mushrooms"
    if storage is not None and (storage / "mushrooms").is_dir():
        default_data = storage / "mushrooms"
    data = os.environ.get("MUSHROOM_REVIEW_DATA") or (default_data if default_data.is_dir()
                                                      else None)
    labels = storage / "labels" if storage is not None else ROOT / "labels"
    return ReviewContext(Path(photo_root(str(data))) if data else None,
                         Path(os.environ.get("MUSHROOM_LABELS") or labels),
                         Path(os.environ.get("MUSHROOM_MODEL") or DEFAULT_MODEL))
