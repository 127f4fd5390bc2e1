"""The frozen-feature baseline: fitting, tau on validation, out-of-fold scoring, and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mushroom.baseline import baseline_reports
from mushroom.config import CalibConfig
from mushroom.manifest import read_manifest
from mushroom.taxonomy import GENERA, POISONOUS_INDEX
from conftest import REPORT_KEYS, ROOT


def synthetic(per_class: int = 20, noise: float = 0.3, seed: int = 0):
    """Features = a one-hot genus centre plus noise; every split and fold holds every genus."""
    rng = np.random.default_rng(seed)
    rows, feats = [], []
    for g, genus in enumerate(GENERA):
        for k in range(per_class):
            split = "test" if k % 5 == 0 else "val" if k % 5 == 1 else "train"
            rows.append({"genus": genus, "split": split, "fold": -1 if split == "test" else k % 4})
            centre = np.zeros(len(GENERA) * 2)
            centre[g] = 4.0
            feats.append(centre + rng.normal(0, noise, centre.shape))
    return np.array(feats), pd.DataFrame(rows)


def test_separable_features_score_perfectly_in_every_set():
    x, frame = synthetic()
    result = baseline_reports(x, frame, c=1.0, cv=True, calib=CalibConfig())
    sets = result["sets"]
    assert set(sets) == {"val", "test", "val+test", "cv_oof"}
    assert sets["cv_oof"]["n_images"] == int((frame.fold >= 0).sum())
    assert sets["test"]["n_images"] == int((frame.split == "test").sum())
    assert sets["val+test"]["n_images"] == int(frame.split.isin(["val", "test"]).sum())
    pooled = np.add(sets["val"]["confusion_matrix"], sets["test"]["confusion_matrix"])
    assert sets["val+test"]["confusion_matrix"] == pooled.tolist()
    for report in sets.values():
        assert set(REPORT_KEYS) <= set(report)
        assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
        assert report["top1_poisonous_recall"] == 1.0


def test_tau_flags_every_poisonous_validation_photo_even_when_top1_is_wrong():
    x, frame = synthetic(noise=0.2)
    # a validation Amanita that looks exactly like a Boletus: top-1 wrong, tiny P(poisonous)
    hard = frame.index[(frame.genus == "Amanita") & (frame.split == "val")][0]
    x[hard] = x[frame.index[(frame.genus == "Boletus") & (frame.split == "train")][0]]
    result = baseline_reports(x, frame, c=1.0, cv=False, calib=CalibConfig(margin=0.5))
    val = result["sets"]["val"]
    assert val["top1_poisonous_recall"] < 1.0
    assert val["poisonous"]["recall"] == 1.0
    assert val["poisonous"]["threshold"] == result["tau"] < 0.5
    assert "cv_oof" not in result["sets"]
    assert result["sets"]["val+test"]["poisonous"]["threshold"] == result["tau"]


def test_poison_indices_are_the_poisonous_genera():
    assert sorted(GENERA[i] for i in POISONOUS_INDEX) == ["Amanita", "Cortinarius", "Entoloma"]


@pytest.mark.slow
def test_baseline_cli_on_tiny_photos(tiny_data, tmp_path):
    out = tmp_path / "bl"
    manifest = tmp_path / "manifest.csv"
    cmd = [sys.executable, "-m", "mushroom", "manifest", "--data", str(tiny_data),
           "--out", str(manifest)]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    cmd = [sys.executable, "-m", "mushroom", "baseline", "--data", str(tiny_data), "--out",
           str(out), "--manifest", str(manifest), "--cv", "--batch-size", "8"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "frozen efficientnet_lite0 + logistic regression" in done.stdout
    result = json.loads((out / "baseline.json").read_text())
    frame = read_manifest(manifest)
    assert result["arch"] == "efficientnet_lite0"
    assert result["sets"]["test"]["n_images"] == int((frame.split == "test").sum())
    assert result["sets"]["cv_oof"]["n_images"] == int((frame.fold >= 0).sum())
    assert result["sets"]["test"]["classes"] == list(GENERA)


def test_baseline_cli_refuses_a_manifest_without_train_rows(tiny_data, tmp_path):
    manifest = tmp_path / "manifest.csv"
    cmd = [sys.executable, "-m", "mushroom", "manifest", "--data", str(tiny_data),
           "--out", str(manifest)]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    frame = read_manifest(manifest)
    frame[frame.split != "train"].to_csv(manifest, index=False)
    cmd = [sys.executable, "-m", "mushroom", "baseline", "--data", str(tiny_data), "--out",
           str(tmp_path / "bl"), "--manifest", str(manifest)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "no train split" in done.stderr
