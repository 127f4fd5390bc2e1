"""The unfamiliar-photo detector: refuse to name a genus for photos unlike any training photo.

Score: cosine kNN distance, computed in a small subspace. Embeddings are L2-normalized and
projected on the top ``n_components`` right singular vectors of the *uncentered* training
embeddings. Bank photos (a class-balanced sample of training photos) are normalized again
inside the subspace; queries are not, so a photo whose embedding lies largely outside the
subspace keeps a short projection and a low similarity. The score is ``1 - similarity`` to
the ``k``-th nearest bank photo.

Why this design (measured on the real photos against the 53 photos of
:mod:`mushroom.nonmushroom`, thresholds set on validation as below):

- class-conditional Mahalanobis, energy and max-logit rejected 0-32% of non-mushroom photos
  (ImageNet lite0 features) and 8-26% with the trained model: what tells a cat from a
  mushroom is mostly the direction of the mean embedding, which centring removes, and
  small-variance directions that a low-rank covariance ignores;
- re-normalizing queries after projection threw away exactly that off-subspace part: 74%
  rejected with the trained model, against 98% without (full 1280-d cosine kNN: 98% too);
- ``k = 5`` rather than 1, so one odd training photo (a drawing, a logo) cannot vouch for
  a whole region of non-mushroom space.

An energy score (``-logsumexp(logits)``) can be mixed in with ``energy_weight``; it is off
by default because alone it rejected 11% of non-mushroom photos with the trained model.

Threshold: calibrated on validation photos (never in the bank) so that *at most*
``max_reject`` of real mushroom photos are rejected, with a margin: the largest number of
rejections whose one-sided Clopper-Pearson upper bound (at ``confidence``) on the true
rejection rate is still ``<= max_reject``.

Parameters are a small dict of numpy arrays (fp16 bank and basis: about 0.6 MB at the
defaults) stored in the checkpoint under ``"ood"``. Pure numpy/scipy; no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

METHOD = "uncentered-pca-knn"
LEGACY_METHOD = "uncentered-pca-cosine-knn"
"""First version (queries re-normalized); still scored as fitted, so old checkpoints work."""


TIE_MARGIN = 1e-4
"""Room left above the highest accepted validation score. The same photo's score moves by
about 1e-7 between computations the app and calibration may both make (one photo or a batch
in the matrix product, BatchNorm folded or not); 1e-4 is 1000 times that and still far
below the usual spacing of validation scores near the threshold (about 1e-2)."""


@dataclass
class DetectorConfig:
    """How the unfamiliar-photo detector is fitted."""

    n_components: int = 128  # subspace size; bank and basis memory grow linearly with it
    bank_size: int = 1024  # training photos kept for kNN (class-balanced subsample)
    k: int = 5  # distance to the k-th nearest bank photo is the score
    max_reject: float = 0.03  # most validation mushroom photos allowed to be rejected
    confidence: float = 0.9  # confidence that the true rejection rate stays <= max_reject
    energy_weight: float = 0.0  # weight of the standardized energy score; 0 = kNN alone
    seed: int = 0  # drives the bank subsample


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def balanced_bank(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``size`` photos, taking all of a rare class before trimming big ones.

    Water-filling: every class gets ``min(count, share)`` with the largest ``share`` that
    fits, so rare genera are never thinned (thinning them would make their photos look
    unfamiliar), and leftover slots go to random photos of the big classes.
    """
    labels = np.asarray(labels)
    if len(labels) <= size:
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    share = 0
    while np.minimum(counts, share + 1).sum() <= size:
        share += 1
    picked = [rng.permutation(np.flatnonzero(labels == c))[:share] for c in classes]
    chosen = np.concatenate(picked)
    rest = np.setdiff1d(np.arange(len(labels)), chosen)
    extra = rng.choice(rest, size - len(chosen), replace=False)
    return np.sort(np.concatenate([chosen, extra]))


def conservative_threshold(scores: np.ndarray, max_reject: float,
                           confidence: float) -> tuple[float, int]:
    """Threshold rejecting the ``r`` highest scores, ``r`` as large as the bound allows.

    The threshold lies :data:`TIE_MARGIN` above the highest accepted score (half-way to the
    lowest rejected one when they are closer), not on it: the app recomputes that photo's
    score with float32 rounding of its own, and a threshold equal to it made the app reject
    a validation photo that calibration had counted as accepted.

    Returns:
        ``(threshold, r)``; photos with ``score > threshold`` are rejected.
    """
    from scipy.stats import beta

    s = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(s)
    if n == 0:
        raise ValueError("need validation photos to calibrate the detector")
    r = 0
    # Upper bound on the rate after r + 1 rejections: Beta(conf; r + 2, n - r - 1).
    while r + 1 < n and beta.ppf(confidence, r + 2, n - r - 1) <= max_reject:
        r += 1
    kept = s[n - r - 1]
    gap = s[n - r] - kept if r else np.inf
    return float(kept + min(TIE_MARGIN, gap / 2)), r


