"""The Review tab through the real app (``python app.py`` on a free port) and gradio_client.

Identify needs no login; every review endpoint refuses a session without an expert login.
"""

from __future__ import annotations

import re
import zipfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from conftest import PASSWORD, logged_in, review_setup
from mushroom import decision, labels, review
from mushroom.data import file_id
from mushroom.species import ensure_species
from mushroom.taxonomy import EXAMPLE_SPECIES, load_taxonomy


def store_rows(env: dict[str, str]) -> list[decision.Decision]:
    return labels.read_rows(env["MUSHROOM_LABELS"])


def refused_save(client: Client, image_id: str, genus: str, species: str, match: str) -> None:
    """Save ``genus`` and ``species`` for ``image_id``; the app must refuse it with an error
    whose message matches ``match`` (a regular expression)."""
    with pytest.raises(AppError, match=match):
        client.predict(image_id, genus, species, "", "All", "all", api_name="/review_save")


def reviewed(progress: str) -> tuple[int, int]:
    """(reviewed, total) from the progress line "Reviewed **r / t** ..."."""
    match = re.search(r"Reviewed \*\*(\d+) / (\d+)\*\*", progress)
    return int(match.group(1)), int(match.group(2))


def tinted(rgb: np.ndarray) -> int:
    """Pixels of the overlay's cyan or red tint in an (h, w, 3) int array."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int((((g - r > 80) & (b - r > 80)) | ((r - g > 80) & (r - b > 80))).sum())


def handler_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None = None,
                    model: Path = Path("unused.pt")):
    """A one-photo-per-genus queue and the Review tab's context, for calling its handlers
    without a server; with ``monkeypatch`` the experts alice and bob can sign in."""
    from mushroom.ui import review_handlers as h

    env = review_setup(tmp_path, per_class=1)
    if monkeypatch is not None:
        monkeypatch.setenv("MUSHROOM_EXPERTS", env["MUSHROOM_EXPERTS"])
    return h.ReviewContext(Path(env["MUSHROOM_REVIEW_DATA"]), Path(env["MUSHROOM_LABELS"]),
                           model)


def test_identify_needs_no_login(review_app, review_env):
    photo = next(Path(review_env["MUSHROOM_REVIEW_DATA"]).rglob("*.jpg"))
    result = Client(review_app.url, verbose=False).predict(handle_file(str(photo)),
                                                           api_name="/identify")
    assert len(result["top_k"]) == 3


REFUSED_WITHOUT_LOGIN = [
    ("/review_show", ("", "All", "all")),
    ("/review_open", ("", "All", "all", "")),  # the last: the browser tab's kept draft
    ("/review_filter", ("", "All", "all")),
    ("/review_confirm", ("{id}", "Amanita", "", "", "All", "all")),
    ("/review_save", ("{id}", "Boletus", "Boletus edulis", "", "All", "all")),
    ("/review_not_a_mushroom", ("{id}", "Amanita", "", "", "All", "all")),
    ("/review_unusable", ("{id}", "Amanita", "", "", "All", "all")),
    ("/review_note", ("{id}", "Amanita", "", "a note", "All", "all")),
    ("/review_skip", ("{id}", "All", "all")),
    ("/review_undo", ("All", "all")),
    ("/review_explain", ("{id}",)),
    ("/review_export", ()),
    ("/review_store", ()),
    ("/review_build", ("All", "all")),
    ("/review_species_choices", ("Amanita",)),
    ("/review_retire_species", ("Amanita", "Amanita muscria")),
    ("/review_reopen", ("All", "all")),
    ("/review_previous", ()),
    ("/review_forward", ()),
    ("/review_go_to", ("{id}",)),
]
SIGN_IN = {"review_login", "review_logout", "review_hf_login"}  # open to visitors by design
QUIET_WITHOUT_LOGIN = {"review_tick"}  # a timer's refresh: changes nothing, raises no toast


def changes(ticked: dict) -> tuple:
    """A tick's (progress, votes, status) for the page; None where nothing changed."""
    return ticked["progress"], ticked["votes"], ticked["status"]


QUIET = (None, None, None)


@pytest.mark.parametrize("endpoint, args", REFUSED_WITHOUT_LOGIN)
def test_review_endpoints_refuse_without_login(review_app, review_env, endpoint, args):
    image_id = file_id(next(Path(review_env["MUSHROOM_REVIEW_DATA"]).rglob("*.jpg")))
    before = len(store_rows(review_env))
    client = Client(review_app.url, verbose=False)
    with pytest.raises(AppError, match="expert login"):
        client.predict(*[a.format(id=image_id) for a in args], api_name=endpoint)
    assert len(store_rows(review_env)) == before


def test_every_review_endpoint_is_checked_for_a_login(review_app):
    # A new review event must join REFUSED_WITHOUT_LOGIN, undocumented ones included.
    config = Client(review_app.url, verbose=False).config
    callable_ = {d["api_name"] for d in config["dependencies"]
                 if (d.get("api_name") or "").startswith("review_")
                 and d.get("api_visibility") != "private"}
    assert callable_ - SIGN_IN - QUIET_WITHOUT_LOGIN == {e.lstrip("/")
                                                         for e, _ in REFUSED_WITHOUT_LOGIN}


def test_a_refresh_without_a_login_changes_nothing(review_app, review_env):
    # The timer runs only while signed in, but an API client or a page whose login the app
    # forgot (a restart) may still send a tick: no refusal toast, nothing on the page.
    image_id = file_id(next(Path(review_env["MUSHROOM_REVIEW_DATA"]).rglob("*.jpg")))
    page = ("", {"headers": [], "data": [[]]}, "", "")
    visitor = Client(review_app.url, verbose=False)
    quiet = visitor.predict(image_id, "All", "all", *page, api_name="/review_tick")
    assert changes(quiet) == QUIET
    assert (quiet["image_id"], quiet["genus"], quiet["mode"]) == (image_id, "All", "all")
    expert = logged_in(review_app, "bob")
    expert.predict(api_name="/review_logout")
    assert changes(expert.predict(image_id, "All", "all", *page, api_name="/review_tick")) \
        == QUIET


def test_wrong_password_is_refused_and_logout_ends_the_session(review_app):
    client = Client(review_app.url, verbose=False)
    with pytest.raises(AppError, match="wrong password"):
        client.predict("alice", "not-the-password", api_name="/review_login")
    with pytest.raises(AppError, match="expert login"):
        client.predict("", "All", "all", api_name="/review_show")
    client.predict("alice", PASSWORD, api_name="/review_login")
    assert client.predict("", "All", "all", api_name="/review_show")[0]
    client.predict(api_name="/review_logout")
    with pytest.raises(AppError, match="expert login"):
        client.predict("", "All", "all", api_name="/review_show")


