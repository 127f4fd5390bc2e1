"""The review queue: which labeled photos an expert should look at first.

Suspicion order, most suspicious first:

1. tier 0, the model disagrees with the given label (its top genus is another one),
   sorted by the probability of the given label, lowest first;
2. tier 1, the model agrees but gives the label less than ``uncertain_below``,
   again lowest first;
3. tier 2, confident agreement, sorted by margin (top-1 minus top-2), smallest first.

The "given" label is the photo's folder: the order is a property of the data set and the
model, so it stays put while experts work (the item view shows the current consensus).
Probabilities come from out-of-fold predictions when a photo has one (a model never scores
photos it was trained on), else from the current model. They are computed once with
``python -m mushroom review-queue`` and cached as CSV; the order is recomputed from the
cache on every load together with the current review state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mushroom.atomic import write_atomic
from mushroom.taxonomy import GENERA

DEFAULT_OOF = Path(__file__).resolve().parent.parent / "assets" / "oof_predictions.csv"
CACHE_NAME = "queue.csv"
TIER_NAMES = ("model disagrees", "low confidence in the label", "confident, lowest margin first")


@dataclass
class QueueConfig:
    """How suspicion is scored and how the queue is computed."""

    uncertain_below: float = 0.55  # given-label probability under this is tier 1 "uncertain"
    batch_size: int = 16  # photos per forward pass when the model scores them


def prob_columns(classes: Iterable[str]) -> list[str]:
    """Cache column names for the class probabilities (``p_<Genus>``)."""
    return [f"p_{c}" for c in classes]


def suspicion(probs: np.ndarray, given: np.ndarray, cfg: QueueConfig) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Tier and within-tier score (lower = more suspicious) of each photo.

    Args:
        probs: (N, C) class probabilities.
        given: (N,) index of the given label in the class order, -1 if not a class.
        cfg: thresholds.

    Returns:
        ``(tier, score)`` arrays; sort by tier, then score, both ascending.
    """
    rows = np.arange(len(probs))
    p_given = np.where(given >= 0, probs[rows, np.maximum(given, 0)], 0.0)
    ranked = np.sort(probs, axis=1)
    margin = ranked[:, -1] - ranked[:, -2]
    disagree = (given < 0) | (probs.argmax(axis=1) != given)
    tier = np.where(disagree, 0, np.where(p_given < cfg.uncertain_below, 1, 2))
    return tier, np.where(tier < 2, p_given, margin)


def model_key(model_path: str | Path, predictor) -> str:
    """Identifies the scoring model in the cache: name, version and file hash."""
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()[:12]
    return f"{predictor.name} {predictor.version} {digest}"


def shipped_oof_fits(model: str | Path) -> bool:
    """Whether :data:`DEFAULT_OOF` may score photos beside ``model``.

    They are the shipped model's out-of-fold probabilities and are preferred wherever they
    cover a photo, so beside another model (another content, whatever its path) they would
    leave it next to nothing to score. A missing ``model`` takes them: nothing else scores.
    """
    import filecmp

    from mushroom.paths import DEFAULT_MODEL

    return not Path(model).is_file() or (DEFAULT_MODEL.is_file() and
                                         filecmp.cmp(model, DEFAULT_MODEL, shallow=False))


def read_oof(path: str | Path | None) -> pd.DataFrame | None:
    """Out-of-fold probabilities indexed by image id, or None when there is no file."""
    if path is None or not Path(path).is_file():
        return None
    try:
        oof = pd.read_csv(path, dtype={"image_id": str})
    except pd.errors.EmptyDataError:  # an empty file: refused below, by its name
        oof = pd.DataFrame()
    missing = {"image_id", *prob_columns(GENERA)} - set(oof.columns)
    if missing:
        raise ValueError(f"{path} lacks columns {sorted(missing)}")
    return oof.drop_duplicates("image_id", keep="last").set_index("image_id")


