"""A flag the command line accepts is never silently ignored: where a combination of flags
leaves one unused, the command refuses it in one line (exit 2) naming the flag and what to
do instead. (``train --resume`` with other settings: ``test_resume.py``.)"""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, run_cli, write_tiny_dataset


def bench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mushroom.bench", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_bench_refuses_lime_flags_beside_skip_lime(tmp_path):
    out = tmp_path / "bench" / "bench.json"
    for flag, value in (("--ceiling", "2"), ("--cache", str(tmp_path / "lime"))):
        proc = bench("--skip-server", "--skip-lime", flag, value, "--out", str(out))
        assert proc.returncode == 2 and proc.stderr.splitlines() == [
            f"error: {flag} is for the LIME timing, which --skip-lime skips: drop one of "
            "them"], proc.stderr
    assert not out.parent.exists()


def test_bench_refuses_a_data_folder_with_no_photos_instead_of_synthetic_ones(tmp_path):
    empty = tmp_path / "photos"
    (empty / "Amanita").mkdir(parents=True)
    out = tmp_path / "bench" / "bench.json"
    proc = bench("--data", str(empty), "--skip-server", "--skip-lime", "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        f"error: --data {empty} holds no <Genus>/*.jpg photos to time: give the photo folder, "
        "or leave --data out (synthetic stand-ins when the default folder is absent)"
    ], proc.stderr
    assert not out.parent.exists()


def test_distill_refuses_a_cross_entropy_weight_that_mixup_would_leave_unused(tiny_data,
                                                                                tmp_path):
    """``--ce-weight`` is added on unmixed batches only; ``--mixup`` (the default) mixes every
    batch, so the weight would train nothing."""
    argv = ["distill", "--teachers", str(tmp_path / "a"), "--init", str(tmp_path / "a"),
            "--data", str(tiny_data), "--out", str(tmp_path / "student"), "--ce-weight", "0.3"]
    status, stdout, stderr = run_cli(*argv)
    assert status == 2 and stderr == (
        "error: --ce-weight is added on unmixed batches only, and --mixup mixes every batch: "
        "add --no-mixup, or drop --ce-weight\n"), stderr
    assert not (tmp_path / "student").exists()
    status, _, stderr = run_cli(*argv, "--no-mixup")  # goes on, to the missing teacher
    assert status == 2 and "--ce-weight" not in stderr, stderr


def test_train_help_does_not_say_its_seed_draws_the_kept_split():
    """``train --seed`` seeds training only: new photos beside a ``--keep-split`` are drawn
    with the split seed, as ``manifest`` draws them by default; the help said ``--seed``."""
    from mushroom.config import DataConfig

    proc = subprocess.run([sys.executable, "-m", "mushroom", "train", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    text = " ".join(proc.stdout.split())
    assert "(with --seed)" not in text
    assert f"drawn with the split seed {DataConfig.seed} (not --seed" in text, text
    proc = subprocess.run([sys.executable, "-m", "mushroom", "manifest", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "(with --seed)" in " ".join(proc.stdout.split())


def test_review_queue_refuses_the_shipped_oof_beside_another_model(tmp_path, tiny_checkpoint):
    """The default ``--oof`` holds the shipped model's out-of-fold probabilities and is
    preferred where it covers a photo (on the real photos 1,818 of 2,137), so ``--model``
    scored almost nothing, unsaid."""
    import shutil

    from mushroom.paths import DEFAULT_MODEL
    from mushroom.review import DEFAULT_OOF

    data = write_tiny_dataset(tmp_path / "photos", per_class=1, genera=("Amanita",))
    argv = ["review-queue", "--data", str(data), "--labels", str(tmp_path / "labels")]
    status, _, stderr = run_cli(*argv, "--model", str(tiny_checkpoint))
    assert status == 2 and stderr == (
        f"error: --model {tiny_checkpoint} is not the shipped model, whose out-of-fold "
        f"probabilities ({DEFAULT_OOF}, the default --oof) would score the photos they cover: "
        "give --oof none to score every photo with --model, or --oof with its own "
        "out-of-fold CSV\n"), stderr
    assert not (tmp_path / "labels").exists()
    status, stdout, stderr = run_cli(*argv, "--model", str(tiny_checkpoint), "--oof", "none")
    assert status == 0 and "predicted: 1" in stdout, stderr
    shipped = tmp_path / "copy" / "model.pt"  # the shipped model under another name is fine
    shipped.parent.mkdir()
    shutil.copy(DEFAULT_MODEL, shipped)
    status, stdout, stderr = run_cli(*argv, "--model", str(shipped))
    assert status == 0 and "photos: 1" in stdout, stderr


def test_oof_sets_only_is_refused_for_a_run_with_no_out_of_fold_outputs(tmp_path,
                                                                         tiny_checkpoint):
    """``--oof-sets-only`` keeps a run's ``oof.npz`` out of tau; a run without one (trained
    without --cv, or a soup of such runs) was recalibrated as if the flag were absent, and
    the sets it was meant to widen were not, unsaid. ``rebalance`` is refused before it
    replaces the run's model.pt, ``distill`` before it trains."""
    import shutil

    data = write_tiny_dataset(tmp_path / "photos", per_class=2)
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tiny_checkpoint, run / "model.pt")
    assert run_cli("manifest", "--data", str(data), "--out", str(run / "manifest.csv"))[0] == 0
    before = (run / "model.pt").read_bytes()
    why = (f"--oof-sets-only keeps out-of-fold outputs out of tau, and {run} has none (no "
           "oof.npz: `train --cv` writes it; `soup` copies its first run's, `distill` its "
           "--init's): drop --oof-sets-only\n")
    files = sorted(run.iterdir())
    for argv in (["calibrate", "--run", str(run), "--data", str(data)],
                 ["rebalance", "--run", str(run), "--data", str(data)],
                 ["distill", "--teachers", str(run), "--init", str(run), "--data", str(data),
                  "--out", str(tmp_path / "student"), "--input-size", "64"]):
        status, _, stderr = run_cli(*argv, "--oof-sets-only")
        assert status == 2 and stderr == "error: " + why, (argv, stderr)
        assert (run / "model.pt").read_bytes() == before and sorted(run.iterdir()) == files
    assert not (tmp_path / "student").exists()
    status, _, stderr = run_cli("calibrate", "--run", str(run))  # goes on, to the outputs
    assert status == 2 and "has no saved outputs of its own" in stderr, stderr
