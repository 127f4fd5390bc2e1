"""``python -m mushroom evaluate`` end to end on generated photos with an untrained checkpoint.

The checkpoint is not mushroom-trained, so the tests check the report's schema and that
every number agrees with predictions.csv, never a particular accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import REPORT_KEYS, run_cli, write_tiny_dataset
from mushroom.taxonomy import GENERA, POISONOUS


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_checkpoint) -> dict:
    """One CLI run over 54 generated photos plus a corrupt file and an ignored folder."""
    root = write_tiny_dataset(tmp_path_factory.mktemp("eval") / "photos")
    (root / "Amanita" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "NotAGenus").mkdir()
    Image.new("RGB", (90, 90), "red").save(root / "NotAGenus" / "x.jpg")
    out = root.parent / "out"
    status, stdout, _ = run_cli("evaluate", "--data", str(root), "--out", str(out),
                                "--model", str(tiny_checkpoint), "--batch-size", "16",
                                "--workers", "1")
    return {"status": status, "stdout": stdout, "out": out,
            "report": json.loads((out / "report.json").read_text()),
            "table": pd.read_csv(out / "predictions.csv")}


def test_writes_report_with_exact_schema(evaluated):
    assert evaluated["status"] == 0
    report = evaluated["report"]
    assert set(report) == REPORT_KEYS
    assert report["n_images"] == 9 * 6  # the corrupt file and NotAGenus/ are not scored
    assert report["classes"] == list(GENERA)
    assert set(report["per_class"]) == set(GENERA)
    for row in report["per_class"].values():
        assert set(row) == {"precision", "recall", "f1", "support"}
        assert row["support"] == 6
    assert set(report["poisonous"]) == {"recall", "specificity", "threshold"}
    assert report["poisonous"]["threshold"] == pytest.approx(0.3)  # tiny_checkpoint's tau
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (9, 9) and cm.sum() == 54 and (cm.sum(axis=1) == 6).all()
    assert 0.0 <= report["ece"] <= 1.0


def test_report_agrees_with_predictions_csv(evaluated):
    report, table = evaluated["report"], evaluated["table"]
    assert list(table.columns) == ["path", "true", "predicted", "p_poisonous", "top3",
                                   "flagged"]
    assert len(table) == 54 and table["path"].is_unique
    assert not table["path"].str.contains("broken").any()
    assert report["accuracy"] == pytest.approx((table["true"] == table["predicted"]).mean())
    crosstab = pd.crosstab(table["true"], table["predicted"]).reindex(
        index=GENERA, columns=GENERA, fill_value=0)
    assert report["confusion_matrix"] == crosstab.to_numpy().tolist()
    tau = report["poisonous"]["threshold"]
    flagged = table["flagged"]
    assert flagged[table["p_poisonous"] >= tau].all()
    assert flagged[table["predicted"].isin(POISONOUS)].all()  # a poisonous top-1 is flagged
    poisonous = table["true"].isin(POISONOUS)
    assert report["poisonous"]["recall"] == pytest.approx(flagged[poisonous].mean())
    assert report["poisonous"]["specificity"] == pytest.approx((~flagged[~poisonous]).mean())


def test_top3_column_is_ranked_and_names_the_prediction(evaluated):
    for _, row in evaluated["table"].iterrows():
        pairs = [item.split(":") for item in row["top3"].split(";")]
        assert len(pairs) == 3
        names, probs = [n for n, _ in pairs], [float(p) for _, p in pairs]
        assert names[0] == row["predicted"] and len(set(names)) == 3
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 0.02
        assert 0.0 <= row["p_poisonous"] <= 1.0 + 1e-6


def test_png_and_printed_summary(evaluated):
    with Image.open(evaluated["out"] / "confusion_matrix.png") as png:
        assert png.format == "PNG" and min(png.size) > 300
    stdout = evaluated["stdout"]
    assert "corrupt/unreadable: 1" in stdout
    assert "NotAGenus" in stdout
    assert f"accuracy {evaluated['report']['accuracy']:.3f}" in stdout
    assert all(genus in stdout for genus in GENERA)
    assert "tau=0.3000" in stdout


@pytest.fixture(scope="module")
def three_class_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint that only knows three genera (random weights: only shapes matter)."""
    from mushroom.checkpoint import save_checkpoint
    from mushroom.models import create_model

    classes = ["Amanita", "Boletus", "Russula"]
    path = tmp_path_factory.mktemp("ckpt3") / "three.pt"
    save_checkpoint(path, create_model("efficientnet_lite0", 3, pretrained=False), {
        "arch": "efficientnet_lite0", "classes": classes, "temperature": 1.5,
        "poison_threshold": 0.1, "metrics": {}, "train_config": {}, "manifest_sha256": "",
        "version": "t3"})
    return path