def _project(basis: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """Unit embeddings projected on the subspace, *not* re-normalized (see module docstring)."""
    return unit(emb) @ np.asarray(basis, dtype=np.float32).T


def knn_distance(params: dict, emb: np.ndarray) -> np.ndarray:
    """``1 - similarity`` to the ``k``-th nearest bank photo, per row of ``emb``."""
    z = _project(params["basis"], emb)
    if params.get("method") == LEGACY_METHOD:
        z = unit(z)
    sims = z @ np.asarray(params["bank"], dtype=np.float32).T
    k = min(int(params["k"]), sims.shape[1])
    kth = np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k]
    return 1.0 - kth.astype(np.float64)


def energy(logits: np.ndarray) -> np.ndarray:
    """Energy score ``-logsumexp(logits)``: higher means less familiar."""
    from scipy.special import logsumexp

    return -logsumexp(np.asarray(logits, dtype=np.float64), axis=1)


def ood_score(params: dict, emb: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
    """Unfamiliarity score per photo (higher = less like the training photos).

    Raises:
        ValueError: the detector mixes in energy but ``logits`` is None, or the
            embedding width does not match the detector.
    """
    emb = np.asarray(emb)
    if emb.ndim != 2 or emb.shape[1] != np.shape(params["basis"])[1]:
        raise ValueError(f"embeddings of shape {emb.shape} do not fit a detector fitted on "
                         f"width {np.shape(params['basis'])[1]}")
    score = knn_distance(params, emb)
    w = float(params.get("energy_weight", 0.0))
    if w == 0.0:
        return score
    if logits is None:
        raise ValueError("this detector uses the energy score: pass the logits too")
    (kc, ks), (ec, es) = params["knn_norm"], params["energy_norm"]
    return (score - kc) / ks + w * (energy(logits) - ec) / es


def is_unfamiliar(params: dict, emb: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
    """Boolean per photo: True means reject ("no mushroom found")."""
    return ood_score(params, emb, logits) > float(params["threshold"])


def fit_detector(train_emb: np.ndarray, train_labels: np.ndarray, val_emb: np.ndarray,
                 val_logits: np.ndarray | None = None, max_reject: float | None = None,
                 cfg: DetectorConfig | None = None) -> dict:
    """Fit the detector on training embeddings and calibrate its threshold on validation.

    Args:
        train_emb: (N, D) embeddings of training photos (the bank is drawn from them).
        train_labels: (N,) genus indices, for the class-balanced bank.
        val_emb: (M, D) embeddings of held-out mushroom photos; none of them may be in
            ``train_emb``, or their distance is zero and the threshold comes out too low.
        val_logits: (M, C) genus logits of the same photos; needed only with energy.
        max_reject: overrides ``cfg.max_reject`` when given.
        cfg: detector settings; defaults to :class:`DetectorConfig`.

    Returns:
        Parameters for :func:`ood_score` / :func:`is_unfamiliar` (numpy arrays, fp16 bank
        and basis) plus ``val_reject_rate``, ``n_val`` and the config used.
    """
    cfg = cfg or DetectorConfig()
    if max_reject is not None:
        cfg = DetectorConfig(**{**asdict(cfg), "max_reject": max_reject})
    train = unit(train_emb)
    if len(train) != len(train_labels) or len(train) == 0:
        raise ValueError("need one label per training embedding, and at least one photo")
    n_comp = min(cfg.n_components, *train.shape)
    basis = np.linalg.svd(train, full_matrices=False)[2][:n_comp].astype(np.float16)
    idx = balanced_bank(train_labels, cfg.bank_size, np.random.default_rng(cfg.seed))
    params = {"method": METHOD, "basis": basis,
              "bank": unit(_project(basis, train[idx])).astype(np.float16), "k": cfg.k,
              "energy_weight": float(cfg.energy_weight), "config": asdict(cfg)}
    if cfg.energy_weight:
        params.update(_energy_norms(params, val_emb, val_logits))
    val_scores = ood_score(params, val_emb, val_logits)
    threshold, rejected = conservative_threshold(val_scores, cfg.max_reject, cfg.confidence)
    params.update(threshold=threshold, max_reject=cfg.max_reject, n_val=len(val_scores),
                  val_reject_rate=rejected / len(val_scores))
    return params


def _energy_norms(params: dict, val_emb: np.ndarray, val_logits: np.ndarray | None) -> dict:
    """Mean and std of both scores on validation, so they can be added on one scale."""
    if val_logits is None:
        raise ValueError("energy_weight > 0 needs val_logits")
    knn, en = knn_distance(params, val_emb), energy(val_logits)
    return {"knn_norm": [float(knn.mean()), float(knn.std() + 1e-12)],
            "energy_norm": [float(en.mean()), float(en.std() + 1e-12)]}
