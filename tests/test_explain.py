"""Fast LIME: the pieces, and that it finds what a model with a known answer looks at.

The known-answer model is a real :class:`~mushroom.predict.Predictor` around a tiny torch
module whose genus-0 logit counts vivid red pixels in the photo's top-left quadrant; LIME
must put the two red discs of that quadrant on top, in both presets, and the two must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mushroom import explain as lime
from mushroom.predict import Predictor, load_model
from mushroom.taxonomy import GENERA
from mushroom.ui import heatmap


class TopLeftRedness(torch.nn.Module):
    """Genus 0's logit grows with the number of vivid red pixels in the top-left quadrant.

    Nonlinear on purpose: LIME hides a superpixel by painting it its mean colour, which a
    linear function of the pixels could not notice.
    """

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2, x.shape[-1] // 2
        quad = x[:, :, :h, :w]
        return torch.relu(quad[:, 0] - quad[:, 1] - 1.0).mean(dim=(1, 2))[:, None] * 10

    def classify(self, feats: torch.Tensor):
        logits = torch.zeros(len(feats), len(GENERA))
        logits[:, 0] = 4 * feats[:, 0]
        return logits, torch.zeros(len(feats)), feats


def known_answer_predictor() -> Predictor:
    meta = {"arch": "stub", "classes": list(GENERA), "temperature": 1.0, "poison_threshold": 0.3,
            "input_size": 224, "mean": [0.5] * 3, "std": [0.5] * 3, "version": "stub"}
    return Predictor(TopLeftRedness(), meta)


def red_patches_photo() -> Image.Image:
    """Grey-green background with five red discs, vivid at the centre, dull at the rim.

    Painting a disc its mean colour removes its vivid centre, which the model notices.
    """
    yy, xx = np.mgrid[0:224, 0:224]
    img = np.empty((224, 224, 3))
    img[:] = (90, 120, 90)
    for cy, cx in [(40, 40), (85, 80), (40, 170), (170, 50), (170, 170)]:
        r = np.hypot(yy - cy, xx - cx) / 22
        disc = r < 1
        vivid = (1 - r[disc])[:, None]
        img[disc] = vivid * np.array([235, 15, 15]) + (1 - vivid) * np.array([150, 70, 60])
    noise = np.random.default_rng(0).normal(0, 3, img.shape)
    return Image.fromarray(np.clip(img + noise, 0, 255).astype(np.uint8))


def test_paired_masks_are_balanced_and_start_with_the_photo():
    masks = lime.paired_masks(101, 37, seed=0)
    assert masks.shape == (101, 37)
    assert masks[0].all()
    np.testing.assert_array_equal(masks[1::2], 1 - masks[2::2])
    np.testing.assert_array_equal(masks[1:].sum(axis=0), np.full(37, 50))
    assert not np.array_equal(masks, lime.paired_masks(101, 37, seed=1))
    unpaired = lime.paired_masks(101, 37, seed=0, paired=False)
    assert unpaired[0].all() and unpaired.shape == (101, 37)


def test_mean_fill_matches_lime_loop():
    view = np.asarray(red_patches_photo())
    seg = lime.segment(view, lime.PRESETS["fast"])
    assert seg.min() == 0 and len(np.unique(seg)) == seg.max() + 1
    filled = lime.mean_fill(view, seg)
    for s in np.unique(seg)[:10]:
        expect = view[seg == s].mean(axis=0).astype(np.uint8)
        np.testing.assert_array_equal(filled[seg == s][0], expect)


def in_top_left(exp: lime.Explanation, ids: list[int]) -> float:
    """Share of the pixels of superpixels ``ids`` that lie in the top-left quadrant."""
    mask = np.isin(exp.segments, ids)
    return mask[:112, :112].sum() / mask.sum()


@pytest.mark.parametrize("preset", ["fast", "reference"])
def test_known_answer_is_found(preset):
    predictor = known_answer_predictor()
    exp = lime.explain(predictor, red_patches_photo(), "Agaricus", lime.PRESETS[preset],
                       use_cache=False)
    assert exp.genus == "Agaricus"
    discs = [i for i in range(len(exp.weights)) if exp.view[exp.segments == i].mean(0)[0] > 150]
    expected = {i for i in discs if in_top_left(exp, [i]) > 0.9}
    assert len(discs) == 5 and len(expected) == 2
    strong = {i for i in exp.top(5) if exp.weights[i] > 0.25 * exp.weights.max()}
    assert strong == expected


def test_fast_agrees_with_reference_on_known_answer():
    predictor = known_answer_predictor()
    image = red_patches_photo()
    fast = lime.explain(predictor, image, "Agaricus", lime.PRESETS["fast"], use_cache=False)
    ref = lime.explain(predictor, image, "Agaricus", lime.PRESETS["reference"], use_cache=False)
    assert lime.top_k_agreement(fast, ref, k=2) == 1.0
    assert np.corrcoef(fast.weights, ref.weights)[0, 1] > 0.9


def test_cache_progress_and_genus_choice(tiny_checkpoint):
    predictor = load_model(tiny_checkpoint)
    image = red_patches_photo()
    cfg = lime.resolve_config("fast", 40)
    assert cfg.num_samples == 40 and cfg.model_size == lime.PRESETS["fast"].model_size
    seen = []
    first = lime.explain(predictor, image, None, cfg, progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    assert first.genus == GENERA[int(predictor.predict([image]).probs[0].argmax())]
    assert lime.explain(predictor, image, None, cfg) is first  # cached by photo hash
    assert lime.explain(predictor, image, None, cfg, use_cache=False) is not first
    assert lime.explain(predictor, image, None, cfg) is first  # use_cache=False kept it
    assert lime.explain(predictor, image, first.genus, cfg) is first  # same genus, by name
    genus = next(g for g in GENERA if g != first.genus)  # the untrained top-1 varies
    other = lime.explain(predictor, image, genus, cfg)
    assert other.genus == genus and other is not first
    with pytest.raises(ValueError, match="unknown genus"):
        lime.explain(predictor, image, "Pleurotus", cfg)
    with pytest.raises(ValueError, match="unknown quality"):
        lime.resolve_config("turbo")
    with pytest.raises(ValueError, match="at most 2000 samples"):
        lime.resolve_config("fast", 2001)


def test_the_predicted_genus_on_an_exact_tie_is_the_one_identify_names():
    """A photo without red gives the known-answer model nine equal logits: /identify's top_k
    and verdict name Amanita (poisonous first on a tie), and so must "Predicted genus"."""
    from mushroom.service import top_k
    from mushroom.verdict import decide

    predictor = known_answer_predictor()
    plain = Image.new("RGB", (224, 224), (90, 120, 90))
    probs = predictor.predict([plain]).probs[0]
    assert np.all(probs == probs[0])  # the exact tie this is about
    named = top_k(probs, predictor.classes, 1)[0]["genus"]
    assert named == decide(dict(zip(GENERA, probs)), 0.3).genus == "Amanita"
    exp = lime.explain(predictor, plain, None, lime.resolve_config("fast", 10), use_cache=False)
    assert exp.genus == named


def test_reference_progress_counts_all_its_batches(tiny_checkpoint):
    predictor = load_model(tiny_checkpoint)
    cfg = lime.resolve_config("reference", 60)
    seen = []
    lime.explain(predictor, red_patches_photo(), None, cfg, use_cache=False,
                 progress=lambda f, m: seen.append((f, m)))
    n = -(-60 // cfg.batch_size)
    assert {m for _, m in seen} == {f"Scoring {n} batches of perturbed copies"}
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0


def test_overlay_tints_supporting_cyan_and_opposing_red():
    predictor = known_answer_predictor()
    exp = lime.explain(predictor, red_patches_photo(), "Agaricus", lime.PRESETS["fast"])
    size = heatmap.DISPLAY_SIZE
    out = np.asarray(heatmap.overlay(exp, num_features=5)).astype(int)
    assert out.shape[1] == size and out.shape[0] > size  # the view plus the legend strip
    seg = np.asarray(Image.fromarray(exp.segments).resize((size, size), Image.NEAREST))
    best = exp.top(1)[0]
    tinted = out[:size][seg == best].mean(axis=0)
    base = np.asarray(Image.fromarray(exp.view).resize((size, size))).astype(int)
    plain = base[seg == best].mean(axis=0)
    if exp.weights[best] > 0:  # cyan adds green and blue
        assert tinted[1] - plain[1] > 30 and tinted[2] - plain[2] > 30
    else:
        assert tinted[0] - plain[0] > 30
    untouched = ~np.isin(seg, exp.top(5))
    assert np.abs(out[:size][untouched] - base[untouched]).mean() < 25


def test_bench_command_reports_lime_and_latency(tiny_checkpoint, tmp_path, capsys,
                                                monkeypatch):
    """``python -m mushroom.bench`` end to end on one photo (no server: that is tested apart)."""
    import json
    from dataclasses import replace

    from conftest import make_photo
    from mushroom import bench

    # The reference's own engine and settings but 100 samples, not 1000: what is checked
    # here is the bench's plumbing (timings, agreement, the cache), not the reference's
    # quality, and its 1000 samples were most of this test's minute.
    monkeypatch.setitem(lime.PRESETS, "reference",
                        replace(lime.PRESETS["reference"], num_samples=100))
    folder = tmp_path / "photos" / "Amanita"
    folder.mkdir(parents=True)
    make_photo(GENERA.index("Amanita"), seed=2, size=(240, 200)).save(folder / "a.jpg")
    out = tmp_path / "bench.json"
    argv = ["--model", str(tiny_checkpoint), "--data", str(tmp_path / "photos"),
            "--per-genus", "1", "--repeats", "3", "--skip-server",
            "--cache", str(tmp_path / "cache"), "--out", str(out)]
    assert bench.main(argv) == 0
    results = json.loads(out.read_text())
    assert results["in_process"]["n"] == 3 and results["in_process"]["p50_ms"] > 0
    lime_result = results["lime"]
    assert 0 <= lime_result["agreement_top5_mean"] <= 1 and lime_result["photos"] == 1
    # Times are printed, not compared: which preset is faster is the benchmark's to show.
    assert lime_result["fast"]["p50_ms"] > 0 and lime_result["reference"]["p50_ms"] > 0
    assert lime_result["reference_times_from_cache"] == 0
    assert "top-5 agreement" in capsys.readouterr().out
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1  # the reference is cached
    assert bench.main(argv) == 0  # a rerun reads the reference, its time and its weights
    again = json.loads(out.read_text())["lime"]
    assert again["reference_times_from_cache"] == 1
    assert again["reference"] == lime_result["reference"]


def test_lime_explains_the_networks_softmax_whatever_the_calibrated_temperature():
    photo = red_patches_photo()
    sharp = known_answer_predictor()
    sharp.temperature = 0.3  # as if recalibrated: the displayed probabilities change...
    cfg = lime.PRESETS["fast"]
    plain = lime.explain(known_answer_predictor(), photo, cfg=cfg, use_cache=False)
    recalibrated = lime.explain(sharp, photo, cfg=cfg, use_cache=False)
    np.testing.assert_allclose(recalibrated.weights, plain.weights, atol=1e-9)  # ...not LIME's
    assert recalibrated.probability > plain.probability  # the headline uses the calibrated one
    from dataclasses import replace

    hotter = lime.explain(known_answer_predictor(), photo, cfg=replace(cfg, temperature=0.3),
                          use_cache=False)
    assert not np.allclose(hotter.weights, plain.weights, atol=1e-6)


def test_the_lru_cache_evicts_the_least_recently_used_entry():
    from mushroom.lru import LRU

    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent...
    cache.put("c", 3)  # ...so "b" goes
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    cache.clear()
    assert cache.get("a") is None


def legend_exp(genus: str = "Russula", p: float = 0.999, score: float = 0.8,
               samples: int = 320):
    """What the legend reads of an explanation."""
    from types import SimpleNamespace

    return SimpleNamespace(genus=genus, probability=p, seconds=3.3, score=score,
                           weights=np.zeros(40), config=SimpleNamespace(
                               engine="fast", num_samples=samples, model_size=224))


@pytest.mark.parametrize("genus, p, score",
                         [("Russula", 0.999, 0.8), ("Cortinarius", 0.16, 0.33)])
def test_heatmap_legend_is_readable_on_a_phone_and_never_overlaps(genus, p, score):
    """A phone shows the 448-px heatmap about 300 px wide: the legend must scale with it."""
    view = Image.new("RGB", (heatmap.DISPLAY_SIZE,) * 2, (128, 128, 128))
    exp = legend_exp(genus, p, score)
    strip = np.asarray(heatmap._with_legend(view, exp))[heatmap.DISPLAY_SIZE:].astype(int)

    def box(rgb):
        ys, xs = np.nonzero((np.abs(strip - rgb).sum(axis=2) < 30))
        return ys.min(), ys.max(), xs.min(), xs.max()

    cy0, cy1, _, _ = box(heatmap.SUPPORT_RGB)
    ry0, _, rx0, _ = box(heatmap.OPPOSE_RGB)
    assert cy1 - cy0 + 1 >= heatmap.DISPLAY_SIZE // 22  # ~13 px once shrunk to 300 px
    ink = np.nonzero((strip.sum(axis=2) < 600).any(axis=0))[0]  # type and swatches
    assert ink.max() < heatmap.DISPLAY_SIZE - 4  # nothing runs off the right edge
    assert ry0 > cy1 or rx0 > 200  # "opposes it" on its own line or after the genus


def test_the_legend_says_how_well_lime_fits_and_warns_when_it_fits_weakly():
    """The fit (R^2) was computed and dropped: a heatmap whose LIME fit explained a third
    of the model's behaviour (0.33 on a real Hygrocybe photo) looked as sure as one at 0.9."""
    assert heatmap.fit_note(0.78) == "Fit 0.78 of 1"
    assert heatmap.fit_note(0.33) == "Fit 0.33 of 1: weak, read with caution"
    view = Image.new("RGB", (heatmap.DISPLAY_SIZE,) * 2, (128, 128, 128))
    strips = {score: np.asarray(heatmap._with_legend(view, legend_exp(score=score))
                                )[heatmap.DISPLAY_SIZE:].astype(int) for score in (0.78, 0.33)}
    assert strips[0.78].shape == strips[0.33].shape
    rows = np.nonzero((strips[0.78] != strips[0.33]).any(axis=(1, 2)))[0]
    assert len(rows)  # the score is drawn...
    ink = {s: np.nonzero((strip[rows].sum(axis=2) < 300).any(axis=0))[0].max()
           for s, strip in strips.items()}
    assert ink[0.33] > ink[0.78] + 150  # ...and the weak one carries its caution