def test_a_model_without_every_poisonous_genus_is_refused_in_one_line(tmp_path,
                                                                      three_class_checkpoint):
    """Without Cortinarius and Entoloma the model can never flag them: no report is written
    whose poisonous recall would quietly leave them out."""
    root = write_tiny_dataset(tmp_path / "photos", per_class=1, genera=("Amanita", "Boletus"))
    status, stdout, stderr = run_cli("evaluate", "--data", str(root), "--out",
                                     str(tmp_path / "o"), "--model", str(three_class_checkpoint),
                                     "--workers", "0")
    assert status == 2
    assert stderr.strip().count("\n") == 0
    assert "classes must be the nine genera" in stderr
    assert "(missing Agaricus, Cortinarius, Entoloma, Hygrocybe, Lactarius, Suillus)" in stderr
    assert not (tmp_path / "o" / "report.json").exists()


def test_evaluate_frame_keeps_rows_aligned_with_paths(tiny_data, tiny_checkpoint):
    from mushroom.data import build_manifest
    from mushroom.evaluate import evaluate_frame
    from mushroom.predict import load_model

    predictor = load_model(tiny_checkpoint)
    frame, _ = build_manifest(tiny_data, split=False)
    frame = frame[frame["genus"].isin(["Amanita", "Suillus"])]
    _, forward = evaluate_frame(predictor, tiny_data, frame, batch_size=5)
    report, backward = evaluate_frame(predictor, tiny_data, frame.iloc[::-1], batch_size=7)
    assert report["n_images"] == 12
    merged = forward.merge(backward, on="path", suffixes=("_f", "_b"))
    assert len(merged) == 12
    assert (merged["predicted_f"] == merged["predicted_b"]).all()
    np.testing.assert_allclose(merged["p_poisonous_f"], merged["p_poisonous_b"], atol=1e-5)
    # the same photos through the app's path (PIL in memory) give the same P(poisonous)
    images = [Image.open(tiny_data / p) for p in forward["path"]]
    direct = predictor.predict(images).p_poisonous(predictor.classes)
    np.testing.assert_allclose(forward["p_poisonous"], direct, atol=1e-5)


def test_app_and_evaluate_feed_the_network_the_same_pixels_for_a_file(tmp_path, tiny_checkpoint):
    """One photo file, one network input: /identify's decoding (service.load_photo) and
    evaluate's two folder routes (PhotoDataset for mushrooms, safety_cli for non-mushroom
    photos) agree on EXIF-rotated, palette, alpha, CMYK, 16-bit, GIF, AVIF and HEIC files."""
    import torch

    from images import HANDLED, jpeg_bytes, photo
    from mushroom import safety_cli, service
    from mushroom.dataset import PhotoDataset
    from mushroom.evaluate import predict_frame
    from mushroom.predict import load_model

    folder = tmp_path / "Russula"
    folder.mkdir()
    for name, make in HANDLED.items():
        (folder / name).write_bytes(make())
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side; viewers (and the app) turn it upright
    stored = photo((180, 120), seed=7).transpose(Image.Transpose.ROTATE_90)
    (folder / "exif.jpg").write_bytes(jpeg_bytes(stored, exif=exif.tobytes()))
    names = sorted(p.name for p in folder.iterdir())
    frame = pd.DataFrame({"path": [f"Russula/{n}" for n in names], "genus": "Russula"})
    predictor = load_model(tiny_checkpoint)
    dataset = PhotoDataset(tmp_path, frame, predictor.classes, predictor.transform)
    for i, name in enumerate(names):
        app_input = predictor.preprocess([service.load_photo(folder / name)])[0]
        assert torch.equal(dataset[i][0], app_input), name
    app = np.array([list(service.identify(folder / n, 9, predictor)["probabilities"].values())
                    for n in names])
    # batching moves the floats by ~1e-6, never more: anything bigger is different pixels
    batched = predict_frame(predictor, tmp_path, frame, batch_size=4, workers=1).probs
    np.testing.assert_allclose(batched, app, atol=1e-5)
    everyday, scored, skipped = safety_cli.predict_folder(predictor, folder, batch_size=4)
    assert scored == names and not skipped
    np.testing.assert_allclose(everyday.probs, app, atol=1e-5)


@pytest.mark.parametrize("case", ["missing_data", "no_photos", "missing_model"])
def test_user_errors_exit_2_with_a_message(tmp_path, tiny_checkpoint, case):
    data, model = tmp_path / "photos", tiny_checkpoint
    if case == "no_photos":
        (data / "Amanita").mkdir(parents=True)
    elif case == "missing_model":
        write_tiny_dataset(data, per_class=1, genera=("Boletus",))
        model = tmp_path / "nope.pt"
    status, _, stderr = run_cli("evaluate", "--data", str(data), "--out", str(tmp_path / "o"),
                                "--model", str(model), "--workers", "0")
    assert status == 2
    expected = {"missing_data": "data folder not found", "no_photos": "no photos in genus folders",
                "missing_model": "checkpoint not found"}[case]
    assert expected in stderr
    assert not (tmp_path / "o" / "report.json").exists()


