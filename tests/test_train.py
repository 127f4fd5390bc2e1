"""The ``train`` CLI end to end on a tiny generated dataset, and the staged loop's pieces."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mushroom import labels
from mushroom.checkpoint import REQUIRED_KEYS
from mushroom.config import CalibConfig, TrainConfig
from mushroom.engine import balanced_sampler, class_weights
from mushroom.predict import load_model
from mushroom.prior import ALPHAS
from mushroom.taxonomy import GENERA, POISONOUS
from conftest import ROOT, make_photo


@pytest.mark.slow
def test_train_cli_end_to_end(tiny_data, tmp_path):
    out, store = tmp_path / "run", tmp_path / "labels"
    # the experts' labels reach the run: a relabel (with its species) and an exclusion
    labels.record(store, tiny_data, "Russula/001.jpg", "alice", genus="Amanita",
                  species="Amanita muscaria")
    labels.record(store, tiny_data, "Boletus/002.jpg", "alice", flags=("not_a_mushroom",))
    # 64-pixel inputs: what is checked here does not depend on the side, and the network's
    # passes cost a twelfth of the backbone's default 224 (the run's slowest part on a CPU)
    cmd = [sys.executable, "-m", "mushroom", "train", "--data", str(tiny_data), "--out", str(out),
           "--epochs", "1,1,1,1", "--workers", "0", "--batch-size", "16", "--labels", str(store),
           "--input-size", "64"]
    out.mkdir()  # an earlier --cv run's leftovers must not pass for this model's
    for stale in ("oof.npz", "oof_predictions.csv"):
        (out / stale).write_bytes(b"an earlier run's")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stage=4-all epoch=1" in done.stdout
    assert "labels: genus corrections: 1" in done.stdout
    assert "labels: excluded (flagged): 1" in done.stdout
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False).set_index("path")
    assert manifest.loc["Russula/001.jpg", ["genus", "species", "label_source"]].tolist() == [
        "Amanita", "Amanita muscaria", "expert"]
    assert "Boletus/002.jpg" not in manifest.index
    assert not (out / "oof.npz").exists() and not (out / "oof_predictions.csv").exists()
    assert not (out / "train_state.pt").exists()  # the progress file goes once model.pt is in
    ckpt = torch.load(out / "model.pt", map_location="cpu", weights_only=False)
    assert all(k in ckpt for k in REQUIRED_KEYS)
    assert {v.dtype for v in ckpt["state_dict"].values() if v.is_floating_point()} == {
        torch.float16}
    assert (out / "model.pt").stat().st_size < 10_000_000
    report = json.loads((out / "train_report.json").read_text())
    assert [h["stage"] for h in report["history"]] == ["1-head", "2-adapter", "3-upper-half",
                                                        "4-all"]
    # the tau rule: every poisonous validation photo is flagged at the shipped threshold
    assert report["metrics"]["val"]["poison_recall"] == 1.0
    predictor = load_model(out / "model.pt")
    pred = predictor.predict([make_photo(1, seed=7)])
    assert pred.probs.shape == (1, 9) and np.isclose(pred.probs.sum(), 1.0, atol=1e-5)
    assert predictor.poison_threshold == ckpt["poison_threshold"]

    # calibrate: a doubled margin doubles tau on the same saved outputs, for each signal
    # whose tau sat inside (min_tau, max_tau / 2); the shipped poison_threshold alone could
    # be the fixed veto (the head primary) and check nothing...
    calibrate = [sys.executable, "-m", "mushroom", "calibrate", "--run", str(out)]
    done = subprocess.run(calibrate + ["--margin", str(2 * CalibConfig.margin)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    doubled = torch.load(out / "model.pt", weights_only=False)["thresholds"]
    inside = [s for s in ("rule", "head")
              if CalibConfig.min_tau < ckpt["thresholds"][s]["tau"] < CalibConfig.max_tau / 2]
    assert inside, ckpt["thresholds"]
    for signal in inside:
        assert doubled[signal]["tau"] == pytest.approx(2 * ckpt["thresholds"][signal]["tau"],
                                                       rel=1e-4), signal
    # ...and with --data it first re-predicts every split from the saved fp16 checkpoint,
    # which is the network training predicted them with too: the app's (fp16, folded).
    before = dict(np.load(out / "outputs.npz"))
    (out / "outputs.npz").unlink()
    done = subprocess.run(calibrate + ["--data", str(tiny_data)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    after = dict(np.load(out / "outputs.npz"))
    assert after.keys() == before.keys()
    assert all(np.array_equal(after[k], before[k]) for k in after if k.endswith("_targets"))
    assert all(np.array_equal(after[k], before[k]) for k in after if k.endswith("_embedding"))
    report = json.loads((out / "train_report.json").read_text())
    assert report["metrics"]["val"]["poison_recall"] == 1.0
    ckpt = torch.load(out / "model.pt", weights_only=False)
    assert ckpt["logit_adjustment"]["alpha"] in ALPHAS
    # Out-of-fold outputs with one buried poisonous photo lower tau, unless they may only
    # widen the conformal sets (--oof-sets-only, how a soup is calibrated).
    val_tau = ckpt["thresholds"]["rule"]["tau"]
    oof = {k[4:]: v for k, v in after.items() if k.startswith("val_")}
    oof["index"] = np.arange(len(oof["targets"]))
    first = int(np.flatnonzero(np.isin(oof["targets"], [GENERA.index(g) for g in POISONOUS]))[0])
    oof["logits"][first] = -20.0
    oof["logits"][first, GENERA.index("Boletus")] = 20.0
    np.savez_compressed(out / "oof.npz", **oof)
    for flags, lower in (([], True), (["--oof-sets-only"], False)):
        done = subprocess.run(calibrate + flags, cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        meta = torch.load(out / "model.pt", weights_only=False)
        tau = meta["thresholds"]["rule"]["tau"]
        assert (tau < val_tau / 2) if lower else tau == pytest.approx(val_tau, rel=1e-6)
        # other models' out-of-fold outputs are not this model's cross-validation
        assert ("cv" in meta["metrics"]) == lower
    # Test-time views: changing them needs the photos (the saved outputs would be stale);
    # with them every split is re-predicted through the views and the checkpoint says so.
    done = subprocess.run(calibrate + ["--tta", "224,256"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2 and "needs --data" in done.stderr
    done = subprocess.run(calibrate + ["--tta", "224,256", "--data", str(tiny_data)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert torch.load(out / "model.pt", weights_only=False)["tta"] == {"sizes": [224, 256],
                                                                       "flip": True}
    predictor = load_model(out / "model.pt")
    assert predictor.preprocess([make_photo(1, seed=7)]).shape[-1] == 256
    viewed = dict(np.load(out / "outputs.npz"))
    assert np.allclose(viewed["test_logits"][:4], predictor.predict(
        [Image.open(p) for p in split_photos(out, tiny_data)[:4]]).logits, atol=2e-3)
    # rebalance retrains only the genus head, then recalibrates.
    before = torch.load(out / "model.pt", weights_only=False)
    done = subprocess.run([sys.executable, "-m", "mushroom", "rebalance", "--run", str(out),
                           "--data", str(tiny_data), "--epochs", "2", "--views", "1",
                           "--lr", "0.01"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    after = torch.load(out / "model.pt", weights_only=False)
    assert [h["epoch"] for h in after["rebalance"]["history"]] == [0, 1, 2]
    frozen = [k for k in before["state_dict"] if not k.startswith("head.")]
    assert all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in frozen)
    assert "logit_adjustment" in after and after["metrics"]["val"]["poison_recall"] == 1.0


def split_photos(run, data) -> list:
    """The test split's photos in manifest order (the order of ``outputs.npz``)."""
    import pandas as pd

    frame = pd.read_csv(run / "manifest.csv")
    return [data / p for p in frame.loc[frame["split"] == "test", "path"]]


