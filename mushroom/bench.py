"""``python -m mushroom.bench``: how fast the app answers, and how faithful fast LIME is.

Prints and saves (``--out``, JSON):

* in-process /identify: decode + preprocess + model + verdict, p50 / p95;
* end-to-end /identify through ``gradio_client`` against ``python app.py``, p50 / p95,
  next to a no-op ``/ping`` round trip (Gradio's own overhead);
* LIME: the default ("fast") and the study's ("reference") explanation times, and the
  mean top-5 superpixel agreement between them over real photos.

Reference explanations take about 20 s each on 2 cores, so they are cached on disk
(``--cache``), keyed by photo, model file and settings; the fast ones are always recomputed.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mushroom.data import photo_root

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mushrooms"
LIME_CACHE = ROOT / "runs" / "bench" / "lime_reference"


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds."""
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean()), "n": len(ms)}


def timed(fn: Callable[[], object], repeats: int, warmup: int = 3) -> list[float]:
    """Wall times of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def pick_photos(data: Path, per_genus: int) -> list[Path]:
    """The first ``per_genus`` photos of each genus folder (sorted), interleaved by genus."""
    folders = sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    lists = [sorted(f.glob("*.jpg"))[:per_genus] for f in folders]
    return [lst[i] for i in range(per_genus) for lst in lists if i < len(lst)]


def synthetic_photos(n: int, out: Path) -> list[Path]:
    """Stand-in photos (smooth colour fields) for machines without the real data."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        small = rng.integers(0, 255, (6, 5, 3), dtype=np.uint8)
        path = out / f"synthetic_{i}.jpg"
        Image.fromarray(small).resize((300, 370), Image.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def bench_in_process(predictor, photos: list[Path], repeats: int) -> dict:
    """Time ``service.identify`` on photo files: decode, preprocess, model, verdict."""
    from mushroom import service

    cycle = itertools.cycle(photos)
    return percentiles(timed(lambda: service.identify(next(cycle), 3, predictor), repeats))


def bench_server(model: Path, photos: list[Path], repeats: int) -> dict:
    """Time /identify and /ping through gradio_client against a launched ``python app.py``."""
    from gradio_client import Client, handle_file

    sys.path.insert(0, str(ROOT / "tests"))  # the launcher the tests use (tests/server.py)
    from server import running_app

    with running_app({"MUSHROOM_MODEL": str(model)}) as app:
        client = Client(app.url, verbose=False)
        files = [handle_file(str(p)) for p in photos]
        cycle = itertools.cycle(files)
        identify = timed(lambda: client.predict(next(cycle), api_name="/identify"), repeats, 5)
        ping = timed(lambda: client.predict(api_name="/ping"), repeats, 5)
    return {"identify": percentiles(identify), "ping": percentiles(ping)}


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def reference_weights(predictor, image, photo: Path, model_id: str, cache: Path, seed: int = 0):
    """The reference explanation's weights and time, from the disk cache when possible."""
    from dataclasses import replace

    from mushroom import explain as lime

    cfg = replace(lime.PRESETS["reference"], seed=seed)
    key = hashlib.sha1(f"{_digest(photo)}|{model_id}|{cfg}".encode()).hexdigest()[:20]
    path = cache / f"{key}.npz"
    if path.exists():
        saved = np.load(path)
        return saved["weights"], float(saved["seconds"]), True
    exp = lime.explain(predictor, image, cfg=cfg, use_cache=False)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, weights=exp.weights, seconds=exp.seconds)
    return exp.weights, exp.seconds, False


def overlap(a: np.ndarray, b: np.ndarray, k: int = 5) -> float:
    """Share of the top-``k`` superpixels (by absolute weight) that two explanations share."""
    top = [set(np.argsort(-np.abs(w), kind="stable")[:k].tolist()) for w in (a, b)]
    return len(top[0] & top[1]) / k


def bench_lime(predictor, photos: list[Path], model_id: str, cache: Path,
               ceiling: int = 0) -> dict:
    """Fast vs reference LIME on each photo: times and top-5 superpixel agreement.

    With ``ceiling`` > 0, the reference is also rerun with another seed on that many photos:
    how well the reference agrees with itself bounds what any faster method can reach.
    """
    from mushroom import explain as lime
    from mushroom.imageio import open_image

    images = [open_image(p) for p in photos]
    lime.explain(predictor, images[0], use_cache=False)  # warm: threads, allocator, imports
    fast_s, ref_s, agree, self_agree, cached = [], [], [], [], 0
    for i, (photo, image) in enumerate(tqdm(list(zip(photos, images)), unit="photo",
                                            desc="LIME fast vs reference")):
        lime.clear_caches()  # a new photo: segmentation is part of the cost
        fast = lime.explain(predictor, image, use_cache=False)
        weights, seconds, hit = reference_weights(predictor, image, photo, model_id, cache)
        fast_s.append(fast.seconds)
        ref_s.append(seconds)
        cached += hit
        agree.append(overlap(fast.weights, weights))
        if i < ceiling:
            again = reference_weights(predictor, image, photo, model_id, cache, seed=1)[0]
            self_agree.append(overlap(weights, again))
    out = {"fast": percentiles(fast_s), "reference": percentiles(ref_s),
           "fast_preset": str(lime.PRESETS["fast"]), "agreement_top5_mean": float(np.mean(agree)),
           "agreement_top5_min": float(np.min(agree)), "agreement_top5_all": agree,
           "photos": len(photos), "reference_times_from_cache": cached}
    if self_agree:
        out["reference_self_agreement_top5_mean"] = float(np.mean(self_agree))
        out["reference_self_agreement_photos"] = len(self_agree)
    return out