def list_photos(data_dir: str | Path) -> pd.DataFrame:
    """Every photo under a genus folder: path, folder_genus, image_id.

    Raises:
        FileNotFoundError: no such folder.
        ValueError: no photo in genus folders (the message names the fix when it can).
    """
    from mushroom.data import CleaningReport, file_id, no_folder, no_photos_message, scan

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise no_folder(data_dir)
    report = CleaningReport()
    found = scan(data_dir, report)
    if not found:
        raise ValueError(no_photos_message(data_dir, report))
    return pd.DataFrame({"path": [p for p, _ in found], "folder_genus": [g for _, g in found],
                         "image_id": [file_id(data_dir / p) for p, _ in found]})


def score_photos(data_dir: Path, photos: pd.DataFrame, predictor, cfg: QueueConfig,
                 progress: Callable[[Iterable], Iterable]) -> tuple[np.ndarray, list[int]]:
    """Model probabilities (in :data:`GENERA` order) for ``photos``; also unreadable rows."""
    from mushroom.imageio import BadImage, open_image

    order = [predictor.classes.index(g) if g in predictor.classes else -1 for g in GENERA]
    probs, bad = np.zeros((len(photos), len(GENERA))), []
    starts = list(range(0, len(photos), cfg.batch_size))
    for start in progress(starts):
        images, rows = [], []
        for i in range(start, min(start + cfg.batch_size, len(photos))):
            try:
                images.append(open_image(data_dir / photos["path"].iat[i]))
                rows.append(i)
            except BadImage:
                bad.append(i)
        if images:
            p = predictor.predict(images).probs
            probs[rows] = np.where(np.array(order) >= 0, p[:, np.maximum(order, 0)], 0.0)
    return probs, bad


def build_queue(data_dir: str | Path, cache: str | Path, model_path: str | Path | None,
                oof_path: str | Path | None = None, cfg: QueueConfig | None = None,
                progress: Callable[[Iterable], Iterable] = lambda it: it) -> dict[str, int]:
    """Score every photo (out-of-fold first, then the model) and write the cache CSV.

    Rows already cached for the same photo and model are reused, so reruns are quick. Each
    photo's near-duplicate group is computed too (:mod:`mushroom.review_near`).

    Returns:
        Counts: photos, from_oof, predicted, reused, unreadable.
    """
    from mushroom.review_near import add_near_groups

    cfg = cfg or QueueConfig()
    data_dir, cache = Path(data_dir), Path(cache)
    photos = list_photos(data_dir)  # raises before the cache is touched when it is empty
    oof = read_oof(oof_path)
    cols = prob_columns(GENERA)
    in_oof = photos["image_id"].isin(oof.index) if oof is not None else photos["path"].isna()
    photos["source"], photos["model"] = "oof", "out-of-fold"
    probs = np.zeros((len(photos), len(GENERA)))
    if in_oof.any():
        probs[in_oof.to_numpy()] = oof.loc[photos.loc[in_oof, "image_id"], cols].to_numpy()
    todo = photos.index[~in_oof]
    counts = {"photos": len(photos), "from_oof": int(in_oof.sum()), "predicted": 0,
              "reused": 0, "unreadable": 0}
    if len(todo):
        probs, counts = _model_probs(data_dir, photos, probs, todo, cache, model_path, cfg,
                                     progress, counts)
    add_near_groups(data_dir, photos, cache, progress, cfg.batch_size)
    frame = pd.concat([photos, pd.DataFrame(probs, columns=cols)], axis=1)
    frame = frame[frame["source"] != "unreadable"]
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(cache, lambda f: frame.to_csv(f, index=False))
    return counts


def _model_probs(data_dir, photos, probs, todo, cache, model_path, cfg, progress, counts):
    """Fill ``probs`` for rows ``todo`` from the cache or the model (helper of build_queue)."""
    from mushroom.predict import load_model

    if model_path is None or not Path(model_path).is_file():
        raise FileNotFoundError(f"no model at {model_path} and no out-of-fold probabilities "
                                f"for {len(todo)} photos")
    predictor = load_model(model_path)
    key = model_key(model_path, predictor)
    photos.loc[todo, ["source", "model"]] = ["model", key]
    old = pd.read_csv(cache, dtype={"image_id": str}) if cache.is_file() else None
    cols = prob_columns(GENERA)
    if old is not None and set(cols) <= set(old.columns):
        old = old[old["model"] == key].drop_duplicates("image_id").set_index("image_id")
        hit = photos.loc[todo, "image_id"].isin(old.index)
        probs[todo[hit]] = old.loc[photos.loc[todo[hit], "image_id"], cols].to_numpy()
        counts["reused"] = int(hit.sum())
        todo = todo[~hit.to_numpy()]
    fresh, bad = score_photos(data_dir, photos.loc[todo].reset_index(drop=True), predictor, cfg,
                              progress)
    probs[todo] = fresh
    photos.loc[todo[bad], "source"] = "unreadable"
    counts["predicted"], counts["unreadable"] = len(todo) - len(bad), len(bad)
    return probs, counts


