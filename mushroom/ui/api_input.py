"""Clear refusals for malformed API calls, checked before Gradio touches the inputs.

Gradio checks an event's inputs before our function runs (their number, a FileData's
shape, that a path was uploaded) and answers a failed check with a blank error
("Error", or ``{"error": null}`` on the raw HTTP API). Worse, it downloads a URL sent as
a FileData's path, so any caller could make the server fetch a URL of their choosing.
:class:`CheckedBlocks` runs our own checks on the raw JSON first, so a mobile app's
developer reads what was wrong and what is expected, and the server never fetches a URL.
The page sends uploaded FileData, which passes every check. A call to an endpoint that does
not exist gets a 404 naming those that do (:func:`unknown_endpoint`), not Gradio's bare 500;
so does one to a private step of the page (:class:`PrivateEndpoints`) and
``/call/v2/<name>``, which also answers mismatched named inputs with a 422. A body not
labelled as JSON gets a 415 naming the header (:func:`body_not_json`); the framework's other
refusals get the same ``error`` from :mod:`mushroom.ui.refusals`.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable

import gradio as gr
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from gradio.exceptions import InvalidPathError
from gradio.route_utils import FnIndexInferError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from mushroom.combine import MAX_PHOTOS
from mushroom.ui import UserError, clip
from mushroom.ui.api_photos import NOT_UPLOADED, is_data_url
from mushroom.ui.api_values import check_text
from mushroom.ui.refusals import http_refused
from mushroom.ui.upload_parts import is_upload_route

def checked(component: gr.components.Component,
            check: Callable[[object], None]) -> gr.components.Component:
    """``component``, with ``check`` run on its raw API value by :class:`CheckedBlocks`.

    Kept on the instance the events were wired with, which Gradio never rebuilds. The
    view-API page's sample code gets a local file for it (see :func:`_local_examples`), and
    its description says what the server takes (see :func:`_described`).
    """
    component.api_check = check
    _local_examples(component)
    _described(component)
    return component


def _described(component: gr.components.Component) -> None:
    """``/gradio_api/info`` (and ``view_api()``) describe the uploads the server reads.

    Gradio's own words for a photo input, "A local filepath or publicly available URL",
    "Path to a local file" and "Publicly available url or base64 encoded image", send a
    mobile app's developer to URLs, which this server refuses
    (:data:`mushroom.ui.api_photos.REMOTE`).
    """
    many = getattr(component, "file_count", "single") != "single"
    schema = copy.deepcopy(component.api_info())
    upload = ("what POST /gradio_api/upload returned (gradio_client's handle_file uploads "
              "a local file)")
    if many:
        schema["additional_description"] = (
            f"1 to {MAX_PHOTOS} image files, each a FileData whose path is {upload}; "
            "the server does not fetch URLs and takes no data URLs here.")
    else:
        schema["additional_description"] = (
            f"An image file: a FileData whose path is {upload}, or whose url is a data URL "
            "(data:image/jpeg;base64,...); the server does not fetch http(s) URLs.")
        fields = schema.get("properties", {})
        fields.get("path", {})["description"] = f"The photo's server path: {upload}"
        fields.get("url", {})["description"] = ("Or the photo inline: data:image/jpeg;base64,"
                                                "<base64 of the file>; http(s) URLs are refused")
    component.api_info_as_input = lambda: schema


def _local_examples(component: gr.components.Component) -> None:
    """Sample code on the view-API page that sends local files ("photo.jpg").

    Gradio's default example is a URL (bus.png on GitHub), which this server refuses to
    fetch: the Python snippet copied from that page would fail.
    """
    many = getattr(component, "file_count", "single") != "single"
    names = ["cap.jpg", "gills.jpg"] if many else ["photo.jpg"]
    files = [{"path": n, "url": n, "orig_name": n, "meta": {"_type": "gradio.FileData"}}
             for n in names]
    component.example_payload = lambda: files if many else files[0]
    component.example_value = lambda: names if many else names[0]


class CheckedBlocks(gr.Blocks):
    """``gr.Blocks`` that checks API endpoints' raw inputs before Gradio does.

    Gradio refuses too few inputs with a blank error and drops extra ones silently; an
    API caller who sent ``[photo]`` to ``/identify`` is told it takes (photo, k). Text that
    UTF-8 cannot hold is refused first, for every event (:mod:`mushroom.ui.api_values`).
    """

    async def preprocess_data(self, block_fn, inputs: list, state, explicit_call=False):
        if block_fn.fn is not None:
            check_text(block_fn, inputs)
        if block_fn.api_visibility != "private" and block_fn.api_name:
            # undocumented events too: a caller can start them by name (see PrivateEndpoints)
            _check_count(block_fn, inputs)
            for component, value in zip(block_fn.inputs, inputs):
                getattr(component, "api_check", lambda _: None)(value)
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except InvalidPathError as err:  # a FileData path that was never uploaded
            raise UserError(NOT_UPLOADED) from err
        finally:
            _forget_inline_photos(block_fn, state)


def _forget_inline_photos(block_fn, state) -> None:
    """Drop data-URL photos from the copy of each input Gradio keeps in the session.

    Gradio stores every input value in its session state, kept for up to 10000 sessions,
    and each raw HTTP API call is a new session: a 10 MB data URL per call would grow the
    server by 10 MB per call until it ran out of memory. An upload's FileData is small
    (a path) and stays.
    """
    for component in block_fn.inputs:
        config = state.config_values.get(component._id) if state is not None else None
        props = config.get("props") if isinstance(config, dict) else None
        value = props.get("value") if isinstance(props, dict) else None
        url = value.get("url") if isinstance(value, dict) else None
        if is_data_url(url):
            props["value"] = None


def _check_count(block_fn, inputs: list) -> None:
    """Refuse a call to a public endpoint with more or fewer inputs than it takes.

    Only the inputs a caller sends are named: a review endpoint's signed-in user and
    history come from the session (``gr.State``, skipped by the API). gradio_client adds
    their places to what it sends and raw HTTP does not, so with such inputs the number
    received says nothing clear about the caller's mistake and is left out.
    """
    wanted = len(block_fn.inputs)
    if len(inputs) != wanted:
        names = list(inspect.signature(block_fn.fn).parameters)[:wanted]
        sent = [n for n, c in zip(names, block_fn.inputs) if not getattr(c, "skip_api", False)]
        got = f"got {len(inputs)}" if len(sent) == wanted else "got another number"
        takes = (f"{len(sent)} inputs, in this order: {', '.join(sent)}" if sent
                 else "no inputs")  # /ping: not "0 inputs, in this order: ;"
        raise UserError(f"/{block_fn.api_name} takes {takes}; {got}.")


async def unknown_endpoint(request, exc: FnIndexInferError) -> JSONResponse:
    """HTTP 404 naming the public endpoints, for a call to one that does not exist.

    Gradio answers a mistyped name (``POST /gradio_api/call/identfy``) with a bare 500
    "Internal Server Error" and logs a traceback: the caller could not tell a typo from a
    crash.
    """
    return _no_endpoint(request.app, request.path_params.get("api_name", ""))


def _no_endpoint(app, name: str) -> JSONResponse:
    """The 404 for ``/call/<name>``: ``name`` is not an endpoint of ``app``'s Blocks."""
    fns = app.get_blocks().fns.values()
    public = sorted(f"/{fn.api_name}" for fn in fns if fn.api_visibility == "public")
    message = (f"There is no endpoint /{clip(name)}. "
               f"This app's endpoints: {', '.join(public)} (details: GET /gradio_api/info).")
    return JSONResponse({"error": message, "detail": message}, status_code=404)


