"""``python -m mushroom evaluate --data DIR --out OUT_DIR [--model PATH]``: score a model.

``DIR`` is any ``<Genus>/*.jpg`` folder. It gets the same cleaning as training (corrupt,
tiny and exact-duplicate photos dropped) but no split: every photo is scored, unless
``--manifest CSV [--split S]`` names the photos (one split's) instead. Photos of a genus
the model does not know are left out and counted. Writes to ``OUT_DIR``:

- ``report.json``: the keys of :data:`mushroom.metrics.REPORT_KEYS`;
- ``confusion_matrix.png``;
- ``predictions.csv``: path (relative to ``DIR``), true, predicted, p_poisonous, top3 and
  flagged.
- ``safety_report.json``: rejection, conformal coverage, poison head vs rule (see
  :mod:`mushroom.safety_cli`; ``--nonmushroom DIR`` picks the non-mushroom photos).

The four replace the previous run's together or not at all (:func:`mushroom.atomic.staged_set`).

A photo counts as flagged by the app's danger rules (:func:`poison_flags`), so the report's
poisonous recall is what a forager would actually be shown.

torch loads only when a command runs, so ``python -m mushroom --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mushroom.atomic import staged_set, write_atomic
from mushroom.cli import add_data_flag, check_out_dir
from mushroom.config import at_least
from mushroom.manifest import SPLITS
from mushroom import metrics, poison_rule, safety_cli
from mushroom.taxonomy import POISONOUS
from mushroom.verdict import Thresholds

if TYPE_CHECKING:
    from mushroom.predict import Prediction, Predictor

PREDICTION_COLUMNS = ["path", "true", "predicted", "p_poisonous", "top3", "flagged"]
# One run's files: replaced together or not at all (see :func:`mushroom.atomic.staged_set`).
OUTPUT_NAMES = ("report.json", "predictions.csv", "confusion_matrix.png",
                safety_cli.REPORT_NAME)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` subcommand."""
    p = sub.add_parser("evaluate", help="score a model on a <Genus>/*.jpg folder")
    add_data_flag(p)
    p.add_argument("--out", required=True,
                   help="folder for report.json, predictions.csv, confusion_matrix.png and "
                        "safety_report.json")
    p.add_argument("--model", default=None, help="checkpoint (default: assets/model.pt)")
    p.add_argument("--batch-size", type=at_least(1), default=32, help="photos per forward pass")
    p.add_argument("--workers", type=at_least(0), default=2, help="photo-decoding worker processes")
    p.add_argument("--manifest", default=None,
                   help="score this manifest's photos (under --data) instead of every photo")
    p.add_argument("--split", choices=SPLITS, default=None,
                   help="with --manifest: only its rows of this split (e.g. val for `margin`)")
    safety_cli.add_arguments(p)
    p.set_defaults(func=run)


def split_known(frame: pd.DataFrame, classes: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
    """Keep rows whose genus the model predicts; count the others per genus."""
    known = frame["genus"].isin(classes)
    unknown = frame.loc[~known, "genus"].value_counts().sort_index()
    return frame[known].reset_index(drop=True), {str(g): int(n) for g, n in unknown.items()}


def predict_frame(predictor: Predictor, root: str | Path, frame: pd.DataFrame,
                  batch_size: int = 32, workers: int = 0) -> Prediction:
    """Run ``predictor`` over the manifest rows, in row order, with a progress bar.

    Args:
        predictor: a loaded model (see :func:`mushroom.predict.load_model`).
        root: the folder the manifest paths are relative to.
        frame: manifest rows; their genus must be one of ``predictor.classes``.
        batch_size: photos per forward pass.
        workers: DataLoader processes decoding photos while the model runs.

    Returns:
        The model outputs, one row per manifest row.
    """
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    from mushroom.dataset import PhotoDataset
    from mushroom.predict import Prediction

    dataset = PhotoDataset(root, frame, predictor.classes, predictor.transform)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False,
                        persistent_workers=False)
    parts = []
    with tqdm(total=len(dataset), desc="predicting", unit="img") as bar:
        for images, _ in loader:
            parts.append(predictor.predict_batch(images))
            bar.update(len(images))
    if not parts:
        raise ValueError("no photos to predict")
    return Prediction(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in ("probs", "logits", "poison_head", "embedding")))