# (cache file, cfg) -> (its stat key, the store's version, ranked frame, joined frame)
_LOADED: dict[tuple, tuple] = {}


def load_queue(cache: str | Path, labels_dir: str | Path,
               cfg: QueueConfig | None = None) -> pd.DataFrame:
    """The cached queue in suspicion order, joined with the experts' current decisions.

    Files are parsed again only when they changed (by any process), so repeated calls are
    cheap at the full data set's scale; each call returns its own copy.

    Returns:
        One row per photo, most suspicious first, with the cache columns plus ``rank``,
        ``tier``, ``score``, the effective ``genus``/``species``/``flags``, ``votes`` (how
        many experts voted), ``reviewers`` (their names, ";"-joined) and ``agreement``
        (share of votes for the outcome; 1.0 when unreviewed).
    """
    from mushroom.consensus import current, review_columns
    from mushroom.filecache import stat_key
    from mushroom.labels import read_store

    cfg = cfg or QueueConfig()
    key = (Path(cache).absolute(), astuple(cfg))
    file_key, store_version = stat_key(cache), read_store(labels_dir)[1]
    hit = _LOADED.get(key)
    if hit is None or hit[:2] != (file_key, store_version):
        # the ranking depends on the cache file only: a new vote just redoes the join
        ranked = hit[2] if hit and hit[0] == file_key else rank_queue(cache, cfg)
        state = review_columns(ranked["image_id"], ranked["folder_genus"], current(labels_dir))
        hit = _LOADED[key] = (file_key, store_version, ranked,
                              pd.concat([ranked, state], axis=1))
    return hit[3].copy()


def rank_queue(cache: str | Path, cfg: QueueConfig) -> pd.DataFrame:
    """The cache file in suspicion order, with ``tier``, ``score`` and ``rank`` columns."""
    frame = pd.read_csv(cache, dtype={"image_id": str, "path": str, "phash": str,
                                      "near_group": str}, keep_default_na=False)
    index = {g: i for i, g in enumerate(GENERA)}
    given = frame["folder_genus"].map(index).fillna(-1).astype(int).to_numpy()
    frame["tier"], frame["score"] = suspicion(frame[prob_columns(GENERA)].to_numpy(float),
                                              given, cfg)
    frame = frame.sort_values(["tier", "score", "path"], kind="stable").reset_index(drop=True)
    frame["rank"] = np.arange(len(frame))
    return frame


def next_item(queue: pd.DataFrame, chosen: pd.DataFrame, after: str | None) -> str | None:
    """The image id that follows ``after`` in queue order among ``chosen`` (wrapping round)."""
    if chosen.empty:
        return None
    if after is None or after not in set(queue["image_id"]):
        return str(chosen["image_id"].iat[0])
    rank = int(queue.loc[queue["image_id"] == after, "rank"].iat[0])
    later = chosen[chosen["rank"] > rank]
    pick = later if not later.empty else chosen
    return str(pick["image_id"].iat[0])


def top_k(row: pd.Series, k: int = 3) -> dict[str, float]:
    """The ``k`` most probable genera of a queue row, ranked as /identify ranks them
    (:func:`~mushroom.verdict.ranked_genera`): an exact tie lists the poisonous genus first,
    never an edible one above it."""
    from mushroom.verdict import ranked_genera

    probs = {g: float(row[f"p_{g}"]) for g in GENERA}
    return {g: probs[g] for g in ranked_genera(probs)[:k]}
