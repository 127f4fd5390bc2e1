"""Uploads do not pile up on the server: photos (EXIF GPS and all) are swept after a TTL."""

from __future__ import annotations

import os
import time

import pytest
from gradio_client import Client, handle_file

from conftest import make_photo
from mushroom.taxonomy import GENERA
from mushroom.ui import DEFAULT_UPLOAD_TTL_S, delete_cache, scratch_file, upload_ttl_s
from mushroom.ui.retention import sweep_stale_uploads
from server import running_app


def test_ttl_defaults_to_six_hours_and_rejects_nonsense():
    assert upload_ttl_s({}) == DEFAULT_UPLOAD_TTL_S == 6 * 3600
    assert upload_ttl_s({"MUSHROOM_UPLOAD_TTL_S": "90"}) == 90
    assert delete_cache({}) == (3600, 6 * 3600)  # hourly sweep
    assert delete_cache({"MUSHROOM_UPLOAD_TTL_S": "90"}) == (90, 90)  # never outlive a short TTL
    for bad in ("0", "-5", "1h", "2.5"):
        with pytest.raises(ValueError, match="MUSHROOM_UPLOAD_TTL_S"):
            upload_ttl_s({"MUSHROOM_UPLOAD_TTL_S": bad})


def test_a_mistyped_ttl_stops_the_app_at_start_with_one_line(tmp_path):
    """As a mistyped MUSHROOM_TORCH_THREADS does: "6h" had stopped `python app.py` with a
    traceback through Gradio's Blocks, the reason on its last line."""
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "MUSHROOM_UPLOAD_TTL_S": "6h", "GRADIO_SERVER_PORT": "0",
           "GRADIO_TEMP_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    why = ("error: MUSHROOM_UPLOAD_TTL_S must be a whole number of seconds from 1 to 1000000000, "
           "not '6h'")
    assert done.stderr.strip() == why, done.stderr
    assert "Running on" not in done.stdout