def top_k_text(probs: np.ndarray, classes: tuple[str, ...], k: int = 3) -> str:
    """``"Amanita:0.91;Russula:0.05;Boletus:0.02"``: the k most probable genera."""
    order = np.argsort(-probs, kind="stable")[:k]
    return ";".join(f"{classes[i]}:{probs[i]:.2f}" for i in order)


def poison_flags(predictor: Predictor, prediction: Prediction) -> np.ndarray:
    """Which photos the app calls poisonous (:func:`mushroom.poison_rule.poison_flags`).

    A photo is flagged when P(poisonous) >= tau, when its top-1 genus is poisonous, or when
    the checkpoint ships a poison-head threshold (``meta["thresholds"]["poison_head"]``)
    and the poison head reaches it.
    """
    th = Thresholds.from_meta(predictor.meta)
    return poison_rule.poison_flags(prediction.probs, predictor.classes, th.tau,
                                prediction.poison_head, th.poison_head)


def prediction_table(frame: pd.DataFrame, probs: np.ndarray, classes: tuple[str, ...],
                     flagged: np.ndarray) -> pd.DataFrame:
    """One row per photo with the columns of :data:`PREDICTION_COLUMNS`."""
    return pd.DataFrame({
        "path": frame["path"].to_numpy(),
        "true": frame["genus"].to_numpy(),
        "predicted": [classes[i] for i in probs.argmax(axis=1)],
        "p_poisonous": poison_rule.poison_probabilities(probs, classes),
        "top3": [top_k_text(row, classes) for row in probs],
        "flagged": np.asarray(flagged, dtype=bool),
    }, columns=PREDICTION_COLUMNS)


def score(predictor: Predictor, frame: pd.DataFrame,
          prediction: Prediction) -> tuple[dict, pd.DataFrame]:
    """The report dict and the predictions table for already-predicted rows."""
    classes = predictor.classes
    y_true = np.array([classes.index(g) for g in frame["genus"]], dtype=int)
    flagged = poison_flags(predictor, prediction)
    report = metrics.build_report(y_true, prediction.probs, classes, predictor.poison_threshold,
                                  flagged=flagged)
    return report, prediction_table(frame, prediction.probs, classes, flagged)


def evaluate_frame(predictor: Predictor, root: str | Path, frame: pd.DataFrame,
                   batch_size: int = 32, workers: int = 0) -> tuple[dict, pd.DataFrame]:
    """Predict and score manifest rows in one call: what ``run`` does, without the files.

    Args:
        predictor: a loaded model.
        root: the folder the manifest paths are relative to.
        frame: manifest rows; rows of genera outside ``predictor.classes`` are ignored.
        batch_size: photos per forward pass.
        workers: DataLoader decoding processes.

    Returns:
        ``(report, predictions)``: the report dict and the predictions.csv table.
    """
    frame, _ = split_known(frame, predictor.classes)
    return score(predictor, frame, predict_frame(predictor, root, frame, batch_size, workers))


def write_outputs(out_dir: str | Path, report: dict, table: pd.DataFrame,
                  title: str = "Confusion matrix") -> list[Path]:
    """Write report.json, predictions.csv and confusion_matrix.png; return their paths.

    Each file is written whole or not at all (:func:`mushroom.atomic.write_atomic`).

    Raises:
        OSError: a write failed (a full disk); the message names the file.
    """
    from mushroom.plots import plot_confusion_matrix

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = (json.dumps(report, indent=2) + "\n").encode("utf-8")
    paths = [write_atomic(out / "report.json", lambda f: f.write(text)),
             write_atomic(out / "predictions.csv", lambda f: table.to_csv(f, index=False))]
    paths.append(plot_confusion_matrix(report["confusion_matrix"], report["classes"],
                                       out / "confusion_matrix.png", title))
    return paths


def _rate(value: float | None) -> str:
    """A score of the per-genus table to three places, or "n/a" for None (0/0)."""
    return "n/a" if value is None else f"{value:.3f}"


