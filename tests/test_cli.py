"""``python -m mushroom manifest`` end to end on generated photos, in-process and as a process."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from conftest import ROOT, make_photo, run_cli, run_module, write_tiny_dataset
from mushroom.cli import build_parser
from mushroom.data import photo_root
from mushroom.manifest import read_manifest
from mushroom.taxonomy import GENERA


def test_manifest_writes_a_split_csv_and_prints_the_report(tiny_data, tmp_path):
    out = tmp_path / "sub" / "manifest.csv"
    status, stdout, _ = run_cli("manifest", "--data", str(tiny_data), "--out", str(out))
    assert status == 0
    frame = read_manifest(out)
    assert {"path", "genus", "species", "split", "group"} <= set(frame.columns)
    assert len(frame) == 54 and set(frame["genus"]) == set(GENERA)
    assert set(frame["split"]) == {"train", "val", "test"}
    assert (frame.groupby("group")["split"].nunique() == 1).all()
    assert "scanned 54 files, kept 54" in stdout
    assert f"wrote {out} (54 rows)" in stdout
    for genus in GENERA:  # the per-genus split table
        assert genus in stdout


def test_manifest_process_is_reproducible_and_reports_bad_files(tiny_data, tmp_path):
    (tiny_data / "Entoloma" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    # different hash seeds: the split must not depend on set or dict iteration order
    proc_a = run_module("manifest", "--data", str(tiny_data), "--out", str(first), hashseed="1")
    proc_b = run_module("manifest", "--data", str(tiny_data), "--out", str(second),
                        hashseed="2")
    assert proc_a.returncode == 0, proc_a.stderr
    assert proc_b.returncode == 0, proc_b.stderr
    assert "corrupt/unreadable: 1" in proc_a.stdout
    assert first.read_bytes() == second.read_bytes()
    assert "Entoloma/broken.jpg" not in set(pd.read_csv(first)["path"])


def test_seed_flag_changes_the_split(tiny_data, tmp_path):
    splits = []
    for seed in ("1", "2"):
        out = tmp_path / f"m{seed}.csv"
        assert run_cli("manifest", "--data", str(tiny_data), "--out", str(out),
                       "--seed", seed)[0] == 0
        splits.append(read_manifest(out).set_index("path")["split"])
    assert (splits[0] != splits[1]).any()


def test_missing_folder_exits_2_with_one_line(tmp_path):
    status, _, stderr = run_cli("manifest", "--data", str(tmp_path / "none"),
                                "--out", str(tmp_path / "m.csv"))
    assert status == 2
    assert stderr.startswith("error: data folder not found")
    assert not (tmp_path / "m.csv").exists()


@pytest.mark.parametrize("command", [["manifest", "--out", "{tmp}/m.csv"],
                                     ["evaluate", "--out", "{tmp}/ev"],
                                     ["review-queue", "--labels", "{tmp}/labels"]])
def test_a_file_given_as_the_data_folder_is_called_a_file(tmp_path, command):
    photo = tmp_path / "IMG_1.jpg"
    photo.write_bytes(b"a photo, not the folder of genus folders")
    argv = [a.format(tmp=tmp_path) for a in command]
    status, _, stderr = run_cli(argv[0], "--data", str(photo), *argv[1:])
    assert status == 2 and stderr == f"error: data folder {photo} is a file, not a folder\n"


@pytest.mark.parametrize("command", [["manifest", "--out", "{tmp}/m.csv"],
                                     ["evaluate", "--out", "{tmp}/ev"],
                                     ["review-queue", "--labels", "{tmp}/labels"]])
def test_a_kaggle_zip_not_unpacked_is_named_as_a_zip_to_unzip(tiny_data, tmp_path, command):
    """Kaggle's download is ``archive.zip``: given as --data, or saved into the --data folder
    unopened, it was "a file, not a folder" or "no photos in genus folders", never a zip."""
    archive = tmp_path / "dl" / "archive.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zipped:
        for photo in sorted(tiny_data.rglob("*.jpg"))[:3]:
            zipped.write(photo, f"Mushrooms/{photo.relative_to(tiny_data)}")
    argv = [a.format(tmp=tmp_path) for a in command]
    status, _, stderr = run_cli(argv[0], "--data", str(archive), *argv[1:])
    assert status == 2 and stderr == (f"error: data folder {archive} is a zip archive, not a "
                                      "folder: unzip it first and give the folder it unpacks "
                                      "to\n")
    status, _, stderr = run_cli(argv[0], "--data", str(archive.parent), *argv[1:])
    assert status == 2 and len(stderr.splitlines()) == 1
    assert stderr.startswith(f"error: no photos in genus folders under {archive.parent}")
    assert stderr.endswith("; it holds archive.zip: unzip it first\n")


@pytest.mark.parametrize("command", [["margin", "--predictions", "{csv}"],
                                     ["train", "--data", "{data}", "--manifest", "{csv}",
                                      "--out", "{tmp}/run"],
                                     ["review-queue", "--data", "{data}", "--oof", "{csv}",
                                      "--labels", "{tmp}/labels"]])
def test_an_empty_csv_is_named_as_the_wrong_file(tiny_data, tmp_path, command):
    empty = tmp_path / "empty.csv"
    empty.write_text("")  # an export or copy that was cut off
    argv = [a.format(csv=empty, data=tiny_data, tmp=tmp_path) for a in command]
    status, _, stderr = run_cli(*argv)
    assert status == 2 and stderr.startswith(f"error: {empty} ")
    assert "missing" in stderr or "lacks columns" in stderr
    assert len(stderr.splitlines()) == 1


MANIFEST, TRAIN = ["manifest", "--out", "{tmp}/m.csv"], ["train", "--out", "{tmp}/run"]


@pytest.mark.parametrize("command, store", [  # review-queue makes a new store: no "typo"
    (MANIFEST, "typo"), (TRAIN, "typo"), (MANIFEST, "hand_edited"), (TRAIN, "hand_edited"),
    (["review-queue", "--oof", "none"], "hand_edited")])
def test_a_bad_label_store_is_refused_before_the_photos_are_read(tiny_data, tmp_path, command,
                                                                 store):
    labels = tmp_path / "labels"
    if store == "hand_edited":
        labels.mkdir()
        (labels / "decisions.jsonl").write_text('{"annotator": "alice", \n')
    argv = [a.format(tmp=tmp_path) for a in command]
    status, _, stderr = run_cli(argv[0], "--data", str(tiny_data), "--labels", str(labels),
                                *argv[1:])
    assert status == 2 and len(stderr.splitlines()) == 1, stderr
    assert ("label store not found" if store == "typo" else "unreadable row") in stderr
    assert sorted(p.name for p in labels.glob("*")) == (
        [] if store == "typo" else ["decisions.jsonl"])  # no queue.csv left in it


def test_help_lists_the_pipeline_commands():
    proc = run_module("--help")
    assert proc.returncode == 0
    for command in ("manifest", "evaluate"):
        assert command in proc.stdout


@pytest.mark.parametrize("module", ["mushroom.evaluate", "mushroom.metrics", "mushroom.plots"])
def test_importing_evaluation_modules_stays_light(module):
    code = (f"import sys, {module}; heavy = [m for m in ('torch', 'matplotlib') "
            "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [["calibrate", "--run", "R", "--data", "D"],
                                     ["distill", "--teachers", "A", "--init", "B", "--data", "D",
                                      "--out", "O"],
                                     ["rebalance", "--run", "R", "--data", "D"]])
def test_every_recalibrating_command_takes_the_same_calibration_flags(command):
    """calibrate, distill and rebalance all end in a recalibration: one flag set, one meaning."""
    from mushroom.cli import build_parser
    from mushroom.config import CalibConfig, calib_from_flags

    parser = build_parser()
    assert parser.parse_args(command).data == "D"
    assert calib_from_flags(parser.parse_args(command)) == CalibConfig()
    args = parser.parse_args(command + ["--margin", "0.5", "--min-tau", "0.001",
                                        "--oof-sets-only", "--no-logit-adjust",
                                        "--tta", "256,288"])
    assert calib_from_flags(args) == CalibConfig(margin=0.5, min_tau=0.001, logit_adjust=False,
                                                 tau_from_oof=False, tta_sizes=(256, 288))
    assert calib_from_flags(parser.parse_args(command + ["--tta", "none"])).tta_sizes == ()
    with pytest.raises(ValueError, match="--tta"):
        calib_from_flags(parser.parse_args(command + ["--tta", "big"]))


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "a,b,c,d"], "4 comma-separated whole numbers"),
    (["--epochs", "0,0,0,0"], "nothing would be trained"),
    (["--cv", "6"], "--cv must be 5"),
    (["--device", "gpu"], "--device must be auto, cpu or cuda"),
    # a manifest keeps the labels it was built with: --labels beside it was silently ignored
    (["--manifest", "m.csv", "--labels", "labels"], "--labels is not applied to a --manifest"),
])
def test_train_refuses_bad_options_in_one_line(tiny_data, tmp_path, flags, message):
    status, _, stderr = run_cli("train", "--data", str(tiny_data), "--out",
                                str(tmp_path / "run"), *flags)
    assert status == 2 and message in stderr and stderr.count("error:") == 1
    assert "Traceback" not in stderr and "reading photos" not in stderr  # refused up front
    assert not (tmp_path / "run" / "model.pt").exists()


@pytest.mark.parametrize("command, flag, value", [
    ("train", "--batch-size", "0"),  # torch's "batch_size should be a positive integer"
    ("train", "--workers", "-1"),  # torch's "num_workers option should be non-negative"
    ("train", "--input-size", "8"),  # a traceback from a convolution, after the scan
    ("train", "--max-images", "-5"),  # silently trained on one photo per genus
    ("train", "--poison-rule-weight", "-1"),  # silently pushed poisonous photos off poison
    ("evaluate", "--batch-size", "0"),
    ("evaluate", "--workers", "-2"),
    ("distill", "--lr", "-0.001"),
    ("rebalance", "--views", "-1"),
])
def test_numbers_out_of_range_are_refused_by_the_parser_naming_the_flag(tiny_data, tmp_path,
                                                                        command, flag, value):
    needs = {"train": ["--out", str(tmp_path / "run")], "evaluate": ["--out", str(tmp_path)],
             "distill": ["--teachers", "a", "--init", "b", "--out", str(tmp_path / "run")],
             "rebalance": ["--run", str(tmp_path)]}[command]
    proc = run_module(command, "--data", str(tiny_data), *needs, flag, value)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: argument {flag}: must be at least" in proc.stderr
    assert f"not {value}" in proc.stderr and "reading photos" not in proc.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("margin, min_tau", [(5.0, 0.0), (0.0, 0.0), (-1.0, 0.0), (0.4, 2.0)])
def test_calibration_settings_that_would_miss_poisonous_photos_are_refused(margin, min_tau):
    from mushroom.config import CalibConfig

    with pytest.raises(ValueError, match="margin must be in|min_tau"):
        CalibConfig(margin=margin, min_tau=min_tau)


def test_unwritable_outputs_and_wrong_kinds_of_file_are_one_line_errors(tiny_data, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    status, _, stderr = run_cli("manifest", "--data", str(tiny_data),
                                "--out", str(blocker / "m.csv"))
    assert status == 2 and stderr.startswith("error:") and "Traceback" not in stderr
    assert "reading photos" not in stderr  # refused before the scan
    csv = tmp_path / "m.csv"
    assert run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))[0] == 0
    binary = tmp_path / "model.pt"
    binary.write_bytes(bytes(range(128, 256)) * 40)  # what a checkpoint given as a CSV reads
    status, _, stderr = run_cli("margin", "--predictions", str(binary), str(csv))
    assert status == 2 and "binary" in stderr and len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [
    ["evaluate", "--data", "{data}", "--out", "{file}", "--workers", "0"],
    ["evaluate", "--data", "{data}", "--out", "{file}/sub", "--workers", "0"],
    ["baseline", "--data", "{data}", "--out", "{file}"],
    ["train", "--data", "{data}", "--out", "{file}", "--epochs", "1,1,1,1"],
    ["labels", "add", "--labels", "{file}", "--image", "{data}/Amanita/000.jpg",
     "--genus", "Boletus", "--annotator", "alice"],
    ["review-queue", "--data", "{data}", "--labels", "{file}", "--oof", "none"],
    ["review-queue", "--data", "{data}", "--labels", "{file}.store", "--out", "{file}/q.csv",
     "--oof", "none"],
])
def test_a_file_given_as_an_output_folder_is_named_before_any_work(tiny_data, tmp_path,
                                                                   command):
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    argv = [a.format(data=tiny_data, file=blocker) for a in command]
    status, stdout, stderr = run_cli(*argv)
    assert status == 2 and "wrote" not in stdout
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("error:") and f"{blocker} is a file, not a folder" in stderr
    assert "reading photos" not in stderr and "scoring photos" not in stderr  # before any work
    assert blocker.read_text() == "keep me"


def test_evaluate_refuses_a_missing_model_before_scanning_the_photos(tiny_data, tmp_path):
    status, _, stderr = run_cli("evaluate", "--data", str(tiny_data), "--out",
                                str(tmp_path / "o"), "--model", str(tmp_path / "nope.pt"))
    assert status == 2 and stderr == f"error: checkpoint not found: {tmp_path / 'nope.pt'}\n"


def test_a_genus_folder_given_as_the_data_folder_names_the_folder_above(tiny_data):
    """``--data photos/Amanita`` (one genus, to evaluate it alone) said only "no photos in
    genus folders under photos/Amanita", though the folder is full of photos."""
    status, _, stderr = run_cli("evaluate", "--data", str(tiny_data / "Amanita"), "--out",
                                str(tiny_data.parent / "ev"))
    assert status == 2 and len(stderr.splitlines()) == 1
    assert stderr.endswith(f"; Amanita is itself a genus folder: give the folder above it, "
                           f"{tiny_data}\n"), stderr