def test_an_expert_relabels_votes_show_and_export_downloads(review_app, review_env, tmp_path):
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    first = alice.predict("", "All", "unreviewed", api_name="/review_show")
    image_id, (done_before, total) = first[0], reviewed(first[8])
    assert total == 9
    out = alice.predict(image_id, "Russula", "Russula emetica", "sharp taste", "All",
                        "unreviewed", api_name="/review_save")
    assert out[0] != image_id  # moved on to the next unreviewed photo
    assert reviewed(out[8]) == (done_before + 1, total)
    row = store_rows(review_env)[-1]
    assert (row.annotator, row.image_id, row.genus, row.species, row.note) == (
        "alice", image_id, "Russula", "Russula emetica", "sharp taste")
    assert row.model_version == "out-of-fold"
    shown = bob.predict(image_id, "All", "all", api_name="/review_show")
    assert shown[0] == image_id and "Russula emetica" in shown[2]
    bob.predict(image_id, "Amanita", "", "", "All", "all", api_name="/review_save")
    votes = bob.predict(image_id, "All", "all", api_name="/review_show")[4]
    assert {v[1] for v in votes["data"]} == {"alice", "bob"}  # every vote is shown
    refused_save(bob, image_id, "Amanita", "Boletus edulis", "does not belong")
    exported = pd.read_csv(bob.predict(api_name="/review_export"), dtype=str,
                           keep_default_na=False).set_index("image_id")
    assert exported.loc[image_id, "genus"] == "Amanita"  # 1-1 tie goes to bob, the latest
    assert exported.loc[image_id, "n_votes"] == "2"
    # the store itself, zipped: a store that reads back with every row, for train --labels
    with zipfile.ZipFile(bob.predict(api_name="/review_store")) as zf:
        zf.extractall(tmp_path)
    assert [r.row_id for r in labels.read_rows(tmp_path / "labels")] == [
        r.row_id for r in store_rows(review_env)]


def test_unknown_ids_and_undo(review_app, review_env):
    alice = logged_in(review_app, "alice")
    with pytest.raises(AppError, match="not in the review queue"):
        alice.predict("../../etc/passwd", "Amanita", "", "", "All", "all",
                      api_name="/review_confirm")
    image_id = alice.predict("", "Boletus", "all", api_name="/review_show")[0]
    alice.predict(image_id, "Boletus", "", "", "Boletus", "all", api_name="/review_unusable")
    assert store_rows(review_env)[-1].flags == ["unusable"]
    back = alice.predict("Boletus", "all", api_name="/review_undo")
    assert back[0] == image_id
    assert back[9].startswith("Undone: your latest decision (flagged as unusable) on ")
    assert store_rows(review_env)[-1].action == "undo"


def test_lime_on_demand_returns_an_overlay(review_app, review_env):
    alice = logged_in(review_app, "alice")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    heatmap, _ = alice.predict(image_id, api_name="/review_explain")
    overlay = np.asarray(Image.open(heatmap).convert("RGB")).astype(int)
    size = overlay.shape[1]
    assert overlay.shape[0] > size >= 224  # the photo plus the legend strip
    queue = review.load_queue(Path(review_env["MUSHROOM_LABELS"]) / review.CACHE_NAME,
                              review_env["MUSHROOM_LABELS"]).set_index("image_id")
    photo = Image.open(Path(review_env["MUSHROOM_REVIEW_DATA"]) / queue.loc[image_id, "path"])
    plain = np.asarray(photo.convert("RGB").resize((size, size))).astype(int)
    # superpixels are tinted cyan (for the genus) or red (against it), unlike the photo
    assert tinted(overlay[:size]) > tinted(plain) + 500


def test_lime_caption_says_the_heatmap_is_not_the_top3s_model(review_app, review_env):
    """Seen live: top-3 "Amanita 99%" (out-of-fold) beside a heatmap legend "supports Russula"
    (the current model), with nothing saying they come from two different models."""
    from mushroom.imageio import open_image
    from mushroom.predict import load_model

    model = load_model(review_env["MUSHROOM_MODEL"])
    queue = review.load_queue(Path(review_env["MUSHROOM_LABELS"]) / review.CACHE_NAME,
                              review_env["MUSHROOM_LABELS"])
    data = Path(review_env["MUSHROOM_REVIEW_DATA"])
    current_top = {r.image_id: model.classes[int(np.argmax(
        model.predict([open_image(data / r.path)]).probs[0]))] for r in queue.itertuples()}
    row = next(r for _, r in queue.iterrows()  # a photo the two models rank differently
               if next(iter(review.top_k(r, 1))) != current_top[r["image_id"]])
    alice = logged_in(review_app, "alice")
    shown = alice.predict(row["image_id"], "All", "all", api_name="/review_show")
    assert "out-of-fold" in shown[3]  # the top-3's own title
    _, caption = alice.predict(row["image_id"], api_name="/review_explain")
    genus, oof_top = current_top[row["image_id"]], next(iter(review.top_k(row, 1)))
    assert caption.startswith(f"Heatmap of the current model's top genus (**{genus}** ")
    assert "cross-validation: a model that did not train on this photo" in caption
    assert f"ranks **{oof_top}** first" in caption
    # the next photo shown clears the caption along with the heatmap
    skipped = alice.predict(row["image_id"], "All", "all", api_name="/review_skip")
    assert skipped[0] != row["image_id"] and skipped[10] is None and skipped[11] == ""


def test_lime_caption_when_the_queue_was_scored_by_this_model_or_an_older_one(
        tmp_path, monkeypatch, tiny_checkpoint):
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_tools as tools

    ctx = handler_context(tmp_path, monkeypatch, model=tiny_checkpoint)
    review.build_queue(ctx.data_dir, ctx.cache, tiny_checkpoint, None)  # no out-of-fold file
    image_id = h.render(ctx, "alice", None, "All", "all")[0]
    no_bar = lambda *args, **kwargs: None  # noqa: E731 (no Gradio request to report to)
    _, caption = tools.explain(ctx, "alice", image_id, progress=no_bar)
    assert caption.endswith("; the queue's top-3 comes from the same model.")
    cache = pd.read_csv(ctx.cache, dtype=str, keep_default_na=False)
    cache["model"] = "older-model v0 0123456789ab"  # the shipped model changed since
    cache.to_csv(ctx.cache, index=False)
    _, caption = tools.explain(ctx, "alice", image_id, progress=no_bar)
    assert "the model the queue was built with (`older-model v0 0123456789ab`" in caption
    assert "same model" not in caption


def test_api_page_says_species_takes_any_binomial(review_app):
    # Gradio would publish the species box's current choices (just "") as the only values.
    info = Client(review_app.url, verbose=False).view_api(return_format="dict", print_info=False)
    for endpoint in ("/review_confirm", "/review_save"):
        params = {p["parameter_name"]: p for p in info["named_endpoints"][endpoint]["parameters"]}
        assert params["species"]["python_type"]["type"] == "str", params["species"]
        assert "Literal" in params["genus"]["python_type"]["type"]  # genus stays a closed list


def test_api_page_names_every_review_output(review_app):
    # Unlabelled components would be published as value_45, value_60...
    info = Client(review_app.url, verbose=False).view_api(return_format="dict", print_info=False)
    review = {name: e for name, e in info["named_endpoints"].items() if name.startswith("/review")}
    returns = {r["label"] for e in review.values() for r in e["returns"]}
    assert not [r for r in returns if r.startswith("value_")], returns
    shown = [r["label"] for r in review["/review_show"]["returns"]]
    assert shown[:4] == ["Image id", "Photo", "Current label", "Model top 3"]
    assert [r["label"] for r in review["/review_login"]["returns"]] == ["Sign-in status"]


def test_save_without_a_genus_is_refused_not_filed_as_a_note(review_app, review_env):
    image_id = file_id(next(Path(review_env["MUSHROOM_REVIEW_DATA"]).rglob("*.jpg")))
    before = len(store_rows(review_env))
    with pytest.raises(AppError, match="Choose a genus"):
        logged_in(review_app).predict(image_id, None, "", "a note", "All", "all",
                               api_name="/review_save")
    assert len(store_rows(review_env)) == before


