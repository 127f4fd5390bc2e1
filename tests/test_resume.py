"""``train --resume``: a killed run continues where it stopped, as if never stopped; a resume
that does not match the run is refused; the state file is never torn."""

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mushroom import resume
from mushroom.config import TrainConfig
from mushroom.predict import load_model
from conftest import ROOT, Hostile, make_photo, run_cli, write_tiny_dataset

EPOCHS = "1,2,2,2"
# 64-pixel inputs: resuming does not depend on the side, and the network's passes cost a
# twelfth of the backbone's default 224 (most of these runs' time on a CPU)
SIDE = 64
FLAGS = ["--epochs", EPOCHS, "--workers", "0", "--batch-size", "16", "--input-size", str(SIDE)]


class Stop(Exception):
    """What the injected interruption raises."""


def train_cmd(data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), *FLAGS, *extra]


def train_process(argv: list[str], stderr) -> subprocess.Popen:
    """``python -m mushroom *argv`` in a child process (one torch thread, as
    :func:`one_thread` gives this one) whose stdout is read line by line; Ctrl-C (SIGINT)
    reaches it as it would a command typed in a terminal, even when these tests run from a
    background job, which starts with SIGINT ignored (``cmd &`` in a script, ``nohup``):
    Python then installs no KeyboardInterrupt and the run went on to the end."""
    return subprocess.Popen(
        [sys.executable, "-m", "mushroom", *argv], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=stderr, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stopped_after_first_photo_epoch(data: Path, out: Path, sig: int, stderr) -> subprocess.Popen:
    """``train`` in a :func:`train_process`, sent ``sig`` right after its first photo-stage
    epoch; its stdout is read up to there, ``stderr`` is where its stderr goes."""
    proc = train_process(train_cmd(data, out), stderr)
    for line in proc.stdout:
        if line.startswith("stage=3-upper-half epoch=1"):
            proc.send_signal(sig)
            break
    return proc


def epochs_of(report: dict) -> list[tuple[str, int]]:
    return [(h["stage"], h["epoch"]) for h in report["history"]]


def without_seconds(report: dict) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in report["history"]]


def snapshot(folder: Path) -> dict:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Runs in this process and in child processes alike use one torch thread: the app's
    service (called by other tests in this process) sets its own count, and a sum split over
    two threads rounds differently from one, which equal histories would catch."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("resume") / "photos")


@pytest.fixture(scope="module")
def stopped(data, tmp_path_factory) -> Path:
    """A run stopped (by an exception from its log) once the first cached stage was done."""
    from mushroom.pipeline import run

    out = tmp_path_factory.mktemp("stopped") / "run"
    cfg = TrainConfig(workers=0, batch_size=16, input_size=SIDE)
    cfg.stages = [dataclasses.replace(s, epochs=int(e))
                  for s, e in zip(cfg.stages, EPOCHS.split(","))]

    def log(line):
        if "stage=1-head epoch=1" in str(line):
            raise Stop

    with pytest.raises(Stop):
        run(str(data), str(out), cfg, log=log)
    assert (out / resume.STATE_NAME).is_file() and not (out / "model.pt").exists()
    return out


@pytest.fixture(scope="module")
def whole(data, tmp_path_factory) -> tuple[Path, str]:
    """An uninterrupted run, started over an unfinished run's state (--overwrite), and its
    output."""
    out = tmp_path_factory.mktemp("whole") / "run"
    out.mkdir()
    (out / resume.STATE_NAME).write_bytes(b"an unfinished run's progress")
    status, stdout, stderr = run_cli(*train_cmd(data, out, "--overwrite"))
    assert status == 0, stderr
    return out, stdout


