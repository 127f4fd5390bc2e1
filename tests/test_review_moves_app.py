"""Previous / Forward / Go to on the Review tab, through the real app and gradio_client.

Each client is one browser session: its trail of photos lives in that session's state.
Outputs are indexed as the API returns them: 0 image id, 2 header, 9 status line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client.exceptions import AppError

from conftest import logged_in, review_setup
from mushroom import labels, review


def walk(client, steps: int) -> list[str]:
    """Open the queue (filters: all) and skip ``steps`` times; the ids shown, in order."""
    shown = [client.predict("", "All", "all", api_name="/review_show")[0]]
    for _ in range(steps):
        shown.append(client.predict(shown[-1], "All", "all", api_name="/review_skip")[0])
    return shown


def test_previous_and_forward_walk_the_photos_this_session_showed(review_app):
    alice = logged_in(review_app, "alice")
    a, b, c = walk(alice, 2)
    assert len({a, b, c}) == 3
    back = alice.predict(api_name="/review_previous")
    assert back[0] == b and "Back: photo 2 of 3" in back[9]
    assert alice.predict(api_name="/review_previous")[0] == a
    first = alice.predict(api_name="/review_previous")
    assert first[9] == "No earlier photo in this session."
    assert first[0] == {"__type__": "update"}  # the photo on screen stays as it is
    assert alice.predict(api_name="/review_forward")[0] == b
    ahead = alice.predict(api_name="/review_forward")
    assert ahead[0] == c and "Forward: photo 3 of 3" in ahead[9]
    assert "nothing ahead" in alice.predict(api_name="/review_forward")[9]
    # Another session of the same expert has its own trail.
    fresh = logged_in(review_app, "alice")
    fresh.predict("", "All", "all", api_name="/review_show")
    assert fresh.predict(api_name="/review_previous")[9] == "No earlier photo in this session."


def test_a_decision_on_an_earlier_photo_moves_on_along_the_trail(review_app, review_env):
    bob = logged_in(review_app, "bob")
    a, b, c = walk(bob, 2)
    bob.predict(api_name="/review_previous")
    assert bob.predict(api_name="/review_previous")[0] == a
    saved = bob.predict(a, "Amanita", "", "", "All", "all", api_name="/review_save")
    assert saved[0] == b and "Next photo of your history (2 of 3" in saved[9]
    row = labels.read_rows(review_env["MUSHROOM_LABELS"])[-1]
    assert (row.annotator, row.image_id, row.genus) == ("bob", a, "Amanita")
    assert bob.predict(b, "All", "all", api_name="/review_skip")[0] == c  # where bob was
    after = bob.predict(c, "All", "all", api_name="/review_skip")[0]
    assert after not in (a, b, c)  # then the queue order resumes
    assert bob.predict(api_name="/review_previous")[0] == c


def test_a_vote_on_a_photo_reached_with_previous_is_refused_if_its_label_changed(review_app,
                                                                                review_env):
    alice, bob = logged_in(review_app, "alice"), logged_in(review_app, "bob")
    first, _ = walk(alice, 1)
    shown = alice.predict(api_name="/review_previous")
    assert shown[0] == first
    store = review_env["MUSHROOM_LABELS"]
    before = review.load_queue(f"{store}/{review.CACHE_NAME}",
                               store).set_index("image_id").loc[first, "genus"]
    other = "Russula" if before != "Russula" else "Boletus"
    bob.predict(first, api_name="/review_go_to")
    bob.predict(first, other, "", "", "All", "all", api_name="/review_save")
    rows = len(labels.read_rows(review_env["MUSHROOM_LABELS"]))
    with pytest.raises(AppError, match=f"label changed from {before} to {other}"):
        alice.predict(first, before, "", "", "All", "all", api_name="/review_confirm")
    assert len(labels.read_rows(review_env["MUSHROOM_LABELS"])) == rows


def test_go_to_opens_a_photo_by_path_name_or_id_whatever_the_filters(review_app, review_env):
    alice = logged_in(review_app, "alice")
    queue = review.load_queue(f"{review_env['MUSHROOM_LABELS']}/{review.CACHE_NAME}",
                              review_env["MUSHROOM_LABELS"])
    start = alice.predict("", "Amanita", "all", api_name="/review_show")[0]
    target = queue[queue["genus"] == "Boletus"].iloc[-1]  # outside the Amanita filter
    opened = alice.predict(target["path"], api_name="/review_go_to")
    assert opened[0] == target["image_id"]
    assert f"Opened `{target['path']}`" in opened[9] and target["path"] in opened[2]
    by_id = alice.predict(target["image_id"].upper(), api_name="/review_go_to")
    assert by_id[0] == target["image_id"]
    assert alice.predict(api_name="/review_previous")[0] == start  # Go to joins the trail


def test_go_to_says_when_nothing_or_several_photos_match(review_app):
    alice = logged_in(review_app, "alice")
    alice.predict("", "All", "all", api_name="/review_show")
    none = alice.predict("no-such-photo.jpg", api_name="/review_go_to")
    assert none[9].startswith("No photo in the review queue matches “no-such-photo.jpg”")
    assert none[0] == {"__type__": "update"}  # nothing opened
    several = alice.predict("000.jpg", api_name="/review_go_to")[9]
    assert several.startswith("3 photos match “000.jpg”")
    assert all(f"`{g}/000.jpg`" in several for g in ("Amanita", "Boletus", "Russula"))
    several = alice.predict("000", api_name="/review_go_to")  # found nothing: said "No photo"
    assert several[9].startswith("3 photos match “000”") and several[0] == {"__type__": "update"}
    assert all(f"`{g}/000.jpg`" in several[9] for g in ("Amanita", "Boletus", "Russula"))
    opened = alice.predict("boletus/000", api_name="/review_go_to")
    assert opened[9].startswith("Opened `Boletus/000.jpg`") and "Boletus/000.jpg" in opened[2]
    empty = alice.predict("  ", api_name="/review_go_to")  # seen live: 'matches “”'
    assert empty[9].startswith("Type a file name such as `Amanita/abc.jpg`, or an image id")
    assert empty[0] == {"__type__": "update"}


def test_go_to_outside_the_filters_says_so_and_moving_on_returns(review_app, review_env):
    alice = logged_in(review_app, "alice")
    queue = review.load_queue(f"{review_env['MUSHROOM_LABELS']}/{review.CACHE_NAME}",
                              review_env["MUSHROOM_LABELS"])
    start = alice.predict("", "Amanita", "all", api_name="/review_show")[0]
    target = queue[queue["genus"] == "Russula"].iloc[-1]
    opened = alice.predict(target["path"], "Amanita", "all", api_name="/review_go_to")
    assert opened[0] == target["image_id"] and "· Amanita: " in opened[8]  # the page's filters
    assert opened[9] == (f"Opened `{target['path']}`. This photo is outside your filters "
                         "(Amanita · Show: all); a decision or Skip takes you back to where you "
                         "were in them.")
    back = alice.predict(target["image_id"], "Amanita", "all", api_name="/review_skip")
    assert back[0] == start and back[9] == "Skipped. Back to where you were in the queue."


def test_after_reopen_undo_or_go_to_moving_on_returns_to_where_the_expert_was(tmp_path,
                                                                              monkeypatch):
    """Reopen, Undo and Go to show a photo whatever the filters, which the page still shows.
    Moving on from it used to follow those filters from that photo's place in the queue (the
    next photo was whichever matching one came after it), and a note on it jumped away at
    once. Now the status line says when the photo lies outside the filters, a note stays on
    it, and a decision or Skip returns to the photo the expert had open."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_moves as moves

    env = review_setup(tmp_path)  # three photos of each of Amanita, Boletus and Russula
    monkeypatch.setenv("MUSHROOM_EXPERTS", env["MUSHROOM_EXPERTS"])
    ctx = h.ReviewContext(Path(env["MUSHROOM_REVIEW_DATA"]), Path(env["MUSHROOM_LABELS"]),
                          Path("unused.pt"))
    at, filters = h.ITEM_OUTPUTS.index, ("Amanita", "unreviewed")
    queue = review.load_queue(ctx.cache, ctx.labels_dir)
    amanita = queue[queue["genus"] == "Amanita"]  # in queue order
    first = h.render(ctx, "alice", None, *filters)
    here = h.skip(ctx, "alice", first[0], *filters, first[at("history")])
    assert (first[0], here[0]) == tuple(amanita["image_id"].iloc[:2])
    low, high = amanita["rank"].iloc[:2]  # a photo whose place leads elsewhere than here[0]:
    away = next(r for r in queue.itertuples() if r.genus != "Amanita" and not low < r.rank < high)
    out = moves.go_to(ctx, "alice", away.path, here[at("history")], *filters)
    assert out[0] == away.image_id and "outside your filters (Amanita · Show: unreviewed)" \
        in out[at("status")]
    noted = h.act(ctx, "note", "alice", away.image_id, away.genus, "", "spores?", *filters,
                  out[at("seen")], out[at("history")])
    assert noted[0] == away.image_id  # a note stays on the photo
    saved = h.act(ctx, "confirm", "alice", away.image_id, away.genus, "", "", *filters,
                  noted[at("seen")], noted[at("history")])
    assert saved[0] == here[0] and saved[at("status")].endswith(
        " Back to where you were in the queue.")
    for move in (moves.reopen, moves.undo):  # the photo of alice's confirm, and its undo
        shown = move(ctx, "alice", *filters, saved[at("history")])
        assert shown[0] == away.image_id and "outside your filters" in shown[at("status")]
        saved = h.skip(ctx, "alice", away.image_id, *filters, shown[at("history")])
        assert saved[0] == here[0], move.__name__
    last = amanita.iloc[2]  # inside the filters: moving on still returns, not wraps round
    inside = moves.go_to(ctx, "alice", last["path"], saved[at("history")], *filters)
    assert inside[at("status")] == (f"Opened `{last['path']}`. A decision or Skip takes you "
                                    "back to where you were in the queue.")
    assert h.skip(ctx, "alice", last["image_id"], *filters, inside[at("history")])[0] == here[0]