def test_a_vote_on_a_label_another_expert_changed_meanwhile_is_refused(tmp_path, monkeypatch):
    """Alice and Bob open the same photo as Russula; Bob relabels it first. Alice's confirm
    must not be filed as a vote for a label she never saw (the page sends what it showed)."""
    import gradio as gr

    from mushroom.ui import review_handlers as h

    ctx = handler_context(tmp_path, monkeypatch)
    shown = h.render(ctx, "alice", None, "Russula", "all")
    image_id, seen = shown[0], shown[-1]
    assert seen == (image_id, "Russula")
    assert h.render(ctx, "bob", image_id, "Russula", "all")[-1] == seen
    h.act(ctx, "save", "bob", image_id, "Amanita", "", "", "Russula", "all", seen)
    with pytest.raises(gr.Error, match="label changed from Russula to Amanita"):
        h.act(ctx, "confirm", "alice", image_id, "Russula", "", "", "Russula", "all", seen)
    assert [r.annotator for r in labels.read_rows(ctx.labels_dir)] == ["bob"]
    # Looking again shows the new label and the split vote once Alice disagrees.
    again = h.render(ctx, "alice", image_id, "All", "all")
    assert again[-1] == (image_id, "Amanita")
    after = h.act(ctx, "save", "alice", image_id, "Russula", "", "", "All", "all", again[-1])
    path = labels.read_rows(ctx.labels_dir)[-1].path
    assert after[9] == f"Saved: relabelled Amanita → Russula (`{path}`)."
    header = h.render(ctx, "alice", image_id, "All", "all")[2]
    assert "**disputed** (50% agree" in header
    h.act(ctx, "save", "alice", image_id, "Amanita", "", "", "All", "all", (image_id, "Russula"))
    from mushroom.ui.review_view import votes_table

    actions = [row[2] for row in votes_table(ctx.labels_dir, image_id)]
    assert actions == ["relabel", "relabel (replaced)", "relabel"]  # Alice counts once


def test_the_saved_line_says_what_a_species_vote_changed(tmp_path, monkeypatch):
    """A species added to a Russula photo was announced "relabelled Russula → Russula
    emetica", and a species replaced named the old genus, not the species in force."""
    from mushroom.ui import review_handlers as h

    ctx = handler_context(tmp_path, monkeypatch)
    shown = h.render(ctx, "alice", None, "Russula", "all")
    image_id = shown[0]

    def saved(user: str, genus: str, species: str) -> str:
        seen = h.render(ctx, user, image_id, "All", "all")[-1]
        return h.act(ctx, "save", user, image_id, genus, species, "", "All", "all", seen)[9]

    said = saved("alice", "Russula", "Russula emetica")
    path = labels.read_rows(ctx.labels_dir)[-1].path
    assert said == f"Saved: species set: Russula emetica (`{path}`)."
    said = saved("alice", "Russula", "Russula cyanoxantha")  # her vote replaced
    assert said == f"Saved: species changed: Russula emetica → Russula cyanoxantha (`{path}`)."
    said = saved("alice", "Amanita", "")
    assert said == f"Saved: relabelled Russula cyanoxantha → Amanita (`{path}`)."


def test_only_a_refused_vote_on_a_relabelled_photo_shows_it_again(tmp_path, monkeypatch):
    """The .failure step after a refused button: Confirm/Save refused because Bob relabelled
    the photo re-render it with his label and keep Alice's typed note; a refused note or
    flag (never refused for a label change), or a Save refused for a missing genus or a bad
    species, must not claim it was, nor wipe what Alice typed: only the status line changes,
    to say "Not saved" and, where the page's fields tell, why (seen live: it went on saying
    "Saved: ..." of the decision before)."""
    import gradio as gr

    from mushroom.ui import review_handlers as h
    from mushroom.ui.review_refused import after_refusal

    ctx = handler_context(tmp_path, monkeypatch)
    shown = h.render(ctx, "alice", None, "Russula", "all")
    image_id, seen = shown[0], shown[-1]
    status, note = h.ITEM_OUTPUTS.index("status"), h.ITEM_OUTPUTS.index("note")

    def status_only(out: list) -> str:
        assert [v for i, v in enumerate(out) if i not in (status, len(out) - 2)] \
            == [gr.skip()] * (len(out) - 2)  # all but the status line and the history
        return out[status]

    unexplained = status_only(after_refusal(ctx, "confirm", "alice", image_id, "Russula", "",
                                            "", seen))
    assert unexplained == "**Not saved.** The message at the top of the page says why."
    h.act(ctx, "save", "bob", image_id, "Amanita", "", "", "All", "all")
    for kind in ("note", "unusable", "not_a_mushroom"):
        assert status_only(after_refusal(ctx, kind, "alice", image_id, "Russula", "",
                                         "gills?", seen)).startswith("**Not saved.** The "), kind
    with pytest.raises(gr.Error, match="Choose a genus"):
        h.act(ctx, "save", "alice", image_id, None, "", "white gills", "All", "all", seen)
    told = status_only(after_refusal(ctx, "save", "alice", image_id, None, "", "white gills",
                                     seen))
    assert told.startswith("**Not saved.** Choose a genus to save") and "still in its box" in told
    with pytest.raises(gr.Error, match="is not a binomial"):
        h.act(ctx, "save", "alice", image_id, "Russula", "Russula x y", "", "All", "all", seen)
    told = status_only(after_refusal(ctx, "save", "alice", image_id, "Russula", "Russula x y",
                                     "", seen))
    assert told.startswith("**Not saved.** Species “Russula x y” is not a binomial")
    for kind, typed in (("confirm", ""), ("save", "white gills")):
        again = after_refusal(ctx, kind, "alice", image_id, "Russula", "", typed, seen)
        assert again[0] == image_id and again[-1] == (image_id, "Amanita")
        assert again[status].startswith("**Not saved**: another expert's vote changed the "
                                        "label from Russula to Amanita")
        assert again[note] == typed
        assert ("Your note is still in its box" in again[status]) == bool(typed)


def test_a_decision_with_no_photo_open_says_so(review_app):
    """Seen live: with no photo left under the filters, Confirm, Save, a flag, a note and
    LIME all answered "Photo 'None' is not in the review queue." (or, for Save, "Choose a
    genus ... not 'None'"); an empty note was refused as "a note cannot be empty"."""
    alice = logged_in(review_app, "alice")
    for endpoint in ("/review_confirm", "/review_save", "/review_unusable", "/review_note"):
        with pytest.raises(AppError, match="No photo is open: choose other filters"):
            alice.predict(None, None, "", "a note", "All", "all", api_name=endpoint)
    with pytest.raises(AppError, match="No photo is open"):
        alice.predict(None, api_name="/review_explain")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    with pytest.raises(AppError, match="Type the note in the Note box first"):
        alice.predict(image_id, "Amanita", "", "  ", "All", "all", api_name="/review_note")


def test_logging_out_clears_the_password_box(review_app):
    client = logged_in(review_app)
    out = client.predict(api_name="/review_logout")
    assert out[-1] == "" and "Signed out" in out[0]


def test_a_photo_that_stopped_decoding_says_so_instead_of_a_blank_box(tmp_path):
    from mushroom.ui import review_handlers as h

    ctx = handler_context(tmp_path)
    first = h.render(ctx, "alice", None, "All", "all")
    path = review.load_queue(ctx.cache, ctx.labels_dir).set_index("image_id").loc[first[0], "path"]
    (ctx.data_dir / path).write_bytes(b"\xff\xd8 damaged on disk")
    again = h.render(ctx, "alice", first[0], "All", "all")
    assert again[1] is None and "no longer decodes" in again[9]
    # Names the buttons, not their keys: a phone has none, nor has an API client.
    assert "with **Unusable photo** or **Skip** it." in again[9] and "[b]" not in again[9]