def test_a_run_folder_given_for_a_checkpoint_and_back_is_named_as_such(tiny_data, tmp_path,
                                                                       tiny_checkpoint,
                                                                       monkeypatch):
    """``--model runs/X`` (the run folder) was "checkpoint not found: runs/X", and
    ``--run runs/X/model.pt`` was "checkpoint not found: runs/X/model.pt/model.pt": both
    deny a path the user can see, instead of naming the one to give."""
    import shutil

    from mushroom import served

    run = tmp_path / "runs" / "X"
    run.mkdir(parents=True)
    model = run / "model.pt"
    shutil.copy(tiny_checkpoint, model)
    status, _, stderr = run_cli("evaluate", "--data", str(tiny_data), "--out",
                                str(tmp_path / "o"), "--model", str(run))
    assert status == 2 and stderr == (f"error: checkpoint {run} is a folder, not a checkpoint "
                                      f"file: give {model}\n")
    status, _, stderr = run_cli("review-queue", "--data", str(tiny_data), "--labels",
                                str(tmp_path / "l"), "--model", str(run))
    assert status == 2 and stderr == f"error: --model {run}: a folder, not a file\n"
    folder_not_file = (f"error: {model} is a file, not a run folder: give the folder that "
                       f"holds it ({run})\n")
    for argv in (["calibrate", "--run", str(model)],
                 ["soup", "--runs", str(model), str(run), "--out", str(tmp_path / "s")],
                 ["rebalance", "--run", str(model), "--data", str(tiny_data)],
                 ["distill", "--teachers", str(run), "--init", str(model), "--data",
                  str(tiny_data), "--out", str(tmp_path / "d")]):
        status, _, stderr = run_cli(*argv)
        assert status == 2 and stderr == folder_not_file, argv
    proc = subprocess.run([sys.executable, "-m", "mushroom.bench", "--model", str(run),
                           "--skip-server", "--skip-lime"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # was "no model at runs/X; pass --model"
    assert proc.returncode == 2 and proc.stderr.endswith(f"is a folder, not a checkpoint file: "
                                                         f"give {model}\n"), proc.stderr
    monkeypatch.setenv(served.MODEL_ENV, str(run))  # the app, pointed at the run folder
    with pytest.raises(served.ModelUnavailable, match=f"^{run} is a folder, not a checkpoint "
                                                      f"file: set {served.MODEL_ENV} to the "
                                                      "model.pt inside it"):
        served.get_predictor()


def test_baseline_refuses_a_manifest_from_another_folder_before_the_features(tiny_data,
                                                                             tmp_path):
    csv = tmp_path / "m.csv"
    assert run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))[0] == 0
    (tmp_path / "other" / "Amanita").mkdir(parents=True)
    status, _, stderr = run_cli("baseline", "--data", str(tmp_path / "other"), "--manifest",
                                str(csv), "--out", str(tmp_path / "bl"))
    assert status == 2 and "54 of 54 photos of the manifest are not under" in stderr
    assert "frozen features" not in stderr and not (tmp_path / "bl").exists()