def test_a_fit_from_too_few_samples_is_not_shown_as_trustworthy():
    """With the Samples slider at 10, LIME's fit is measured on the 10 samples it was fitted
    to: it read "Fit 0.93 of 1", no caution, for a heatmap whose top regions were mostly not
    the default's. Fewer than 3 samples per superpixel now says so, in the alt text and in
    the legend, which still fits the image."""
    photo = red_patches_photo()
    few = lime.explain(known_answer_predictor(), photo, "Agaricus",
                       lime.resolve_config("fast", 10))
    enough = lime.explain(known_answer_predictor(), photo, "Agaricus",
                          lime.resolve_config("fast", 3 * len(few.weights)))
    assert len(few.weights) > 4  # 10 samples are too few for this photo's regions
    assert heatmap.describe(few).endswith(f"Fit {few.score:.2f} of 1: too few samples to trust.")
    assert "too few samples" not in heatmap.describe(enough)
    view = Image.new("RGB", (heatmap.DISPLAY_SIZE,) * 2, (128, 128, 128))
    strip = np.asarray(heatmap._with_legend(view, legend_exp(score=0.93, samples=10))
                       )[heatmap.DISPLAY_SIZE:].astype(int)
    ink = np.nonzero((strip.sum(axis=2) < 600).any(axis=0))[0]
    assert ink.max() < heatmap.DISPLAY_SIZE - 4  # the longer line does not run off the edge


