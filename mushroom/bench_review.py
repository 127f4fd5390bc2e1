"""``python -m mushroom.bench_review``: how long a Review tab event takes at a given scale.

Builds a synthetic review setup under ``--root`` (tiny distinct JPEGs in genus folders, a
queue in ``review-queue``'s format with plausible probabilities, and a label store of
``--rows`` decisions from 5 experts written through :func:`mushroom.labels.append`), then
times the tab's handlers in-process: the queue load, *Show*, *Skip*, *Go to*, the timer's
refresh tick and *Confirm* (which writes a row, so the next load redoes the consensus) on a
copy of the store. The
setup is reused when it already has the asked size; writing 20,000 fsynced rows takes
about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from mushroom.bench import ROOT, percentiles, timed
from mushroom.taxonomy import GENERA

EXPERTS = ("alice", "bob", "carol", "dave", "erin")
PASSWORD = "bench-review-only"


def write_photos(data: Path, n: int) -> pd.DataFrame:
    """``n`` tiny distinct JPEGs spread over the genus folders: path, folder_genus, image_id."""
    from PIL import Image

    from mushroom.data import file_id

    rng, rows = np.random.default_rng(0), []
    for i in range(n):
        genus = GENERA[i % len(GENERA)]
        path = data / genus / f"{i:08d}.jpg"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        rows.append((path.relative_to(data).as_posix(), genus, file_id(path)))
    return pd.DataFrame(rows, columns=["path", "folder_genus", "image_id"])


def write_queue(photos: pd.DataFrame, out: Path) -> None:
    """The queue cache: mostly confident agreement, some doubt, some disagreement."""
    from mushroom.review import prob_columns

    rng = np.random.default_rng(1)
    probs = []
    for genus in photos["folder_genus"]:
        alpha = np.full(len(GENERA), 0.3)
        alpha[GENERA.index(genus)] = rng.choice([8.0, 2.0, 0.5], p=[0.75, 0.15, 0.1])
        probs.append(np.round(rng.dirichlet(alpha), 5))
    frame = photos.assign(source="oof", model="out-of-fold")
    frame = pd.concat([frame, pd.DataFrame(probs, columns=prob_columns(GENERA))], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)


def write_store(photos: pd.DataFrame, labels_dir: Path, n: int) -> None:
    """``n`` decisions: confirms, relabels, flags, notes and a few undos, most of them on the
    first photos of the queue (where experts start)."""
    from mushroom.decision import FLAGS, Decision
    from mushroom.labels import append

    rnd, written = random.Random(n), []
    for k in range(n):
        pick = rnd.randrange(len(photos) if rnd.random() < 0.3 else min(len(photos), 3000))
        path, genus, image_id = photos.iloc[pick]
        who, r = rnd.choice(EXPERTS), rnd.random()
        if r < 0.03 and written:
            t = rnd.choice(written[-50:])
            d = Decision(t.annotator, "undo", t.image_id, t.path, t.genus, t.genus,
                         undoes=t.row_id)
        elif r < 0.85:
            d = Decision(who, "confirm" if r < 0.7 else "relabel", image_id, path, genus,
                         genus if r < 0.7 else rnd.choice(GENERA))
        elif r < 0.92:
            d = Decision(who, "flag", image_id, path, genus, genus, flags=[rnd.choice(FLAGS)])
        else:
            d = Decision(who, "note", image_id, path, genus, genus, note=f"note {k}")
        written.append(append(labels_dir, d))


def setup(root: Path, photos: int, rows: int) -> tuple[Path, Path]:
    """The photo folder and label store at ``root``, built unless already of this size."""
    from mushroom.labels import read_rows

    data, labels_dir = root / "photos", root / f"labels_{photos}x{rows}"
    if not (labels_dir / "queue.csv").is_file() or len(read_rows(labels_dir)) != rows:
        listed = write_photos(data, photos)
        for old in labels_dir.glob("*"):
            old.unlink()
        write_queue(listed, labels_dir / "queue.csv")
        write_store(listed, labels_dir, rows)
    return data, labels_dir


def bench_events(data: Path, labels_dir: Path, repeats: int) -> dict:
    """p50/p95 of each event's handler, as the app calls it."""
    from mushroom import auth
    from mushroom.review import load_queue
    from mushroom.ui import review_handlers as h
    from mushroom.ui.review_moves import go_to
    from mushroom.ui.review_refresh import tick

    ctx = h.ReviewContext(data, labels_dir, ROOT / "assets" / "model.pt")
    first = load_queue(ctx.cache, labels_dir)["image_id"].iat[0]
    shown = iter(load_queue(ctx.cache, labels_dir)["image_id"].tolist() * 2)
    events = {
        "load_queue": lambda: load_queue(ctx.cache, labels_dir),
        "show": lambda: h.show(ctx, "alice", first, "All", "all"),
        "skip (unreviewed by me)": lambda: h.skip(ctx, "alice", first, "All", "unreviewed by me"),
        "go to": lambda: go_to(ctx, "alice", first, None),
        # a page that shows nothing yet: progress and votes are computed and sent
        "refresh tick": lambda: tick(ctx, "alice", first, "All", "all", None, "", [], ""),
        "confirm (writes a row)": lambda: h.act(ctx, "confirm", "alice", next(shown), "", "",
                                                "", "All", "all"),
    }
    # Set for the timed calls only: called in-process (tests), a lasting MUSHROOM_EXPERTS
    # had configured experts in every app that process launched afterwards.
    experts = {"MUSHROOM_EXPERTS": f"alice:{auth.hash_password(PASSWORD)}"}
    with mock.patch.dict(os.environ, experts):
        return {name: percentiles(timed(fn, repeats, warmup=1)) for name, fn in events.items()}


def build_parser() -> argparse.ArgumentParser:
    from mushroom.cli import Parser
    from mushroom.config import at_least

    parser = Parser(prog="python -m mushroom.bench_review", description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT / "runs" / "bench" / "review",
                        help="folder for the synthetic photos, queue and store")
    # an empty queue or store would end in a traceback, not a timing
    parser.add_argument("--photos", type=at_least(1), default=7000, help="queue size")
    parser.add_argument("--rows", type=at_least(1), default=20000,
                        help="decisions in the store")
    parser.add_argument("--repeats", type=at_least(1), default=20,
                        help="timed calls per event")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the setup, time the events, print them and save JSON under --root."""
    args = build_parser().parse_args(argv)
    data, labels_dir = setup(args.root, args.photos, args.rows)
    work = args.root / "work"  # confirms write rows: keep the built store as it is
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(labels_dir, work)
    results = {"photos": args.photos, "rows": args.rows, "load_average": list(os.getloadavg()),
               "events": bench_events(data, work, args.repeats)}
    for name, r in results["events"].items():
        print(f"{name:<26} p50 {r['p50_ms']:>8.1f} ms   p95 {r['p95_ms']:>8.1f} ms")
    out = args.root / f"bench_{args.photos}x{args.rows}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