@pytest.mark.parametrize("with_data", [False, True])
def test_calibrate_names_a_run_folder_without_a_model(tiny_data, tmp_path, with_data):
    typo = tmp_path / "runs" / "typo"
    extra = ["--data", str(tiny_data)] if with_data else []
    status, _, stderr = run_cli("calibrate", "--run", str(typo), *extra)
    assert status == 2
    assert stderr == f"error: {typo} is not a run folder: it has no model.pt\n"
    assert not typo.exists()


def test_train_refuses_data_missing_a_genus_and_keeps_the_run_folder(tiny_data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.csv").write_text("an earlier run's")
    for photo in (tiny_data / "Suillus").iterdir():  # an emptied (or misnamed) genus folder
        photo.unlink()
    status, _, stderr = run_cli("train", "--data", str(tiny_data), "--out", str(run),
                                "--epochs", "1,1,1,1", "--workers", "0")
    assert status == 2 and "error: cannot train: no training photos of Suillus (" in stderr
    assert (run / "manifest.csv").read_text() == "an earlier run's"
    assert not (run / "model.pt").exists()


def test_manifest_warns_when_a_genus_folder_is_empty_or_misspelt(tiny_data, tmp_path):
    for photo in (tiny_data / "Suillus").iterdir():  # emptied
        photo.unlink()
    (tiny_data / "Hygrocybe").rename(tiny_data / "Hygrocibe")  # misspelt
    csv = tmp_path / "m.csv"
    status, stdout, stderr = run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))
    assert status == 0 and csv.is_file()  # a manifest for `evaluate` may lack genera
    assert "ignored folders: Hygrocibe (Hygrocybe misspelt?)\n" in stdout  # its photos left out
    assert (f"warning: `train --manifest {csv}` will refuse it: cannot train: no training "
            "photos of Hygrocybe, Suillus (") in stderr
    (tiny_data / "Hygrocibe").rename(tiny_data / "Hygrocybe")
    for seed in range(5, 10):  # the fewest separate photos that reach all three splits
        make_photo(8, seed=seed).save(tiny_data / "Suillus" / f"{seed}.jpg")
    status, _, stderr = run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))
    assert status == 0 and "warning" not in stderr