def test_a_photo_linked_from_outside_the_data_folder_says_so_instead_of_failing(tmp_path,
                                                                                 monkeypatch):
    """A queue built over a folder of links (a curated subset of another photo folder) holds
    photos the tab will not open: the link leads out of the data folder. The item and LIME
    say why and how to go on; both had raised, and the page showed Gradio's bare "Error"."""
    from mushroom.ui import UserError
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_tools as tools

    ctx = handler_context(tmp_path, monkeypatch, model=tmp_path / "never-loaded.pt")
    first = h.render(ctx, "alice", None, "All", "all")
    path = review.load_queue(ctx.cache, ctx.labels_dir).set_index("image_id").loc[first[0], "path"]
    outside = tmp_path / "elsewhere.jpg"
    (ctx.data_dir / path).rename(outside)
    (ctx.data_dir / path).symlink_to(outside)
    again = h.render(ctx, "alice", first[0], "All", "all")
    assert again[0] == first[0] and again[1] is None
    assert "outside the data folder" in again[9] and "**Skip**" in again[9], again[9]
    assert path in again[9].replace("\\", "")  # names the photo
    with pytest.raises(UserError, match="outside the data folder"):  # before any model
        tools.explain(ctx, "alice", first[0], progress=lambda *args, **kwargs: None)


def test_reopen_shows_the_last_decided_photo_without_withdrawing_the_vote(review_app, review_env):
    client = logged_in(review_app, "bob")
    first = client.predict("", "All", "all", api_name="/review_show")
    saved = client.predict(first[0], "Boletus", "", "", "All", "all", api_name="/review_save")
    assert saved[0] != first[0]  # moved on to the next photo
    before = len(store_rows(review_env))
    back = client.predict("All", "all", api_name="/review_reopen")
    assert back[0] == first[0] and "your vote stands" in back[9]
    assert len(store_rows(review_env)) == before  # nothing withdrawn or written
    client.predict(back[0], "Boletus", "", "spores brown", "All", "all", api_name="/review_note")
    again = client.predict("All", "all", api_name="/review_reopen")[9]
    assert "your note stays; a vote adds to it" in again  # seen live: "your vote stands"


def test_reopen_with_no_decision_yet_says_so(tmp_path, monkeypatch):
    from mushroom.ui import review_moves as moves

    ctx = handler_context(tmp_path, monkeypatch)
    assert "no decision to reopen" in moves.reopen(ctx, "alice", "All", "all")[9]


def test_refusals_do_not_echo_megabytes_back(review_app):
    # Seen live: a 10 MB image id or "Go to" query came back whole in the message.
    alice, huge = logged_in(review_app, "alice"), "a" * 2**20
    for endpoint, args in (("/review_confirm", (huge, "Amanita", "", "", "All", "all")),
                           ("/review_save", ("{id}", huge, "", "", "All", "all")),
                           ("/review_explain", (huge,)),
                           ("/review_show", ("", "All", huge))):
        with pytest.raises(AppError) as refused:
            alice.predict(*args, api_name=endpoint)
        assert 20 < len(str(refused.value)) < 400, endpoint
    status = alice.predict(huge, api_name="/review_go_to")[9]
    assert status.startswith("No photo in the review queue matches “aaa") and len(status) < 400


def test_an_api_vote_on_another_photo_than_the_one_shown_is_not_refused(review_app, review_env):
    """The label check compares a vote with the label its session showed for *that* photo.
    Seen live: an API client that opened the queue (photo A, a Russula) and then saved its
    own verdict on photo B (an Agaricus nobody had voted on) was told "the label changed
    from Russula to Agaricus (another expert's vote)"."""
    from mushroom.consensus import current

    client = logged_in(review_app, "bob")
    shown = client.predict("", "All", "all", api_name="/review_show")
    shown_genus = shown[5]["value"]
    queue = review.load_queue(Path(review_env["MUSHROOM_LABELS"]) / review.CACHE_NAME,
                              review_env["MUSHROOM_LABELS"])
    votes = current(review_env["MUSHROOM_LABELS"])
    other = next(r for r in queue.itertuples()
                 if r.image_id != shown[0] and (votes[r.image_id].genus if r.image_id in votes
                                                else r.folder_genus) != shown_genus)
    client.predict(other.image_id, "Boletus", "", "", "All", "all", api_name="/review_save")
    last = store_rows(review_env)[-1]
    assert (last.annotator, last.image_id, last.genus) == ("bob", other.image_id, "Boletus")


def test_an_expert_removes_a_mistyped_species_from_the_list(review_app, review_env):
    def offered(client) -> set[str]:
        box = client.predict("Amanita", api_name="/review_species_choices")
        return {value for _, value in box["choices"]}

    alice, typo = logged_in(review_app, "alice"), "Amanita muscrai"
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    alice.predict(image_id, "Amanita", typo, "", "All", "all", api_name="/review_save")
    assert typo in offered(alice)  # the typo is in every expert's list now
    with pytest.raises(AppError, match="re-vote those photos"):  # the vote still names it
        alice.predict("Amanita", typo, api_name="/review_retire_species")
    alice.predict(image_id, "Amanita", "", "", "All", "all", api_name="/review_save")
    with pytest.raises(AppError, match="curated seed list"):
        alice.predict("Amanita", "Amanita muscaria", api_name="/review_retire_species")
    bob = logged_in(review_app, "bob")
    box, status = alice.predict("Amanita", typo, api_name="/review_retire_species")
    assert status.startswith(f"Remove “{typo}” from every expert's Amanita species list? "
                             f"Press **Confirm: remove “{typo}”** within 10 s")
    assert box == {"__type__": "update"}  # armed: the box is left as it is
    assert typo in offered(bob)  # nothing removed yet
    _, other = bob.predict("Amanita", typo, api_name="/review_retire_species")
    assert other.startswith("Remove “")  # alice's click armed her session only
    box, status = alice.predict("Amanita", typo, api_name="/review_retire_species")
    assert f"Removed “{typo}” from the Amanita species list" in status
    assert not box.get("value") and typo not in {v for _, v in box["choices"]}
    assert "Amanita muscaria" in {v for _, v in box["choices"]}
    assert typo not in offered(bob)
    last = load_taxonomy(Path(review_env["MUSHROOM_LABELS"]) / "taxonomy.csv")[-1]
    assert (last.species, last.edibility) == (typo, "retired")
    # A script confirms in the call itself.
    ensure_species(review_env["MUSHROOM_LABELS"], "Amanita", "Amanita velosa", "alice")
    _, status = bob.predict("Amanita", "Amanita velosa", confirm=True,
                            api_name="/review_retire_species")
    assert status.startswith("Removed “Amanita velosa”")


