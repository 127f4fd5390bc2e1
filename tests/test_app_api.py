"""The real app on a free port, called through gradio_client like a mobile backend would."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import make_photo
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from server import running_app

from mushroom import service
from mushroom.predict import load_model
from mushroom.taxonomy import GENERA
from mushroom.verdict import LEVELS, NO_COLOUR


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "boletus.jpg"
    make_photo(GENERA.index("Boletus"), seed=3, size=(200, 160)).save(path, quality=90)
    return path


@pytest.fixture(scope="module")
def grey_photo(tmp_path_factory) -> Path:
    """A colour photo converted to greyscale, saved as an RGB JPEG like a phone's mono filter."""
    path = tmp_path_factory.mktemp("photos") / "boletus-grey.jpg"
    make_photo(GENERA.index("Boletus"), seed=3, size=(200, 160)).convert("L").convert(
        "RGB").save(path, quality=90)
    return path


def check_schema(result: dict, k: int) -> None:
    assert {"top_k", "verdict", "model"} <= set(result)
    assert len(result["top_k"]) == k
    probs = [item["probability"] for item in result["top_k"]]
    assert probs == sorted(probs, reverse=True)
    assert all(set(item) == {"genus", "probability"} and item["genus"] in GENERA
               for item in result["top_k"])
    verdict = result["verdict"]
    assert {"level", "message", "poison_probability", "threshold"} <= set(verdict)
    assert verdict["level"] in LEVELS and verdict["message"]
    assert 0 <= verdict["poison_probability"] <= 1
    assert set(result["model"]) == {"name", "version"}


def test_identify_schema_and_probabilities(client, photo):
    result = client.predict(handle_file(str(photo)), api_name="/identify")
    check_schema(result, k=3)
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    assert result["verdict"]["threshold"] == pytest.approx(0.3)  # from the checkpoint
    assert result["model"] == {"name": "untrained-lite0", "version": "test"}
    everything = client.predict(handle_file(str(photo)), len(GENERA), api_name="/identify")
    check_schema(everything, k=len(GENERA))
    assert sum(i["probability"] for i in everything["top_k"]) == pytest.approx(1, abs=1e-4)


def test_identify_matches_in_process_service(client, photo, tiny_checkpoint):
    remote = client.predict(handle_file(str(photo)), 5, api_name="/identify")
    local = service.identify(photo, 5, load_model(tiny_checkpoint))
    assert [i["genus"] for i in remote["top_k"]] == [i["genus"] for i in local["top_k"]]
    np.testing.assert_allclose([i["probability"] for i in remote["top_k"]],
                               [i["probability"] for i in local["top_k"]], atol=1e-5)
    assert remote["verdict"]["level"] == local["verdict"]["level"]


def test_a_greyscale_photo_is_told_colour_helps_and_keeps_its_level(client, photo, grey_photo,
                                                                    tiny_checkpoint):
    grey = client.predict(handle_file(str(grey_photo)), api_name="/identify")
    assert NO_COLOUR in grey["verdict"]["reasons"] and grey["greyscale"] is True
    predictor = load_model(tiny_checkpoint)  # the same photo judged without the colour check
    prediction = predictor.predict([service.load_photo(grey_photo)])
    plain = service.response(predictor, prediction, 0, 3, service.assess(predictor, prediction)[0])
    assert grey["verdict"]["level"] == plain["verdict"]["level"]
    coloured = client.predict(handle_file(str(photo)), api_name="/identify")
    assert not any("colour" in r for r in coloured["verdict"]["reasons"])
    assert coloured["greyscale"] is False


def test_a_very_dark_colour_photo_is_not_told_it_has_no_colour(client, tmp_path):
    # A colour photo at 6 % brightness (dusk, no flash): "This photo has no colour... send a
    # colour photo" told its owner to do what they had done.
    dark = tmp_path / "dusk.png"
    arr = np.asarray(make_photo(GENERA.index("Boletus"), seed=3, size=(200, 160)), np.float32)
    Image.fromarray((arr * 0.06).astype(np.uint8)).save(dark)
    result = client.predict(handle_file(str(dark)), api_name="/identify")
    assert result["greyscale"] is False
    assert not any("colour" in r for r in result["verdict"]["reasons"])