@pytest.mark.slow
def test_killed_run_resumes_as_if_never_stopped(data, whole, tmp_path):
    out, stdout = whole
    assert "will be overwritten by this run's" in stdout  # said, then done
    assert not (out / resume.STATE_NAME).exists()
    cut = tmp_path / "cut"
    # SIGKILL (a VM restart, the OOM killer) right after the first photo-stage epoch
    proc = stopped_after_first_photo_epoch(data, cut, signal.SIGKILL, subprocess.DEVNULL)
    assert proc.wait(timeout=600) == -signal.SIGKILL
    assert not (cut / "model.pt").exists()

    status, stdout, stderr = run_cli(*train_cmd(data, cut, "--resume"))
    assert status == 0, stderr
    assert "resuming at stage 3 (3-upper-half) epoch 2/2, best val macro-F1" in stdout
    assert "stage=3-upper-half epoch=1" not in stdout and "stage=4-all epoch=2" in stdout
    report = json.loads((cut / "train_report.json").read_text())
    expected = [(s, e + 1) for s, n in zip(["1-head", "2-adapter", "3-upper-half", "4-all"],
                                           [1, 2, 2, 2]) for e in range(n)]
    assert epochs_of(report) == expected  # every epoch exactly once
    # every random state came back, the sampler's and the feature cache's included
    assert without_seconds(report) == without_seconds(json.loads(
        (out / "train_report.json").read_text()))
    assert not (cut / resume.STATE_NAME).exists()
    assert not (cut / f"{resume.STATE_NAME}.tmp").exists()
    pred = load_model(cut / "model.pt").predict([make_photo(1, seed=7)])
    assert np.isclose(pred.probs.sum(), 1.0, atol=1e-5)


@pytest.mark.slow
def test_resume_inside_the_cached_stages_redraws_the_feature_cache(stopped, data, whole,
                                                                  tmp_path):
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    status, stdout, stderr = run_cli(*train_cmd(data, out, "--resume"))
    assert status == 0, stderr
    assert "resuming at stage 2 (2-adapter) epoch 1/2" in stdout
    report = json.loads((out / "train_report.json").read_text())
    # the same augmented views are cached again, so training goes on exactly as it would have
    assert without_seconds(report) == without_seconds(json.loads(
        (whole[0] / "train_report.json").read_text()))
    assert not (out / resume.STATE_NAME).exists()


@pytest.mark.parametrize("change, flags, message", [
    ("config", ["--seed", "1", "--batch-size", "8"],
     "batch_size (was 16, now 8); seed (was 0, now 1)"),
    ("config", ["--epochs", "1,2,2,3"],
     "stages (was epochs 1-head:1,2-adapter:2,3-upper-half:2,4-all:2, now epochs "
     "1-head:1,2-adapter:2,3-upper-half:2,4-all:3)"),
    ("manifest", [], "manifest ("),
    ("--manifest", [], "is not the run's"),
    ("--keep-split", [], "--keep-split"),
    ("config", ["--arch", "mobilenet_v2"], "arch (was 'efficientnet_lite0', now 'mobilenet_v2')"),
    ("state", [], "nothing to resume in"),
    ("torn state", [], "is not a readable training state"),
])
def test_resume_refuses_another_run_and_changes_nothing(stopped, data, tmp_path, change, flags,
                                                        message):
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    if change == "manifest":  # someone edited the run's manifest since
        lines = (out / "manifest.csv").read_text().splitlines(keepends=True)
        (out / "manifest.csv").write_text("".join(lines[:-1]))
    if change == "--manifest":
        other = tmp_path / "other.csv"
        lines = (out / "manifest.csv").read_text().splitlines(keepends=True)
        other.write_text("".join(lines[:-1]))
        flags = ["--manifest", str(other)]
    if change == "--keep-split":  # an earlier manifest that placed one of the run's photos apart
        old = moved_to_test(pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False))
        old.to_csv(tmp_path / "old.csv", index=False)
        flags = ["--keep-split", str(tmp_path / "old.csv")]
    if change == "state":
        (out / resume.STATE_NAME).unlink()
    if change == "torn state":
        state = out / resume.STATE_NAME
        state.write_bytes(state.read_bytes()[:1000])
    before = snapshot(out)
    status, _, stderr = run_cli(*train_cmd(data, out, "--resume", *flags))
    assert status == 2 and message in stderr, stderr
    assert snapshot(out) == before


