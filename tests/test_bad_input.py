"""Every kind of bad upload against the running app: a clear error or a correct answer, and
the server keeps serving afterwards."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from images import HANDLED, encode, jpeg_bytes, photo
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from mushroom.taxonomy import GENERA


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def decompression_bomb() -> bytes:
    """A ~30 KB PNG that would decode to 20000 x 20000 pixels (400 MP)."""
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def metadata_bomb() -> bytes:
    """A valid small PNG whose iCCP (colour profile) chunk inflates to 2 MB, past the 1 MB PIL
    reads (``MAX_TEXT_CHUNK``): PIL raises ValueError while opening it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    png = encode(photo((64, 48)), "PNG")
    icc = chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(bytes(2_000_000), 9))
    return png[:33] + icc + png[33:]  # after the signature (8) and IHDR (25)


def zeroed_pixels(fmt: str) -> bytes:
    """A HEIC or AVIF whose header is intact but whose coded pixels are zeros: pillow-heif
    raises EOFError (HEIC) or RuntimeError (AVIF) while decoding it."""
    data = encode(photo((96, 72)), fmt)
    start = data.find(b"mdat") + 4
    return data[:start] + bytes(len(data) - start)


REFUSED = {  # name -> (file bytes, expected message)
    "notes.txt": (b"definitely not a photo\n" * 20, "not an image"),
    "fake.jpg": (b"GIF89a but not really" * 10, "not an image"),
    "empty.jpg": (b"", "empty|not an image"),
    "truncated.jpg": (jpeg_bytes(photo((400, 300)))[:2500], "truncated or corrupt"),
    "corrupt.jpg": (jpeg_bytes(photo())[:200] + bytes(range(256)) * 40,
                    "truncated or corrupt|not an image"),
    "bomb.png": (decompression_bomb(), r"too large \(20000 × 20000 px, 400 megapixels\); the "
                                       "limit is 40 megapixels: send a smaller copy"),
    "tiny.png": (None, "too small"),
    "fake.heic": (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 400, "not an image|truncated or corrupt"),
    "profile-bomb.png": (metadata_bomb(), "truncated or corrupt"),
    "zeroed.heic": (zeroed_pixels("HEIF"), "truncated or corrupt"),
    "zeroed.avif": (zeroed_pixels("AVIF"), "truncated or corrupt"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bad_files_get_a_clear_error(client, tmp_path, name):
    data, message = REFUSED[name]
    if name == "tiny.png":
        buf = io.BytesIO()
        Image.new("RGB", (1, 1), (200, 10, 10)).save(buf, "PNG")
        data = buf.getvalue()
    with pytest.raises(AppError, match=f"(?i){message}"):
        client.predict(handle_file(write(tmp_path, name, data)), api_name="/identify")




def test_a_huge_photo_is_refused_with_its_own_size_and_the_apps_limit(client, tmp_path):
    """A 144 MP photo was refused as "over 89 megapixels": Pillow's own bomb limit, neither
    the photo's size nor the app's; on /identify and on each photo of /identify_find."""
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, "PNG", optimize=True)
    huge = write(tmp_path, "huge.png", buf.getvalue())
    told = r"too large \(12000 × 12000 px, 144 megapixels\); the limit is 40 megapixels"
    with pytest.raises(AppError, match=told):
        client.predict(handle_file(huge), api_name="/identify")
    ok = write(tmp_path, "ok.jpg", jpeg_bytes(photo((96, 64))))
    with pytest.raises(AppError, match="(?i)photo 2.*" + told):
        client.predict([handle_file(ok), handle_file(huge)], 3, api_name="/identify_find")


def test_the_identify_tab_says_how_large_a_bomb_sized_photo_is(tmp_path):
    """The page's Identify box first asks whether the browser draws the photo upright, with
    Pillow's own open: a 400 MP PNG raised its DecompressionBombError there, and the page
    showed a bare "Error" instead of the photo's size and the limit."""
    from mushroom.ui.identify import identify_if_photo

    card = identify_if_photo(write(tmp_path, "bomb.png", decompression_bomb()))[2]
    assert "too large (20000 × 20000 px, 400 megapixels); the limit is 40 megapixels" in card


def test_a_thumbnail_smaller_than_any_training_photo_is_told_to_send_the_full_size(
        client, tmp_path):
    """A 48x32 thumbnail (a chat app's preview) was answered "not recognized: no mushroom
    found, photograph the cap close up"; the model never saw a photo under 64 px a side."""
    thumb = write(tmp_path, "thumb.jpg", jpeg_bytes(photo((48, 32))))
    from mushroom.config import DataConfig
    from mushroom.service import PHOTO_MIN_SIDE

    assert PHOTO_MIN_SIDE == DataConfig().min_side == 64
    with pytest.raises(AppError, match=r"too small \(48x32 pixels\); at least 64 on each "
                                       r"side is needed: send the full-size photo"):
        client.predict(handle_file(thumb), api_name="/identify")
    assert client.predict(handle_file(write(tmp_path, "ok.jpg", jpeg_bytes(photo((96, 64))))),
                          api_name="/identify")["top_k"]


@pytest.mark.parametrize("name", sorted(HANDLED))
def test_unusual_but_valid_images_are_identified(client, tmp_path, name):
    result = client.predict(handle_file(write(tmp_path, name, HANDLED[name]())), 9,
                            api_name="/identify")
    assert len(result["top_k"]) == 9
    assert sum(i["probability"] for i in result["top_k"]) == pytest.approx(1, abs=1e-4)


def test_exif_orientation_is_applied(client, tmp_path):
    upright = photo(size=(180, 120), seed=7)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a phone sensor would store
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": undoes ROTATE_90 (CCW)
    rotated_file = write(tmp_path, "exif.jpg", jpeg_bytes(stored, exif=exif.tobytes()))
    decoded = Image.open(rotated_file)
    shown = np.asarray(decoded.convert("RGB"))  # pixels as stored, orientation ignored
    fixed = Image.fromarray(np.rot90(shown, k=-1))  # ...and as a viewer shows them
    assert fixed.size == upright.size
    as_shown = write(tmp_path, "as_shown.png", encode(fixed, "PNG"))
    as_stored = write(tmp_path, "as_stored.png", encode(Image.fromarray(shown), "PNG"))

    def probs(path: str) -> np.ndarray:
        out = client.predict(handle_file(path), 9, api_name="/identify")["probabilities"]
        return np.array([out[g] for g in GENERA])

    np.testing.assert_allclose(probs(rotated_file), probs(as_shown), atol=1e-4)
    assert np.abs(probs(rotated_file) - probs(as_stored)).max() > 1e-4


def test_heic_from_a_phone_reads_like_the_same_pixels(client, tmp_path):
    """iPhones (and many Android phones) save HEIC; the app must read it, not refuse it."""
    pixels = photo(size=(200, 150), seed=3)
    heic = write(tmp_path, "IMG_0001.HEIC", encode(pixels, "HEIF", quality=-1, chroma=444))
    assert Image.open(heic).format == "HEIF"  # a real HEIF container, not a renamed PNG
    png = write(tmp_path, "same.png", encode(pixels, "PNG"))

    def probs(path: str) -> np.ndarray:
        out = client.predict(handle_file(path), 9, api_name="/identify")["probabilities"]
        return np.array([out[g] for g in GENERA])

    # Even lossless HEIC stores YCbCr: the decoded pixels may be one level off.
    from mushroom.imageio import open_image

    decoded = np.asarray(open_image(heic).convert("RGB"), dtype=int)
    assert np.abs(decoded - np.asarray(pixels.convert("RGB"), dtype=int)).max() <= 1
    # The test's tiny model is untrained and twitchy: one level moves it by up to ~0.003.
    np.testing.assert_allclose(probs(heic), probs(png), atol=1e-2)


def test_explain_refuses_bad_files_too(client, tmp_path):
    with pytest.raises(AppError, match="(?i)not an image"):
        client.predict(handle_file(write(tmp_path, "x.jpg", b"nope" * 50)), "Amanita", "fast", 20,
                       api_name="/explain")


def test_server_keeps_serving_after_bad_input(app, client, tmp_path):
    for name, (data, _) in REFUSED.items():
        if data is not None:
            with pytest.raises(AppError):
                client.predict(handle_file(write(tmp_path, name, data)), api_name="/identify")
    assert app.alive()
    # Expected refusals are the user's to read, not the server log's: no traceback, and no
    # upload names, for each bad photo.
    assert "UserError" not in app.log() and "not an image we can read" not in app.log()
    assert client.predict(api_name="/ping") == "pong"
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    assert len(client.predict(handle_file(good), api_name="/identify")["top_k"]) == 3


def call_raw(app, endpoint: str, data: list) -> tuple[str, object]:
    """Gradio's two-step HTTP API, as curl or a mobile app uses it: (event, its data)."""
    import json
    import urllib.request

    request = urllib.request.Request(f"{app.url}gradio_api/call/{endpoint}",
                                     json.dumps({"data": data}).encode(),
                                     {"Content-Type": "application/json"})
    event = json.load(urllib.request.urlopen(request, timeout=30))["event_id"]
    with urllib.request.urlopen(f"{app.url}gradio_api/call/{endpoint}/{event}",
                                timeout=120) as stream:
        lines = [line for line in stream.read().decode().splitlines() if line]
    kind, payload = lines[-2].removeprefix("event: "), lines[-1].removeprefix("data: ")
    return kind, json.loads(payload)


def refused_with(app, endpoint: str, data: list) -> str:
    """The one-line message a raw HTTP call is refused with (fails on any answer)."""
    kind, payload = call_raw(app, endpoint, data)
    assert kind == "error", payload
    message = payload["error"]
    assert message and "\n" not in message, payload
    return message


FILE_DATA = {"meta": {"_type": "gradio.FileData"}}
EXPLAIN = ["Predicted genus", "fast", 20]


@pytest.mark.parametrize("endpoint", ["identify", "explain"])
@pytest.mark.parametrize("meta", [FILE_DATA, {}], ids=["FileData", "no meta"])
def test_a_server_path_that_was_never_uploaded_is_not_read(app, tmp_path, endpoint, meta):
    # The photo box's events skip Gradio's decode (preprocess=False); a path that was not
    # uploaded must still be refused, meta marker or not, and the caller told why.
    secret = write(tmp_path, "server_side.jpg", jpeg_bytes(photo()))
    payload = {"path": secret, **meta}
    data = [payload, 3] if endpoint == "identify" else [payload, *EXPLAIN]
    message = refused_with(app, endpoint, data)
    assert re.search("upload", message) and secret not in message
    assert app.alive()


PHOTO_EXPECTED = r"photo must be an image file \(a FileData dict.*handle_file"
MALFORMED = {  # id -> (endpoint, data, the refusal's pattern)
    "string": ("identify", ["photo.jpg", 3], PHOTO_EXPECTED + r".*got a string\.$"),
    "number": ("identify", [7, 3], PHOTO_EXPECTED + r".*got a number\.$"),
    "list": ("identify", [[FILE_DATA], 3], PHOTO_EXPECTED + r".*got a list\.$"),
    "no path or url": ("identify", [FILE_DATA, 3], r"photo must.*without a path or url"),
    "explain string": ("explain", ["photo.jpg", *EXPLAIN], PHOTO_EXPECTED + ".*a string"),
    "null": ("identify", [None, 3], r"^Upload or take a photo of the mushroom first\.$"),
    "too few": ("identify", [FILE_DATA], r"^/identify takes 2 inputs, in this order: "
                                         r"photo, k; got 1\.$"),
    "too many": ("explain", [None, *EXPLAIN, 1], r"^/explain takes 4 inputs, in this order: "
                                                 r"photo, genus, quality, samples; got 5\.$"),
    "find one file": ("identify_find", [FILE_DATA, 3],
                      r"^photos must be a list of 1 to 5 image files \(send one photo as a "
                      r"list of one\); got one file\.$"),
    "find string": ("identify_find", ["a.jpg", 3], r"photos must be a list.*got a string"),
    "find null item": ("identify_find", [[None], 3], r"^photo 1 must be an image file.*null"),
    "find no meta": ("identify_find", [[{"path": "/tmp/x.jpg"}], 3], r'photo 1.*"meta"'),
    "find too few": ("identify_find", [], r"^/identify_find takes 2 inputs.*got 0\.$"),
    "ping with an input": ("ping", [3], r"^/ping takes no inputs; got 1\.$"),
    # FileData fields of the wrong type failed Gradio's own model: {"error": null}
    "find orig_name a number": ("identify_find", [[{"path": "/tmp/x.jpg", "orig_name": 5,
                                                    **FILE_DATA}], 3],
                                r'^photo 1: its "orig_name" is not valid \(Input should be a '
                                r"valid string\)\.$"),
    "data URL size a word": ("identify", [{"url": "data:image/jpeg;base64,AAAA", "size": "big",
                                           **FILE_DATA}, 3], r'^photo: its "size" is not valid'),
    # undocumented steps of the page that a caller can still start by name: they answered
    # a blank {"error": null} and logged a traceback
    "undocumented, too few": ("review_tick", [], r"^/review_tick takes .*image_id.*got "),
    "undocumented, too many": ("open_tab", [1], r"^/open_tab takes no inputs; got 1\.$"),
    # half an emoji, as JSON carries it: the path's UTF-8 encoding had failed inside Gradio
    # and answered a blank {"error": null}
    "lone surrogate in a path": ("identify", [{"path": "/tmp/\ud83c.jpg", **FILE_DATA}, 3],
                                 r"^A lone UTF-16 surrogate \(U\+D83C\) in photo: half of a "
                                 r"character such as an emoji"),
    "lone surrogate in a list": ("identify_find", [[{"path": "/tmp/\udc00", **FILE_DATA}], 3],
                                 r"^A lone UTF-16 surrogate \(U\+DC00\) in photos:"),
    # paths no file can have: resolving them in Gradio's upload check raised (ValueError,
    # OSError) and answered a blank {"error": null}
    "NUL byte in a path": ("identify", [{"path": "/tmp/a\x00.jpg", **FILE_DATA}, 3],
                           r"^photo: A photo's path must be one that POST /gradio_api/upload"),
    "find NUL byte in a path": ("identify_find", [[{"path": "\x00", **FILE_DATA}], 3],
                                r"^photo 1: A photo's path must be one that POST"),
    "explain name too long": ("explain", [{"path": "/tmp/" + "a" * 5000, **FILE_DATA},
                                          *EXPLAIN], r"^photo: A photo's path must be one"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_calls_name_what_was_wrong(app, case):
    endpoint, data, pattern = MALFORMED[case]
    logged = len(app.log())
    assert re.search(pattern, refused_with(app, endpoint, data)), case
    assert "Traceback" not in app.log()[logged:]


@pytest.mark.parametrize("field", ["path", "url"])
@pytest.mark.parametrize("endpoint", ["identify", "identify_find", "explain"])
def test_a_remote_url_is_refused_and_never_fetched(app, endpoint, field):
    import http.server
    import threading

    hits = []

    class Record(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_error(404)

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Record) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/x.jpg"
        item = {field: url, **FILE_DATA}
        data = {"identify": [item, 3], "identify_find": [[item], 3],
                "explain": [item, *EXPLAIN]}[endpoint]
        message = refused_with(app, endpoint, data)
        server.shutdown()
    assert "does not fetch photos from URLs" in message
    assert hits == []


@pytest.mark.parametrize("route, name", [
    ("call/identfy", "identfy"), ("call/identfy/", "identfy"),
    # private steps of the page (a browser-only function, a refusal's follow-up): Gradio
    # starts them by name too, and answers {"error": null}
    ("call/review_keys", "review_keys"), ("call/v2/review_save_refused", "review_save_refused"),
])
def test_an_unknown_endpoint_is_a_404_naming_the_real_ones(app, route, name):
    import json
    import urllib.error
    import urllib.request

    # Gradio answers a mistyped name with a bare 500 "Internal Server Error" and a traceback.
    logged = len(app.log())
    request = urllib.request.Request(f"{app.url}gradio_api/{route}", b'{"data": []}',
                                     {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 404
    message = json.load(refused.value)["error"]
    assert message.startswith(f"There is no endpoint /{name}.")
    assert "/identify, /identify_find, /ping" in message and "/review_tick" not in message
    assert "/review_keys" not in message.removeprefix("There is no endpoint /review_keys.")
    assert "Traceback" not in app.log()[logged:] and app.alive()


@pytest.mark.parametrize("name, body, code, start", [
    ("identfy", {"photo": 1}, 404, "There is no endpoint /identfy."),
    ("identify", {"data": []}, 422, "Parameter `data` is not a valid key-word argument."),
    ("identify", {"k": 3}, 422, "No value provided for required argument: photo."),
])
def test_named_inputs_mistakes_are_4xx_not_500(app, name, body, code, start):
    import json
    import urllib.error
    import urllib.request

    # /call/v2 maps JSON keys to inputs unguarded: each of these was a bare 500.
    logged = len(app.log())
    request = urllib.request.Request(f"{app.url}gradio_api/call/v2/{name}",
                                     json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == code
    message = json.load(refused.value)["error"]
    assert message.startswith(start), message
    assert code == 404 or "/identify takes photo, k, as JSON keys" in message
    assert "Traceback" not in app.log()[logged:] and app.alive()


@pytest.mark.parametrize("route", ["call/identify", "call/v2/identify"])
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",  # curl -d
                                          "text/plain;charset=UTF-8"])  # fetch with a string
def test_a_json_body_not_labelled_json_is_told_to_send_the_header(app, route, content_type):
    import json
    import urllib.error
    import urllib.request

    # a correct body came back 422 "Input should be a valid dictionary or object to extract
    # fields from": nothing said that only the Content-Type header was missing
    body = b'{"data": [null, 3]}' if route == "call/identify" else b'{"k": 3}'
    request = urllib.request.Request(f"{app.url}gradio_api/{route}", body,
                                     {"Content-Type": content_type})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 415
    message = json.load(refused.value)["error"]
    assert message.startswith(f"The request body is labelled {content_type.split(';')[0]}: "
                              'send it as JSON, with the header "Content-Type: application/json"')
    # a JSON body of the wrong shape is a 422 (test_api_mobile), its "detail" still FastAPI's
    request = urllib.request.Request(f"{app.url}gradio_api/call/identify", b'{"data": 5}',
                                     {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 422 and "valid list" in json.load(refused.value)["detail"][0][
        "msg"]


def test_an_upload_part_that_is_text_not_a_file_is_told_what_to_send(app):
    import json
    import urllib.error
    import urllib.request

    # formData.append("files", base64) in a phone app: a bare 500 and a traceback
    logged = len(app.log())
    body = (b'--xyz\r\nContent-Disposition: form-data; name="files"\r\n\r\n/9j/4AAQSkZJRg=='
            b"\r\n--xyz--\r\n")
    request = urllib.request.Request(f"{app.url}gradio_api/upload", body,
                                     {"Content-Type": "multipart/form-data; boundary=xyz"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    message = json.load(refused.value)["error"]
    assert message.startswith('Each "files" part of POST /gradio_api/upload must be a file')
    assert "data:image/jpeg;base64" in message
    assert "Traceback" not in app.log()[logged:] and app.alive()


@pytest.mark.parametrize("name", ["file", "photo"])
def test_an_upload_whose_file_part_has_another_name_is_told_the_name(app, name):
    import json
    import urllib.error
    import urllib.request

    # answered 200 [], which a client indexes into and fails on, with no reason given
    body = (f'--xyz\r\nContent-Disposition: form-data; name="{name}"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode() + jpeg_bytes(photo()) + b"\r\n--xyz--\r\n"
    request = urllib.request.Request(f"{app.url}gradio_api/upload", body,
                                     {"Content-Type": "multipart/form-data; boundary=xyz"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert json.load(refused.value)["error"].startswith(
        'The upload holds no part named "files": name each photo\'s form part "files"')
    # the same file as "files" is stored and its path answered
    request = urllib.request.Request(f"{app.url}gradio_api/upload",
                                     body.replace(f'name="{name}"'.encode(), b'name="files"'),
                                     {"Content-Type": "multipart/form-data; boundary=xyz"})
    paths = json.load(urllib.request.urlopen(request, timeout=30))
    assert len(paths) == 1 and paths[0].endswith("a.jpg")


def test_gradio_client_mistakes_get_the_same_clear_errors(client, tmp_path):
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    with pytest.raises(AppError, match=PHOTO_EXPECTED + ".*got a string"):
        client.predict(good, 3, api_name="/identify")  # a path without handle_file
    with pytest.raises(AppError, match="does not fetch photos from URLs"):
        client.predict(handle_file("http://127.0.0.1:1/x.jpg"), 3, api_name="/identify")
    with pytest.raises(AppError, match=r"photos must be a list .*one file"):
        client.predict(handle_file(good), 3, api_name="/identify_find")
    assert len(client.predict([handle_file(good)], 3, api_name="/identify_find")["photos"]) == 1


def test_a_data_url_photo_is_still_identified(app):
    import base64

    url = "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(photo())).decode()
    kind, payload = call_raw(app, "identify", [{"url": url, **FILE_DATA}, 3])
    assert kind == "complete" and len(payload[0]["top_k"]) == 3


def test_a_data_url_is_read_as_phones_encode_it(app):
    """Android's Base64.DEFAULT wraps lines every 76 characters, NO_PADDING drops the "=",
    URL_SAFE writes "-" and "_": each was refused as "not valid base64", though browsers read
    all but the last in a data URL."""
    import base64

    data = jpeg_bytes(photo(size=(161, 121)))
    std = base64.b64encode(data).decode()
    assert std.endswith("=") and {"+", "/"} & set(std)  # so each variant differs from std
    wrapped = "\n".join(std[i:i + 76] for i in range(0, len(std), 76)) + "\n"
    for encoded in [wrapped, wrapped.replace("\n", "\r\n"), std.rstrip("="),
                    base64.urlsafe_b64encode(data).decode()]:
        url = "data:image/jpeg;base64," + encoded
        kind, payload = call_raw(app, "identify", [{"url": url, **FILE_DATA}, 3])
        assert kind == "complete", payload
        assert payload[0]["top_k"] and payload[0]["verdict"]["level"]
    message = refused_with(app, "identify", [{"url": "data:;base64," + std[:-3] + "*",
                                              **FILE_DATA}, 3])
    assert "not valid base64" in message


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def test_inline_photos_are_not_kept_after_the_call(app):
    # Each raw HTTP call is a new Gradio session, and Gradio keeps every session's input
    # values: 30 calls with a 10 MB data URL grew the server by ~300 MB, never given back.
    import base64

    padded = jpeg_bytes(photo()) + b"\0" * 7_500_000  # valid: bytes after the JPEG's end
    url = "data:image/jpeg;base64," + base64.b64encode(padded).decode()
    call_raw(app, "identify", [{"url": url, **FILE_DATA}, 3])
    before = rss_mb(app.process.pid)
    for _ in range(30):
        kind, payload = call_raw(app, "identify", [{"url": url, **FILE_DATA}, 3])
        assert kind == "complete", payload
    assert rss_mb(app.process.pid) - before < 150


def test_a_body_larger_than_any_photo_is_refused_but_a_25_mb_photo_is_not(app):
    import base64
    import json
    import urllib.error
    import urllib.request

    from mushroom.ui import MAX_FILE_BYTES

    small = jpeg_bytes(photo())
    largest = small + b"\0" * (MAX_FILE_BYTES - len(small))  # exactly at the upload limit
    url = "data:image/jpeg;base64," + base64.b64encode(largest).decode()
    kind, payload = call_raw(app, "identify", [{"url": url, **FILE_DATA}, 3])
    assert kind == "complete" and len(payload[0]["top_k"]) == 3
    body = json.dumps({"data": [{"url": url + "A" * 2**21, **FILE_DATA}, 3]}).encode()
    request = urllib.request.Request(f"{app.url}gradio_api/call/identify", body,
                                     {"Content-Type": "application/json"})
    chunks = (body[i:i + 2**20] for i in range(0, len(body), 2**20))  # no Content-Length
    chunked = urllib.request.Request(f"{app.url}gradio_api/call/identify", chunks,
                                     {"Content-Type": "application/json"})
    # Labelled multipart, the API route would still read the body whole before refusing it.
    disguised = urllib.request.Request(f"{app.url}gradio_api/call/identify", body,
                                       {"Content-Type": "multipart/form-data; boundary=x"})
    for sent in (request, chunked, disguised):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(sent, timeout=30)
        assert refused.value.code == 413
        assert "larger than 34 MB" in json.load(refused.value)["error"]
    assert app.alive()


def test_raw_upload_reads_every_shape_gradio_hands_over(tmp_path):
    import base64
    from types import SimpleNamespace

    from mushroom.ui.uploads import raw_upload

    png = io.BytesIO()
    photo().save(png, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    path = str(tmp_path / "p.jpg")
    assert raw_upload({"path": path, "url": "http://x/file=p.jpg", "meta": {}}) == path
    assert raw_upload(SimpleNamespace(path=path, url=None)) == path
    assert raw_upload({"path": None, "url": data_url}) == png.getvalue()
    assert raw_upload(Path(path)) == path and raw_upload(path) == path
    assert raw_upload(None) is None and raw_upload(b"abc") == b"abc"


def test_without_pillow_heif_a_heic_photo_gets_the_clear_message(tmp_path):
    """pillow-heif is optional (its wheels are GPLv2): without it HEIC is refused cleanly."""
    import subprocess
    import sys

    from conftest import ROOT

    heic = write(tmp_path, "IMG_0001.HEIC", encode(photo(), "HEIF", quality=90))
    script = ("import sys; sys.modules['pillow_heif'] = None\n"
              "from mushroom.imageio import HEIF, BadImage, open_image\n"
              "assert HEIF is False\n"
              "try:\n    open_image(sys.argv[1])\nexcept BadImage as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-c", script, heic], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "not an image we can read" in out.stdout


@pytest.mark.parametrize("k, shown", [(0, "0"), (10, "10"), ("abc", "'abc'"), (None, "null"),
                                      (2.5, "2.5"), (True, "true")])  # true had listed 1 genus
def test_identify_refuses_a_k_outside_1_to_9(client, tmp_path, k, shown):
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    # The value as sent: quoting a number ("not '10'") would suggest it was sent as a string.
    with pytest.raises(AppError, match=rf"k .*whole number from 1 to 9, not {re.escape(shown)}\.$"):
        client.predict(handle_file(good), k, api_name="/identify")
    with pytest.raises(AppError, match="k .*whole number from 1 to 9|less than|greater than"):
        client.predict([handle_file(good)], k, api_name="/identify_find")


@pytest.mark.parametrize("k, listed", [("3", 3), (" 2 ", 2), ("4.0", 4), ("+1e0", 1)])
def test_k_sent_as_text_is_read_as_the_number_it_spells(client, tmp_path, k, listed):
    """A phone's form field, or JSON built from one, sends "3": taken on purpose, as the
    README says, on both endpoints (and for each photo of a find)."""
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    assert len(client.predict(handle_file(good), k, api_name="/identify")["top_k"]) == listed
    find = client.predict([handle_file(good)], k, api_name="/identify_find")
    assert len(find["top_k"]) == len(find["photos"][0]["top_k"]) == listed


@pytest.mark.parametrize("k", ["\uff13", "\u0663", "0_3", "0x3", "", "3 genera", "NaN"])
def test_k_as_text_must_spell_a_number_as_json_does(client, tmp_path, k):
    """Python's float() also reads full-width and Arabic-Indic digits and "0_3" (all 3): text
    no JSON parser or phone reads as 3 was taken silently."""
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    refusal = (r"^k \(genera to list\) must be a whole number from 1 to 9, "
               rf"not {re.escape(repr(k))}\.$")
    with pytest.raises(AppError, match=refusal):
        client.predict(handle_file(good), k, api_name="/identify")
    with pytest.raises(AppError, match=refusal):
        client.predict([handle_file(good)], k, api_name="/identify_find")
    if k:  # samples: the same rule ("" there is "", null or 0: the preset)
        with pytest.raises(AppError, match="samples must be a whole number from 0 to 2000"):
            client.predict(handle_file(good), "Amanita", "fast", k.replace("3", "30"),
                           api_name="/explain")


def test_explain_refuses_more_samples_than_the_page_offers(client, tmp_path):
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    with pytest.raises(AppError, match="samples must be a whole number from 0 to 2000"):
        client.predict(handle_file(good), "Amanita", "fast", 10**12, api_name="/explain")


@pytest.mark.parametrize("quality, shown", [(None, "null"), ("slow", "'slow'"), (5, "5")])
def test_explain_names_a_bad_quality_as_sent(client, tmp_path, quality, shown):
    # "unknown quality None": Python's spelling of JSON's null; and checked only after the
    # photo, so a photo's refusal hid it
    bad = write(tmp_path, "bad.jpg", b"not an image")
    with pytest.raises(AppError, match=rf"^quality must be 'fast' or 'reference', not {shown}\.$"):
        client.predict(handle_file(bad), "Amanita", quality, 0, api_name="/explain")


def test_explain_takes_a_quality_in_any_case_as_it_takes_a_genus(client, tmp_path):
    good = write(tmp_path, "good.jpg", jpeg_bytes(photo()))
    assert Path(client.predict(handle_file(good), "amanita", " Fast", 10,
                               api_name="/explain")).suffix == ".png"


def test_bad_or_oversized_data_urls_get_a_clear_error():
    from gradio import Error

    from mushroom.ui import MAX_FILE_BYTES
    from mushroom.ui.uploads import raw_upload

    with pytest.raises(Error, match="not valid base64") as bad:
        raw_upload({"path": None, "url": "data:image/jpeg;base64,@@@notbase64"})
    assert bad.value.message == bad.value.text  # no "<...>" that the API reads as "&lt;...&gt;"
    with pytest.raises(Error, match="larger than 25 MB"):
        raw_upload({"path": None, "url": "data:image/jpeg;base64," + "A" * (MAX_FILE_BYTES * 2)})



@pytest.mark.parametrize("path, name", [
    ("/gradio_api/call/review_keys", "review_keys"),
    ("/gradio_api/call/v2/review_keys/", "review_keys"),
    ("/my-space/gradio_api/call/review_keys", "review_keys"),  # a proxy's root path first
    ("/gradio_api/call/identify/3f2a", None),  # reading a stream, not starting a call
    ("/gradio_api/queue/join", None),
])
def test_private_step_guard_finds_the_called_name(path, name):
    from mushroom.ui.api_input import CALL

    found = CALL.search(path)
    assert (found[1] if found else None) == name


@pytest.mark.parametrize("sent", [5, "photo.jpg", {"url": "https://x.org/a.jpg"}, {"path": ""}])
def test_a_photo_refusal_reads_the_same_in_the_toast_and_the_api(sent):
    """A refusal is escaped for Gradio's HTML toast, and the API gets that same text: the
    FileData hint's "<what POST /gradio_api/upload returned>" reached a mobile app's
    developer as "&lt;what POST ... returned&gt;"."""
    from mushroom.ui import UserError
    from mushroom.ui.api_photos import photo_problem

    err = UserError(photo_problem(sent))
    assert err.message == err.text and "POST /gradio_api/upload" in err.text