def test_the_page_says_the_heatmap_covers_only_the_centre_square_the_model_sees():
    """A portrait photo's heatmap lost its top and bottom with no word why: users took the
    crop for a bug, and did not learn that the model never saw the cap cut off there."""
    from mushroom.ui.explaining import LEGEND

    photo = red_patches_photo().resize((224, 448))  # portrait: the discs fill the middle
    exp = lime.explain(known_answer_predictor(), photo, "Agaricus", lime.PRESETS["fast"])
    size = heatmap.DISPLAY_SIZE
    shown = np.asarray(heatmap.overlay(exp, num_features=1, image=photo))[:size]
    middle = np.asarray(photo.resize((size, 2 * size)))[size // 2:size // 2 + size]
    untinted = ~np.isin(np.asarray(Image.fromarray(exp.segments).resize((size, size),
                                                                          Image.NEAREST)),
                        exp.top(1))
    assert np.abs(shown[untinted].astype(int) - middle[untinted]).mean() < 3
    assert "centre square of the photo" in LEGEND and "the only part the model" in LEGEND


def test_the_legend_says_the_fit_covers_every_region_not_only_the_tinted_ones():
    """The legend called Fit "how much of the model's reaction to hidden regions the colours
    account for", but LIME fits all the regions and only the strongest few are tinted."""
    from mushroom.ui.explaining import LEGEND

    exp = lime.explain(known_answer_predictor(), red_patches_photo(), "Agaricus",
                       lime.PRESETS["fast"])
    size = heatmap.DISPLAY_SIZE
    shown = np.asarray(heatmap.overlay(exp))[:size].astype(int)
    base = np.asarray(Image.fromarray(exp.view).resize((size, size), Image.BICUBIC)).astype(int)
    seg = np.asarray(Image.fromarray(exp.segments).resize((size, size), Image.NEAREST))
    tinted = {int(r) for r in np.unique(seg) if np.median(np.abs(shown - base)[seg == r]) > 5}
    assert len(tinted) == heatmap.TINTED < len(exp.weights)  # the fit covers more regions
    assert f"The {heatmap.TINTED} strongest superpixels are tinted" in LEGEND
    assert "simple model of all the regions" in LEGEND and "colours account for" not in LEGEND


def test_opposing_regions_differ_from_supporting_ones_without_colour():
    """WCAG 1.4.1: cyan and red were the only difference between a region that supports the
    genus and one that opposes it, lost in greyscale (a colour-blind user, a grey print) where
    a light red tint on a dark cap matched a cyan one on dark soil. Opposing regions, and the
    legend's swatch for them, are hatched."""
    size = heatmap.DISPLAY_SIZE
    segments = np.zeros((224, 224), np.int32)
    segments[:, 112:] = 1  # left half supports, right half opposes, equally strongly
    view = np.full((224, 224, 3), 60, np.uint8)
    exp = lime.Explanation("Russula", 0.9, np.array([1.0, -1.0]), segments, view, 0.8,
                           lime.PRESETS["fast"], 1.0)
    out = np.asarray(heatmap.overlay(exp, num_features=2).convert("L")).astype(int)
    inner = slice(20, size - 20)  # away from the white outlines
    support, oppose = out[inner, 20:size // 2 - 20], out[inner, size // 2 + 20:size - 20]
    assert support.std() < 3 < 40 < oppose.std()  # flat tint vs stripes
    strip = np.asarray(heatmap._with_legend(Image.fromarray(view).resize((size, size)),
                                            legend_exp()))[size:].astype(int)
    for rgb, hatched in ((heatmap.SUPPORT_RGB, False), (heatmap.OPPOSE_RGB, True)):
        ys, xs = np.nonzero(np.abs(strip - rgb).sum(axis=2) < 30)
        swatch = strip[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        assert ((swatch.min(axis=2) > 230).mean() > 0.1) == hatched, rgb
