"""The page's answers (mushroom.ui.answers): shown only beside the photo and k they answer,
and a photo that Gradio reports as changed twice goes through the model once."""

from __future__ import annotations

import gradio as gr

from conftest import make_photo
from mushroom.taxonomy import GENERA
from mushroom.ui import identify as tab
from mushroom.ui.answers import asked_or_latest, if_current, stamped

SKIP = gr.skip()


def test_an_answer_is_shown_only_for_the_photo_and_k_it_answers():
    answer = stamped(("json", "bars", "card", SKIP), "/up/a.jpg", 3)
    assert if_current(answer, "/up/a.jpg", 3, 4) == ("json", "bars", "card", SKIP)
    assert if_current(answer, "/up/b.jpg", 3, 4) == (SKIP,) * 4  # a newer photo
    assert if_current(answer, "/up/a.jpg", 5, 4) == (SKIP,) * 4  # k changed since
    assert if_current(None, None, 3, 4) == (SKIP,) * 4


def test_a_buttons_late_answer_gives_way_to_the_photo_shown():
    def drawn():
        return "bars", "card"

    answer = stamped(("new json", "new bars", "new card"), "b", 3)
    assert asked_or_latest(drawn, ("a", 3), ("a", 3), answer, lambda: answer["outputs"],
                           3) == (SKIP, "bars", "card")
    assert asked_or_latest(drawn, ("a", 3), ("b", 3), answer, lambda: answer["outputs"],
                           3) == ("new json", "new bars", "new card")
    # the newer photo's answer is not in yet: its pending card stays, the old JSON goes
    assert asked_or_latest(drawn, ("a", 3), ("c", 3), answer, lambda: answer["outputs"],
                           3) == (None, SKIP, SKIP)


def test_a_photo_reported_as_changed_twice_goes_through_the_model_once(tmp_path, monkeypatch):
    """Seen in Chromium: a photo that replaces another fires the photo box's change twice,
    both with the new photo, and each ran the model (one after the other)."""
    photo = tmp_path / "cap.jpg"
    make_photo(GENERA.index("Boletus"), seed=1, size=(96, 96)).save(photo)
    upload = {"path": str(photo), "url": None}
    calls = []

    def counted(source, k):
        calls.append(source)
        return {"top_k": [], "verdict": {"level": "not_recognized"}}

    monkeypatch.setattr(tab, "identify", counted)
    monkeypatch.setattr(tab, "render", lambda result: ("bars", "card"))
    first = tab.answer_for_page(upload, 3, None)
    assert tab.answer_for_page(upload, 3, first) == SKIP
    assert len(calls) == 1
    tab.answer_for_page(upload, 4, first)  # another k is another question
    tab.answer_for_page({"path": str(tmp_path / "other.jpg")}, 3, first)
    assert len(calls) == 3


def test_a_refusal_is_asked_again():
    """The same upload may be answered once the model is in, or refused otherwise once
    swept: only an answer with a result is kept."""
    refused = tab.answer_for_page({"path": "/nonexistent/cap.jpg"}, 3, None)
    assert refused["outputs"][0] is None and "no longer on the server" in refused["outputs"][2]
    again = tab.answer_for_page({"path": "/nonexistent/cap.jpg"}, 3, refused)
    assert again != SKIP and again["outputs"] == refused["outputs"]
