"""``python -m mushroom evaluate`` also writes safety_report.json (and leaves report.json alone).

Runs the real CLI on generated photos with a tiny checkpoint whose detector and conformal
thresholds were fitted for real (``calibrated.py``); the non-mushroom folder holds a few
everyday photos from installed packages plus one unreadable file.
"""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from calibrated import calibrated_checkpoint
from conftest import REPORT_KEYS, write_tiny_dataset
from mushroom.cli import main
from mushroom.nonmushroom import skimage_photos, write_folder
from mushroom.taxonomy import GENERA, POISONOUS



@pytest.fixture(scope="module")
def evaluated(tiny_checkpoint, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("safety")
    ckpt = calibrated_checkpoint(tiny_checkpoint, tmp / "cal.pt", with_detector=True)
    photos = write_tiny_dataset(tmp / "photos", per_class=3)
    everyday = tmp / "everyday"
    write_folder(everyday, skimage_photos()[:4])
    (everyday / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    out = tmp / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["evaluate", "--data", str(photos), "--out", str(out), "--model",
                       str(ckpt), "--nonmushroom", str(everyday), "--workers", "0"])
    return {"status": status, "stdout": stdout.getvalue(), "out": out,
            "safety": json.loads((out / "safety_report.json").read_text()),
            "table": pd.read_csv(out / "predictions.csv")}


def test_report_json_keeps_exactly_its_keys(evaluated):
    assert evaluated["status"] == 0
    assert set(json.loads((evaluated["out"] / "report.json").read_text())) == REPORT_KEYS


def test_safety_report_has_every_section(evaluated):
    safety = evaluated["safety"]
    assert set(safety) == {"rejection", "conformal", "verdicts", "poison_signal"}
    rejection = safety["rejection"]
    assert rejection["available"] and rejection["mushroom"]["n"] == 9 * 3
    assert rejection["non_mushroom"]["n"] == 4  # the broken file is skipped, not counted
    assert set(rejection["non_mushroom"]["missed"]) <= {f"skimage-{n}.jpg" for n in
                                                        ("astronaut", "coffee", "chelsea",
                                                         "rocket")}
    conformal = safety["conformal"]
    assert conformal["available"] and conformal["target"] == pytest.approx(0.95)
    assert set(conformal["per_class"]) == set(GENERA) and conformal["n"] == 27
    assert {"rule", "head", "better_on_test", "primary"} <= set(safety["poison_signal"])
    assert {"with_sets", "without_sets"} == set(safety["verdicts"])


def test_safety_numbers_agree_with_the_photos(evaluated):
    safety, table = evaluated["safety"], evaluated["table"]
    levels = safety["verdicts"]["with_sets"]["levels"]
    assert sum(levels.values()) == len(table) == 27
    poison = table["true"].isin(sorted(POISONOUS))
    assert safety["poison_signal"]["n_poisonous"] == int(poison.sum())
    rate = safety["rejection"]["non_mushroom"]["rate"]
    assert rate == pytest.approx(1 - len(safety["rejection"]["non_mushroom"]["missed"]) / 4)


def test_summary_is_printed(evaluated):
    stdout = evaluated["stdout"]
    assert "non-mushroom photos" in stdout and "conformal: coverage" in stdout
    assert "poison head" in stdout and "safety_report.json" in stdout
    assert "skipped 1 unreadable" in stdout


def test_a_mistyped_nonmushroom_folder_is_refused_before_any_report(tiny_checkpoint, tmp_path,
                                                                    capsys):
    photos = write_tiny_dataset(tmp_path / "photos", per_class=1)
    out = tmp_path / "out"
    status = main(["evaluate", "--data", str(photos), "--out", str(out), "--model",
                   str(tiny_checkpoint), "--nonmushroom", str(tmp_path / "typo")])
    assert status == 2 and "is not a folder" in capsys.readouterr().err
    assert not out.exists()  # no half set of reports left behind


def test_a_mac_archive_of_nonmushroom_photos_scores_only_the_photos(tiny_checkpoint, tmp_path):
    """Like --data's scan: a Mac zip's ``._*.jpg`` twins (no photo inside) are not reported
    as unreadable photos, and hidden folders are not scored."""
    from mushroom.predict import load_model
    from mushroom.safety_cli import predict_folder

    folder = tmp_path / "everyday"
    write_folder(folder, skimage_photos()[:2])
    names = sorted(p.name for p in folder.iterdir())
    for name in names:
        (folder / f"._{name}").write_bytes(b"\x00\x05\x16\x07AppleDouble")
        (folder / "__MACOSX").mkdir(exist_ok=True)
        (folder / "__MACOSX" / name).write_bytes(b"\x00\x05\x16\x07")
    (folder / ".thumbs").mkdir()
    (folder / ".thumbs" / names[0]).write_bytes((folder / names[0]).read_bytes())
    outputs, scored, skipped = predict_folder(load_model(tiny_checkpoint), folder)
    assert (scored, skipped) == (names, []) and len(outputs.probs) == 2


@pytest.mark.parametrize("genera", [tuple(sorted(POISONOUS)), ("Boletus", "Russula")],
                         ids=["poisonous-only", "edible-only"])
def test_a_folder_of_one_safety_class_gives_valid_json_and_no_comparison(tiny_checkpoint,
                                                                         tmp_path, genera):
    """With no edible-genus (or no poisonous) photo there is no pass rate at recall 1.0 to
    compare the signals on: the JSON must stay strict (no NaN, which JSON.parse refuses) and
    the summary must say n/a, not print 'nan%' or call one signal better."""
    photos = write_tiny_dataset(tmp_path / "photos", per_class=1, genera=genera)
    out = tmp_path / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["evaluate", "--data", str(photos), "--out", str(out), "--model",
                       str(tiny_checkpoint), "--nonmushroom", str(tmp_path / "photos" / genera[0]),
                       "--workers", "0"])
    assert status == 0
    text = (out / "safety_report.json").read_text()
    poison = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in safety_report"))[
        "poison_signal"]
    assert poison["rule"]["pass_rate_at_full_recall"] is None
    assert poison["head"]["pass_rate_at_full_recall"] is None
    assert poison["better_on_test"] is None
    printed = stdout.getvalue()
    assert "nan" not in printed.lower()
    assert "better on these photos: n/a" in printed