def test_explain_returns_heatmap_for_chosen_genus(client, photo):
    out = client.predict(handle_file(str(photo)), "Amanita", "fast", 60, api_name="/explain")
    heatmap = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert heatmap.shape[0] > heatmap.shape[1] >= 224  # the view plus the legend strip
    r, g, b = heatmap[..., 0], heatmap[..., 1], heatmap[..., 2]
    cyan = (g - r > 80) & (b - r > 80)
    red = (r - g > 80) & (r - b > 80)
    assert cyan.sum() + red.sum() > 500  # superpixels are tinted, not just the legend swatches


def test_explain_takes_a_genus_in_any_case(client, photo):
    """"amanita" was refused as "unknown genus 'amanita'; choose from Agaricus, Amanita, ...",
    though the package reads genus names in any case elsewhere (taxonomy.canonical_genus)."""
    def heatmap(genus: str) -> np.ndarray:
        out = client.predict(handle_file(str(photo)), genus, "fast", 20, api_name="/explain")
        return np.asarray(Image.open(out).convert("RGB"))

    amanita = heatmap("Amanita")
    assert np.array_equal(heatmap("amanita"), amanita)
    assert np.array_equal(heatmap(" AMANITA "), amanita)
    assert not np.array_equal(heatmap("Boletus"), amanita)  # the legend names the genus
    assert np.array_equal(heatmap("predicted genus"), heatmap("Predicted genus"))


def test_a_cancelled_explanation_stops_on_the_server(app, client, photo):
    import time

    from gradio_client.utils import Status

    # Gradio frees a cancelled event's slot at once, but its worker thread would go on
    # scoring copies beside the next explanation: it has to notice and stop by itself.
    logged = len(app.log())
    job = client.submit(handle_file(str(photo)), "Predicted genus", "reference", 2000,
                        api_name="/explain")
    deadline = time.monotonic() + 60
    while job.status().code != Status.PROGRESS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status().code == Status.PROGRESS  # scoring batches, not done
    job.cancel()
    while "explanation stopped" not in app.log()[logged:] and time.monotonic() < deadline:
        time.sleep(0.1)
    stopped = [line for line in app.log()[logged:].splitlines() if "explanation stopped" in line]
    assert stopped and "stopped at 100%" not in stopped[0], app.log()[logged:]
    assert "Traceback" not in app.log()[logged:] and app.alive()
    # the next explanation runs as usual
    assert Path(client.predict(handle_file(str(photo)), "Predicted genus", "fast", 60,
                               api_name="/explain")).stat().st_size > 0


