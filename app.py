"""Mushroom forager app: ``python app.py`` serves the page (Identify, One find, Review tabs)
and the /identify, /identify_find, /explain API, plus the experts' /review_* endpoints.

Thin on purpose: it lays out the tabs built in :mod:`mushroom.ui` and launches. The model
(``$MUSHROOM_MODEL``, default ``assets/model.pt``) loads in a background thread as the app
starts, so importing this module stays cheap and the first request does not pay for it.
"""

import os
import tempfile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported
# a cache folder of the app's own: mushroom.ui.retention ages out every file in it, which in
# the <tmp>/gradio that other Gradio apps share would delete their files too
if not os.environ.get("GRADIO_TEMP_DIR"):  # Gradio reads an empty one as unset too
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(tempfile.gettempdir(), "mushroom-gradio")
# lime draws a console progress bar over every perturbed copy of a reference explanation:
# a server has no console, and the bars would fill its log (the page has gr.Progress)
os.environ.setdefault("TQDM_DISABLE", "1")

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from mushroom import service  # noqa: E402
from mushroom.store_merge import seed_space_store  # noqa: E402
from mushroom.ui import (  # noqa: E402
    DISCLAIMER, MAX_FILE_SIZE, QUEUE, delete_cache, open_tab, upload_ttl_s)
from mushroom.ui.api_input import (  # noqa: E402
    EXCEPTION_HANDLERS, CheckedBlocks, PrivateEndpoints)
from mushroom.ui.body_limit import JsonBodyLimit  # noqa: E402
from mushroom.ui.find import build_find_tab  # noqa: E402
from mushroom.ui.held_clicks import HELD_CLICKS  # noqa: E402
from mushroom.ui.identify import build_identify_tab  # noqa: E402
from mushroom.ui.leaving import LEAVING  # noqa: E402
from mushroom.ui.page import HEAD, theme  # noqa: E402
from mushroom.ui.refusals import EndedStreams, PlainTextRefusals  # noqa: E402
from mushroom.ui.review import build_review_tab  # noqa: E402
from mushroom.ui.retention import start_sweeper  # noqa: E402
from mushroom.ui.review_keys import KEY_HINTS  # noqa: E402
from mushroom.ui.slow_clients import BodyDeadline, body_grace_s  # noqa: E402
from mushroom.ui.upload_parts import NoFilesPart  # noqa: E402


def ping() -> str:
    """A no-op endpoint: measures Gradio's own round trip (see ``python -m mushroom.bench``)."""
    return "pong"


if __name__ == "__main__":  # a mistyped MUSHROOM_UPLOAD_TTL_S stops the app here, named,
    try:  # not in a traceback through the Blocks below, which read it
        upload_ttl_s()
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None

with CheckedBlocks(title="Mushroom: genus recognizer", analytics_enabled=False,
                   delete_cache=delete_cache()) as demo:
    gr.Markdown("# Mushroom genus recognizer")
    gr.Markdown(DISCLAIMER, elem_id="disclaimer")
    # "wrap": below 390 px the default "menu" hid every tab but Identify behind a "..."
    with gr.Tabs(overflow_behavior="wrap") as tabs:
        with gr.Tab("Identify", id="identify"):
            build_identify_tab()
        with gr.Tab("One find, several photos", id="find"):
            build_find_tab()
        build_review_tab()
    demo.load(open_tab, None, tabs, api_name="open_tab", api_visibility="undocumented")
    gr.api(ping, api_name="ping")

demo.queue(**QUEUE)

if __name__ == "__main__":
    service.torch_threads()  # a mistyped MUSHROOM_TORCH_THREADS is named here, at start,
    body_grace_s()  # and a mistyped MUSHROOM_BODY_GRACE_S: each then serves on its default
    service.warm_up_in_background()
    start_sweeper(demo)  # uploads an earlier, killed run left behind: Gradio forgets them
    seeded = seed_space_store()  # a Space's persistent store takes in labels/'s decisions
    if seeded:
        print(seeded)
    demo.launch(max_file_size=MAX_FILE_SIZE, head=HEAD + KEY_HINTS + HELD_CLICKS + LEAVING,
                theme=theme(),  # Gradio 6
                app_kwargs={"middleware": [Middleware(BodyDeadline),  # outermost: all reads
                                           Middleware(PlainTextRefusals),
                                           Middleware(EndedStreams),
                                           Middleware(JsonBodyLimit),
                                           Middleware(PrivateEndpoints),
                                           Middleware(NoFilesPart)],
                            "exception_handlers": EXCEPTION_HANDLERS})