def moved_to_test(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its first training photo placed in test instead."""
    first = frame.index[frame["split"] == "train"][0]
    frame.loc[first, ["split", "fold"]] = ["test", "-1"]
    return frame


def test_resume_keeps_a_split_its_manifest_already_keeps(stopped, data, tmp_path):
    """``--keep-split`` given again on resume (as the run was started) is checked, not dropped:
    the run's manifest keeps the earlier manifest's split, so the resume goes on."""
    out = tmp_path / "run"
    shutil.copytree(stopped, out)
    kept = tmp_path / "kept.csv"
    shutil.copy(out / "manifest.csv", kept)
    cfg = TrainConfig(workers=0, batch_size=16, input_size=SIDE)
    cfg.stages = [dataclasses.replace(s, epochs=int(e))
                  for s, e in zip(cfg.stages, EPOCHS.split(","))]
    said = []
    frame, _ = resume.reopen(out, data, cfg, None, None, said.append, keep_split=str(kept))
    assert len(frame) and any(f"--keep-split {kept}" in line for line in said), said
    with pytest.raises(ValueError, match="--keep-split"):
        moved_to_test(frame.astype(str)).to_csv(kept, index=False)
        resume.reopen(out, data, cfg, None, None, said.append, keep_split=str(kept))


def test_resume_says_which_photos_under_data_it_does_not_train_on(stopped, data, tmp_path):
    """Photos added to --data since the run started were left out of a resumed run unsaid
    (its manifest.csv is what it trains on); photos gone from it are refused, as before."""
    out, photos = tmp_path / "run", tmp_path / "photos"
    shutil.copytree(stopped, out)
    shutil.copytree(data, photos)
    cfg = TrainConfig(workers=0, batch_size=16, input_size=SIDE)
    cfg.stages = [dataclasses.replace(s, epochs=int(e))
                  for s, e in zip(cfg.stages, EPOCHS.split(","))]
    said = []
    resume.reopen(out, photos, cfg, None, None, said.append)
    assert not [line for line in said if "not in the run's manifest" in line], said
    for k, genus in enumerate(("Amanita", "Boletus")):
        make_photo(k, seed=900 + k).save(photos / genus / f"new{k}.jpg")
    said = []
    resume.reopen(out, photos, cfg, None, None, said.append)
    assert (f"2 photos under {photos} are not in the run's manifest.csv (added since the run "
            "started, or left out when it was built; first: Amanita/new0.jpg): a resumed run "
            "trains on its manifest only; to train on them, start afresh (--overwrite instead "
            "of --resume)") in said, said
    said = []  # --manifest names the photos the run uses: the others are left out by choice
    resume.reopen(out, photos, cfg, str(out / "manifest.csv"), None, said.append)
    assert not [line for line in said if "not in the run's manifest" in line], said
    (photos / pd.read_csv(out / "manifest.csv")["path"].iloc[0]).unlink()
    with pytest.raises(FileNotFoundError, match="photos of the manifest are not under"):
        resume.reopen(out, photos, cfg, None, None, said.append)


def test_a_torn_write_never_replaces_the_last_good_state(tmp_path, monkeypatch):
    path = tmp_path / resume.STATE_NAME
    resume.save_atomic({"format": resume.FORMAT_VERSION, "epoch": 1}, path)
    real_save = torch.save

    def dies_halfway(obj, f):  # a full disk, or SIGKILL between two writes
        real_save(obj, f)
        f.truncate(f.tell() // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(OSError):
        resume.save_atomic({"format": resume.FORMAT_VERSION, "epoch": 2,
                            "model": torch.zeros(10_000)}, path)
    monkeypatch.undo()
    assert resume.load_state(path)["epoch"] == 1
    assert list(tmp_path.iterdir()) == [path]
    # a temp file torn by a kill is just overwritten by the next save
    path.with_name(path.name + ".tmp").write_bytes(b"PK\x03\x04 torn")
    resume.save_atomic({"format": resume.FORMAT_VERSION, "epoch": 3}, path)
    assert resume.load_state(path)["epoch"] == 3 and list(tmp_path.iterdir()) == [path]


def test_a_state_file_that_would_run_code_is_refused_unrun(tmp_path):
    """RUN/train_state.pt is a pickle like a checkpoint: code in it is refused, not run,
    while the real random states (NumPy's is an array in a tuple) load."""
    path, marker = tmp_path / resume.STATE_NAME, tmp_path / "pwned.txt"
    resume.save_atomic({"format": resume.FORMAT_VERSION, **resume.rng_state()}, path)
    assert resume.load_state(path)["numpy"][1].dtype == np.uint32
    resume.save_atomic({"format": resume.FORMAT_VERSION, "history": [Hostile(marker)]}, path)
    with pytest.raises(ValueError, match=r"not a readable training state \(it would load "):
        resume.load_state(path)
    assert not marker.exists()


@pytest.mark.slow
def test_ctrl_c_says_how_to_continue_without_a_traceback(data, tmp_path):
    out = tmp_path / "run"
    proc = stopped_after_first_photo_epoch(data, out, signal.SIGINT, subprocess.PIPE)
    stderr = proc.communicate(timeout=600)[1]
    assert proc.returncode == 130, stderr
    assert f"{out / resume.STATE_NAME}: run the same command with --resume" in stderr
    assert "Traceback" not in stderr and (out / resume.STATE_NAME).is_file()


def cap_file_size():
    """In the child: writes past 45 MB fail as on a full disk (EFBIG, not a kill)."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (45_000_000, 45_000_000))


@pytest.mark.slow
def test_a_full_disk_mid_run_is_one_line_naming_the_file_and_the_way_back(data, tmp_path):
    # The first state (the head's stage, ~38 MB) fits; a photo stage's (more optimizer
    # state) does not. Written straight to a file, torch said "enforce fail at
    # inline_container.cc ... unexpected pos" in a traceback.
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "mushroom", *train_cmd(data, out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, preexec_fn=cap_file_size,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    state = out / resume.STATE_NAME
    assert f"error: cannot write {state}: File too large" in done.stderr
    assert f"progress is saved in {state}: run the same command with --resume" in done.stderr
    assert resume.load_state(state)["format"] == resume.FORMAT_VERSION  # the last good one
    assert sorted(p.name for p in out.iterdir()) == ["manifest.csv", resume.STATE_NAME]


@pytest.mark.slow
def test_ctrl_c_in_the_cv_folds_says_they_do_not_resume_and_what_does(data, tmp_path):
    out = tmp_path / "run"
    cmd = ["train", "--data", str(data), "--out", str(out), "--epochs", "1,0,0,0",
           "--workers", "0", "--batch-size", "16", "--cv", "5"]
    proc = train_process(cmd, subprocess.PIPE)
    for line in proc.stdout:
        if line.startswith("--- CV fold 1/5"):  # model.pt is written, the state is gone
            proc.send_signal(signal.SIGINT)
            break
    stderr = proc.communicate(timeout=600)[1]
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr[-2000:]
    said = "--cv folds were stopped, and folds do not resume"
    assert said in stderr and "with --overwrite instead of --resume" in stderr
    status, _, stderr = run_cli(*cmd, "--resume")  # what the user tries next
    assert status == 2 and "finished training" not in stderr, stderr
    assert said in stderr and "with --overwrite instead of --resume" in stderr
    assert (out / "model.pt").is_file() and not (out / "oof.npz").exists()