def test_an_explanation_whose_client_stops_listening_stops_on_the_server(app, photo):
    import base64
    import json
    import time
    import urllib.request

    # A mobile app that gives up on a 45-s explanation closes its event stream: nothing
    # will deliver the heatmap, so the server should stop scoring copies for it.
    logged = len(app.log())
    url = "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
    body = {"data": [{"url": url, "meta": {"_type": "gradio.FileData"}}, "Predicted genus",
                     "reference", 2000]}
    request = urllib.request.Request(f"{app.url}gradio_api/call/explain",
                                     json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    event = json.load(urllib.request.urlopen(request, timeout=30))["event_id"]
    stream = urllib.request.urlopen(f"{app.url}gradio_api/call/explain/{event}", timeout=60)
    stream.readline()  # the first progress report or heartbeat: the explanation runs
    stream.close()
    deadline = time.monotonic() + 60
    while "explanation stopped" not in app.log()[logged:] and time.monotonic() < deadline:
        time.sleep(0.1)
    stopped = [line for line in app.log()[logged:].splitlines() if "explanation stopped" in line]
    assert stopped and "stopped at 100%" not in stopped[0], app.log()[logged:]
    assert "Traceback" not in app.log()[logged:] and app.alive()


def test_a_reference_explanation_draws_no_console_bars_in_the_server_log(app, client, photo):
    logged = len(app.log())
    client.predict(handle_file(str(photo)), "Amanita", "reference", 60, api_name="/explain")
    assert "it/s]" not in app.log()[logged:]  # lime's own tqdm bar, one line per update


def test_explain_rejects_unknown_genus_and_preset(client, photo):
    # The refusal names the value sent and what the input takes, the page's default too.
    with pytest.raises(AppError, match=r"^Unknown genus 'Pleurotus': send 'Predicted genus' "
                                       r".* or one of Agaricus, .*, Suillus\.$"):
        client.predict(handle_file(str(photo)), "Pleurotus", "fast", 20, api_name="/explain")
    with pytest.raises(AppError, match="turbo"):
        client.predict(handle_file(str(photo)), "Amanita", "turbo", 20, api_name="/explain")


def test_api_endpoints_are_public_and_ui_plumbing_is_not(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/identify", "/identify_find", "/explain", "/ping"} <= set(named)
    assert not {"/clear", "/clear_photo", "/render", "/review_tick", "/review_tick_apply",
                "/review_open", "/open_tab", "/explain_page", "/explain_start",
                "/find_explain", "/find_explain_start", "/explain_show", "/find_explain_show",
                "/review_explain_show", "/review_explain_page"} & set(named)
    assert client.predict(api_name="/ping") == "pong"


def test_k_and_samples_are_documented_as_integers_and_3_0_still_works(client, photo):
    """view_api() and /gradio_api/info called k and samples "float": a typed client (a
    mobile app's generated code) would send 2.5 and be refused for it."""
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for endpoint, name in [("/identify", "k"), ("/identify_find", "k"), ("/explain", "samples")]:
        param = {p["parameter_name"]: p for p in named[endpoint]["parameters"]}[name]
        assert param["type"]["type"] == "integer", (endpoint, param)
        assert param["python_type"]["type"] == "int", (endpoint, param)
    # clients that send a float of a whole number, as they were told to, still work
    assert len(client.predict(handle_file(str(photo)), 3.0, api_name="/identify")["top_k"]) == 3
    found = client.predict([handle_file(str(photo))], 4.0, api_name="/identify_find")
    assert len(found["top_k"]) == 4
    assert Path(client.predict(handle_file(str(photo)), "Amanita", "fast", 20.0,
                               api_name="/explain")).stat().st_size > 0


def test_view_api_page_describes_each_endpoint_and_samples_local_files(app):
    import json

    with urllib.request.urlopen(f"{app.url}gradio_api/info", timeout=30) as info:
        named = json.load(info)["named_endpoints"]
    # A bare functools.partial would show functools' own docstring as the description.
    assert all(e["description"] and "partial(" not in e["description"] for e in named.values())
    assert [p["parameter_name"] for p in named["/identify_find"]["parameters"]] == ["photos", "k"]
    # Gradio's default sample photo is a URL, which this server refuses to fetch.
    for name in ("/identify", "/identify_find", "/explain"):
        assert "http" not in json.dumps(named[name]["parameters"][0]["example_input"])
        # ...and its descriptions said "A local filepath or publicly available URL": a
        # mobile app reading them would send a URL and be refused. They say what works.
        photo = named[name]["parameters"][0]
        described = json.dumps(photo["type"]) + photo["python_type"]["description"]
        assert "publicly available" not in described.lower()
        assert "Path to a local file" not in described
        assert "/gradio_api/upload" in photo["python_type"]["description"]
        assert "does not fetch" in photo["python_type"]["description"]
    data_url = named["/identify"]["parameters"][0]["type"]["properties"]["url"]["description"]
    assert "data:image/jpeg;base64," in data_url
    assert "photo=handle_file('photo.jpg')" in named["/identify"]["code_snippets"]["python"]


def test_readme_raw_http_examples_run_as_written(app, tmp_path):
    """The README's curl block, run by bash with a phone-sized photo (a data URL passed as a
    command-line argument failed for any photo over ~96 KB: "Argument list too long")."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    if not all(shutil.which(tool) for tool in ("bash", "curl", "base64", "tr")):
        pytest.skip("needs bash, curl, base64 and tr")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```bash\n", text.index("**Raw HTTP**")) + len("```bash\n")
    script = text[start:text.index("```", start)]
    assert "URL=http://127.0.0.1:7860\n" in script
    script = script.replace("URL=http://127.0.0.1:7860", "URL=" + app.url.rstrip("/"))
    for name, seed in (("photo.jpg", 3), ("cap.jpg", 4), ("gills.jpg", 5)):
        make_photo(GENERA.index("Boletus"), seed=seed, size=(200, 160)).save(tmp_path / name)
    with open(tmp_path / "photo.jpg", "ab") as f:  # bytes after a JPEG's end are valid:
        f.write(b"\0" * 600_000)  # phone-sized, 800 KB in base64
    bin_dir = tmp_path / "bin"  # the README says "python", as a venv provides
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         timeout=180, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert out.returncode == 0 and not out.stderr, out.stderr
    blocks = [b.splitlines() for b in out.stdout.strip().split("\n\n")]
    blocks = [b for b in blocks if b[0] != "event: heartbeat"]
    assert [b[0] for b in blocks] == ["event: complete"] * 3, out.stdout[:2000]
    upload, find, inline = (json.loads(b[1].removeprefix("data: "))[0] for b in blocks)
    assert len(upload["top_k"]) == 3 and inline["top_k"] == upload["top_k"]
    assert find["n_photos"] == 2 and len(find["photos"]) == 2


def test_twenty_simultaneous_clients_all_get_answers(app, photo):
    def one(_):
        return Client(app.url, verbose=False).predict(handle_file(str(photo)),
                                                      api_name="/identify")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    assert len(results) == 20
    first = results[0]["top_k"]
    for result in results:
        check_schema(result, k=3)
        assert result["top_k"] == first  # same photo, same answer under load
    assert app.alive()


def test_page_serves_without_a_model_and_identify_says_why(tmp_path, photo):
    with running_app({"MUSHROOM_MODEL": str(tmp_path / "missing.pt")}) as bare:
        with urllib.request.urlopen(bare.url, timeout=10) as page:
            assert page.status == 200
        with pytest.raises(AppError, match="No model at"):
            Client(bare.url, verbose=False).predict(handle_file(str(photo)), api_name="/identify")
        assert bare.alive()


def test_a_corrupt_model_file_is_named_on_every_endpoint_and_in_the_log(tmp_path, photo):
    """A Git LFS pointer or a truncated copy where the checkpoint should be (a clone without
    LFS, an interrupted upload): the page serves, and each answer says what is wrong with
    which file instead of Gradio's bare "Error"."""
    pointer = tmp_path / "model.pt"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\n"
                       "oid sha256:0123456789abcdef\nsize 9422107\n")
    with running_app({"MUSHROOM_MODEL": str(pointer)}) as bare:
        with urllib.request.urlopen(bare.url, timeout=10) as page:
            assert page.status == 200
        client = Client(bare.url, verbose=False)
        why = f"{pointer} is not a Mushroom checkpoint"
        with pytest.raises(AppError, match=why):
            client.predict(handle_file(str(photo)), api_name="/identify")
        with pytest.raises(AppError, match=why):
            client.predict([handle_file(str(photo))], 3, api_name="/identify_find")
        with pytest.raises(AppError, match=why):
            client.predict(handle_file(str(photo)), api_name="/explain")
        assert bare.alive()
        assert f"model: The model file cannot be used: {why}" in bare.log()
        assert "Traceback" not in bare.log()


def test_a_model_with_a_nan_threshold_is_unavailable_and_says_which_value(tmp_path, photo,
                                                                         tiny_checkpoint):
    """A NaN tau would silently stop the P(poisonous) rule from ever firing: the app must
    answer "model unavailable" naming the field, not serve verdicts without that rule."""
    import torch

    ckpt = torch.load(tiny_checkpoint, map_location="cpu", weights_only=False)
    bad = tmp_path / "model.pt"
    torch.save({**ckpt, "poison_threshold": float("nan")}, bad)
    with running_app({"MUSHROOM_MODEL": str(bad)}) as bare:
        why = (f"The model file cannot be used: {bad}: poison_threshold must be a number in "
               "(0, 1], not nan")
        with pytest.raises(AppError) as refused:
            Client(bare.url, verbose=False).predict(handle_file(str(photo)),
                                                    api_name="/identify")
        assert why in str(refused.value)
        assert bare.alive()
        assert f"model: {why}" in bare.log()


def test_mistyped_settings_are_named_once_at_start_and_the_app_serves_on_defaults(tmp_path):
    """Read at the first /identify, "two" failed every request with a bare "Error"; then it
    stopped `python app.py`. Now the app starts on the default and its log says once what
    it ignored (the thread count is read again when the model loads)."""
    env = {service.THREADS_ENV: "two", "MUSHROOM_BODY_GRACE_S": "20s",
           "MUSHROOM_REVIEW_REFRESH_S": "soon", "MUSHROOM_MODEL": str(tmp_path / "none.pt")}
    with running_app(env) as app:
        assert app.alive()
        log = app.log()
    for line in ("warning: MUSHROOM_TORCH_THREADS='two' ignored (not a whole number of "
                 "threads from 1 to 64); using 1",
                 "warning: MUSHROOM_BODY_GRACE_S='20s' ignored (not a number of seconds from "
                 "1 to 86400); using 20",
                 "warning: MUSHROOM_REVIEW_REFRESH_S='soon' ignored (not a number of seconds "
                 "from 0.1 to 86400); using 15"):
        assert log.count(line) == 1, log
    assert "Traceback" not in log


def test_readme_is_a_valid_space_card():
    """The README's YAML header pins the same gradio as requirements.txt, and the app file."""
    from conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header = dict(line.split(": ", 1) for line in text.split("---\n")[1].strip().splitlines())
    from packaging.requirements import Requirement

    reqs = [Requirement(line.split("#")[0]) for line in
            (ROOT / "requirements.txt").read_text().splitlines() if line.split("#")[0].strip()]
    gradio = next(r for r in reqs if r.name == "gradio")
    assert str(gradio.specifier).startswith("==")
    pinned = str(gradio.specifier)[2:]
    assert header["sdk"] == "gradio"
    assert header["sdk_version"] == pinned
    assert header["app_file"] == "app.py" and (ROOT / header["app_file"]).is_file()
    assert header["python_version"].strip('"') == "3.11"


def _mapped_modules(text: str) -> list[str]:
    """The files the README's *Map of the code* names in its first column, as paths: a bare
    ``x.py`` is in the folder of the cell's previous ``mushroom/...`` path, ``ui/x.py`` in
    ``mushroom/ui/``."""
    import re

    table = text.split("## Map of the code", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        folder = ""
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if name.startswith("mushroom/"):
                folder = name.rsplit("/", 1)[0] + "/"
            elif name.startswith("ui/"):
                name = "mushroom/" + name
            elif name.endswith(".py") and folder:
                name = folder + name
            names.append(name)
    return names


def test_readme_maps_every_module_once():
    """Every module of mushroom/ and mushroom/ui/ has one row of the README's *Map of the
    code*, and the map names no module that is gone."""
    from collections import Counter

    from conftest import ROOT

    mapped = Counter(_mapped_modules((ROOT / "README.md").read_text(encoding="utf-8")))
    modules = {p.relative_to(ROOT).as_posix() for folder in ("mushroom", "mushroom/ui")
               for p in (ROOT / folder).glob("*.py")}
    assert sorted(modules - set(mapped)) == []
    assert [m for m, n in mapped.items() if n > 1] == []
    assert sorted(m for m in mapped if m.startswith("mushroom/") and m not in modules) == []


def test_every_tracked_file_is_under_10_mb():
    import subprocess

    from conftest import ROOT

    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    sizes = {p: (ROOT / p).stat().st_size for p in listed if p and (ROOT / p).is_file()}
    assert sizes and max(sizes.values()) < 10 * 1024 * 1024, max(sizes, key=sizes.get)