def report(results: dict) -> str:
    """The human-readable summary, with each target next to its number."""
    lines = [f"model: {results['model']}  photos: {results['photos']}  torch threads: "
             f"{results['torch_threads']}  load average at start: "
             f"{' '.join(f'{x:.1f}' for x in results['load_average'])}"]
    row = "{:<26} p50 {:>8.1f} ms   p95 {:>8.1f} ms   {}"
    if "in_process" in results:
        r = results["in_process"]
        lines.append(row.format("in-process /identify", r["p50_ms"], r["p95_ms"],
                                "(target p50 <= 50 ms)"))
    if "server" in results:
        r = results["server"]
        lines.append(row.format("end-to-end /identify", r["identify"]["p50_ms"],
                                r["identify"]["p95_ms"], "(target p50 <= 250 ms)"))
        lines.append(row.format("gradio no-op /ping", r["ping"]["p50_ms"], r["ping"]["p95_ms"],
                                "(Gradio's own round trip)"))
    if "lime" in results:
        r = results["lime"]
        lines.append(row.format("LIME fast (default)", r["fast"]["p50_ms"], r["fast"]["p95_ms"],
                                "(target <= 5000 ms warm)"))
        lines.append(row.format("LIME reference", r["reference"]["p50_ms"],
                                r["reference"]["p95_ms"], "(1000 samples at 224 px)"))
        lines.append(f"{'top-5 agreement':<26} mean {r['agreement_top5_mean']:.3f}   "
                     f"min {r['agreement_top5_min']:.2f} over {r['photos']} photos   "
                     f"(target mean >= 0.8)")
        if "reference_self_agreement_top5_mean" in r:
            lines.append(f"{'reference vs itself':<26} mean "
                         f"{r['reference_self_agreement_top5_mean']:.3f} over "
                         f"{r['reference_self_agreement_photos']} photos (seed 0 vs seed 1)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from mushroom.cli import Parser
    from mushroom.config import at_least

    parser = Parser(prog="python -m mushroom.bench", description=__doc__)
    parser.add_argument("--model", type=Path, default=None,
                        help="checkpoint (default: $MUSHROOM_MODEL or assets/model.pt)")
    parser.add_argument("--data", type=lambda s: Path(photo_root(s)), default=None,
                        help=f"real photos, <Genus>/*.jpg (default: {DEFAULT_DATA}, synthetic "
                             "stand-ins when it is absent)")
    # 0 photos or calls would end in a traceback from the percentiles of nothing
    parser.add_argument("--per-genus", type=at_least(1), default=3,
                        help="photos per genus (9 genera)")
    parser.add_argument("--repeats", type=at_least(1), default=100,
                        help="timed /identify calls")
    parser.add_argument("--cache", type=Path, default=None,
                        help=f"folder of cached reference explanations (default: {LIME_CACHE})")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench" / "bench.json",
                        help="JSON file for the results")
    parser.add_argument("--skip-server", action="store_true", help="no end-to-end timing")
    parser.add_argument("--skip-lime", action="store_true", help="no LIME timing/agreement")
    parser.add_argument("--ceiling", type=at_least(0), default=0,
                        help="rerun the reference with another seed on this many photos")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; return the exit status (2 with a one-line error a user can fix)."""
    from mushroom.cli import run_command

    return run_command(run, build_parser().parse_args(argv))


def check_flags(args: argparse.Namespace) -> None:
    """Refuse flags that the other flags would leave unused.

    Raises:
        ValueError: ``--ceiling`` or ``--cache`` beside ``--skip-lime``.
    """
    for flag, value in (("--ceiling", args.ceiling), ("--cache", args.cache)):
        if args.skip_lime and value:
            raise ValueError(f"{flag} is for the LIME timing, which --skip-lime skips: drop one "
                             "of them")


def run(args: argparse.Namespace) -> int:
    """Run the benchmarks, print the summary and write the JSON.

    Raises:
        FileNotFoundError: no model file; ValueError: the file is not a checkpoint.
    """
    from mushroom import service
    from mushroom.predict import load_model

    check_flags(args)
    model = args.model or service.model_path()
    if not model.exists():  # a folder goes on to load_model, which names it as one
        raise FileNotFoundError(f"no model at {model}; pass --model or set MUSHROOM_MODEL")
    threads = service.set_torch_threads()  # the app's setting, so timings match it
    predictor = load_model(model)  # a file that is no checkpoint fails before any work
    photos = pick_photos(args.data or DEFAULT_DATA, args.per_genus)
    if args.data and not photos:  # stand-ins are for the default folder's absence only
        raise ValueError(f"--data {args.data} holds no <Genus>/*.jpg photos to time: give the "
                         "photo folder, or leave --data out (synthetic stand-ins when the "
                         "default folder is absent)")
    real = bool(photos)
    photos = photos or synthetic_photos(9 * args.per_genus, args.out.parent / "synthetic")
    results = {"model": str(model), "photos": f"{len(photos)} {'real' if real else 'synthetic'}",
               "torch_threads": threads, "load_average": list(os.getloadavg())}
    results["in_process"] = bench_in_process(predictor, photos, args.repeats)
    if not args.skip_server:
        results["server"] = bench_server(model, photos, args.repeats)
    if not args.skip_lime:
        results["lime"] = bench_lime(predictor, photos, _digest(model), args.cache or LIME_CACHE,
                                     args.ceiling)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(report(results))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