def test_a_manifest_split_is_scored_alone_for_margin(tiny_data, tmp_path, tiny_checkpoint):
    from mushroom.manifest import read_manifest

    csv = tmp_path / "manifest.csv"
    assert run_cli("manifest", "--data", str(tiny_data), "--out", str(csv))[0] == 0
    val = read_manifest(csv).query("split == 'val'")
    outs = {}
    for split in ("val", "test"):
        outs[split] = tmp_path / split
        status, stdout, _ = run_cli("evaluate", "--data", str(tiny_data), "--manifest", str(csv),
                                    "--split", split, "--out", str(outs[split]), "--model",
                                    str(tiny_checkpoint), "--workers", "0")
        assert status == 0 and f"({split} split)" in stdout
    table = pd.read_csv(outs["val"] / "predictions.csv")
    assert sorted(table["path"]) == sorted(val["path"])
    assert json.loads((outs["val"] / "report.json").read_text())["n_images"] == len(val)
    status, stdout, _ = run_cli("margin", "--predictions", str(outs["val"] / "predictions.csv"),
                                str(outs["test"] / "predictions.csv"))
    assert status == 0 and stdout
    status, _, stderr = run_cli("evaluate", "--data", str(tiny_data), "--split", "val",
                                "--out", str(tmp_path / "x"), "--model", str(tiny_checkpoint))
    assert status == 2 and stderr == "error: --split needs --manifest (the manifest whose " \
                                     "split to score)\n"


def test_poison_flags_follow_the_apps_danger_rules():
    from types import SimpleNamespace

    from mushroom.evaluate import poison_flags
    from mushroom.predict import Prediction

    classes = ("Amanita", "Boletus", "Russula")
    probs = np.array([[0.45, 0.50, 0.05],   # P(poisonous) 0.45 >= tau
                      [0.40, 0.35, 0.25],   # top-1 is poisonous though below tau
                      [0.10, 0.80, 0.10],   # only the poison head fires
                      [0.05, 0.90, 0.05]])  # nothing fires
    prediction = Prediction(probs, np.log(probs), np.array([0.1, 0.1, 0.7, 0.2]),
                            np.zeros((4, 2)))
    predictor = SimpleNamespace(classes=classes, poison_threshold=0.45,
                                meta={"poison_threshold": 0.45,
                                      "thresholds": {"poison_head": 0.6}})
    assert poison_flags(predictor, prediction).tolist() == [True, True, True, False]
    predictor.meta = {"poison_threshold": 0.45}  # a checkpoint without a poison-head threshold
    assert poison_flags(predictor, prediction).tolist() == [True, True, False, False]


def real_subset(real: Path, dest: Path, per_genus: int) -> Path:
    """Symlink the first ``per_genus`` real photos of each genus (never copied)."""
    for genus in GENERA:
        (dest / genus).mkdir(parents=True)
        for photo in sorted((real / genus).glob("*.jpg"))[:per_genus]:
            (dest / genus / photo.name).symlink_to(photo)
    return dest


@pytest.mark.slow
def test_shipped_model_on_real_photos(real_data, shipped_model, tmp_path):
    import torch

    root = real_subset(real_data, tmp_path / "real", per_genus=3)
    status, stdout, _ = run_cli("evaluate", "--data", str(root), "--out", str(tmp_path / "o"),
                                "--model", str(shipped_model), "--workers", "0")
    assert status == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert set(report) == REPORT_KEYS
    assert 9 * 2 <= report["n_images"] <= 9 * 3  # a few real duplicates may be dropped
    # the shipped tau, and a trained model: an untrained one is right about 1 time in 9
    tau = torch.load(shipped_model, map_location="cpu", weights_only=False)["poison_threshold"]
    assert report["poisonous"]["threshold"] == pytest.approx(tau)
    assert report["accuracy"] > 0.5, report["accuracy"]
    assert "macro-F1" in stdout


def test_a_genus_without_photos_prints_n_a_not_zero_recall(tmp_path, tiny_checkpoint):
    """A folder of some genera only: a genus with no photo has no recall, and one never
    predicted no precision; 0.000 would read as a model that fails that genus."""
    root = write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))
    status, stdout, _ = run_cli("evaluate", "--data", str(root), "--out", str(tmp_path / "o"),
                                "--model", str(tiny_checkpoint), "--workers", "0")
    assert status == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    predicted = np.array(report["confusion_matrix"]).sum(axis=0)
    rows = {line.split()[0]: line.split()[1:] for line in stdout.splitlines()
            if line.split() and line.split()[0] in GENERA}
    for i, genus in enumerate(GENERA):
        precision, recall, f1, support = rows[genus][:4]
        assert int(support) == report["per_class"][genus]["support"]
        assert (recall == "n/a") == (int(support) == 0)
        assert (precision == "n/a") == (predicted[i] == 0)
        assert (f1 == "n/a") == (int(support) == 0 and predicted[i] == 0)
