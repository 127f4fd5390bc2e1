"""Model soup: uniform weight averaging of runs trained on one manifest."""

import json

import pytest
import torch

from mushroom.checkpoint import load_checkpoint, save_checkpoint
from mushroom.models import create_model
from mushroom.soup import average_state_dicts, make_soup


def _run(tmp_path, name, seed, manifest="abc"):
    torch.manual_seed(seed)
    model = create_model("efficientnet_lite0", 9, pretrained=False)
    folder = tmp_path / name
    save_checkpoint(folder / "model.pt", model, {
        "arch": "efficientnet_lite0", "classes": [str(i) for i in range(9)],
        "temperature": 1.0, "poison_threshold": 0.1, "metrics": {}, "train_config": {},
        "manifest_sha256": manifest, "version": name})
    (folder / "train_report.json").write_text(json.dumps({"history": []}))
    (folder / "manifest.csv").write_text("path\n")
    return folder, load_checkpoint(folder / "model.pt")[0]


def test_average_state_dicts_is_the_mean_and_keeps_integer_buffers():
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(7)}
    avg = average_state_dicts([a, b])
    assert torch.equal(avg["w"], torch.tensor([2.0, 4.0])) and avg["n"].item() == 5
    with pytest.raises(ValueError):
        average_state_dicts([a, {"w": a["w"]}])


def test_make_soup_averages_two_checkpoints(tmp_path):
    (r1, m1), (r2, m2) = _run(tmp_path, "a", 1), _run(tmp_path, "b", 2)
    out = make_soup([str(r1), str(r2)], str(tmp_path / "soup"))
    soup, meta = load_checkpoint(out / "model.pt")
    key = "head.1.weight"
    expected = (m1.state_dict()[key] + m2.state_dict()[key]) / 2
    assert torch.allclose(soup.state_dict()[key], expected, atol=2e-3)  # fp16 storage
    assert meta["soup_of"] == [str(r1), str(r2)] and (out / "manifest.csv").exists()


def test_make_soup_refuses_runs_on_different_splits(tmp_path):
    r1, _ = _run(tmp_path, "a", 1, manifest="one")
    r2, _ = _run(tmp_path, "b", 2, manifest="two")
    with pytest.raises(ValueError, match="different manifests"):
        make_soup([str(r1), str(r2)], str(tmp_path / "soup"))
    assert not (tmp_path / "soup").exists()  # refused before anything was written


def test_make_soup_averages_unadjusted_heads(tmp_path):
    import numpy as np

    (r1, m1), _ = _run(tmp_path, "a", 1), None
    prior = np.linspace(-4, -1, 9)
    shifted = create_model("efficientnet_lite0", 9, pretrained=False)
    shifted.load_state_dict(m1.state_dict())
    shifted.head[-1].bias.data -= 0.5 * torch.as_tensor(prior, dtype=torch.float32)
    r2 = tmp_path / "b"
    save_checkpoint(r2 / "model.pt", shifted, {
        "arch": "efficientnet_lite0", "classes": [str(i) for i in range(9)],
        "temperature": 1.0, "poison_threshold": 0.1, "metrics": {}, "train_config": {},
        "manifest_sha256": "abc", "version": "b",
        "logit_adjustment": {"alpha": 0.5, "log_prior": prior.tolist()}})
    (r2 / "train_report.json").write_text(json.dumps({"history": []}))
    out = make_soup([str(r1), str(r2)], str(tmp_path / "soup"))
    soup, meta = load_checkpoint(out / "model.pt")
    assert torch.allclose(soup.head[-1].bias, m1.head[-1].bias, atol=2e-3)
    assert meta["logit_adjustment"]["alpha"] == 0.0