def test_previous_forward_and_a_stale_refusal_follow_the_filters_on_screen(tmp_path,
                                                                           monkeypatch):
    """Previous, Forward, the step along the trail after a decision, and the photo shown
    again after a refused stale vote rendered it with the filters "All · all": the progress
    line counted every photo and the status line said "(filters: all)" while the page's
    filter widgets kept the expert's. Now the progress line follows the filters on screen and
    the status line says when the photo lies outside them, as after Go to, Reopen or Undo."""
    import gradio as gr

    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_moves as moves
    from mushroom.ui.review_refused import after_refusal

    env = review_setup(tmp_path)  # three photos of each of Amanita, Boletus and Russula
    monkeypatch.setenv("MUSHROOM_EXPERTS", env["MUSHROOM_EXPERTS"])
    ctx = h.ReviewContext(Path(env["MUSHROOM_REVIEW_DATA"]), Path(env["MUSHROOM_LABELS"]),
                          Path("unused.pt"))
    at, filters = h.ITEM_OUTPUTS.index, ("Amanita", "unreviewed")
    outside = "This photo is outside your filters (Amanita · Show: unreviewed)."

    def on_screen(out: list, image_id: str, off_filters: bool) -> None:
        assert out[0] == image_id
        assert (outside in out[at("status")]) == off_filters, out[at("status")]
        assert "filters: all" not in out[at("status")]
        assert "· Amanita: " in out[at("progress")], out[at("progress")]  # counts Amanita

    first = h.render(ctx, "alice", None, *filters)
    second = h.skip(ctx, "alice", first[0], *filters, first[at("history")])
    third = h.act(ctx, "confirm", "alice", second[0], "", "", "", *filters, second[at("seen")],
                  second[at("history")])  # second now has a vote: no longer "unreviewed"
    back = moves.previous(ctx, "alice", third[at("history")], *filters)
    on_screen(back, second[0], True)
    assert back[at("status")].startswith("Back: photo 2 of 3 of this session. Moving on")
    back = moves.previous(ctx, "alice", back[at("history")], *filters)
    on_screen(back, first[0], False)
    ahead = moves.forward(ctx, "alice", back[at("history")], *filters)
    on_screen(ahead, second[0], True)
    back = moves.previous(ctx, "alice", ahead[at("history")], *filters)
    moved_on = h.skip(ctx, "alice", first[0], *filters, back[at("history")])
    on_screen(moved_on, second[0], True)
    assert moved_on[at("status")].startswith("Skipped. Next photo of your history (2 of 3).")
    h.act(ctx, "save", "bob", third[0], "Russula", "", "", "All", "all")
    with pytest.raises(gr.Error, match="label changed from Amanita to Russula"):
        h.act(ctx, "confirm", "alice", third[0], "", "", "", *filters, third[at("seen")],
              third[at("history")])
    again = after_refusal(ctx, "confirm", "alice", third[0], "Amanita", "", "", third[at("seen")],
                          third[at("history")], *filters)
    on_screen(again, third[0], True)  # bob's vote took it out of both filters; it stays
    assert again[at("status")].startswith("**Not saved**: another expert's vote changed the "
                                          "label from Amanita to Russula. Here is the photo")