def test_a_full_disk_leaves_no_truncated_manifest_that_would_read_as_valid(tiny_data,
                                                                           tmp_path,
                                                                           monkeypatch):
    csv = tmp_path / "m.csv"
    assert run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))[0] == 0
    before = csv.read_bytes()
    real_to_csv = pd.DataFrame.to_csv

    def disk_fills(frame, path, **kwargs):  # the first 20 rows fit, then the disk is full
        real_to_csv(frame.head(20), path, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_fills)
    status, _, stderr = run_cli("manifest", "--data", str(tiny_data), "--out", str(csv),
                                "--seed", "7")
    monkeypatch.undo()
    assert status == 2 and f"error: cannot write {csv}: No space left on device" in stderr
    assert csv.read_bytes() == before  # the earlier manifest, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "photos"]


def test_train_refuses_a_manifest_without_poisonous_validation_photos(tiny_data, tmp_path):
    csv = tmp_path / "m.csv"
    assert run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))[0] == 0
    frame = read_manifest(csv)
    frame.loc[frame["genus"] == "Entoloma", "split"] = "train"  # tau would never see one
    frame.to_csv(csv, index=False)
    status, _, stderr = run_cli("train", "--data", str(tiny_data), "--manifest", str(csv),
                                "--out", str(tmp_path / "run"), "--epochs", "1,1,1,1")
    assert status == 2
    assert "no validation photos of the poisonous Entoloma" in stderr
    assert not (tmp_path / "run" / "model.pt").exists()


