"""A note sent through the API with the genus and species left empty (gradio_client's way
of choosing nothing, as for Confirm) must not claim that a genus was chosen, nor empty the
genus box of the photo on screen."""

from __future__ import annotations

from conftest import logged_in


def test_a_note_with_empty_boxes_chooses_no_genus(review_app):
    alice = logged_in(review_app, "alice")
    shown = alice.predict("", "All", "all", api_name="/review_show")
    image_id, label = shown[0], shown[5]["value"]
    out = alice.predict(image_id, "", "", "cap sticky when wet", "All", "all",
                        api_name="/review_note")
    assert out[0] == image_id and out[9].startswith("Saved: note added")
    assert "boxes" not in out[9]  # "The genus and species you chose are still ..." was said
    assert out[5]["value"] == label
