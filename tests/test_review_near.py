"""The Review tab names the labelled near-duplicates of the photo on screen.

The queue used to offer a re-encoded copy of a photo an expert had just relabelled as an
ordinary item, with no hint, so a second expert labelled the same scene again (possibly
otherwise) without knowing. The queue now groups photos as the training manifest does
(perceptual hash, ``metadata.csv``'s ``near_duplicate_group``) and the header says which
near-duplicates carry labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import logged_in, review_setup, write_tiny_dataset
from mushroom import labels, review, review_near
from mushroom.data import file_id
from mushroom.review_hold import is_open_line, with_open_line
from mushroom.taxonomy import GENERA
from mushroom.ui.review_view import describe, md_text


def _oof(data: Path, out: Path) -> Path:
    """Out-of-fold probabilities for every photo under ``data`` (no model needed)."""
    rng = np.random.default_rng(1)
    rows = [{"path": p.relative_to(data).as_posix(), "image_id": file_id(p),
             **dict(zip([f"p_{g}" for g in GENERA], rng.dirichlet(np.ones(len(GENERA)))))}
            for p in sorted(data.rglob("*.jpg"))]
    pd.DataFrame(rows).to_csv(out, index=False)
    return out


def _copy(data: Path, src: str, dst: str) -> None:
    """A re-encoded, resized copy of a photo: a near-duplicate, not the same bytes."""
    with Image.open(data / src) as img:
        img.resize((86, 72)).save(data / dst, quality=70)


@pytest.fixture
def grouped(tmp_path):
    """Amanita and Boletus photos; Boletus/000_near.jpg is a copy of Amanita/000.jpg filed
    under another genus, and metadata.csv joins Amanita/001.jpg with Boletus/001.jpg."""
    data = write_tiny_dataset(tmp_path / "photos", per_class=3, genera=("Amanita", "Boletus"))
    _copy(data, "Amanita/000.jpg", "Boletus/000_near.jpg")
    pd.DataFrame({"file": ["Amanita/001.jpg", "Boletus/001.jpg", "Boletus/002.jpg"],
                  "near_duplicate_group": ["7", "7", ""]}).to_csv(data / "metadata.csv",
                                                                  index=False)
    store = tmp_path / "labels"
    review.build_queue(data, store / review.CACHE_NAME, None, _oof(data, tmp_path / "oof.csv"))
    return data, store


def _ids(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): file_id(p) for p in data.rglob("*.jpg")}


def test_the_queue_groups_near_duplicates_as_the_manifest_does(grouped):
    data, store = grouped
    cache = pd.read_csv(store / review.CACHE_NAME, dtype=str, keep_default_na=False)
    group = dict(zip(cache["path"], cache["near_group"]))
    assert group["Boletus/000_near.jpg"] == group["Amanita/000.jpg"]  # by perceptual hash
    assert group["Boletus/001.jpg"] == group["Amanita/001.jpg"]  # by metadata.csv
    others = ("Amanita/002.jpg", "Boletus/000.jpg", "Boletus/002.jpg")
    assert len({group[p] for p in others} | {group["Amanita/000.jpg"],
                                             group["Amanita/001.jpg"]}) == 5
    assert all(len(h) == 16 for h in cache["phash"])


def test_the_header_line_names_who_labelled_a_near_duplicate_and_how(grouped):
    data, store = grouped
    ids = _ids(data)
    queue = review.load_queue(store / review.CACHE_NAME, store)
    assert review_near.near_text(queue, ids["Boletus/000_near.jpg"]) == ""  # nobody voted yet
    labels.record(store, data, "Amanita/000.jpg", "alice", genus="Amanita",
                  species="Amanita muscaria")
    queue = review.load_queue(store / review.CACHE_NAME, store)
    assert review_near.near_text(queue, ids["Boletus/000_near.jpg"]) == (
        "**Near-duplicate of** Amanita/000.jpg, labelled Amanita muscaria by alice (1 vote): "
        "the same scene may already be decided (*Go to* opens it).")
    assert review_near.near_text(queue, ids["Amanita/000.jpg"]) == ""  # its copy: no vote
    assert review_near.near_text(queue, ids["Amanita/002.jpg"]) == ""  # no near-duplicate
    # two experts who disagree on the copy; seen from the original, names escaped for the page
    labels.record(store, data, "Boletus/000_near.jpg", "hf:ann_b", genus="Boletus")
    labels.record(store, data, "Boletus/000_near.jpg", "bob", flags=("unusable",))
    queue = review.load_queue(store / review.CACHE_NAME, store)
    assert review_near.near_text(queue, ids["Amanita/000.jpg"], md_text) == (
        "**Near-duplicate of** Boletus/000\\_near.jpg, flagged unusable by hf\\:ann\\_b and bob "
        "(2 votes, disputed): the same scene may already be decided (*Go to* opens it).")


def test_the_refresh_sets_the_line_as_a_fresh_header_would(grouped):
    """The tick edits the header on screen: adding, changing or dropping the line gives the
    header the photo would be shown with, whoever else has it open."""
    data, store = grouped
    labels.record(store, data, "Amanita/000.jpg", "alice", genus="Amanita")
    queue = review.load_queue(store / review.CACHE_NAME, store)
    row = queue[queue["path"] == "Boletus/000_near.jpg"].iloc[0]
    near = review_near.near_text(queue, row["image_id"], md_text)
    assert near
    for holders in ([], ["bob"], ["bob", "carol"]):
        bare, full = describe(row, holders), describe(row, holders, near)
        for shown, wanted in ((bare, near), (full, near), (full, ""), (bare, "")):
            edited = review_near.with_near_line(shown, wanted, is_open_line)
            assert edited == describe(row, holders, wanted)
            assert with_open_line(edited, holders) == edited
    changed = near.replace("1 vote", "2 votes")
    assert review_near.with_near_line(describe(row, [], near), changed, is_open_line) \
        == describe(row, [], changed)


def test_a_queue_file_written_before_the_groups_still_loads(grouped):
    """Old ``queue.csv`` files have no group columns: the tab works and names nothing; the
    next build adds them."""
    data, store = grouped
    cache = store / review.CACHE_NAME
    pd.read_csv(cache, dtype=str).drop(columns=list(review_near.NEAR_COLUMNS)).to_csv(
        cache, index=False)
    labels.record(store, data, "Amanita/000.jpg", "alice", genus="Amanita")
    queue = review.load_queue(cache, store)
    assert len(queue) == 7
    assert review_near.near_text(queue, _ids(data)["Boletus/000_near.jpg"]) == ""


def test_a_rebuild_hashes_only_new_photos(grouped, monkeypatch, tmp_path):
    data, store = grouped
    hashed = []
    real = review_near._hash
    monkeypatch.setattr(review_near, "_hash", lambda path: (hashed.append(path.name),
                                                             real(path))[1])
    _copy(data, "Amanita/002.jpg", "Amanita/002_near.jpg")
    review.build_queue(data, store / review.CACHE_NAME, None, _oof(data, tmp_path / "o2.csv"))
    assert hashed == ["002_near.jpg"]
    queue = review.load_queue(store / review.CACHE_NAME, store).set_index("path")
    assert queue.loc["Amanita/002_near.jpg", "near_group"] == \
        queue.loc["Amanita/002.jpg", "near_group"]


def test_the_review_tab_shows_the_line_to_the_second_expert(tmp_path, tiny_checkpoint):
    """Through the real app: alice relabels a photo; bob, opening its near-duplicate, reads
    in its header who labelled the scene and how."""
    from server import running_app

    env = review_setup(tmp_path)
    data, store = Path(env["MUSHROOM_REVIEW_DATA"]), Path(env["MUSHROOM_LABELS"])
    _copy(data, "Russula/001.jpg", "Russula/001_near.jpg")
    review.build_queue(data, store / review.CACHE_NAME, tiny_checkpoint, tmp_path / "oof.csv")
    line = ("**Near-duplicate of** Russula/001\\_near.jpg, labelled Amanita muscaria by alice "
            "(1 vote)")  # the file name escaped, as Markdown
    with running_app({**env, "MUSHROOM_MODEL": str(tiny_checkpoint)}) as app:
        alice, bob = logged_in(app, "alice"), logged_in(app, "bob")
        before = bob.predict("Russula/001.jpg", "All", "all", api_name="/review_go_to")
        assert before[0] == file_id(data / "Russula/001.jpg")
        assert "Near-duplicate" not in before[2]
        copy = alice.predict("Russula/001_near.jpg", "All", "all", api_name="/review_go_to")[0]
        alice.predict(copy, "Amanita", "Amanita muscaria", "", "All", "all",
                      api_name="/review_save")
        # bob's page, still on the original: its next refresh adds the line to the header
        page = (before[8], before[4], before[9], before[2])
        ticked = bob.predict(before[0], "All", "all", *page, api_name="/review_tick")
        shown = bob.predict("Russula/001.jpg", "All", "all", api_name="/review_go_to")
    assert line in shown[2]
    assert ticked["label_shown"] == before[2] and ticked["label"] == shown[2]
