"""Shared fixtures: tiny generated photo folders, an untrained checkpoint, real-data paths,
a review queue with experts (and the app serving it), and Chromium for the browser tests.

Nothing here needs ``../shared``; fixtures that do skip cleanly when it is absent.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pillow_heif import register_heif_opener

from mushroom.taxonomy import GENERA

register_heif_opener()  # tests write HEIC files the way a phone does (the app registers its own)

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("MUSHROOM_DATA", ROOT.parent / "shared" / "data" / "mushrooms"))
SHIPPED_MODEL = ROOT / "assets" / "model.pt"
REPORT_KEYS = {"n_images", "accuracy", "balanced_accuracy", "macro_f1", "per_class",
               "confusion_matrix", "classes", "poisonous", "ece"}  # report.json, exactly
PASSWORD = "chanterelle-42"  # every expert's password in review_setup
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; never ``playwright install``
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def make_photo(genus_index: int, seed: int, size: tuple[int, int] = (96, 80)) -> Image.Image:
    """A synthetic 'photo' whose colour and stripe pattern depend on the genus.

    Different seeds give visibly different images (not near-duplicates) of the same class.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    hue = np.array([(genus_index * 97) % 255, (genus_index * 53 + 40) % 255,
                    (genus_index * 29 + 90) % 255], dtype=float)
    freq = 0.05 + 0.04 * genus_index
    phase = rng.uniform(0, 2 * np.pi)
    angle = rng.uniform(0, np.pi)
    wave = np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)[..., None]
    blob = ((xx - rng.uniform(0, w)) ** 2 + (yy - rng.uniform(0, h)) ** 2 < (h / 4) ** 2)
    img = hue * (0.6 + 0.4 * wave) + rng.normal(0, 12, (h, w, 3)) + 60 * blob[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def write_tiny_dataset(root: Path, per_class: int = 6, genera: tuple[str, ...] = GENERA) -> Path:
    """Write ``root/<Genus>/<n>.jpg`` synthetic photos and return ``root``."""
    for gi, genus in enumerate(genera):
        folder = root / genus
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            make_photo(GENERA.index(genus), seed=1000 * gi + k).save(folder / f"{k:03d}.jpg",
                                                                     quality=92)
    return root


def probs_row(**genus_p: float) -> np.ndarray:
    """Probabilities over GENERA with the named genera set and the rest spread evenly."""
    row = np.zeros(len(GENERA))
    for g, p in genus_p.items():
        row[GENERA.index(g)] = p
    row[row == 0] = (1 - row.sum()) / np.sum(row == 0)
    return row


def run_module(*argv: str, hashseed: str = "0") -> subprocess.CompletedProcess:
    """Run ``python -m mushroom ...`` as users do, from the repository root."""
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.run([sys.executable, "-m", "mushroom", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run the CLI entry point in-process; return (status, stdout, stderr)."""
    from mushroom.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def review_setup(root: Path, per_class: int = 3) -> dict[str, str]:
    """Photos, a queue scored from a synthetic out-of-fold file, experts: the app's env."""
    import pandas as pd

    from mushroom import auth, review
    from mushroom.data import file_id

    data = write_tiny_dataset(root / "photos", per_class=per_class,
                              genera=("Amanita", "Boletus", "Russula"))
    rng = np.random.default_rng(0)
    rows = []
    for path in sorted(data.rglob("*.jpg")):
        p = rng.dirichlet(np.ones(len(GENERA)))
        rows.append({"path": path.relative_to(data).as_posix(), "image_id": file_id(path),
                     **{f"p_{g}": p[i] for i, g in enumerate(GENERA)}})
    pd.DataFrame(rows).to_csv(root / "oof.csv", index=False)
    store = root / "labels"
    review.build_queue(data, store / review.CACHE_NAME, None, root / "oof.csv")
    hashed = auth.hash_password(PASSWORD)
    return {"MUSHROOM_REVIEW_DATA": str(data), "MUSHROOM_LABELS": str(store),
            "MUSHROOM_EXPERTS": f"alice:{hashed},bob:{hashed}"}


def logged_in(app, name: str = "alice"):
    """A gradio_client session on ``app`` signed in as the expert ``name``."""
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    client.predict(name, PASSWORD, api_name="/review_login")
    return client


# name -> (folder genus, probabilities); the expected queue order is the dict order below
CASE = {
    "sure_disagree": ("Amanita", probs_row(Boletus=0.90, Amanita=0.05)),
    "soft_disagree": ("Amanita", probs_row(Boletus=0.50, Amanita=0.40)),
    "uncertain": ("Amanita", probs_row(Amanita=0.50, Boletus=0.45)),
    "low_margin": ("Boletus", probs_row(Boletus=0.60, Amanita=0.39)),
    "confident": ("Boletus", probs_row(Boletus=0.90, Amanita=0.08)),
}


@pytest.fixture(scope="module")
def app(tiny_checkpoint):
    """The real app on a free port, serving the untrained tiny checkpoint (one per module)."""
    from server import running_app

    with running_app({"MUSHROOM_MODEL": str(tiny_checkpoint)}) as running:
        yield running


@pytest.fixture(scope="module")
def review_env(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> dict[str, str]:
    """``review_setup`` in a fresh folder plus the tiny checkpoint (one per module)."""
    return {**review_setup(tmp_path_factory.mktemp("review")),
            "MUSHROOM_MODEL": str(tiny_checkpoint)}


@pytest.fixture(scope="module")
def review_app(review_env: dict[str, str]):
    """The real app on a free port with ``review_env``: its queue, store and experts."""
    from server import running_app

    with running_app(review_env) as running:
        yield running


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a test saves what a person may want to look at (a browser test's screenshot):
    the folder ``$MUSHROOM_TEST_ARTIFACTS`` names, else the test's own ``tmp_path``; never
    the checkout, which a test run must leave as it found it."""
    chosen = os.environ.get("MUSHROOM_TEST_ARTIFACTS")
    if not chosen:
        return tmp_path
    Path(chosen).mkdir(parents=True, exist_ok=True)
    return Path(chosen)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (one per module); skips when either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip(f"needs Debian's {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def client(app):
    """A gradio_client connected to ``app``."""
    from gradio_client import Client

    return Client(app.url, verbose=False)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A fresh 9-genus folder of 6 synthetic photos each."""
    return write_tiny_dataset(tmp_path / "photos")


@pytest.fixture
def case_data(tmp_path: Path) -> tuple[Path, Path]:
    """One photo per CASE entry (named after it) and an OOF file scoring them as CASE says."""
    import pandas as pd

    from mushroom.data import file_id

    data = write_tiny_dataset(tmp_path / "photos", per_class=0, genera=("Amanita", "Boletus"))
    rows = []
    for k, (name, (genus, p)) in enumerate(CASE.items()):
        path = data / genus / f"{name}.jpg"
        make_photo(GENERA.index(genus), seed=50 + k).save(path)
        rows.append({"path": f"{genus}/{name}.jpg", "image_id": file_id(path), "genus": genus,
                     "fold": k % 2, **{f"p_{g}": p[i] for i, g in enumerate(GENERA)}})
    oof = tmp_path / "oof.csv"
    pd.DataFrame(rows).sample(frac=1, random_state=0).to_csv(oof, index=False)
    return data, oof


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ImageNet-initialized (not mushroom-trained) efficientnet_lite0 checkpoint."""
    from mushroom.checkpoint import save_checkpoint
    from mushroom.models import create_model

    import torch

    torch.manual_seed(0)  # the new head's init: the same untrained answers in every run
    model = create_model("efficientnet_lite0", len(GENERA), pretrained=True)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model, {
        "arch": "efficientnet_lite0", "classes": list(GENERA), "temperature": 1.0,
        "poison_threshold": 0.3, "metrics": {}, "train_config": {}, "manifest_sha256": "",
        "version": "test", "name": "untrained-lite0",
    })
    return path


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real photos in ../shared (or $MUSHROOM_DATA); skips when absent."""
    if not (REAL_DATA / "Amanita").is_dir():
        pytest.skip(f"needs the real photos at {REAL_DATA} (not part of the repository)")
    return REAL_DATA


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    """The trained checkpoint in assets/; skips when it has not been shipped yet."""
    if not SHIPPED_MODEL.is_file():
        pytest.skip("assets/model.pt has not been trained and shipped yet")
    return SHIPPED_MODEL


class Hostile:
    """Pickles as a call that writes a marker file: what a booby-trapped .pt can do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def refused_in_place(page, button: str, card: str, box: str) -> str:
    """Click ``button`` (a selector), wait for the refusal ``card`` and check that neither a
    toast nor a bare "Error" badge in ``box`` came with it; return the card's text."""
    page.locator(button).click()
    found = page.locator(card)
    found.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # a toast or badge would be up by now
    assert page.locator(".toast-body").count() == 0
    assert "Error" not in page.locator(box).inner_text()
    return found.inner_text()


def corner_buttons(page, selector: str) -> list[str]:
    """The names of the buttons in a component's corner (aria-label)."""
    return [b.get_attribute("aria-label") for b in page.locator(f"{selector} button").all()]


def watch_images(page, selector: str) -> None:
    """From now on, record in the page every distinct ``src`` an image matching ``selector``
    shows (read them with :func:`images_seen`): a heatmap that landed and was then replaced
    is still counted."""
    page.evaluate("""(selector) => {
        const seen = window.imagesSeen = window.imagesSeen || {};
        seen[selector] = [];
        const note = () => {
            const img = document.querySelector(selector);
            if (img && img.src && !seen[selector].includes(img.src)) seen[selector].push(img.src);
        };
        new MutationObserver(note).observe(document.body, {subtree: true, childList: true,
                                                           attributes: true});
    }""", selector)


def images_seen(page, selector: str) -> list[str]:
    """The ``src`` values :func:`watch_images` recorded for ``selector``, in order."""
    return page.evaluate("(selector) => window.imagesSeen[selector]", selector)


def calls_sent(page, api_name: str) -> list:
    """A list that gets an entry, the inputs sent (``data``), each time the page sends a
    queued call of ``api_name`` (a click Gradio drops because the last one is still pending
    sends none)."""
    index = page.evaluate("(name) => gradio_config.dependencies.find(d => d.api_name === name)"
                          ".id", api_name)
    sent: list = []

    def note(request) -> None:
        if "/gradio_api/queue/join" in request.url:
            try:
                call = json.loads(request.post_data or "")
                if call["fn_index"] == index:
                    sent.append(call["data"])
            except (ValueError, KeyError, TypeError):
                pass  # not a call's join

    page.on("request", note)
    return sent


def hold_first(page, url_glob: str, wanted=lambda request: True) -> list:
    """Hold back the page's first request to ``url_glob`` that ``wanted(request)`` accepts
    (as a busy server or a slow network would); returns the list that gets its route, to
    ``continue_()``. Every other request goes through."""
    held: list = []

    def route(r):
        if held or not wanted(r.request):
            r.continue_()
        else:
            held.append(r)

    page.route(url_glob, route)
    return held


def event_left_pending(page) -> None:
    """Leave one of the page's events pending, as a busy server would: a refused login on
    the Review tab (opened here) whose answer stream (``queue/data``) is held back."""
    page.get_by_role("tab", name="Review").click()
    held = hold_first(page, "**/gradio_api/queue/data*")
    # While another event is pending (the page's load events, on a busy machine) the answer
    # comes on the stream already open and nothing is held: try again once it is answered.
    for _ in range(20):
        page.locator("#review-login").click()
        for _ in range(30):
            if held:
                return
            page.wait_for_timeout(100)
    raise AssertionError("no login's answer was ever held back")


def wait_until_running(page, box: str, timeout: int = 10_000) -> None:
    """Wait until progress shows over ``box``: the event that draws there is running."""
    page.wait_for_function("(box) => { const t = document.querySelector("
                           "box + ' [data-testid=status-tracker]');"
                           " return t && !t.classList.contains('hide'); }", arg=box,
                           timeout=timeout)


def wait_until_cancelled(page, box: str, timeout: int = 60_000) -> None:
    """Wait until the progress shown over ``box`` is gone: Gradio has finished cancelling
    the event that ran there.

    Gradio's page drops a click on a button whose last call is still pending, and a
    cancelled call stays pending until the server has answered the cancel request (a
    round trip that takes seconds on a loaded machine), even after the next photo shows.
    An expert who clicks in that window sees the spinner vanish and clicks again; a test
    that clicked there would wait forever for a heatmap never asked for. (The app's page now
    holds such a click until the cancel is done, mushroom.ui.held_clicks, which tests with
    :func:`hold_cancels` check; the drop tests wait here, so that they test the drop alone.)
    """
    page.wait_for_function("(box) => { const t = document.querySelector("
                           "box + ' [data-testid=status-tracker]');"
                           " return !t || t.classList.contains('hide'); }", arg=box,
                           timeout=timeout)



def hold_cancels(page) -> None:
    """Hold each of the page's requests to ``/gradio_api/cancel`` until
    :func:`release_cancels`, as a loaded Space or a phone network would for seconds: Gradio's
    page cancels an event only once that request is answered, and until then it drops a
    click that starts the event again (see :func:`wait_until_cancelled`).

    Call it before the page is opened: the hold goes under the page's own ``fetch``, which
    the page's scripts may wrap (mushroom.ui.held_clicks), as the network's would. The
    page's ``window.cancelsSent`` counts the cancels asked for.
    """
    page.add_init_script("""(() => {
        const send = window.fetch, held = [];
        window.cancelsSent = 0;
        window.holdCancels = true;
        window.releaseCancels = () => {
            window.holdCancels = false;
            held.splice(0).forEach((go) => go());
        };
        window.fetch = (...args) => {
            const url = String((args[0] && args[0].url) || args[0]);
            if (!url.includes("/gradio_api/cancel")) return send(...args);
            window.cancelsSent += 1;
            if (!window.holdCancels) return send(...args);
            return new Promise((go) => held.push(go)).then(() => send(...args));
        };
    })()""")


def release_cancels(page) -> None:
    """Send the cancels :func:`hold_cancels` held, and from now on each as it comes."""
    page.evaluate("() => window.releaseCancels()")


def watch_completions(page) -> None:
    """Record, in the page, the dependency (``fn_index``) of each queued call whose result
    the server has sent (``process_completed``), read with :func:`wait_until_completed`: a
    call whose cancel :func:`hold_cancels` holds may still finish, and its result then
    reaches the page while the page is cancelling it.

    Call it before the page is opened (as :func:`hold_cancels`): it tees the page's
    ``/queue/join`` answers (which event is which call) and ``/queue/data`` stream.
    """
    page.add_init_script("""(() => {
        const send = window.fetch, calls = {}, decoder = new TextDecoder();
        window.completedFns = [];
        const note = (line) => {
            if (!line.startsWith("data:")) return;
            try {
                const msg = JSON.parse(line.slice(5));
                if (msg.msg === "process_completed" && msg.event_id in calls)
                    window.completedFns.push(calls[msg.event_id]);
            } catch (err) { /* a heartbeat or a partial line */ }
        };
        window.fetch = (...args) => {
            const url = String((args[0] && args[0].url) || args[0]);
            const reply = send(...args);
            if (url.includes("/queue/join")) {
                const fn = JSON.parse(args[1].body).fn_index;
                reply.then((r) => r.clone().json()).then((j) => { calls[j.event_id] = fn; },
                                                          () => {});
            } else if (url.includes("/queue/data")) {
                reply.then(async (r) => {
                    const reader = r.clone().body.getReader();
                    let text = "";
                    for (;;) {
                        let chunk;
                        try { chunk = await reader.read(); }
                        catch (err) { return; }  // the page closed the stream (a reload)
                        const {done, value} = chunk;
                        if (done) return;
                        text += decoder.decode(value, {stream: true});
                        const lines = text.split("\\n");
                        text = lines.pop();
                        lines.forEach(note);
                    }
                }, () => {});
            }
            return reply;
        };
    })()""")


COMPLETED_JS = ("window.completedFns.filter((fn) => fn === gradio_config.dependencies"
                ".find((d) => d.api_name === name).id).length")
"""How many results of the call ``name`` the page has had (see :func:`watch_completions`)."""


def completions(page, api_name: str) -> int:
    """How many results of ``api_name``'s call the server has sent the page so far (see
    :func:`watch_completions`)."""
    return page.evaluate("(name) => " + COMPLETED_JS, api_name)


def wait_until_completed(page, api_name: str, timeout: int = 120_000, after: int = 0) -> None:
    """Wait until the server has sent the page more than ``after`` results of ``api_name``'s
    call (see :func:`watch_completions`; :func:`completions` counts them)."""
    page.wait_for_function("([name, after]) => " + COMPLETED_JS + " > after",
                           arg=[api_name, after], timeout=timeout)