def test_remove_from_list_asks_for_a_confirmation_that_anything_else_cancels(tmp_path,
                                                                            monkeypatch):
    """One click used to take a name off every expert's list: a mis-click removed a correct
    name for everyone. The first click arms; only a second one on the same name within
    ARM_S seconds removes it; another name or the time running out does not."""
    import gradio as gr

    from mushroom.species import species_choices
    from mushroom.ui import review_species as rs

    ctx = handler_context(tmp_path, monkeypatch)
    for name in ("Amanita muscrai", "Amanita velosa"):
        ensure_species(ctx.labels_dir, "Amanita", name, "alice")
    with pytest.raises(gr.Error, match="curated seed list"):  # refused before arming
        rs.retire(ctx, "alice", "Amanita", "Amanita muscaria")
    box, status, armed, button = rs.retire(ctx, "alice", "Amanita", " Amanita  muscrai ")
    assert box == gr.skip() and armed[:2] == ("Amanita", "Amanita muscrai")
    assert button["value"] == "Confirm: remove “Amanita muscrai”"
    assert "any other click cancels" in status
    assert "Amanita muscrai" in species_choices(ctx.labels_dir, "Amanita")
    other = rs.retire(ctx, "alice", "Amanita", "Amanita velosa", armed=armed)
    assert other[2][1] == "Amanita velosa" and "Amanita velosa" in species_choices(
        ctx.labels_dir, "Amanita")  # another name only arms that one
    late = ("Amanita", "Amanita muscrai", armed[2] - rs.ARM_S - 1)
    assert rs.retire(ctx, "alice", "Amanita", "Amanita muscrai", armed=late)[1] == status
    assert rs.expire(late)[-1].startswith("Not removed: “Amanita muscrai” was not confirmed")
    assert rs.expire(armed) == (gr.skip(),) * 4  # still waiting for the click
    assert rs.disarm(armed)[:2] == (None, {"value": "Remove from list",
                                           "variant": "secondary", "__type__": "update"})
    box, status, armed, button = rs.retire(ctx, "alice", "Amanita", "Amanita muscrai",
                                           armed=armed)
    assert status.startswith("Removed “Amanita muscrai”") and armed is None
    assert button["value"] == "Remove from list"
    assert species_choices(ctx.labels_dir, "Amanita") == [
        v for v in box["choices"] if v]  # the refreshed list, without the name
    assert rs.retire(ctx, "bob", "Amanita", "Amanita velosa", confirm=True)[1].startswith(
        "Removed “Amanita velosa”")


class NoBar:
    """``gr.Progress`` for a handler called without a Gradio request: no bar to report to."""

    def tqdm(self, iterable, desc: str = ""):
        return iterable


def test_build_queue_keeps_the_photo_on_screen_and_what_was_typed_on_it(tmp_path, monkeypatch,
                                                                      tiny_checkpoint):
    """Build queue used to show the first photo of the new queue with empty boxes: a genus,
    species and note typed on the photo on screen were lost without a word. Now the photo
    stays with them; an untouched genus box takes the label as it stands; and when the photo
    left the queue the status line says what was discarded."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_tools as tools

    at = h.ITEM_OUTPUTS.index
    ctx = handler_context(tmp_path, monkeypatch, model=tiny_checkpoint)
    first = h.render(ctx, "alice", None, "All", "all")
    shown = h.skip(ctx, "alice", first[0], "All", "all", first[at("history")])
    image_id, seen, trail = shown[0], shown[at("seen")], shown[at("history")]
    genus, species = ("Boletus", "Boletus edulis") if seen[1] != "Boletus" else (
        "Russula", "Russula emetica")
    out = tools.build(ctx, "alice", "All", "all", trail, image_id, genus, species,
                      "ring on the stem", seen, progress=NoBar())
    assert out[0] == image_id and out[at("note")] == "ring on the stem"
    assert out[at("genus")]["value"] == genus and out[at("species")]["value"] == species
    assert out[at("status")].startswith("Queue built: ")
    assert out[at("status")].endswith(" What you typed is still in its box, not saved.")
    # in words, not the counts' keys ("photos 3, from_oof 0, predicted 3, reused 0")
    assert out[at("status")].startswith("Queue built: 3 photos (0 scored out-of-fold, 0 by "
                                        "this model in an earlier build, 3 newly by this "
                                        "model; 0 unreadable, left out).")
    again = tools.build(ctx, "alice", "All", "all", trail, image_id, genus, species, "", seen,
                        progress=NoBar())  # a rerun scores nothing anew
    assert "(0 scored out-of-fold, 3 by this model in an earlier build, 0 newly" in again[
        at("status")]
    untouched = tools.build(ctx, "alice", "All", "all", trail, image_id, seen[1], "", "", seen,
                            progress=NoBar())
    assert untouched[0] == image_id and untouched[at("note")] == ""
    assert untouched[at("genus")]["value"] == seen[1] and "typed" not in untouched[at("status")]
    path = review.load_queue(ctx.cache, ctx.labels_dir).set_index("image_id").loc[image_id,
                                                                                 "path"]
    (ctx.data_dir / path).unlink()  # the photo leaves the queue with this build
    gone = tools.build(ctx, "alice", "All", "all", trail, image_id, genus, "", "ring", seen,
                       progress=NoBar())
    assert gone[0] != image_id and gone[at("note")] == ""
    assert "What you had typed on the photo you had open was discarded" in gone[at("status")]


def test_build_queue_never_scores_with_the_shipped_oof_beside_another_model(
        tmp_path, monkeypatch, tiny_checkpoint, real_data, shipped_model):
    """``review-queue`` refuses the shipped out-of-fold file beside another --model; the
    button took it beside the tab's model ($MUSHROOM_MODEL) whatever that was, so the shipped
    model's probabilities scored every photo they cover and the served model the rest.
    The button has no --oof to give: with another model it scores every photo itself."""
    import shutil

    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_tools as tools

    at = h.ITEM_OUTPUTS.index
    ctx = handler_context(tmp_path, monkeypatch, model=tiny_checkpoint)
    for path in pd.read_csv(review.DEFAULT_OOF)["path"].head(2):  # real photos it scores
        (ctx.data_dir / path).parent.mkdir(exist_ok=True)
        shutil.copy(real_data / path, ctx.data_dir / path)
    status = tools.build(ctx, "alice", "All", "all", progress=NoBar())[at("status")]
    assert status.startswith("Queue built: 5 photos (0 scored out-of-fold, 0 by this model "
                             "in an earlier build, 5 newly by this model;"), status
    assert status.endswith(f" The shipped out-of-fold probabilities ({review.DEFAULT_OOF.name})"
                           " were not used: they are the shipped model's, and this tab scores "
                           f"with {tiny_checkpoint}."), status
    queue = review.load_queue(ctx.cache, ctx.labels_dir)
    assert (queue["source"] == "model").all()
    shipped = tmp_path / "copy" / "model.pt"  # the shipped model under another name
    shipped.parent.mkdir()
    shutil.copy(shipped_model, shipped)
    ctx.model_path = shipped
    status = tools.build(ctx, "alice", "All", "all", progress=NoBar())[at("status")]
    assert status.startswith("Queue built: 5 photos (2 scored out-of-fold,"), status
    assert "were not used" not in status


def test_build_queue_through_the_page_s_api_keeps_what_was_typed(tmp_path, tiny_checkpoint):
    # Its own app: a rebuild rescores the queue other tests of this module rely on.
    from server import running_app

    env = {**review_setup(tmp_path, per_class=1), "MUSHROOM_MODEL": str(tiny_checkpoint)}
    with running_app(env) as app:
        alice = logged_in(app, "alice")
        image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
        out = alice.predict("All", "all", image_id, "Russula", "Russula emetica", "white gills",
                            api_name="/review_build")
        assert out[0] == image_id and out[7] == "white gills"
        assert (out[5]["value"], out[6]["value"]) == ("Russula", "Russula emetica")
        assert alice.predict("All", "all", api_name="/review_build")[7] == ""  # old callers


def unvoted_photo_open(review_app, env: dict[str, str]) -> tuple:
    """Alice and Bob signed in, and a photo nobody has voted on open in Alice's session:
    (alice, bob, image_id, what /review_show gave her)."""
    from mushroom.consensus import current

    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    queue = review.load_queue(Path(env["MUSHROOM_LABELS"]) / review.CACHE_NAME,
                              env["MUSHROOM_LABELS"])
    voted = current(env["MUSHROOM_LABELS"])
    image_id = next(i for i in queue["image_id"] if i not in voted)
    return alice, bob, image_id, alice.predict(image_id, "All", "all", api_name="/review_show")


def test_a_refresh_brings_other_experts_votes_and_says_the_label_changed(review_app, review_env):
    """Alice has a photo open while Bob relabels it: her next tick brings the new progress,
    Bob's vote and a notice, and only those (never the photo or the boxes she types in);
    a tick with nothing new changes nothing, and one after Bob's undo takes the notice back."""
    alice, bob, image_id, shown = unvoted_photo_open(review_app, review_env)
    page = (shown[8], shown[4], shown[9], "")  # progress, votes, status as shown (no header)
    assert changes(alice.predict(image_id, "All", "all", *page, api_name="/review_tick")) \
        == QUIET
    label = shown[5]["value"]
    other = "Amanita" if label != "Amanita" else "Boletus"
    bob.predict(image_id, other, "", "", "All", "all", api_name="/review_save")
    ticked = alice.predict(image_id, "All", "all", *page, api_name="/review_tick")
    progress, votes, status = changes(ticked)
    assert ticked["image_id"] == image_id  # what the page checks before placing it
    assert reviewed(progress) == (reviewed(page[0])[0] + 1, 9)
    assert [row[1:4] for row in votes] == [["bob", "relabel", other]]
    assert status.startswith(f"**Label changed meanwhile**: bob's vote changed this photo's "
                             f"label from {label} to {other}.")
    now = (progress, {"headers": page[1]["headers"], "data": votes}, status, "")
    assert changes(alice.predict(image_id, "All", "all", *now, api_name="/review_tick")) \
        == QUIET
    bob.predict("All", "all", api_name="/review_undo")
    assert changes(alice.predict(image_id, "All", "all", *now, api_name="/review_tick")) \
        == (page[0], [], "")


