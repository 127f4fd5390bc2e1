"""Test-time views: parsing, the views themselves, and the Predictor averaging them."""

from __future__ import annotations

import pytest
import torch
from PIL import ImageOps

from mushroom.checkpoint import load_checkpoint, save_checkpoint
from mushroom.config import CalibConfig
from mushroom.predict import load_model
from mushroom.presets import eval_transform
from mushroom.recalibrate import resolve_views
from mushroom.tta import TTA, parse
from conftest import make_photo

MEAN = STD = (0.5, 0.5, 0.5)


def test_parse_reads_sizes_and_none_and_refuses_nonsense():
    assert parse("288,256") == TTA((256, 288), flip=True)
    assert parse("256, 256").sizes == (256,)
    assert parse("none") is None and parse(None) is None and parse("") is None
    for bad in ("abc", "256;288", "8", "5000"):
        with pytest.raises(ValueError):
            parse(bad)


def test_views_are_every_size_and_its_mirror():
    tta = TTA((256, 288))
    batch = eval_transform(tta.frame_size, MEAN, STD)(make_photo(2, seed=1, size=(400, 320)))
    views = list(tta.views(batch[None]))
    assert [v.shape[-1] for v in views] == [256, 256, 288, 288] and tta.n_views == 4
    assert torch.equal(views[1], views[0].flip(-1)) and torch.equal(views[3], views[2].flip(-1))
    assert torch.equal(views[2], batch[None])  # the frame itself is the largest view
    assert len(list(TTA((256, 288), flip=False).views(batch[None]))) == 2


def test_a_resampled_view_matches_framing_the_photo_at_that_size():
    # One decode serves every view only if resampling the 288 frame is (nearly) the same as
    # the eval transform run at 256 on the original photo: same centre square, same scale.
    photo = make_photo(5, seed=3, size=(520, 400))
    frame = eval_transform(288, MEAN, STD)(photo)[None]
    direct = eval_transform(256, MEAN, STD)(photo)[None]
    resampled = next(TTA((256, 288), flip=False).views(frame))
    assert (resampled - direct).abs().mean() < 0.02


@pytest.fixture(scope="module")
def tta_checkpoint(tmp_path_factory, tiny_checkpoint):
    model, meta = load_checkpoint(tiny_checkpoint)
    torch.manual_seed(0)
    with torch.no_grad():  # a non-trivial head, so that views can disagree
        for p in (*model.adapter.parameters(), *model.head.parameters()):
            p.normal_(0, 0.05)
    meta = {k: v for k, v in meta.items() if k != "state_dict"}
    plain = tmp_path_factory.mktemp("tta") / "plain.pt"
    save_checkpoint(plain, model, meta)
    views = plain.with_name("views.pt")
    save_checkpoint(views, model, {**meta, "tta": TTA((224, 256)).to_meta()})
    return plain, views


def test_the_predictor_averages_the_checkpoints_views(tta_checkpoint):
    plain, views = tta_checkpoint
    one, many = load_model(plain), load_model(views)
    assert one.tta is None and many.tta == TTA((224, 256))
    photo = make_photo(1, seed=4, size=(300, 260))
    batch = many.preprocess([photo])
    assert batch.shape[-1] == 256  # framed once, at the largest view
    with torch.inference_mode():
        per_view = [many.model.classify(many.model.features(v))[0] for v in many.tta.views(batch)]
    expected = torch.stack(per_view).mean(0).numpy()
    got = many.predict([photo])
    assert got.logits == pytest.approx(expected, abs=1e-4)
    assert got.probs.sum() == pytest.approx(1.0, abs=1e-5)
    # views=False runs the batch once, as LIME does; and the plain checkpoint is one view
    assert not torch.allclose(torch.tensor(many.predict_batch(batch, views=False).logits),
                              torch.tensor(got.logits), atol=1e-4)
    assert one.preprocess([photo]).shape[-1] == one.input_size == 224


def test_mirrored_views_make_the_prediction_mirror_invariant(tta_checkpoint):
    plain, views = tta_checkpoint
    photo = make_photo(3, seed=9, size=(300, 300))  # square: the crop is the whole photo
    mirror = ImageOps.mirror(photo)
    many = load_model(views)
    assert many.predict([photo]).probs == pytest.approx(many.predict([mirror]).probs, abs=1e-5)
    one = load_model(plain)
    assert one.predict([photo]).probs != pytest.approx(one.predict([mirror]).probs, abs=1e-5)


def test_calibrate_keeps_or_changes_views_only_with_the_photos():
    ckpt = {"tta": {"sizes": [256, 288], "flip": True}}
    kept = resolve_views(CalibConfig(), ckpt, recompute=False)
    assert kept.tta() == TTA((256, 288))
    assert resolve_views(CalibConfig(), {}, recompute=False).tta() is None
    with pytest.raises(ValueError, match="needs --data"):
        resolve_views(CalibConfig(tta_sizes=()), ckpt, recompute=False)
    assert resolve_views(CalibConfig(tta_sizes=()), ckpt, recompute=True).tta() is None
    assert resolve_views(CalibConfig(tta_sizes=(256, 288)), ckpt, recompute=False).tta() == \
        TTA((256, 288))



def test_calibration_predicts_exactly_what_the_app_predicts(tta_checkpoint, tiny_data):
    """`calibrate --data` must score photos through the app's network (fp16, BatchNorm
    folded): a detector threshold sits on a validation photo's score, and a last-bit
    difference once made the app reject a photo that calibration had counted as accepted."""
    import numpy as np
    import pandas as pd

    from mushroom.imageio import open_image
    from mushroom.recalibrate import recompute_outputs

    _, views = tta_checkpoint
    paths = sorted(str(p.relative_to(tiny_data)) for p in tiny_data.glob("*/*.jpg"))[::3]
    frame = pd.DataFrame({"path": paths, "genus": [p.split("/")[0] for p in paths],
                          "split": "val"})
    model, ckpt = load_checkpoint(views)
    outs = recompute_outputs(model, frame, tiny_data, TTA.from_meta(ckpt))["val"]
    app = load_model(views).predict([open_image(tiny_data / p) for p in paths])
    np.testing.assert_array_equal(outs["embedding"], app.embedding)
    np.testing.assert_array_equal(outs["logits"], app.logits)
    # the checkpoint's own network is not folded by calibration: it is saved again afterwards
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
