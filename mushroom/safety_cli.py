"""The safety part of ``python -m mushroom evaluate``: writes ``OUT/safety_report.json``.

:mod:`mushroom.evaluate` scores the mushroom photos; this adds what issue 5 asks for (see
:mod:`mushroom.safety_eval`): rejection rates on those photos and on a folder of everyday
non-mushroom photos, conformal coverage and set size, the poison head against the genus-sum
rule, and how many photos of a poisonous genus still get ``edible_genus`` with sets applied.

The non-mushroom folder is ``--nonmushroom DIR`` (any ``*.jpg``/``*.png`` files, at any depth,
hidden ones and a Mac archive's ``__MACOSX/`` left out) or, by default, the photos of
:mod:`mushroom.nonmushroom` written to a temporary folder.
``report.json`` is left exactly as it is; everything here goes to its own file.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mushroom.predict import Prediction, Predictor

REPORT_NAME = "safety_report.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--nonmushroom`` to the ``evaluate`` subcommand."""
    p.add_argument("--nonmushroom", default=None,
                   help="folder of non-mushroom photos for the rejection rate (default: the "
                        "everyday photos `python -m mushroom.nonmushroom` writes, in a temp "
                        "folder)")


def predict_folder(predictor: Predictor, folder: str | Path,
                   batch_size: int = 16) -> tuple[Prediction | None, list[str], list[str]]:
    """Predict every image under ``folder`` with a progress bar.

    Returns:
        ``(outputs or None when no image was usable, names of the scored files relative to
        folder, "name: reason" for every file that could not be read)``.
    """
    from tqdm.auto import tqdm

    from mushroom.data import IMAGE_SUFFIXES, under_hidden
    from mushroom.imageio import BadImage, open_image
    from mushroom.predict import Prediction

    folder = Path(folder)
    # a Mac zip's ._*.jpg twins hold no photo: they would be listed as unreadable
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in IMAGE_SUFFIXES and not under_hidden(p, folder))
    names, skipped, parts, batch = [], [], [], []
    for path in tqdm(files, desc="non-mushroom photos", unit="img"):
        try:
            batch.append(open_image(path))
            names.append(str(path.relative_to(folder)))
        except BadImage as err:
            skipped.append(f"{path.relative_to(folder)}: {err}")
        if len(batch) == batch_size:
            parts.append(predictor.predict(batch))
            batch = []
    if batch:
        parts.append(predictor.predict(batch))
    if not parts:
        return None, names, skipped
    return Prediction(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in ("probs", "logits", "poison_head", "embedding"))), names, skipped


def everyday_outputs(predictor: Predictor,
                     folder: str | Path | None) -> tuple[Prediction | None, list[str], list[str]]:
    """Outputs on the non-mushroom photos: ``folder``, or freshly generated ones."""
    if folder is not None:
        if not Path(folder).is_dir():
            raise ValueError(f"--nonmushroom {folder} is not a folder")
        return predict_folder(predictor, folder)
    from mushroom.nonmushroom import collect, write_folder

    with tempfile.TemporaryDirectory(prefix="nonmushroom-") as tmp:
        write_folder(tmp, collect())
        return predict_folder(predictor, tmp)


def run(predictor: Predictor, frame: pd.DataFrame, prediction: Prediction,
        args: argparse.Namespace, out: str | Path | None = None) -> tuple[dict, Path]:
    """Build, write and print the safety report for already-predicted mushroom photos.

    Args:
        predictor: the evaluated model (its ``meta`` carries detector and conformal params).
        frame: the scored manifest rows (``path``, ``genus``), in prediction order.
        prediction: model outputs on those rows.
        args: the evaluate arguments (``out``, ``nonmushroom``).
        out: the folder to write to instead of ``args.out`` (``evaluate``'s staging folder).

    Returns:
        ``(report, path of safety_report.json)``.
    """
    # Imported here: safety_eval pulls in torch (via calibrate), and evaluate must stay light.
    from mushroom.safety_eval import safety_report, write_safety_report

    everyday, everyday_names, skipped = everyday_outputs(predictor,
                                                         getattr(args, "nonmushroom", None))
    if skipped:
        print(f"skipped {len(skipped)} unreadable non-mushroom files: {skipped[:5]}")
    if everyday is None:
        print("no readable non-mushroom photos: the rejection rate is not measured")
    labels = np.array([predictor.classes.index(g) for g in frame["genus"]], dtype=int)
    report = safety_report(predictor.meta, prediction, labels, everyday,
                           names=list(frame["path"]), everyday_names=everyday_names)
    path = write_safety_report(Path(out or args.out) / REPORT_NAME, report)
    print(format_safety(report))
    return report, path


def _pct(value: float | dict | None) -> str:
    """0.953 -> '95.3%'; a dict of rates (e.g. per calibration set) -> 'val 57.6%, oof ...'."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_pct(v)}" for k, v in value.items()) or "n/a"
    return "n/a" if value is None else f"{value:.1%}"


def _rejection_lines(rej: dict) -> list[str]:
    if not rej.get("available"):
        return ["rejection: the model ships no unfamiliar-photo detector"]
    lines = [f"rejection: {_pct(rej['mushroom']['rate'])} of {rej['mushroom']['n']} mushroom "
             f"photos (target <= 3%)"]
    if "non_mushroom" in rej:
        other = rej["non_mushroom"]
        lines.append(f"rejection: {_pct(other['rate'])} of {other['n']} non-mushroom photos "
                     f"(target >= 95%); not rejected: {other['missed'] or 'none'}")
    return lines


def _conformal_lines(conf: dict) -> list[str]:
    if not conf.get("available"):
        return ["conformal: the model ships no conformal thresholds"]
    per = ", ".join(f"{g} {_pct(r['coverage'])} (n={r['n']})"
                    for g, r in conf["per_class"].items())
    return [f"conformal: coverage {_pct(conf['coverage'])} (target {_pct(conf['target'])}), "
            f"mean set size {conf['mean_size']:.2f}, empty sets {_pct(conf['empty_rate'])}, "
            f"fallback {conf['fallback']} for {conf['fallback_genera']}",
            f"conformal per genus: {per}"]


def format_safety(report: dict) -> str:
    """Readable summary of :func:`mushroom.safety_eval.safety_report`."""
    lines = ["--- safety (refuse to guess) ---",
             *_rejection_lines(report["rejection"]), *_conformal_lines(report["conformal"])]
    poison = report["poison_signal"]
    for signal in ("rule", "head"):
        entry = poison[signal]
        shipped = entry.get("at_shipped_tau") or {}
        lines.append(f"poison {signal}: edible-genus pass rate at recall 1.0 "
                     f"{_pct(entry['pass_rate_at_full_recall'])} (validation "
                     f"{_pct(entry['validation'])}); at shipped tau: recall "
                     f"{_pct(shipped.get('recall'))}, pass rate {_pct(shipped.get('pass_rate'))}")
    better = poison["better_on_test"] or "n/a (needs poisonous and edible-genus photos)"
    lines.append(f"poison signal shipped: {poison['primary']}; better on these photos: {better}")
    for key in ("with_sets", "without_sets"):
        v = report["verdicts"][key]
        lines.append(f"verdicts {key.replace('_', ' ')}: {v['levels']}; poisonous photos "
                     f"called edible_genus: {v['poisonous_as_edible']}; edible pass rate "
                     f"{_pct(v['edible_pass_rate'])}")
    return "\n".join(lines)