def format_summary(report: dict) -> str:
    """Readable text: headline numbers, a per-genus table and the poison line."""
    lines = [
        f"{report['n_images']} photos   accuracy {report['accuracy']:.3f}   "
        f"balanced accuracy {report['balanced_accuracy']:.3f}   "
        f"macro-F1 {report['macro_f1']:.3f}   ECE {report['ece']:.3f}",
        f"{'genus':<13}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}",
    ]
    predicted = [sum(col) for col in zip(*report["confusion_matrix"])]
    for (genus, row), n_pred in zip(report["per_class"].items(), predicted):
        mark = " *" if genus in POISONOUS else ""
        # 0/0 is no score: a genus absent from the folder has no recall (0.000 would read
        # as a model that misses it), one never predicted no precision
        seen = row["support"] or n_pred
        lines.append(f"{genus:<13}{_rate(row['precision'] if n_pred else None):>10}"
                     f"{_rate(row['recall'] if row['support'] else None):>8}"
                     f"{_rate(row['f1'] if seen else None):>8}{row['support']:>9d}{mark}")
    poison = report["poisonous"]
    n_poison = sum(r["support"] for g, r in report["per_class"].items() if g in POISONOUS)
    lines.append(f"poisonous (*) at tau={poison['threshold']:.4f}: recall "
                 f"{_rate(poison['recall'])} of {n_poison} photos, edible-genus pass rate "
                 f"(specificity) {_rate(poison['specificity'])}")
    return "\n".join(lines)


def photos_to_score(data: str, manifest: str | None, split: str | None) -> pd.DataFrame:
    """The rows to score: a cleaned scan of ``data``, or a manifest's (split's) rows.

    Raises:
        ValueError: the split has no rows; FileNotFoundError: photos not under ``data``.
    """
    from mushroom.data import build_manifest
    from mushroom.manifest import check_photos, read_manifest

    if manifest is None:
        frame, cleaning = build_manifest(data, split=False)
        print(cleaning.summary())
        return frame
    frame = read_manifest(manifest)  # already cleaned when it was built
    if split is not None:
        frame = frame[frame["split"] == split].reset_index(drop=True)
        if frame.empty:
            raise ValueError(f"{manifest} has no {split} rows")
    check_photos(frame, data)
    print(f"{len(frame)} photos of {manifest}" + (f" ({split} split)" if split else ""))
    return frame


def run(args: argparse.Namespace) -> int:
    """Clean the folder, predict every photo, write the three outputs and print a summary."""
    from mushroom.predict import DEFAULT_MODEL, load_model

    nonmushroom = getattr(args, "nonmushroom", None)
    if nonmushroom is not None and not Path(nonmushroom).is_dir():  # before any work
        raise ValueError(f"--nonmushroom {nonmushroom} is not a folder")
    check_out_dir(args.out)  # a wrong --out or --model must not wait for the photos' scan
    if args.split and not args.manifest:
        raise ValueError("--split needs --manifest (the manifest whose split to score)")
    predictor = load_model(args.model or DEFAULT_MODEL)
    frame = photos_to_score(args.data, args.manifest, args.split)
    frame, unknown = split_known(frame, predictor.classes)
    if unknown:
        print(f"ignored photos of genera the model does not know: {unknown}")
    if frame.empty:
        raise ValueError(f"no usable photos of the model's genera in {args.data}")
    prediction = predict_frame(predictor, args.data, frame, args.batch_size, args.workers)
    report, table = score(predictor, frame, prediction)
    # Staged, so a failed write never leaves this report beside the last run's predictions.
    with staged_set(args.out, OUTPUT_NAMES) as stage:
        # Further reports hook in here with (predictor, frame, prediction, stage).
        write_outputs(stage, report, table,
                      f"{predictor.name} {predictor.version} on {Path(args.data).name}")
        print(f"model {predictor.name} (version {predictor.version})")
        print(format_summary(report))
        safety_cli.run(predictor, frame, prediction, args, out=stage)
    print("wrote " + ", ".join(str(Path(args.out) / name) for name in OUTPUT_NAMES))
    return 0
