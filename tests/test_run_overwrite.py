"""Commands that write a run folder (``train``, ``soup``, ``distill``) never write over a run
already there unless told ``--overwrite``: a run can stand for hours of training."""

from __future__ import annotations

import pytest

from conftest import run_cli
from mushroom.cli import build_parser

COMMANDS = {
    "train": ["train", "--data", "{data}", "--out", "{out}", "--epochs", "1,1,1,1",
              "--workers", "0"],
    "soup": ["soup", "--runs", "{out}/../a", "{out}/../b", "--out", "{out}"],
    "distill": ["distill", "--teachers", "{out}/../a", "{out}/../b", "--init", "{out}/../a",
                "--data", "{data}", "--out", "{out}", "--workers", "0"],
}


def finished_run(folder):
    """A run folder as `train` leaves it, with contents to recognise afterwards."""
    folder.mkdir(parents=True)
    for name in ("model.pt", "manifest.csv", "train_report.json", "outputs.npz"):
        (folder / name).write_text(f"the earlier run's {name}")
    return folder


def unchanged(folder) -> bool:
    return all(p.read_text() == f"the earlier run's {p.name}" for p in folder.iterdir())


@pytest.mark.parametrize("command", COMMANDS)
def test_a_finished_run_in_out_is_refused_in_one_line_and_left_as_it_was(tiny_data, tmp_path,
                                                                         command):
    out = finished_run(tmp_path / "runs" / "X")
    argv = [a.format(data=tiny_data, out=out) for a in COMMANDS[command]]
    status, stdout, stderr = run_cli(*argv)
    assert status == 2 and stdout == ""
    assert stderr == (f"error: --out {out} already holds a finished run (model.pt): give "
                      "another --out, or add --overwrite to replace it\n")
    assert unchanged(out) and sorted(p.name for p in out.iterdir()) == [
        "manifest.csv", "model.pt", "outputs.npz", "train_report.json"]


def test_an_unfinished_run_in_out_is_refused_with_both_ways_on(tiny_data, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "train_state.pt").write_text("the earlier run's train_state.pt")
    (out / "manifest.csv").write_text("the earlier run's manifest.csv")
    argv = [a.format(data=tiny_data, out=out) for a in COMMANDS["train"]]
    status, _, stderr = run_cli(*argv)
    assert status == 2
    assert stderr == (f"error: --out {out} holds an unfinished run (train_state.pt): add "
                      "--resume to continue it, or --overwrite to start it over\n")
    assert unchanged(out)


def test_overwrite_lets_train_replace_a_finished_run(tiny_data, tmp_path):
    """--overwrite passes the check: the run goes on to its next step, here the refusal of
    data missing a genus (which keeps this test from training for minutes)."""
    out = finished_run(tmp_path / "run")
    for photo in (tiny_data / "Suillus").iterdir():
        photo.unlink()
    argv = [a.format(data=tiny_data, out=out) for a in COMMANDS["train"]]
    status, _, stderr = run_cli(*argv, "--overwrite")
    assert status == 2 and "cannot train: no training photos of Suillus" in stderr


def test_resume_and_overwrite_together_are_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["train", "--data", ".", "--out", "o", "--resume",
                                   "--overwrite"])
    assert stop.value.code == 2
    assert "argument --overwrite: not allowed with argument --resume" in capsys.readouterr().err


def test_a_new_or_empty_out_needs_no_flag(tiny_data, tmp_path):
    """The check refuses only a run: an empty folder (made ahead, say) is no run."""
    out = tmp_path / "empty"
    out.mkdir()
    for photo in (tiny_data / "Suillus").iterdir():
        photo.unlink()
    argv = [a.format(data=tiny_data, out=out) for a in COMMANDS["train"]]
    status, _, stderr = run_cli(*argv)
    assert "already holds" not in stderr and "cannot train" in stderr and status == 2