def test_previous_and_forward_take_the_filters_after_the_trail(review_app):
    """The page sends its filters with Previous and Forward; API clients may too."""
    alice = logged_in(review_app, "alice")
    start = alice.predict("", "Boletus", "all", api_name="/review_show")[0]
    alice.predict(start, "Boletus", "all", api_name="/review_skip")
    back = alice.predict("Boletus", "all", api_name="/review_previous")
    assert back[0] == start and "· Boletus: " in back[8] and "outside" not in back[9]
    ahead = alice.predict("Russula", "all", api_name="/review_forward")
    assert "· Russula: " in ahead[8]
    assert "outside your filters (Russula · Show: all)" in ahead[9]


def test_a_note_or_a_rebuilt_queue_on_a_photo_outside_the_filters_says_so(tmp_path, monkeypatch,
                                                                         tiny_checkpoint):
    """A note and Build queue keep the photo on screen whatever the filters, but unlike every
    other move that keeps one (Go to, Reopen, Undo, Previous, Forward), they said nothing
    when it lies outside them: the status line read as if it matched the filters shown."""
    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_moves as moves
    from mushroom.ui import review_tools as tools

    class NoBar:  # gr.Progress without a Gradio request
        def tqdm(self, iterable, desc: str = ""):
            return iterable

    env = review_setup(tmp_path)  # three photos of each of Amanita, Boletus and Russula
    monkeypatch.setenv("MUSHROOM_EXPERTS", env["MUSHROOM_EXPERTS"])
    ctx = h.ReviewContext(Path(env["MUSHROOM_REVIEW_DATA"]), Path(env["MUSHROOM_LABELS"]),
                          tiny_checkpoint)
    at, filters = h.ITEM_OUTPUTS.index, ("Amanita", "unreviewed")
    outside = " This photo is outside your filters (Amanita · Show: unreviewed)."
    first = h.render(ctx, "alice", None, *filters)
    noted = h.act(ctx, "note", "alice", first[0], "Amanita", "", "ring", *filters,
                  first[at("seen")], first[at("history")])
    assert noted[0] == first[0] and "outside" not in noted[at("status")]  # it matches them
    queue = review.load_queue(ctx.cache, ctx.labels_dir)
    away = queue[queue["genus"] == "Russula"].iloc[0]
    out = moves.go_to(ctx, "alice", away["path"], noted[at("history")], *filters)
    noted = h.act(ctx, "note", "alice", away["image_id"], "Russula", "", "spores?", *filters,
                  out[at("seen")], out[at("history")])
    assert noted[0] == away["image_id"]
    assert noted[at("status")] == f"Saved: note added: “spores?” (`{away['path']}`).{outside}"
    built = tools.build(ctx, "alice", *filters, noted[at("history")], away["image_id"],
                        "Russula", "", "", noted[at("seen")], progress=NoBar())
    assert built[0] == away["image_id"]
    assert built[at("status")].startswith("Queue built: ")
    assert built[at("status")].endswith(outside)