CALL = re.compile(r"/call/(?:v2/)?([^/]+)/?$")
"""``POST …/call/<name>``: searched, not matched, as a proxy's root path may come first."""


class PrivateEndpoints:
    """ASGI middleware: ``POST /call/<name>`` to a private event is a 404 like a typo.

    The page's own steps (a refusal's follow-up, browser-side functions) are named events
    that the page starts by index; Gradio still lets anyone start them by name, and the
    browser-only ones answer ``{"error": null}``, which tells a caller nothing.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        match = CALL.search(scope.get("path", "")) if scope["type"] == "http" else None
        if match and scope["method"] == "POST" and _private(scope["app"], match[1]):
            return await _no_endpoint(scope["app"], match[1])(scope, receive, send)
        return await self.app(scope, receive, send)


def _private(app, name: str) -> bool:
    """Whether ``name`` is the api_name of a private event of ``app``'s Blocks."""
    return any(fn.api_name == name and fn.api_visibility == "private"
               for fn in app.get_blocks().fns.values())


def _v2_inputs(request) -> str:
    """The named inputs of the endpoint a ``/call/v2/<name>`` request names, for a message."""
    name = "/" + request.path_params.get("api_name", "")
    endpoint = request.app.get_blocks().get_api_info()["named_endpoints"].get(name)
    names = [p.get("parameter_name", "?") for p in (endpoint or {}).get("parameters", [])]
    return f"{clip(name)} takes {', '.join(names) or 'no inputs'}"