def test_a_soup_of_distilled_students_records_each_recipe(tmp_path):
    (r1, _), (r2, _) = _run(tmp_path, "a", 1), _run(tmp_path, "b", 2)
    for run, lr in ((r1, 1e-4), (r2, 2e-4)):
        model, meta = load_checkpoint(run / "model.pt")
        meta = {k: v for k, v in meta.items() if k != "state_dict"}
        meta["distillation"] = {"teachers": ["t1", "t2"], "init": "soup",
                                "config": {"lr": lr}, "history": [{"epoch": 1}] * 3}
        save_checkpoint(run / "model.pt", model, meta)
    _, meta = load_checkpoint(make_soup([str(r1), str(r2)], str(tmp_path / "soup")) / "model.pt")
    assert meta["name"] == "mushroom-efficientnet_lite0-distilled-soup2"
    record = meta["distillation"]
    assert record["teachers"] == ["t1", "t2"] and record["init"] == "soup"
    assert [s["config"]["lr"] for s in record["students"]] == [1e-4, 2e-4]
    assert [s["run"] for s in record["students"]] == [str(r1), str(r2)]
    assert record["students"][0]["epochs_done"] == 3
    # a soup of that soup and a student of other teachers keeps every student and teacher
    r3, _ = _run(tmp_path, "d", 4)
    model, meta3 = load_checkpoint(r3 / "model.pt")
    meta3 = {k: v for k, v in meta3.items() if k != "state_dict"}
    meta3["distillation"] = {"teachers": ["t2", "t3"], "init": "soup2",
                             "config": {"lr": 3e-4}, "history": [{"epoch": 1}]}
    save_checkpoint(r3 / "model.pt", model, meta3)
    _, again = load_checkpoint(make_soup([str(tmp_path / "soup"), str(r3)],
                                         str(tmp_path / "soup3")) / "model.pt")
    record = again["distillation"]
    assert record["teachers"] == ["t1", "t2", "t3"]
    assert [s["config"]["lr"] for s in record["students"]] == [1e-4, 2e-4, 3e-4]
    assert record["students"][2]["teachers"] == ["t2", "t3"]
    assert again["name"] == "mushroom-efficientnet_lite0-distilled-soup2"
    # plain runs keep the plain name
    _, plain = load_checkpoint(make_soup([str(r1), str(_run(tmp_path, "c", 3)[0])],
                                         str(tmp_path / "mixed")) / "model.pt")
    assert plain["name"] == "mushroom-efficientnet_lite0-soup2" and "distillation" not in plain


def test_soup_never_overwrites_an_ingredient_and_keeps_no_borrowed_outputs(tmp_path):
    import numpy as np

    from mushroom.recalibrate import recalibrate

    (r1, _), (r2, _) = _run(tmp_path, "a", 1), _run(tmp_path, "b", 2)
    np.savez_compressed(r1 / "outputs.npz", val_logits=np.zeros((2, 9)))
    model_bytes = (r2 / "model.pt").read_bytes()
    with pytest.raises(ValueError, match="one of the input runs"):
        make_soup([str(r1), str(r2)], str(r2))
    assert (r2 / "model.pt").read_bytes() == model_bytes
    out = make_soup([str(r1), str(r2)], str(tmp_path / "soup"))
    assert not (out / "outputs.npz").exists()  # run a's predictions are not the soup's
    with pytest.raises(FileNotFoundError, match="pass --data"):
        recalibrate(str(out))


def test_soup_cli_replaces_an_earlier_soup_only_with_overwrite(tmp_path):
    from conftest import run_cli

    (r1, _), (r2, _) = _run(tmp_path, "a", 1), _run(tmp_path, "b", 2)
    out = tmp_path / "soup"
    assert run_cli("soup", "--runs", str(r1), str(r2), "--out", str(out))[0] == 0
    first = (out / "model.pt").read_bytes()
    (r3, _) = _run(tmp_path, "c", 3)
    status, _, stderr = run_cli("soup", "--runs", str(r1), str(r3), "--out", str(out))
    assert status == 2 and "add --overwrite to replace it" in stderr
    assert (out / "model.pt").read_bytes() == first
    assert run_cli("soup", "--runs", str(r1), str(r3), "--out", str(out), "--overwrite")[0] == 0
    _, meta = load_checkpoint(out / "model.pt")
    assert meta["soup_of"] == [str(r1), str(r3)]


def test_soup_suggests_oof_sets_only_only_for_a_soup_with_out_of_fold_outputs(tmp_path):
    """A soup of runs trained without --cv has no oof.npz, and ``calibrate --oof-sets-only``
    refuses such a run: the command ``soup`` prints must be one that runs."""
    import numpy as np

    from conftest import run_cli

    (r1, _), (r2, _) = _run(tmp_path, "a", 1), _run(tmp_path, "b", 2)
    status, stdout, _ = run_cli("soup", "--runs", str(r1), str(r2), "--out",
                                str(tmp_path / "plain"))
    assert status == 0 and stdout.splitlines()[-1] == (
        f"  python -m mushroom calibrate --run {tmp_path / 'plain'} --data <photos>")
    np.savez_compressed(r1 / "oof.npz", logits=np.zeros((2, 9)), targets=np.zeros(2),
                        index=np.arange(2))
    status, stdout, _ = run_cli("soup", "--runs", str(r1), str(r2), "--out",
                                str(tmp_path / "cv"))
    assert status == 0 and stdout.splitlines()[-1] == (
        f"  python -m mushroom calibrate --run {tmp_path / 'cv'} --data <photos> "
        "--oof-sets-only")