def test_go_to_previous_and_forward_default_to_the_page_s_filters_in_python_too(tmp_path,
                                                                                monkeypatch,
                                                                                review_app):
    """Called in Python without filters they took All · all, while the page and API clients
    (gradio_client fills a missing input from its widget) send All · unreviewed: the same
    call said nothing of a reviewed photo in one and "outside your filters" in the other."""
    from gradio_client import Client

    from mushroom.ui import review_handlers as h
    from mushroom.ui import review_moves as moves

    api = Client(review_app.url, verbose=False).view_api(return_format="dict",
                                                         print_info=False)["named_endpoints"]
    for name in ("go_to", "previous", "forward"):
        widgets = {p["parameter_name"]: p["parameter_default"]
                   for p in api[f"/review_{name}"]["parameters"] if p["parameter_has_default"]}
        assert widgets == {"filter_genus": "All", "mode": "unreviewed"}, name
    env = review_setup(tmp_path)
    monkeypatch.setenv("MUSHROOM_EXPERTS", env["MUSHROOM_EXPERTS"])
    ctx = h.ReviewContext(Path(env["MUSHROOM_REVIEW_DATA"]), Path(env["MUSHROOM_LABELS"]),
                          Path("unused.pt"))
    at, filters = h.ITEM_OUTPUTS.index, ("All", "unreviewed")
    outside = "outside your filters (Show: unreviewed)"
    first = h.render(ctx, "alice", None, *filters)
    second = h.skip(ctx, "alice", first[0], *filters, first[at("history")])
    third = h.act(ctx, "confirm", "alice", second[0], "", "", "", *filters, second[at("seen")],
                  second[at("history")])  # second is no longer unreviewed
    back = moves.previous(ctx, "alice", third[at("history")])
    assert back[0] == second[0] and outside in back[at("status")]
    back = moves.previous(ctx, "alice", back[at("history")])
    assert back[0] == first[0] and outside not in back[at("status")]
    ahead = moves.forward(ctx, "alice", back[at("history")])
    assert ahead[0] == second[0] and outside in ahead[at("status")]
    path = review.load_queue(ctx.cache, ctx.labels_dir).set_index("image_id").loc[second[0],
                                                                                 "path"]
    opened = moves.go_to(ctx, "alice", path, ahead[at("history")])
    assert opened[0] == second[0] and outside in opened[at("status")]