def test_a_refresh_keeps_the_headers_vote_count_and_dispute_in_step(review_app, review_env):
    """Alice has an unreviewed photo open ("0 vote(s)") while Bob relabels it and her own
    second tab votes for the label back: her ticks bring the votes and a header that counts
    them and says **disputed** (it said "0 vote(s)" beside a table of two votes), the
    header a fresh show of the photo gives; its genus stays the label her page refers to."""
    alice, bob, image_id, shown = unvoted_photo_open(review_app, review_env)
    label, header = shown[5]["value"], shown[2]
    assert " · 0 vote(s)" in header and "disputed" not in header
    other = "Amanita" if label != "Amanita" else "Boletus"
    bob.predict(image_id, other, "", "", "All", "all", api_name="/review_save")
    page = (shown[8], shown[4], shown[9], header)
    ticked = alice.predict(image_id, "All", "all", *page, api_name="/review_tick")
    assert ticked["label_shown"] == header
    assert ticked["label"] == header.replace(" · 0 vote(s)", " · 1 vote(s)")
    assert ticked["label"].startswith(f"### {label}")  # the label a Confirm refers to
    tab = logged_in(review_app, "alice")
    tab.predict(image_id, label, "", "", "All", "all", api_name="/review_save")
    now = (*page[:3], ticked["label"])
    ticked = alice.predict(image_id, "All", "all", *now, api_name="/review_tick")
    assert " · 2 vote(s) · **disputed** (50% agree" in ticked["label"]
    assert ticked["label"] == tab.predict(image_id, "All", "all", api_name="/review_show")[2]


def _alice_relabels_her_photo_and_ticks(ctx) -> tuple:
    """Alice opens a photo, votes another genus for it and her page ticks with the ``seen``
    it was shown with; returns (image id, seen, the genus voted, the tick's answer)."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_refresh as refresh

    shown = h.render(ctx, "alice", None, "All", "all")
    image_id, seen = shown[0], shown[-1]
    other = "Amanita" if seen[1] != "Amanita" else "Boletus"
    h.act(ctx, "save", "alice", image_id, other, "", "", "All", "all", seen)
    ticked = refresh.tick(ctx, "alice", image_id, "All", "all", seen, "", [], "")
    assert ticked["votes"][0][1:4] == ["alice", "relabel", other]
    return image_id, seen, other, ticked


def test_a_refresh_names_the_experts_own_vote_cast_elsewhere(tmp_path, monkeypatch):
    """Alice's own vote from another tab or the API leaves this page on the old label: the
    tick says so, as for Bob's vote (a tick raced by a vote on this page is dropped in the
    browser, see test_browser_review_own_vote)."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_refresh as refresh

    ctx = handler_context(tmp_path, monkeypatch)
    image_id, seen, other, ticked = _alice_relabels_her_photo_and_ticks(ctx)
    assert ticked["status"].startswith("**Label changed meanwhile**: your vote from another "
                                       f"tab or the API changed this photo's label from "
                                       f"{seen[1]} to {other}")
    h.act(ctx, "save", "bob", image_id, "Russula", "", "", "All", "all")
    ticked = refresh.tick(ctx, "alice", image_id, "All", "all", seen, "", [], "")
    assert ticked["status"].startswith("**Label changed meanwhile**: bob's vote")


def test_a_tick_between_this_tab_s_vote_and_its_answer_names_no_change(review_app, review_env):
    """A tick of Alice's page that runs after her Save there is stored but before the Save
    answers (so the photo and label it was computed for are the ones the vote referred to)
    must not tell her that her own vote "from another tab" changed the label: the Save's
    answer is on its way and moves the page on. Under load it did, and landed first. Holding
    the hold board's lock here keeps the Save waiting after it stored the vote (the next
    photo is handed out under that lock), so the tick runs in that gap every time. A tick
    of her other tab in the same gap still names her vote."""
    import time

    from filelock import FileLock

    from mushroom.review_hold_board import HOLDS_NAME, LOCK_S

    alice, _, image_id, shown = unvoted_photo_open(review_app, review_env)
    other_tab = logged_in(review_app, "alice")
    other_tab.predict(image_id, "All", "all", api_name="/review_show")
    label = shown[5]["value"]
    new = "Amanita" if label != "Amanita" else "Boletus"
    page = (shown[8], shown[4], shown[9], shown[2])  # progress, votes, status, header shown
    before = len(store_rows(review_env))
    with FileLock(str(Path(review_env["MUSHROOM_LABELS"]) / HOLDS_NAME) + ".lock"):
        save = alice.submit(image_id, new, "", "", "All", "all", api_name="/review_save")
        while len(store_rows(review_env)) == before:  # stored; the Save now waits for the lock
            time.sleep(0.01)
        stored = time.monotonic()
        ticks = [tab.submit(image_id, "All", "all", *page, api_name="/review_tick")
                 for tab in (alice, other_tab)]
        assert time.monotonic() - stored < LOCK_S / 2, "too slow to tick inside the gap"
        own, elsewhere = (job.result(timeout=60) for job in ticks)
    assert save.result(timeout=60)[0] != image_id  # the Save's answer moves the page on
    assert own["votes"][0][1:4] == ["alice", "relabel", new]  # the tick saw the vote...
    assert own["status"] is None  # ...and leaves the status line to the Save's answer
    assert elsewhere["status"].startswith(
        f"**Label changed meanwhile**: your vote from another tab or the API changed this "
        f"photo's label from {label} to {new}.")