async def named_call_refused(request, exc: Exception) -> JSONResponse:
    """HTTP 404 or 422 for a ``POST /gradio_api/call/v2/<name>`` Gradio cannot map.

    That route looks the name up and maps the body's keys to inputs without a guard: an
    unknown name (``KeyError``) or a key that is not an input, or a missing one
    (``TypeError``/``ValueError``), reach the client as a bare 500 and the log as a traceback.
    The same exception types raised anywhere else are not ours to answer, so they go on.
    """
    if "/call/v2/" not in request.url.path:
        raise exc
    if isinstance(exc, KeyError):
        return await unknown_endpoint(request, exc)
    reason = str(exc).split(" Please click")[0].rstrip(".")
    message = (f"{clip(reason, 200)}. {_v2_inputs(request)}, as JSON keys "
               "(details: GET /gradio_api/info).")
    return JSONResponse({"error": message, "detail": message}, status_code=422)


async def body_not_json(request, exc: RequestValidationError) -> JSONResponse:
    """HTTP 415 naming the header, for a ``POST …/call/`` body not labelled as JSON.

    ``curl -d`` labels its body a form, and JavaScript's ``fetch`` with a string body labels
    it ``text/plain``: FastAPI then does not parse it, and a correct ``{"data": [...]}``
    came back 422 "Input should be a valid dictionary or object to extract fields from",
    which sends a developer to the body rather than the header. Other requests get
    FastAPI's 422 with an ``error`` (:func:`_bad_body`).
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if not CALL.search(request.url.path) or not kind or "json" in kind.lower():
        return _bad_body(request, exc)
    message = (f"The request body is labelled {clip(kind)}: send it as JSON, with the header "
               '"Content-Type: application/json" (curl: -H "Content-Type: application/json").')
    return JSONResponse({"error": message, "detail": message}, status_code=415)


def _bad_body(request, exc: RequestValidationError) -> JSONResponse:
    """HTTP 422 for a JSON ``POST …/call/`` body of the wrong shape, with an ``error`` that
    says which shape, like the app's other refusals.

    FastAPI's own 422 had only a ``detail`` list, and each entry echoed the value it
    refused: ``{"data": {"url": "data:..."}}`` (an object, not a list) sent a phone's
    whole photo back as base64. Gradio's other routes (``/queue/join``) are named instead.
    """
    named = "/call/v2/" in request.url.path
    shape = ('a JSON object of the named inputs ({"photo": ..., "k": 3})' if named
             else 'a JSON object {"data": [...]}, the inputs in order')
    lead = (f"The request body must be {shape}" if CALL.search(request.url.path)
            else f"The request does not fit {request.method} {clip(request.url.path)}")
    details = jsonable_encoder([{k: v for k, v in e.items() if k not in ("input", "url")}
                                for e in exc.errors()])
    first = details[0] if details else {}
    loc = first.get("loc", [])
    if first.get("type") == "json_invalid":
        why = f"it is not valid JSON ({first.get('ctx', {}).get('error')}, at character {loc[-1]})"
    else:
        why = f"{first.get('msg', 'not valid')} at {'.'.join(map(str, loc))}"
    message = f"{lead}: {why}."
    return JSONResponse({"error": message, "detail": details}, status_code=422)


NOT_A_FILE = ('Each "files" part of POST /gradio_api/upload must be a file (curl: -F '
              '"files=@photo.jpg"; a form: the file itself, with a file name), not text such '
              "as a path or base64. To send a photo as text, pass it to the endpoint inline: "
              '{"url": "data:image/jpeg;base64,..."}.')


async def type_error_refused(request, exc: TypeError) -> JSONResponse:
    """HTTP 400 for an upload whose "files" part is text, not a file; else
    :func:`named_call_refused`.

    An app that adds the photo's base64 or path to the form as a text field named "files"
    got a bare 500 "Internal Server Error", and the log a traceback: Gradio's upload route
    raises ``TypeError`` on such a part.
    """
    if is_upload_route(request.url.path) and "GradioUploadFile" in str(exc):
        return JSONResponse({"error": NOT_A_FILE, "detail": NOT_A_FILE}, status_code=400)
    return await named_call_refused(request, exc)


EXCEPTION_HANDLERS = {FnIndexInferError: unknown_endpoint, KeyError: named_call_refused,
                      TypeError: type_error_refused, ValueError: named_call_refused,
                      RequestValidationError: body_not_json, HTTPException: http_refused}
"""``app_kwargs["exception_handlers"]`` for ``demo.launch``."""