def test_undo_names_the_species_its_decision_replaced(review_app):
    """After Undo the status line said "relabelled Russula → Amanita" and "species set:
    Russula cyanoxantha" of votes that had replaced Russula emetica, Russula cyanoxantha: the
    species in force before the withdrawn vote, named as Save names it."""
    alice = logged_in(review_app, "alice")
    image_id = alice.predict("Russula/002.jpg", api_name="/review_go_to")[0]
    for genus, species in (("Russula", "Russula emetica"), ("Russula", "Russula cyanoxantha"),
                           ("Amanita", "")):
        alice.predict(image_id, genus, species, "", "All", "all", api_name="/review_save")
    said = [alice.predict("All", "all", api_name="/review_undo") for _ in range(3)]
    assert [out[0] for out in said] == [image_id] * 3
    assert [out[9].split(" on `")[0] for out in said] == [
        "Undone: your latest decision (relabelled Russula cyanoxantha → Amanita)",
        "Undone: your latest decision (species changed: Russula emetica → Russula cyanoxantha)",
        "Undone: your latest decision (species set: Russula emetica)"]


def test_undo_or_reopen_with_nothing_left_keeps_the_photo_on_screen(review_app):
    """With no decision left to withdraw or reopen, Undo and Reopen last jumped from the
    photo on screen to the first of the queue, dropping the genus, species and note typed
    on it and moving the expert's hold."""
    bob = logged_in(review_app, "bob")
    for _ in range(100):  # withdraw what earlier tests of this module left (the last test)
        if bob.predict("All", "all", api_name="/review_undo")[9] == "Nothing to undo.":
            break
    # photos opened by name: earlier tests' sessions still hold or decided most of the queue
    shown = [bob.predict(p, api_name="/review_go_to")[0]
             for p in ("Boletus/000.jpg", "Boletus/001.jpg")]
    assert len(set(shown)) == 2
    for endpoint, said in (("/review_undo", "Nothing to undo."),
                           ("/review_reopen", "You have no decision to reopen.")):
        out = bob.predict("All", "all", api_name=endpoint)
        assert out[9] == said
        assert out[0] == {"__type__": "update"} and out[7] == {"__type__": "update"}
    assert bob.predict(api_name="/review_previous")[0] == shown[-2]  # the trail stayed put


