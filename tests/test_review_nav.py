"""A review session's trail of photos (Previous/Forward) and "Go to" matching, as pure logic."""

from __future__ import annotations

import pandas as pd

from mushroom.review_nav import History, find_photos


def trail(*ids: str) -> History:
    """The history after showing ``ids`` in order."""
    h = History()
    for image_id in ids:
        h = h.visit(image_id)
    return h


def test_back_and_forward_walk_the_photos_shown_and_stop_at_both_ends():
    h = trail("a", "b", "c")
    assert (h.current, h.where(), h.behind) == ("c", "3 of 3", 0)
    assert h.forward() is None  # nothing ahead yet
    one, two = h.back(), h.back().back()
    assert (one.current, two.current, two.where(), two.behind) == ("b", "a", "1 of 3", 2)
    assert two.back() is None  # the oldest photo
    assert two.forward().forward() == h  # forward again to where the expert was
    assert History().back() is None and History().forward() is None
    assert History().current is None


def test_showing_the_same_photo_again_adds_no_step():
    h = trail("a", "b")
    assert h.visit("b") == h  # a refresh or a note on the photo on screen
    assert h.visit(None) == h  # "nothing left to review" shows no photo


def test_moving_on_from_an_earlier_photo_keeps_the_way_back():
    back = trail("a", "b", "c").back().back()
    assert back.visit("b") == History(("a", "b", "c"), 1)  # the trail's own next photo


def test_another_photo_after_stepping_back_drops_what_lay_ahead():
    h = trail("a", "b", "c").back().back().visit("x")
    assert (h.ids, h.current, h.behind) == (("a", "x"), "x", 0)


def test_the_trail_keeps_only_the_latest_photos():
    h = History()
    for i in range(8):
        h = h.visit(str(i), limit=5)
    assert h.ids == ("3", "4", "5", "6", "7") and h.current == "7"
    assert h.back().back().back().back().current == "3"


def test_history_values_are_never_changed_in_place():
    h = trail("a", "b")
    h.back()
    h.visit("c")
    assert h == History(("a", "b"), 1)


def test_a_detour_remembers_where_the_expert_was_until_they_move_on():
    h = trail("a", "b").visit("x", detour=True)
    assert (h.current, h.detour, h.resume, h.ids) == ("x", True, "b", ("a", "b", "x"))
    assert h.visit("y", detour=True).resume == "b"  # a second detour keeps the way back
    assert h.visit("x") == h  # a note or a rebuilt queue on the detour photo
    assert h.visit("c") == History(("a", "b", "x", "c"), 3)  # moving on ends it
    assert h.back() == History(("a", "b", "x"), 1)  # so does a step along the trail
    again = trail("a", "b").visit("b", detour=True)  # e.g. Reopen of the photo on screen
    assert (again.ids, again.detour, again.resume) == (("a", "b"), True, "b")
    assert History().visit("x", detour=True).resume is None  # no photo was on screen
    assert trail("a").visit(None, detour=True) == trail("a")


QUEUE = pd.DataFrame({
    "image_id": ["00aa11bb22cc33dd", "44ee55ff66aa77bb", "8899aabbccddeeff", "0123456789abcdef"],
    "path": ["Amanita/abc.jpg", "Boletus/abc.jpg", "Boletus/sub/IMG_7.JPG", "Russula/xabc.jpg"],
})


def paths(query: str) -> list[str]:
    return find_photos(QUEUE, query)["path"].tolist()


def test_go_to_finds_a_photo_by_path_or_image_id():
    assert paths("Amanita/abc.jpg") == ["Amanita/abc.jpg"]
    assert paths("  amanita\\ABC.jpg/ ") == ["Amanita/abc.jpg"]  # case, slashes, spaces
    assert paths("44EE55FF66AA77BB") == ["Boletus/abc.jpg"]
    assert paths("img_7.jpg") == ["Boletus/sub/IMG_7.JPG"]
    assert paths("sub/IMG_7.JPG") == ["Boletus/sub/IMG_7.JPG"]


def test_a_bare_file_name_can_match_several_photos_or_none():
    assert paths("abc.jpg") == ["Amanita/abc.jpg", "Boletus/abc.jpg"]  # not Russula/xabc.jpg
    assert paths("bc.jpg") == [] and paths("bc") == [] and paths("00aa11bb") == []
    assert paths("") == [] and paths("  /  ") == [] and find_photos(QUEUE, None).empty


def test_a_name_without_its_extension_finds_the_photo_too():
    """"abc" found nothing, though the photo is Amanita/abc.jpg; a whole name with its
    extension still wins over a photo whose name only starts so."""
    assert paths("abc") == ["Amanita/abc.jpg", "Boletus/abc.jpg"]  # not Russula/xabc.jpg
    assert paths("Amanita/ABC") == ["Amanita/abc.jpg"]
    assert paths("img_7") == paths("sub/img_7") == ["Boletus/sub/IMG_7.JPG"]
    assert paths("sub") == [] and paths("abc.") == [] and paths("Amanita") == []
    queue = pd.DataFrame({"image_id": ["a", "b"], "path": ["A/x.jpg", "A/x.jpg.png"]})
    assert find_photos(queue, "x.jpg")["path"].tolist() == ["A/x.jpg"]
