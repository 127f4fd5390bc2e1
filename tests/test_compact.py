"""``python -m mushroom compact``: small WebP copies of a manifest's photos, same names."""

import hashlib

import pandas as pd
from PIL import Image

from conftest import run_cli, run_module
from mushroom.manifest import check_photos, manifest_sha256, read_manifest


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest(data, tmp_path):
    out = tmp_path / "m.csv"
    assert run_cli("manifest", "--data", str(data), "--out", str(out))[0] == 0
    return out


def test_copies_are_small_upright_webp_under_the_same_names(tiny_data, tmp_path):
    # one photo taller than wide on disk but marked "rotate 90" in EXIF: upright it is wide
    rotated = tiny_data / "Amanita" / "000.jpg"
    img = Image.open(rotated).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(rotated, exif=exif, quality=92)
    manifest = _manifest(tiny_data, tmp_path)
    before = _digest(tiny_data)
    code, out, err = run_cli("compact", "--data", str(tiny_data), "--manifest", str(manifest),
                             "--out", str(tmp_path / "small"), "--side", "40")
    assert code == 0, err
    frame = read_manifest(manifest)
    assert f"wrote {len(frame)} copies" in out and f"--data {tmp_path / 'small'}" in out
    check_photos(frame, tmp_path / "small")  # `train --manifest` finds every photo
    for path in frame["path"]:
        with Image.open(tmp_path / "small" / path) as copy:
            assert copy.format == "WEBP" and min(copy.size) == 40
            if path == "Amanita/000.jpg":
                assert copy.width > copy.height  # EXIF applied: stored upright
    assert _digest(tiny_data) == before  # the originals are untouched
    assert manifest_sha256(pd.read_csv(manifest, keep_default_na=False)) == manifest_sha256(
        frame)


def test_small_photos_are_not_enlarged(tiny_data, tmp_path):
    manifest = _manifest(tiny_data, tmp_path)
    code, _, err = run_cli("compact", "--data", str(tiny_data), "--manifest", str(manifest),
                           "--out", str(tmp_path / "same"), "--side", "512")
    assert code == 0, err
    path = read_manifest(manifest)["path"].iloc[0]
    with Image.open(tiny_data / path) as orig, Image.open(tmp_path / "same" / path) as copy:
        assert copy.size == orig.size


def test_an_out_folder_overlapping_the_photos_is_refused_untouched(tiny_data, tmp_path):
    manifest = _manifest(tiny_data, tmp_path)
    before = _digest(tiny_data)
    for out in (tiny_data, tiny_data / "copies", tiny_data.parent):
        code, _, err = run_cli("compact", "--data", str(tiny_data), "--manifest",
                               str(manifest), "--out", str(out))
        assert code == 2 and "overlaps --data" in err and len(err.strip().splitlines()) == 1
    assert _digest(tiny_data) == before and not (tiny_data / "copies").exists()


def test_a_manifest_of_other_photos_is_one_line(tiny_data, tmp_path):
    manifest = _manifest(tiny_data, tmp_path)
    (tiny_data / "Boletus" / "001.jpg").unlink()
    code, _, err = run_cli("compact", "--data", str(tiny_data), "--manifest", str(manifest),
                           "--out", str(tmp_path / "small"))
    assert code == 2 and "not under" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "small").exists()
    for quality in ("0", "101"):
        proc = run_module("compact", "--data", str(tiny_data), "--manifest", str(manifest),
                          "--out", str(tmp_path / "small"), "--quality", quality)
        assert proc.returncode == 2 and "--quality" in proc.stderr
        assert "Traceback" not in proc.stderr and not (tmp_path / "small").exists()