def test_train_cli_rejects_bad_epochs(tiny_data, tmp_path):
    cmd = [sys.executable, "-m", "mushroom", "train", "--data", str(tiny_data), "--out",
           str(tmp_path / "r"), "--epochs", "1,1"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--epochs needs 4 comma-separated whole numbers" in done.stderr


def test_balanced_sampler_evens_out_rare_classes():
    targets = [0] * 900 + [1] * 10
    sampler = balanced_sampler(targets, 2, power=1.0, seed=0)
    drawn = np.bincount(np.asarray(targets)[list(sampler)], minlength=2)
    assert 0.4 < drawn[1] / drawn.sum() < 0.6  # fully balanced at power 1
    w = class_weights(targets, 3, power=0.5)
    assert w[2] == 0 and w[1] > w[0]


def test_default_recipe_is_the_studys_four_stages():
    stages = TrainConfig().stages
    assert [s.cached for s in stages] == [True, True, False, False]
    assert "adapter" not in stages[0].trainable and "adapter" in stages[1].trainable
    assert "upper" in stages[2].trainable and "lower" not in stages[2].trainable
    assert {"lower", "upper", "adapter", "head"} <= set(stages[3].trainable)


def test_soup_ingredients_share_their_init_but_not_their_data_seed():
    from mushroom.train import seeded_model

    a = seeded_model(TrainConfig(seed=1, init_seed=0))
    after_a = torch.rand(3)
    b = seeded_model(TrainConfig(seed=2, init_seed=0))
    after_b = torch.rand(3)
    c = seeded_model(TrainConfig(seed=1, init_seed=5))
    down = "adapter.down.weight"
    assert torch.equal(a.state_dict()[down], b.state_dict()[down])
    assert not torch.equal(a.state_dict()[down], c.state_dict()[down])
    assert not torch.equal(after_a, after_b)  # the data seed still drives what follows