def test_a_folder_as_csv_out_is_refused_alike_by_manifest_and_labels_export(tiny_data,
                                                                             tmp_path):
    from mushroom import labels

    store, folder = tmp_path / "labels", tmp_path / "out"
    labels.record(store, tiny_data, "Amanita/000.jpg", "alice", genus="Boletus")
    folder.mkdir()
    for command in (["manifest", "--data", str(tiny_data)],
                    ["labels", "export", "--labels", str(store)]):
        status, stdout, stderr = run_cli(*command, "--out", str(folder))
        assert status == 2 and "wrote" not in stdout
        assert stderr == f"error: --out {folder} is a folder; give a CSV file name\n"
    assert not any(folder.iterdir())


def test_bench_given_a_file_that_is_not_a_checkpoint_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,genus\nAmanita/a.jpg,Amanita\n")
    out = tmp_path / "bench" / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "mushroom.bench", "--model", str(bad),
                           "--data", str(tmp_path / "no_photos"), "--out", str(out),
                           "--skip-server", "--skip-lime"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {bad} is not a Mushroom checkpoint "
                                                "(not a file that torch.save wrote: "
                                                "UnpicklingError)"]
    assert not out.parent.exists()  # refused before synthetic photos or results were written


def test_a_manifest_from_another_folder_is_refused_before_training(tiny_data, tmp_path):
    csv = tmp_path / "m.csv"
    assert run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))[0] == 0
    (tmp_path / "other").mkdir()
    status, _, stderr = run_cli("train", "--data", str(tmp_path / "other"), "--manifest",
                                str(csv), "--out", str(tmp_path / "run"))
    assert status == 2 and "photos of the manifest are not under" in stderr
    status, _, stderr = run_cli("manifest", "--data", str(tiny_data), "--labels",
                                str(tmp_path / "typo"), "--out", str(csv))
    assert status == 2 and "label store not found" in stderr


