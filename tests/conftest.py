"""Shared fixtures: tiny generated photo folders, an untrained checkpoint, real-data paths.

Nothing here needs ``../shared``; fixtures that do skip cleanly when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pillow_heif import register_heif_opener

from mushroom.taxonomy import GENERA

register_heif_opener()  # tests write HEIC files the way a phone does (the app registers its own)

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("MUSHROOM_DATA", ROOT.parent / "shared" / "data" / "mushrooms"))
SHIPPED_MODEL = ROOT / "assets" / "model.pt"


def make_photo(genus_index: int, seed: int, size: tuple[int, int] = (96, 80)) -> Image.Image:
    """A synthetic 'photo' whose colour and stripe pattern depend on the genus.

    Different seeds give visibly different images (not near-duplicates) of the same class.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    hue = np.array([(genus_index * 97) % 255, (genus_index * 53 + 40) % 255,
                    (genus_index * 29 + 90) % 255], dtype=float)
    freq = 0.05 + 0.04 * genus_index
    phase = rng.uniform(0, 2 * np.pi)
    angle = rng.uniform(0, np.pi)
    wave = np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)[..., None]
    blob = ((xx - rng.uniform(0, w)) ** 2 + (yy - rng.uniform(0, h)) ** 2 < (h / 4) ** 2)
    img = hue * (0.6 + 0.4 * wave) + rng.normal(0, 12, (h, w, 3)) + 60 * blob[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def write_tiny_dataset(root: Path, per_class: int = 6, genera: tuple[str, ...] = GENERA) -> Path:
    """Write ``root/<Genus>/<n>.jpg`` synthetic photos and return ``root``."""
    for gi, genus in enumerate(genera):
        folder = root / genus
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            make_photo(GENERA.index(genus), seed=1000 * gi + k).save(folder / f"{k:03d}.jpg",
                                                                     quality=92)
    return root


def probs_row(**genus_p: float) -> np.ndarray:
    """Probabilities over GENERA with the named genera set and the rest spread evenly."""
    row = np.zeros(len(GENERA))
    for g, p in genus_p.items():
        row[GENERA.index(g)] = p
    row[row == 0] = (1 - row.sum()) / np.sum(row == 0)
    return row


@pytest.fixture(scope="module")
def app(tiny_checkpoint):
    """The real app on a free port, serving the untrained tiny checkpoint (one per module)."""
    from server import running_app

    with running_app({"MUSHROOM_MODEL": str(tiny_checkpoint)}) as running:
        yield running


@pytest.fixture(scope="module")
def client(app):
    """A gradio_client connected to ``app``."""
    from gradio_client import Client

    return Client(app.url, verbose=False)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A fresh 9-genus folder of 6 synthetic photos each."""
    return write_tiny_dataset(tmp_path / "photos")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ImageNet-initialized (not mushroom-trained) efficientnet_lite0 checkpoint."""
    from mushroom.checkpoint import save_checkpoint
    from mushroom.models import create_model

    import torch

    torch.manual_seed(0)  # the new head's init: the same untrained answers in every run
    model = create_model("efficientnet_lite0", len(GENERA), pretrained=True)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model, {
        "arch": "efficientnet_lite0", "classes": list(GENERA), "temperature": 1.0,
        "poison_threshold": 0.3, "metrics": {}, "train_config": {}, "manifest_sha256": "",
        "version": "test", "name": "untrained-lite0",
    })
    return path


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real photos in ../shared (or $MUSHROOM_DATA); skips when absent."""
    if not (REAL_DATA / "Amanita").is_dir():
        pytest.skip(f"needs the real photos at {REAL_DATA} (not part of the repository)")
    return REAL_DATA


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    """The trained checkpoint in assets/; skips when it has not been shipped yet."""
    if not SHIPPED_MODEL.is_file():
        pytest.skip("assets/model.pt has not been trained and shipped yet")
    return SHIPPED_MODEL
