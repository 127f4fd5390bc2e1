"""Everyday non-mushroom photos from installed packages: enough, distinct, usable, writable."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import imagehash
import numpy as np
import pytest

from conftest import ROOT
from mushroom.imageio import open_image
from mushroom.nonmushroom import LICENCES, collect, to_pil


@pytest.fixture(scope="module")
def photos():
    return collect()


def test_at_least_forty_rgb_photos_with_unique_names_and_known_sources(photos):
    names = [n for n, _ in photos]
    assert len(photos) >= 40
    assert len(set(names)) == len(names)
    assert {n.split("-")[0] for n in names} <= set(LICENCES)
    assert all(im.mode == "RGB" and min(im.size) >= 32 for _, im in photos)


def test_photos_are_not_near_duplicates_of_each_other(photos):
    # Package photos: distinct by perceptual hash, the training pipeline's duplicate test.
    hashes = [(n, imagehash.phash(im)) for n, im in photos if not n.startswith("synth")]
    close = [(a, b) for i, (a, ha) in enumerate(hashes) for b, hb in hashes[i + 1:]
             if ha - hb <= 6]
    assert close == []
    # Rendered ones have too little structure to hash apart; they must at least differ.
    pixels = {hashlib.sha256(im.tobytes()).hexdigest() for _, im in photos}
    assert len(pixels) == len(photos)


def test_real_photos_outnumber_nothing_but_synthetic(photos):
    real = collect(synthetic=False)
    assert len(real) >= 30
    assert not any(n.startswith("synth") for n, _ in real)
    assert len(photos) > len(real)


def test_cli_writes_a_folder_the_app_can_read(tmp_path):
    out = tmp_path / "everyday"
    done = subprocess.run([sys.executable, "-m", "mushroom.nonmushroom", "--out", str(out),
                           "--no-synthetic"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.jpg"))
    assert f"wrote {len(files)} " in done.stdout and len(files) >= 30
    for path in files[:5]:
        assert open_image(path).mode == "RGB"


def test_to_pil_handles_every_array_kind():
    grey = to_pil(np.arange(64, dtype=np.uint8).reshape(8, 8))
    mask = to_pil(np.eye(8, dtype=bool))
    floats = to_pil(np.linspace(-1, 1, 64).reshape(8, 8))
    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent: must come out white
    assert {im.mode for im in (grey, mask, floats, to_pil(rgba))} == {"RGB"}
    assert np.asarray(to_pil(rgba)).min() == 255
    assert np.asarray(floats).max() == 255 and np.asarray(floats).min() == 0
    assert np.asarray(mask)[0, 0, 0] == 255 and np.asarray(mask)[0, 1, 0] == 0