def test_a_download_folder_around_the_genus_folders_is_entered(tiny_data, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    tiny_data.rename(archive / "Mushrooms")
    (archive / "__MACOSX" / "Amanita").mkdir(parents=True)  # not a second candidate
    out = tmp_path / "m.csv"
    status, _, stderr = run_cli("manifest", "--data", str(archive), "--out", str(out))
    assert status == 0, stderr
    assert f"reading those inside {archive / 'Mushrooms'}" in stderr
    frame = read_manifest(out)
    assert len(frame) == 54 and frame["path"].str.match(r"^[A-Z][a-z]+/\d+\.jpg$").all()
    # two candidate wrappers: no guess, the scan names the first and how to use it
    (archive / "Mushrooms").rename(archive / "a")
    write_tiny_dataset(archive / "b", per_class=1, genera=("Boletus",))
    status, _, stderr = run_cli("manifest", "--data", str(archive), "--out", str(out))
    assert status == 2 and "genus folders are inside a/" in stderr


def test_two_wrappers_around_the_genus_folders_are_named_with_the_path_to_give(tiny_data,
                                                                              tmp_path):
    """``k/archive/Mushrooms/<Genus>`` (a download unpacked into a folder of its own) was
    refused with "found only archive", leaving the user to dig for the path."""
    outer = tmp_path / "k"
    (outer / "archive").mkdir(parents=True)
    tiny_data.rename(outer / "archive" / "Mushrooms")
    (outer / "archive" / "__MACOSX").mkdir()
    out = tmp_path / "m.csv"
    status, _, stderr = run_cli("manifest", "--data", str(outer), "--out", str(out))
    inner = outer / "archive" / "Mushrooms"
    assert status == 2 and not out.exists()
    assert stderr.strip().endswith(f"the genus folders are inside archive/Mushrooms/: use "
                                   f"{inner}"), stderr
    assert run_cli("manifest", "--data", str(inner), "--out", str(out))[0] == 0  # as told
    # three wrappers: too deep to guess, the folders found are named as before
    (outer / "deeper").mkdir()
    (outer / "archive").rename(outer / "deeper" / "archive")
    status, _, stderr = run_cli("manifest", "--data", str(outer), "--out", str(out))
    assert status == 2 and "(found only deeper)" in stderr


@pytest.mark.parametrize("command", ["manifest", "train", "calibrate", "evaluate",
                                     "review-queue", "rebalance", "distill", "baseline"])
def test_every_photo_root_flag_enters_a_download_folder(command):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    data = next(a for a in sub.choices[command]._actions if a.dest == "data")
    assert data.type is photo_root