def test_scratch_files_prune_only_what_is_past_the_ttl(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    env = {"MUSHROOM_UPLOAD_TTL_S": "600"}
    old = scratch_file("preview", "old.jpg", env)
    old.write_bytes(b"x")
    recent = scratch_file("preview", "recent.jpg", env)
    recent.write_bytes(b"y")
    hour_ago = time.time() - 3600
    os.utime(old.parent, (hour_ago, hour_ago))

    new = scratch_file("preview", "../../escape.jpg", env)
    assert not old.exists() and not old.parent.exists()
    assert recent.read_bytes() == b"y"
    assert new.parent.parent == tmp_path / "mushroom-preview"  # a hostile name stays inside
    assert new.name == "escape.jpg" and new.parent.is_dir()


def test_files_the_app_made_go_after_the_ttl_without_another_of_their_kind(
        tiny_checkpoint, tmp_path, monkeypatch):
    """A HEIC photo's preview was pruned only when the next HEIC preview was made: on a
    Space that may be never, and the copy of the photo stayed past the TTL."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    preview = scratch_file("preview", "IMG_1234.jpg")  # as the app writes them
    export = scratch_file("labels", "consensus_labels.csv")
    preview.write_bytes(b"a photo")
    export.write_bytes(b"image_id,genus")
    env = {"MUSHROOM_MODEL": str(tiny_checkpoint), "TMPDIR": str(tmp_path),
           "GRADIO_TEMP_DIR": str(tmp_path / "gradio-cache"), "MUSHROOM_UPLOAD_TTL_S": "2"}
    with running_app(env) as app:
        deadline = time.monotonic() + 30
        while (preview.exists() or export.exists()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not preview.parent.exists() and not export.parent.exists()
        assert app.alive()


def test_the_server_deletes_uploaded_photos_after_the_ttl(tiny_checkpoint, tmp_path):
    cache = tmp_path / "gradio-cache"
    photo = tmp_path / "secret-spot.jpg"
    make_photo(GENERA.index("Boletus"), seed=3, size=(200, 160)).save(photo, quality=90)
    env = {"MUSHROOM_MODEL": str(tiny_checkpoint), "GRADIO_TEMP_DIR": str(cache),
           "MUSHROOM_UPLOAD_TTL_S": "2"}
    with running_app(env) as app:
        client = Client(app.url, verbose=False)
        # the model loads after the server listens: a first call that waited for it could
        # outlast the 2-s TTL, and the photo would be swept before it is looked for
        warm = tmp_path / "warm-up.jpg"
        make_photo(GENERA.index("Amanita"), seed=4, size=(200, 160)).save(warm, quality=90)
        assert client.predict(handle_file(str(warm)), api_name="/identify")["top_k"]
        assert client.predict(handle_file(str(photo)), api_name="/identify")["top_k"]
        kept = list(cache.rglob("secret-spot.jpg"))
        assert kept, "the upload should be on disk while it is fresh"
        deadline = time.monotonic() + 30
        while any(p.exists() for p in kept) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(p.exists() for p in kept), "upload still on disk after the TTL"
        # the sweep leaves a working app: a new upload is identified as before
        assert client.predict(handle_file(str(photo)), api_name="/identify")["top_k"]
        assert app.alive()


def test_the_sweep_ages_every_cached_file_and_spares_kept_ones(tmp_path):
    old = tmp_path / ("a" * 64) / "spot.jpg"
    kept = tmp_path / ("b" * 64) / "default.png"
    for path in (old, kept):
        path.parent.mkdir()
        path.write_bytes(b"x")
    later = time.time() + 100  # both files are 100 s old by then
    assert sweep_stale_uploads(tmp_path, 1000, now=later) == 0  # younger than the TTL
    assert sweep_stale_uploads(tmp_path, 50, {str(kept)}, now=later) == 1
    assert not old.parent.exists()  # its emptied hash folder goes too
    assert kept.exists() and tmp_path.is_dir()


def test_uploads_a_killed_run_left_behind_are_swept_by_the_next_one(tiny_checkpoint, tmp_path):
    """``running_app`` stops the app with SIGTERM, as a container or systemd does: Gradio's
    shutdown never runs and the next process does not know that run's uploads."""
    cache = tmp_path / "gradio-cache"
    photo = tmp_path / "secret-spot.jpg"
    make_photo(GENERA.index("Suillus"), seed=4, size=(200, 160)).save(photo, quality=90)
    env = {"MUSHROOM_MODEL": str(tiny_checkpoint), "GRADIO_TEMP_DIR": str(cache)}
    with running_app(env) as app:  # the default TTL: nothing is swept while it runs
        Client(app.url, verbose=False).predict(handle_file(str(photo)), api_name="/identify")
    left = list(cache.rglob("secret-spot.jpg"))
    assert left, "the killed run should have left its upload (else this test proves nothing)"
    with running_app({**env, "MUSHROOM_UPLOAD_TTL_S": "2"}) as app:
        deadline = time.monotonic() + 30
        while any(p.exists() for p in left) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(p.exists() for p in left), "an earlier run's upload outlived the TTL"
        assert app.alive()


def test_uploads_go_to_a_cache_folder_of_the_apps_own(tiny_checkpoint, tmp_path):
    """Not the ``<tmp>/gradio`` other Gradio apps share: the sweep ages out every file."""
    photo = tmp_path / "spot.jpg"
    make_photo(GENERA.index("Russula"), seed=5, size=(200, 160)).save(photo, quality=90)
    env = {"MUSHROOM_MODEL": str(tiny_checkpoint), "GRADIO_TEMP_DIR": "", "TMPDIR": str(tmp_path)}
    with running_app(env) as app:
        Client(app.url, verbose=False).predict(handle_file(str(photo)), api_name="/identify")
    assert list((tmp_path / "mushroom-gradio").rglob("spot.jpg"))
    assert not (tmp_path / "gradio").exists()


def test_a_test_server_leaves_no_log_file_behind(tiny_checkpoint):
    with running_app({"MUSHROOM_MODEL": str(tiny_checkpoint)}) as app:
        assert app.alive() and app.log_path.is_file()
        assert (app.tmp_dir / "mushroom-gradio").is_dir()  # the app's cache is in its own <tmp>
    assert not app.log_path.exists() and not app.tmp_dir.exists()
