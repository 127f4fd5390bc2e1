"""The HTTP API as a mobile app's developer calls it from the README, against the real app:
raw HTTP (as curl or a phone's HTTP client) and gradio_client."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from images import jpeg_bytes, photo
from test_bad_input import EXPLAIN, FILE_DATA, call_raw, refused_with


def upload(app, *files: Path) -> list[str]:
    """``POST /gradio_api/upload`` as the README's curl does: the server paths, in order."""
    boundary = "mushroom-test-boundary"
    body = b""
    for file in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                 f"filename=\"{file.name}\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
        body += file.read_bytes() + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{app.url}gradio_api/upload", body, {
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    return json.load(urllib.request.urlopen(request, timeout=30))


@pytest.mark.parametrize("prefix", ["DATA:image/jpeg;base64,", "Data:image/jpeg;base64,",
                                    "data:IMAGE/JPEG;BASE64,"])
def test_a_data_url_is_read_in_any_case(app, prefix):
    # A URL's scheme and a data URL's media type are case-insensitive (RFC 3986, RFC 2397):
    # "DATA:" was refused as "its url is not a data URL".
    url = prefix + base64.b64encode(jpeg_bytes(photo())).decode()
    kind, payload = call_raw(app, "identify", [{"url": url, **FILE_DATA}, 3])
    assert kind == "complete" and len(payload[0]["top_k"]) == 3, payload
    kind, payload = call_raw(app, "explain", [{"url": url, **FILE_DATA}, *EXPLAIN])
    assert kind == "complete" and payload[0]["path"].endswith(".png"), payload


def test_a_folder_under_the_upload_folder_is_named_a_folder(app, tmp_path):
    # Such a path passes Gradio's was-it-uploaded check: it was answered "No such file:
    # <folder name>", as though a photo had been deleted.
    file = tmp_path / "cap.jpg"
    file.write_bytes(jpeg_bytes(photo()))
    path = upload(app, file)[0]
    folder = str(Path(path).parent)
    for sent in (folder, folder + "/", str(Path(folder).parent)):
        fd = {"path": sent, **FILE_DATA}
        for endpoint, data in (("identify", [fd, 3]), ("explain", [fd, *EXPLAIN])):
            message = refused_with(app, endpoint, data)
            assert message.startswith("photo's path is a folder on the server, not a photo"), \
                message
        message = refused_with(app, "identify_find", [[{"path": path, **FILE_DATA}, fd], 3])
        assert message.startswith("photo 2's path is a folder"), message
    kind, payload = call_raw(app, "identify", [{"path": path, **FILE_DATA}, 3])
    assert kind == "complete", payload


@pytest.mark.parametrize("k, shown", [([None], "[null]"), ({"k": True}, '{"k": true}')])
def test_a_list_or_object_sent_as_k_is_quoted_as_json(app, k, shown):
    # It was quoted in Python's spelling ("not [None]", "not {'k': True}"), which a phone's
    # developer reads as a server bug rather than as their own JSON.
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(photo())).decode()
    message = refused_with(app, "identify", [{"url": url, **FILE_DATA}, k])
    assert message == f"k (genera to list) must be a whole number from 1 to 9, not {shown}.", \
        message


@pytest.mark.parametrize("genus, shown", [(["Amanita"], '["Amanita"]'), (5, "5"),
                                          (True, "true")])
def test_a_genus_that_is_not_text_is_quoted_as_sent(app, genus, shown):
    # str() of the value was quoted: "Unknown genus \"['Amanita']\"", "Unknown genus 'True'".
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(photo())).decode()
    message = refused_with(app, "explain", [{"url": url, **FILE_DATA}, genus, "fast", 10])
    assert message.startswith(f"Unknown genus {shown}: send 'Predicted genus'"), message


def test_a_data_url_beside_an_empty_path_is_read(app):
    # A FileData type whose path defaults to "" (Swift, Kotlin): the call was refused with
    # "A photo's path must be one that POST /gradio_api/upload returned".
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(photo())).decode()
    kind, payload = call_raw(app, "identify", [{"path": "", "url": url, **FILE_DATA}, 3])
    assert kind == "complete" and len(payload[0]["top_k"]) == 3, payload
    kind, payload = call_raw(app, "explain", [{"path": "", "url": url, **FILE_DATA}, *EXPLAIN])
    assert kind == "complete", payload


def post(app, route: str, body: bytes, kind: str = "application/json") -> tuple[int, dict]:
    """HTTP status and JSON body of a POST that is refused before any call starts."""
    request = urllib.request.Request(f"{app.url}gradio_api/{route}", body, {"Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.mark.parametrize("body, why", [
    (b'{"data": {"url": "data:image/jpeg;base64,PHOTO"}}', "Input should be a valid list at "
                                                          "body.data"),
    (b"[1, 2]", "Input should be a valid dictionary"),
    (b'{"data": [null, 3]', "it is not valid JSON (Expecting ',' delimiter, at character 18)"),
], ids=["data an object", "a list", "cut short"])
def test_a_body_of_the_wrong_shape_is_told_the_shape_and_not_echoed(app, body, why):
    # FastAPI's 422 had no "error" (every other refusal has one) and echoed the value it
    # refused: a photo sent in the wrong place came back whole, as base64.
    body = body.replace(b"PHOTO", base64.b64encode(jpeg_bytes(photo())))
    status, answer = post(app, "call/identify", body)
    assert status == 422
    assert answer["error"].startswith('The request body must be a JSON object {"data": [...]}')
    assert why in answer["error"]
    assert "/9j/" not in json.dumps(answer)  # a JPEG's base64 opening


@pytest.mark.parametrize("kind", ["application/json", "image/jpeg", ""])
def test_an_upload_that_is_no_form_is_told_what_the_route_takes(app, kind):
    # Gradio answered {"detail": "Invalid content type."}: an app posting the photo as JSON
    # base64, or its raw bytes, was not told what to send instead.
    body = (b'{"files": ["data:image/jpeg;base64,AAAA"]}' if "json" in kind
            else jpeg_bytes(photo()))
    status, answer = post(app, "upload", body, kind)
    assert status == 400
    assert answer["error"].startswith("POST /gradio_api/upload takes a multipart/form-data "
                                      'body, each photo a file part named "files"'), answer
    assert (f"this body is labelled {kind}." if kind else "this body is not labelled.") in \
        answer["error"]