def test_skipping_the_last_photo_left_says_it_comes_back(tmp_path):
    """Skip on the only photo left under the filters (the others voted on, or open on
    another expert's screen) showed that same photo again with a bare "Skipped.", which
    read as a page that did nothing."""
    from server import running_app

    from mushroom.ui.review_view import SKIPPED_BACK

    with running_app(review_setup(tmp_path, per_class=1)) as app:  # three photos
        alice, bob = logged_in(app, "alice"), logged_in(app, "bob")
        a = alice.predict("", "All", "unreviewed", api_name="/review_show")[0]
        b = bob.predict("", "All", "unreviewed", api_name="/review_show")[0]
        c = alice.predict(a, "", "", "", "All", "unreviewed", api_name="/review_confirm")[0]
        assert len({a, b, c}) == 3
        again = alice.predict(c, "All", "unreviewed", api_name="/review_skip")  # b is bob's
        assert again[0] == c and again[9].startswith(SKIPPED_BACK)
        bob.predict(b, "", "", "", "All", "unreviewed", api_name="/review_confirm")
        bob.predict(api_name="/review_logout")
        again = alice.predict(c, "All", "unreviewed", api_name="/review_skip")  # c alone
        assert again[0] == c and again[9] == SKIPPED_BACK
        moved = alice.predict(c, "All", "all", api_name="/review_skip")  # "all" has more
        assert moved[0] != c and moved[9] == "Skipped."


def test_a_stale_refusal_after_a_withdrawn_vote_blames_no_other_expert(tmp_path, monkeypatch):
    """Alice relabels a photo, then withdraws that vote elsewhere (`labels undo`, another
    tab); the page still shows her label. Its Confirm was refused as "another expert's
    vote changed the label", though no one else had voted; the 15 s refresh said "a
    withdrawn vote" for the same change."""
    import gradio as gr

    from mushroom.ui import review_handlers as h
    from mushroom.ui.review_refused import after_refusal

    env = review_setup(tmp_path)
    monkeypatch.setenv("MUSHROOM_EXPERTS", env["MUSHROOM_EXPERTS"])
    store = Path(env["MUSHROOM_LABELS"])
    ctx = h.ReviewContext(Path(env["MUSHROOM_REVIEW_DATA"]), store, Path("unused.pt"))
    at, filters = h.ITEM_OUTPUTS.index, ("All", "all")
    shown = h.render(ctx, "alice", None, *filters)
    photo, folder_genus = shown[0], shown[at("seen")][1]
    other = "Russula" if folder_genus != "Russula" else "Boletus"
    h.act(ctx, "save", "alice", photo, other, "", "", *filters)
    again = h.render(ctx, "alice", photo, *filters)  # her page, showing her label
    assert again[at("seen")] == (photo, other)
    labels.undo_last(store, "alice")  # withdrawn from elsewhere
    with pytest.raises(gr.Error, match=f"label changed from {other} to {folder_genus}"):
        h.act(ctx, "confirm", "alice", photo, "", "", "", *filters, again[at("seen")],
              again[at("history")])
    refused = after_refusal(ctx, "confirm", "alice", photo, other, "", "", again[at("seen")],
                            again[at("history")], *filters)
    assert refused[at("status")].startswith(
        f"**Not saved**: a withdrawn vote changed the label from {other} to {folder_genus}."), \
        refused[at("status")]