@contextmanager
def page_session(session_hash: str):
    """Handlers called inside run as in the page session ``session_hash`` (a tab)."""
    from gradio.context import LocalContext

    token = LocalContext.request.set(SimpleNamespace(session_hash=session_hash))
    try:
        yield
    finally:
        LocalContext.request.reset(token)


def test_a_tab_s_own_vote_quiets_its_ticks_only_until_it_shows_a_photo_anew(tmp_path,
                                                                            monkeypatch):
    """A tick of Alice's tab that still holds the ``seen`` her vote there was cast with (the
    vote's answer has not landed) says nothing of that vote; her other tab's tick names it;
    and once the tab shows a photo anew, even with the same label (a Confirm, then the
    photo again), a later change is named again."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_refresh as refresh

    ctx = handler_context(tmp_path, monkeypatch)
    with page_session("alice-tab"):
        image_id, seen, other, ticked = _alice_relabels_her_photo_and_ticks(ctx)
        assert ticked["status"] is None
    with page_session("alice-phone"):  # an equal (image id, label) of her other tab
        ticked = refresh.tick(ctx, "alice", image_id, "All", "all", tuple(seen), "", [], "")
        assert ticked["status"].startswith("**Label changed meanwhile**: your vote from "
                                           "another tab or the API changed")
    with page_session("alice-tab"):
        seen = h.render(ctx, "alice", None, "All", "all", after=image_id)[-1]
        h.act(ctx, "confirm", "alice", seen[0], seen[1], "", "", "All", "all", seen)
        again = h.render(ctx, "alice", seen[0], "All", "all", keep="trail")[-1]
        assert again == seen
        h.act(ctx, "save", "bob", seen[0], "Russula" if seen[1] != "Russula" else "Amanita",
              "", "", "All", "all")
        ticked = refresh.tick(ctx, "alice", seen[0], "All", "all", again, "", [], "")
        assert ticked["status"].startswith("**Label changed meanwhile**: bob's vote")


def test_the_refresh_interval_comes_from_the_environment(monkeypatch, capsys):
    from mushroom.ui import review_refresh as refresh

    monkeypatch.delenv("MUSHROOM_REVIEW_REFRESH_S", raising=False)
    assert refresh.refresh_seconds() == refresh.REFRESH_S == 15
    monkeypatch.setenv("MUSHROOM_REVIEW_REFRESH_S", "2.5")
    assert refresh.refresh_seconds() == 2.5
    monkeypatch.setattr("mushroom.settings._reported", set())  # said once per process
    for bad in ("0", "-1", "soon", "inf", "nan"):  # more in test_settings.py
        monkeypatch.setenv("MUSHROOM_REVIEW_REFRESH_S", bad)
        assert refresh.refresh_seconds() == refresh.REFRESH_S
        assert f"MUSHROOM_REVIEW_REFRESH_S={bad!r} ignored" in capsys.readouterr().err


def test_a_wrong_input_count_names_only_what_a_caller_sends(review_app):
    """The signed-in user and the history come from the session: the message listed them
    as inputs to send ("takes 5 inputs: user, image_id, ..., history; got 2")."""
    import json
    import urllib.request

    request = urllib.request.Request(f"{review_app.url}gradio_api/call/review_show",
                                     json.dumps({"data": ["x", "All"]}).encode(),
                                     {"Content-Type": "application/json"})
    event = json.load(urllib.request.urlopen(request, timeout=30))["event_id"]
    with urllib.request.urlopen(f"{review_app.url}gradio_api/call/review_show/{event}",
                                timeout=60) as stream:
        lines = [line for line in stream.read().decode().splitlines() if line]
    assert lines[-2] == "event: error"
    assert json.loads(lines[-1].removeprefix("data: "))["error"] == (
        "/review_show takes 3 inputs, in this order: image_id, filter_genus, mode; "
        "got another number.")
    client = Client(review_app.url, verbose=False)
    with pytest.raises(AppError, match=r"takes 3 inputs, in this order: image_id, "
                                       r"filter_genus, mode; got another number\.$"):
        client.predict("x", "All", "all", "extra", api_name="/review_show")


def test_the_review_tab_takes_genus_names_in_any_case(review_app, review_env):
    """The genus box takes typed names, and API clients send what their users type."""
    alice = logged_in(review_app, "alice")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    alice.predict(image_id, "cortinarius ", "CORTINARIUS rubellus", "", "All", "all",
                  api_name="/review_save")
    last = store_rows(review_env)[-1]
    assert (last.image_id, last.genus, last.species) == (image_id, "Cortinarius",
                                                         "Cortinarius rubellus")
    box = alice.predict("cortinarius", api_name="/review_species_choices")
    assert "Cortinarius rubellus" in {value for _, value in box["choices"]}
    with pytest.raises(AppError, match="curated seed list"):  # got as far as the store
        alice.predict("cortinarius", "Cortinarius rubellus", api_name="/review_retire_species")
    refused_save(alice, image_id, "cortinarious", "", "one of Agaricus, Amanita")


def test_go_to_over_raw_http_refuses_a_lone_surrogate_naming_the_input(review_app):
    # JSON carries "\ud83c" (half an emoji); Go-to echoed it into its status line, where a
    # strict JSON decoder on a phone fails on the whole answer.
    import json
    import urllib.request

    def call(endpoint: str, data: list) -> tuple[str, object]:
        body = json.dumps({"data": data, "session_hash": "surrogate-check"}).encode()
        request = urllib.request.Request(f"{review_app.url}gradio_api/call/{endpoint}", body,
                                         {"Content-Type": "application/json"})
        event = json.load(urllib.request.urlopen(request, timeout=30))["event_id"]
        with urllib.request.urlopen(f"{review_app.url}gradio_api/call/{endpoint}/{event}",
                                    timeout=60) as stream:
            lines = [line for line in stream.read().decode().splitlines() if line]
        return lines[-2].removeprefix("event: "), json.loads(lines[-1].removeprefix("data: "))

    assert call("review_login", ["alice", PASSWORD])[0] == "complete"
    kind, payload = call("review_go_to", ["Amanita/\ud83c.jpg", "All", "all"])
    assert kind == "error", payload
    assert payload["error"].startswith("A lone UTF-16 surrogate (U+D83C) in query:")
    kind, payload = call("review_go_to", ["Amanita/000.jpg", "All", "all"])  # still signed in
    assert kind == "complete" and payload[9].startswith("Opened `Amanita/000.jpg`")
    assert "Traceback" not in review_app.log()


def test_species_names_a_mycologist_types_are_kept_refused_or_explained(review_app, review_env):
    """Seen in the tab: "Russula emetica subsp. sp" was saved and offered to every expert,
    "Boletus edulis ssp. aereus" refused as "not a binomial", and so was "Russula cf.
    emetica", with no word on the "cf."."""
    alice = logged_in(review_app, "alice")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    alice.predict(image_id, "Boletus", "Boletus edulis ssp. aereus", "", "All", "all",
                  api_name="/review_save")
    assert store_rows(review_env)[-1].species == "Boletus edulis subsp. aereus"
    before = len(store_rows(review_env))
    refused_save(alice, image_id, "Russula", "Russula emetica subsp. sp", "is not a binomial")
    refused_save(alice, image_id, "Russula", "Russula cf. emetica",
                 "“cf.” hedges the name.*save “Russula emetica”")
    assert len(store_rows(review_env)) == before
    offered = {v for _, v in alice.predict("Russula", api_name="/review_species_choices")[
        "choices"]}
    assert "Russula emetica subsp. sp" not in offered and "Russula emetica" in offered


