"""``python -m mushroom soup``: average the weights of fine-tuned runs (a "model soup").

Runs fine-tuned from the same pretrained weights with slightly different recipes land in
one basin, so their uniform weight average is usually better than each of them, at the
cost of one model (Wortsman et al., 2022). The soup's run folder is then recalibrated with
``python -m mushroom calibrate --run OUT --data DIR``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from mushroom.cli import add_overwrite_flag, check_run_out


def average_state_dicts(states: list[dict]) -> dict:
    """Uniform average of float tensors; integer buffers are taken from the first state."""
    first = states[0]
    if any(s.keys() != first.keys() for s in states):
        raise ValueError("runs have different architectures (state_dict keys differ)")
    return {k: (sum(s[k].float() for s in states) / len(states)).to(v.dtype)
            if v.is_floating_point() else v.clone() for k, v in first.items()}


def make_soup(runs: list[str], out: str) -> Path:
    """Write ``out/model.pt`` (averaged weights) plus the first run's manifest and report.

    All runs must share the architecture and the manifest (same split), so that the
    first run's validation photos are unseen by every ingredient.
    """
    from mushroom.checkpoint import save_checkpoint

    if len(runs) < 2:
        raise ValueError("a soup needs at least two runs")
    refuse_overwrite(runs, out)
    # average raw heads; `calibrate` then picks the soup's own alpha
    loaded = load_unadjusted(runs)
    model, meta = loaded[0]
    model.load_state_dict(average_state_dicts([m.state_dict() for m, _ in loaded]))
    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    # Not outputs.npz: those are the first run's predictions, not the soup's; `calibrate
    # --data` predicts the soup's own.
    copy_unadjusted(Path(runs[0]), dest, meta, ("manifest.csv", "oof.npz", "oof_predictions.csv"))
    soup_of = [str(r) for r in runs]
    report = json.loads((Path(runs[0]) / "train_report.json").read_text())
    report["soup_of"] = soup_of
    (dest / "train_report.json").write_text(json.dumps(report, indent=2))
    save_checkpoint(dest / "model.pt", model, soup_meta(runs, [m for _, m in loaded]))
    return dest


def refuse_overwrite(inputs: list[str], out: str) -> None:
    """Refuse an output folder that is one of the input runs (it would be overwritten).

    Raises:
        ValueError: ``out`` is one of ``inputs``.
    """
    if Path(out).resolve() in {Path(r).resolve() for r in inputs}:
        raise ValueError(f"--out {out} is one of the input runs and would be overwritten; "
                         "give a new folder")


def load_unadjusted(runs: list[str]) -> list[tuple]:
    """Each run's ``(network, checkpoint dict)``, with its logit adjustment taken out.

    Raises:
        ValueError: the runs were trained on different manifests, so their splits differ
            (validation photos of one would be training photos of another).
    """
    from mushroom.checkpoint import load_checkpoint
    from mushroom.prior import undo

    loaded = [load_checkpoint(Path(r) / "model.pt") for r in runs]
    if len({meta["manifest_sha256"] for _, meta in loaded}) > 1:
        raise ValueError("runs were trained on different manifests; their splits differ")
    for model, meta in loaded:
        undo(model, meta)
    return loaded


def soup_meta(runs: list[str], metas: list[dict]) -> dict:
    """The soup's checkpoint metadata: the first run's, renamed, with its ingredients."""
    extra = {k: v for k, v in metas[0].items() if k not in ("state_dict", "distillation")}
    extra["soup_of"] = [str(r) for r in runs]
    kind = "soup"
    if all("distillation" in m for m in metas):  # students of one ensemble
        kind = "distilled-soup"
        extra["distillation"] = distilled_record(runs, [m["distillation"] for m in metas])
    extra["name"] = f"mushroom-{extra['arch']}-{kind}{len(runs)}"
    extra["logit_adjustment"] = {"alpha": 0.0}
    return extra


def distilled_record(runs: list[str], records: list[dict]) -> dict:
    """One record for a soup of distilled students: every teacher and each one's recipe.

    An ingredient that is itself a soup of students brings its students along, so a soup of
    the shipped soup and new students lists all of them; students taught by other teachers
    name theirs.
    """
    teachers, students = [], []
    for run, rec in zip(runs, records):
        teachers += [t for t in rec["teachers"] if t not in teachers]
        if "students" in rec:
            students += rec["students"]
        else:
            students.append({"run": str(run), "teachers": rec["teachers"],
                             "config": rec["config"], "epochs_done": len(rec["history"])})
    return {"teachers": teachers, "init": records[0]["init"], "students": students}


def copy_unadjusted(src: Path, dest: Path, meta: dict,
                    names: tuple[str, ...] = ("manifest.csv", "oof.npz", "oof_predictions.csv",
                                              "outputs.npz")) -> None:
    """Copy ``src``'s manifest and saved outputs to a new run that starts at alpha 0.

    ``meta`` is ``src``'s checkpoint; its logit adjustment is taken out of the copied
    logits, or recalibrating ``dest`` would stack its own alpha on top of it.
    """
    for name in names:
        if (src / name).exists():
            shutil.copy(src / name, dest / name)
    unshift_saved_logits(dest, meta)


def unshift_saved_logits(run: Path, meta: dict) -> None:
    """Take ``meta``'s logit adjustment out of the npz files in ``run``."""
    import numpy as np

    from mushroom.prior import offset

    shift = offset(meta.get("logit_adjustment"))
    if not shift.any():
        return
    for name in ("outputs.npz", "oof.npz"):
        if (run / name).exists():
            arrays = dict(np.load(run / name))
            for key in [k for k in arrays if k.endswith("logits")]:
                arrays[key] = arrays[key] - shift.astype(arrays[key].dtype)
            np.savez_compressed(run / name, **arrays)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``soup``."""
    p = sub.add_parser("soup", help="average the weights of runs trained on one manifest")
    p.add_argument("--runs", nargs="+", required=True, help="run folders written by `train`")
    p.add_argument("--out", required=True, help="new run folder for the averaged model")
    add_overwrite_flag(p)
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Make the soup and say what it still needs."""
    check_run_out(args.out, args.overwrite)
    out = make_soup(args.runs, args.out)
    flag = " --oof-sets-only" if (Path(out) / "oof.npz").exists() else ""  # else refused
    print(f"wrote {out}/model.pt; calibrate it on its own predictions next:\n"
          f"  python -m mushroom calibrate --run {out} --data <photos>{flag}")
    return 0
