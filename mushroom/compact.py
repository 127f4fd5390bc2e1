"""``python -m mushroom compact``: small WebP copies of a manifest's photos, same names.

A rented GPU machine often takes a limited upload (this project's took 64 MiB for code,
photos and weights together; the 2,137 photos are 93 MB as JPEG). Training there reads the
copies through the unchanged manifest (``train --data OUT --manifest M``), so splits and
the manifest hash stay those of the originals and the runs can be souped, distilled and
calibrated against the originals afterwards. The 256-px WebP copies at quality 75 hold the
photos in 38 MB. Copies keep their file names (``Amanita/x.jpg`` holds WebP bytes): the
loaders read images by content, not by extension.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from mushroom.cli import add_data_flag
from mushroom.config import at_least

SIDE = 256  # shorter side of the copies in pixels (never enlarged)
QUALITY = 75  # WebP quality


def compact_one(src: Path, dest: Path, side: int = SIDE, quality: int = QUALITY) -> int:
    """Write ``src`` upright and in RGB, shorter side at most ``side``, as WebP at ``dest``.

    Returns:
        The copy's size in bytes.
    """
    from PIL import Image

    from mushroom.imageio import open_image

    img = open_image(src, min_side=1)
    scale = side / min(img.size)
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS)
    dest.parent.mkdir(parents=True, exist_ok=True)
    img.save(dest, "WEBP", quality=quality, method=6)
    return dest.stat().st_size


def _check_out(data: Path, out: Path) -> None:
    """Refuse an ``--out`` that is, holds or lies inside the photo folder.

    Raises:
        ValueError: the copies would overwrite or mix with the originals.
    """
    d, o = data.resolve(), out.resolve()
    if o == d or d in o.parents or o in d.parents:
        raise ValueError(f"--out {out} overlaps --data {data}: the copies would overwrite or "
                         "mix with the originals; give a folder outside it")


def compact(data: str, manifest: str, out: str, side: int = SIDE, quality: int = QUALITY,
            workers: int = 2) -> tuple[int, int]:
    """Copy every photo of ``manifest`` from ``data`` into ``out`` under the same path.

    ``data`` is the photo root (``--data`` has already entered a wrapper folder).

    Returns:
        ``(photos written, bytes written)``.
    """
    from tqdm import tqdm

    from mushroom.manifest import check_photos, read_manifest

    root, dest = Path(data), Path(out)
    _check_out(root, dest)
    frame = read_manifest(manifest)
    check_photos(frame, root)
    jobs = [(root / p, dest / p, side, quality) for p in frame["path"]]
    with ProcessPoolExecutor(workers) as pool:
        sizes = list(tqdm(pool.map(_job, jobs, chunksize=16), total=len(jobs),
                          desc="compact", unit="photo"))
    return len(sizes), sum(sizes)


def _job(args: tuple) -> int:
    return compact_one(*args)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``compact``."""
    p = sub.add_parser("compact", help="small WebP copies of a manifest's photos, same names, "
                                       "for an upload-limited training machine")
    add_data_flag(p)
    p.add_argument("--manifest", required=True, help="manifest CSV whose photos to copy")
    p.add_argument("--out", required=True, help="folder for the copies (outside --data)")
    p.add_argument("--side", type=at_least(32), default=SIDE,
                   help="shorter side of the copies in pixels; smaller photos keep theirs")
    p.add_argument("--quality", type=at_least(1), default=QUALITY, help="WebP quality, 1-100")
    p.add_argument("--workers", type=at_least(1), default=2, help="encoding processes")
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    """Check the values, write the copies and say how to train on them."""
    if args.quality > 100:
        raise ValueError(f"--quality must be 1-100, not {args.quality}")
    n, size = compact(args.data, args.manifest, args.out, args.side, args.quality,
                      args.workers)
    print(f"wrote {n} copies to {args.out} ({size / 1e6:.1f} MB); train on them with "
          f"--data {args.out} --manifest {args.manifest}")
    return 0
