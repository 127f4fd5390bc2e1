"""The unfamiliar-photo detector: calibration bound, bank, size; real vs everyday photos."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from mushroom.ood import (DetectorConfig, balanced_bank, conservative_threshold, fit_detector,
                          is_unfamiliar, ood_score)

DIM = 1280


def familiar(n: int, rng: np.random.Generator, n_classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative 'post-ReLU' embeddings scattered around a few class prototypes."""
    protos = np.abs(np.random.default_rng(7).normal(size=(n_classes, DIM)))
    protos[:, DIM // 2:] = 0.0  # mushroom features live in one half of the space
    labels = rng.integers(0, n_classes, n)
    noise = np.abs(rng.normal(scale=0.6, size=(n, DIM))) * (np.arange(DIM) < DIM // 2)
    emb = protos[labels] + noise
    return emb, labels


def unfamiliar(n: int, rng: np.random.Generator) -> np.ndarray:
    """Embeddings that light up the other half of the features, like a cat or a chart."""
    emb = np.abs(rng.normal(size=(n, DIM)))
    emb[:, : DIM // 2] *= 0.5
    return emb


def test_rejects_unfamiliar_and_keeps_mushroom_rejection_under_the_cap():
    rng = np.random.default_rng(0)
    train, labels = familiar(600, rng)
    val, _ = familiar(400, rng)
    params = fit_detector(train, labels, val, max_reject=0.05)
    assert params["val_reject_rate"] <= 0.05
    fresh, _ = familiar(1500, rng)
    assert is_unfamiliar(params, fresh).mean() <= 0.05 + 0.01
    assert is_unfamiliar(params, unfamiliar(200, rng)).all()


@pytest.mark.parametrize("n, confidence", [(50, 0.9), (324, 0.9), (1000, 0.5)])
def test_conservative_threshold_is_the_largest_allowed_by_the_bound(n, confidence):
    scores = np.random.default_rng(n).normal(size=n)
    threshold, r = conservative_threshold(scores, 0.03, confidence)
    assert np.sum(scores > threshold) == r
    if r:
        assert beta.ppf(confidence, r + 1, n - r) <= 0.03
    assert beta.ppf(confidence, r + 2, n - r - 1) > 0.03
    assert r / n <= 0.03


def test_rounding_cannot_reject_the_highest_accepted_validation_photo():
    """The app recomputes validation scores with rounding of its own (scoring one photo
    instead of a batch moved the shipped model's boundary photo by 1.5e-7); a threshold
    equal to that photo's score made the app reject it while calibration counted it kept."""
    rng = np.random.default_rng(1)
    train, labels = familiar(600, rng)
    val, _ = familiar(323, rng)
    params = fit_detector(train, labels, val)
    scores = ood_score(params, val)
    r = round(params["val_reject_rate"] * len(val))
    kept = np.sort(scores)[len(val) - r - 1]
    assert np.sum(scores > params["threshold"]) == r
    assert np.sum(scores * (1 + 1e-6) > params["threshold"]) == r
    assert 0 < params["threshold"] - kept <= 1e-4
    # one photo at a time, as the app scores uploads
    singles = np.concatenate([ood_score(params, val[i:i + 1]) for i in range(len(val))])
    assert np.sum(singles > params["threshold"]) == r


def test_threshold_splits_scores_closer_than_the_margin():
    scores = np.arange(100) / 100
    _, r = conservative_threshold(scores, 0.05, 0.5)
    kept = scores[-r - 1]
    scores[-r] = kept + 4e-5  # the lowest rejected score, just above the highest kept one
    threshold, again = conservative_threshold(scores, 0.05, 0.5)
    assert again == r > 0 and threshold == pytest.approx(kept + 2e-5)
    threshold, _ = conservative_threshold(np.arange(100) / 100, 0.05, 0.5)
    assert threshold == pytest.approx(kept + 1e-4)


def test_stricter_confidence_rejects_fewer_mushroom_photos():
    scores = np.random.default_rng(3).normal(size=2000)
    _, r_loose = conservative_threshold(scores, 0.03, 0.5)
    _, r_strict = conservative_threshold(scores, 0.03, 0.99)
    assert r_strict < r_loose <= 60


def test_bank_keeps_every_rare_photo_and_has_the_requested_size():
    labels = np.array([0] * 900 + [1] * 300 + [2] * 12 + [3] * 40)
    idx = balanced_bank(labels, 400, np.random.default_rng(0))
    assert len(idx) == len(set(idx.tolist())) == 400
    kept = np.bincount(labels[idx], minlength=4)
    assert kept[2] == 12 and kept[3] == 40
    assert kept[0] >= kept[1] >= 40


def test_parameters_are_small_and_survive_pickling():
    rng = np.random.default_rng(1)
    train, labels = familiar(1500, rng, n_classes=9)
    val, _ = familiar(300, rng, n_classes=9)
    params = fit_detector(train, labels, val)
    blob = pickle.dumps(params)
    assert len(blob) < 1_000_000
    again = pickle.loads(blob)
    probe = np.vstack([val[:5], unfamiliar(5, rng)])
    np.testing.assert_array_equal(ood_score(again, probe), ood_score(params, probe))


def test_energy_mix_needs_logits_and_shapes_must_match():
    rng = np.random.default_rng(2)
    train, labels = familiar(300, rng)
    val, val_labels = familiar(200, rng)
    logits = np.eye(4)[val_labels] * 5
    params = fit_detector(train, labels, val, val_logits=logits,
                          cfg=DetectorConfig(energy_weight=0.5))
    with pytest.raises(ValueError, match="logits"):
        ood_score(params, val)
    assert ood_score(params, val, logits).shape == (200,)
    with pytest.raises(ValueError, match="do not fit"):
        ood_score(params, val[:, :100], logits)


def _sample_real(real_data, per_genus: int, seed: int) -> pd.DataFrame:
    """A grouped sample: whole near-duplicate groups go to train, val or test."""
    meta = pd.read_csv(real_data / "metadata.csv")
    meta["group"] = meta["near_duplicate_group"].fillna(pd.Series(range(len(meta))) + 1e6)
    rng = np.random.default_rng(seed)
    bucket = {g: rng.choice(["train", "val", "test"], p=[0.6, 0.25, 0.15])
              for g in meta["group"].unique()}
    meta["split"] = meta["group"].map(bucket)
    shuffled = meta.sample(frac=1.0, random_state=seed)
    return shuffled.groupby(["genus", "split"]).head(per_genus)


@pytest.mark.slow
def test_real_photos_vs_everyday_photos(real_data, tiny_checkpoint):
    """ImageNet features (untrained head): everyday photos rejected, few mushrooms rejected."""
    from mushroom.imageio import open_image
    from mushroom.nonmushroom import collect
    from mushroom.predict import load_model
    from mushroom.taxonomy import GENERA

    predictor = load_model(tiny_checkpoint)
    sample = _sample_real(real_data, per_genus=24, seed=0)
    emb = {}
    for split, rows in sample.groupby("split"):
        images = [open_image(real_data / f) for f in rows["file"]]
        emb[split] = (predictor.predict(images).embedding,
                      rows["genus"].map(GENERA.index).to_numpy())
    params = fit_detector(emb["train"][0], emb["train"][1], emb["val"][0], max_reject=0.05)
    everyday = predictor.predict([im for _, im in collect()]).embedding
    mushroom_rate = is_unfamiliar(params, emb["test"][0]).mean()
    everyday_rate = is_unfamiliar(params, everyday).mean()
    print(f"\nrejected: {mushroom_rate:.1%} of {len(emb['test'][0])} mushroom test photos, "
          f"{everyday_rate:.1%} of {len(everyday)} everyday photos")
    assert everyday_rate >= 0.9
    assert mushroom_rate <= 0.15


def test_off_subspace_photos_are_rejected_even_when_their_projection_looks_familiar():
    # Unfamiliar photos = a familiar direction plus a large part outside the training span.
    rng = np.random.default_rng(4)
    train, labels = familiar(600, rng)
    val, _ = familiar(300, rng)
    params = fit_detector(train, labels, val, cfg=DetectorConfig(n_components=16))
    base, _ = familiar(50, rng)
    off = np.zeros_like(base)
    off[:, DIM // 2:] = np.abs(rng.normal(size=(50, DIM // 2))) * 3
    assert is_unfamiliar(params, base + off).all()
    assert is_unfamiliar(params, base).mean() <= 0.1


def test_legacy_parameters_keep_their_scoring():
    rng = np.random.default_rng(5)
    train, labels = familiar(300, rng)
    val, _ = familiar(200, rng)
    params = fit_detector(train, labels, val)
    legacy = {**params, "method": "uncentered-pca-cosine-knn"}
    probe = unfamiliar(5, rng)
    # Re-normalized queries have unit length, so their similarity can only be higher.
    assert (ood_score(legacy, probe) <= ood_score(params, probe) + 1e-6).all()
    assert not np.allclose(ood_score(legacy, probe), ood_score(params, probe))