def test_a_species_of_another_genus_says_to_choose_that_genus(review_app, review_env):
    """Seen in the tab: relabelling an Amanita by typing "Boletus edulis" and pressing Save
    (the genus box still at Amanita) said only "species 'Boletus edulis' does not belong to
    genus 'Amanita'", not how to relabel."""
    alice = logged_in(review_app, "alice")
    image_id = alice.predict("", "All", "all", api_name="/review_show")[0]
    before = len(store_rows(review_env))
    refused_save(alice, image_id, "Amanita", "Boletus edulis",
                 "“Boletus edulis” does not belong to genus Amanita: choose the genus Boletus "
                 "with it, or a species of Amanita")
    refused_save(alice, image_id, "Amanita", "Pleurotus ostreatus",
                 "Pleurotus is none of the nine genera")
    assert len(store_rows(review_env)) == before


def test_a_note_keeps_the_genus_and_species_chosen_for_the_vote_to_come(review_app,
                                                                          review_env):
    """Seen in the tab: an expert chose Boletus and "Boletus edulis" for a Suillus photo,
    wrote why in the note and pressed Add note first; the boxes went back to Suillus
    without a word, and the Save that followed would have confirmed Suillus."""
    alice = logged_in(review_app, "alice")
    shown = alice.predict("", "All", "all", api_name="/review_show")
    image_id, label = shown[0], shown[5]["value"]
    other = "Boletus" if label != "Boletus" else "Russula"
    species = {"Boletus": "Boletus edulis", "Russula": "Russula emetica"}[other]
    out = alice.predict(image_id, other.lower(), species, "pores white when young", "All",
                        "all", api_name="/review_note")
    assert out[0] == image_id and out[7] == ""  # the note is saved, its box emptied
    assert (out[5]["value"], out[6]["value"]) == (other.lower(), species)
    assert out[9].startswith("Saved: note added")
    assert out[9].endswith("The genus and species you chose are still in their boxes, not "
                           "saved yet.")
    last = store_rows(review_env)[-1]
    assert (last.action, last.genus, last.species) == ("note", label, "")
    # the boxes as the photo shows them: nothing chosen to keep, nothing said of it
    plain = alice.predict(image_id, label, "", "gills free", "All", "all",
                          api_name="/review_note")
    assert plain[5]["value"] == label and "boxes" not in plain[9]
    own = EXAMPLE_SPECIES[label]  # a photo with a species, shown in its box untouched
    alice.predict(image_id, label, own, "", "All", "all", api_name="/review_save")
    alice.predict(image_id, "All", "all", api_name="/review_go_to")
    again = alice.predict(image_id, label, own, "ring", "All", "all", api_name="/review_note")
    assert again[6]["value"] == own and "boxes" not in again[9]


def test_confirm_with_another_genus_or_species_chosen_is_refused(review_app, review_env):
    """Seen in the tab: Amanita phalloides chosen in the boxes of a Suillus photo, then `c`
    pressed for `r`: "Saved: confirmed Suillus", a vote for the label the expert had just
    rejected, and the page moved on."""
    alice = logged_in(review_app, "alice")
    shown = alice.predict("", "All", "all", api_name="/review_show")
    image_id, label = shown[0], shown[5]["value"]
    as_shown = shown[6]["value"] or label  # its species, when a vote named one
    other = next(g for g in ("Amanita", "Boletus") if g != label)
    before = len(store_rows(review_env))
    for genus, species, named in ((other, "", other),
                                  (other.lower(), EXAMPLE_SPECIES[other], EXAMPLE_SPECIES[other]),
                                  (label, f"{label} novella", f"{label} novella")):
        with pytest.raises(AppError, match=f"Confirm votes for the label shown, {as_shown}, "
                                           f"but the boxes say {named}: press Save"):
            alice.predict(image_id, genus, species, "", "All", "all",
                          api_name="/review_confirm")
    assert len(store_rows(review_env)) == before
    # the boxes as shown (or left empty, as API clients may) confirm the label
    out = alice.predict(image_id, label.lower(), "", "", "All", "all",
                        api_name="/review_confirm")
    assert out[9].startswith(f"Saved: confirmed {label}")
    assert (store_rows(review_env)[-1].action, store_rows(review_env)[-1].image_id) == (
        "confirm", image_id)


def test_a_stale_confirm_with_the_species_shown_says_the_label_changed(tmp_path, monkeypatch):
    """The Confirm check above must not take the species shown before another expert's
    relabel for one the expert chose: the refusal names the relabel."""
    import gradio as gr

    from mushroom.ui import review_handlers as h
    from mushroom.ui.review_refused import after_refusal

    ctx = handler_context(tmp_path, monkeypatch)
    first = h.render(ctx, "alice", None, "Amanita", "all")
    image_id = first[0]
    h.act(ctx, "save", "alice", image_id, "Amanita", "Amanita muscaria", "", "All", "all",
          first[-1])
    shown = h.render(ctx, "alice", image_id, "All", "all")
    seen = shown[-1]
    h.act(ctx, "save", "bob", image_id, "Russula", "Russula emetica", "", "All", "all")
    with pytest.raises(gr.Error, match="label changed from Amanita to Russula"):
        h.act(ctx, "confirm", "alice", image_id, "Amanita", "Amanita muscaria", "", "All",
              "all", seen)
    again = after_refusal(ctx, "confirm", "alice", image_id, "Amanita", "Amanita muscaria", "",
                          seen)
    assert again[h.ITEM_OUTPUTS.index("status")].startswith(
        "**Not saved**: another expert's vote changed the label from Amanita to Russula")


def test_a_stale_save_keeps_the_genus_and_species_chosen_in_their_boxes(tmp_path, monkeypatch):
    """Seen with two browsers: Alice chose Boletus with a note while Bob relabelled the
    photo Agaricus. Her Save was refused and the photo shown again as it stands, the note
    kept, but her Boletus replaced by Agaricus: one more Save would have voted Agaricus with
    her note. The name she chose stays in the boxes (a Save now votes for it, seen against
    the new label); a refused Confirm still shows the label as it stands."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui.review_refused import after_refusal

    ctx = handler_context(tmp_path, monkeypatch)
    shown = h.render(ctx, "alice", None, "Amanita", "all")
    image_id, seen, at = shown[0], shown[-1], h.ITEM_OUTPUTS.index
    h.act(ctx, "save", "bob", image_id, "Agaricus", "", "", "All", "all")
    again = after_refusal(ctx, "save", "alice", image_id, "Boletus", "Boletus edulis",
                          "pores?", seen)
    assert again[at("seen")] == (image_id, "Agaricus")  # the photo as it stands now
    assert again[at("genus")]["value"] == "Boletus" and again[at("note")] == "pores?"
    assert again[at("species")]["value"] == "Boletus edulis"
    assert "Boletus edulis" in again[at("status")]
    h.act(ctx, "save", "alice", image_id, again[at("genus")]["value"],
          again[at("species")]["value"], "pores?", "All", "all", again[at("seen")])
    assert labels.read_rows(ctx.labels_dir)[-1].species == "Boletus edulis"
    confirmed = after_refusal(ctx, "confirm", "bob", image_id, "Amanita", "", "",
                              (image_id, "Amanita"))
    assert confirmed[at("genus")]["value"] == "Boletus"  # alice's vote now ties, latest wins
