"""The review queue: suspicion order, out-of-fold preference, cache, filters, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import CASE, ROOT, probs_row, write_tiny_dataset
from mushroom import labels, review, review_filters
from mushroom import species as species_list
from mushroom.taxonomy import GENERA
from mushroom.ui.review_view import progress_text


def test_suspicion_tiers_and_scores():
    probs = np.stack([p for _, p in CASE.values()])
    given = np.array([GENERA.index(g) for g, _ in CASE.values()])
    tier, score = review.suspicion(probs, given, review.QueueConfig(uncertain_below=0.55))
    assert tier.tolist() == [0, 0, 1, 2, 2]
    assert score[:3] == pytest.approx([0.05, 0.40, 0.50])  # P(given label)
    assert score[3:] == pytest.approx([0.21, 0.82])  # margin top-1 minus top-2
    unknown = review.suspicion(probs[:1], np.array([-1]), review.QueueConfig())[0]
    assert unknown.tolist() == [0]  # a label outside the model's classes is suspicious


def test_queue_order_on_a_constructed_case(case_data, tmp_path):
    data, oof = case_data
    cache, store = tmp_path / "labels" / "queue.csv", tmp_path / "labels"
    counts = review.build_queue(data, cache, model_path=None, oof_path=oof)
    assert counts == {"photos": 5, "from_oof": 5, "predicted": 0, "reused": 0, "unreadable": 0}
    queue = review.load_queue(cache, store)
    assert [Path(p).stem for p in queue["path"]] == list(CASE)
    assert (queue["source"] == "oof").all() and queue["rank"].tolist() == list(range(5))


def test_filters_progress_state_and_navigation(case_data, tmp_path):
    data, oof = case_data
    store = tmp_path / "labels"
    review.build_queue(data, store / "queue.csv", None, oof)
    labels.record(store, data, "Amanita/soft_disagree.jpg", "alice", genus="Boletus")
    queue = review.load_queue(store / "queue.csv", store)
    row = queue.set_index("path").loc["Amanita/soft_disagree.jpg"]
    assert (row["genus"], row["folder_genus"], row["votes"], row["reviewers"]) == (
        "Boletus", "Amanita", 1, "alice")
    todo = review_filters.select(queue, "All", "unreviewed")
    assert "Amanita/soft_disagree.jpg" not in set(todo["path"]) and len(todo) == 4
    assert len(review_filters.select(queue, "All", "unreviewed by me", "bob")) == 5
    # progress counts the votes, per current genus (the relabel moved a photo to Boletus)
    assert progress_text(queue, "All", "alice") == "Reviewed **1 / 5** · by you: 1"
    assert progress_text(queue, "Boletus", "bob") == (
        "Reviewed **1 / 5** · Boletus: 1 / 3 · by you: 0")
    assert set(review_filters.select(queue, "Boletus", "all")["path"]) == {
        "Amanita/soft_disagree.jpg", "Boletus/low_margin.jpg", "Boletus/confident.jpg"}
    ids = dict(zip(queue["path"], queue["image_id"]))
    after = review.next_item(queue, todo, ids["Amanita/sure_disagree.jpg"])
    assert after == ids["Amanita/uncertain.jpg"]  # the reviewed photo is skipped over
    assert review.next_item(queue, todo, ids["Boletus/confident.jpg"]) == ids[
        "Amanita/sure_disagree.jpg"]  # wraps round
    assert review.next_item(queue, todo.iloc[:0], None) is None
    top = review.top_k(row, 3)
    assert len(top) == 3 and list(top)[:2] == ["Boletus", "Amanita"]
    assert top["Boletus"] == pytest.approx(0.5)



def test_review_top3_lists_the_poisonous_genus_first_on_an_exact_tie(case_data, tmp_path):
    """The Review header's bars sorted a tie in class order (Agaricus above Amanita) while
    /identify's top_k and the verdict name the poisonous genus first on a tie."""
    from mushroom.service import top_k as service_top_k
    from mushroom.ui.review_view import top3

    data, oof = case_data
    scores = pd.read_csv(oof)
    tied = probs_row(Agaricus=0.4, Amanita=0.4)
    scores.loc[0, [f"p_{g}" for g in GENERA]] = tied
    scores.to_csv(oof, index=False)
    review.build_queue(data, tmp_path / "queue.csv", None, oof)
    queue = review.load_queue(tmp_path / "queue.csv", tmp_path)
    row = queue.set_index("image_id").loc[scores.loc[0, "image_id"]]
    assert list(review.top_k(row, 3))[:2] == ["Amanita", "Agaricus"]
    assert list(review.top_k(row, 3)) == [
        r["genus"] for r in service_top_k(tied, GENERA, 3)]
    bars = top3(row)
    assert bars.index('aria-label="Amanita') < bars.index('aria-label="Agaricus')

def test_out_of_fold_is_preferred_and_the_model_fills_the_rest(case_data, tmp_path,
                                                                tiny_checkpoint):
    data, oof = case_data
    partial = tmp_path / "partial_oof.csv"
    full = pd.read_csv(oof)
    full[full["path"] != "Boletus/confident.jpg"].to_csv(partial, index=False)
    cache = tmp_path / "labels" / "queue.csv"
    with pytest.raises(FileNotFoundError, match="no model"):
        review.build_queue(data, cache, None, partial)
    seen = []
    counts = review.build_queue(data, cache, tiny_checkpoint, partial,
                                progress=lambda it: (seen.append(1), it)[1])
    assert (counts["from_oof"], counts["predicted"]) == (4, 1) and seen
    queue = pd.read_csv(cache).set_index("path")
    assert queue.loc["Boletus/confident.jpg", "source"] == "model"
    assert "untrained-lite0 test" in queue.loc["Boletus/confident.jpg", "model"]
    oof_row = full.set_index("path").loc["Amanita/sure_disagree.jpg"]
    assert queue.loc["Amanita/sure_disagree.jpg", "p_Boletus"] == pytest.approx(
        oof_row["p_Boletus"])
    again = review.build_queue(data, cache, tiny_checkpoint, partial)
    assert (again["reused"], again["predicted"]) == (1, 0)  # cached per photo and model


def test_unreadable_photos_are_left_out_of_the_queue(tmp_path, tiny_checkpoint):
    data = write_tiny_dataset(tmp_path / "photos", per_class=1, genera=("Amanita",))
    (data / "Amanita" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    cache = tmp_path / "q.csv"
    counts = review.build_queue(data, cache, tiny_checkpoint)
    assert (counts["photos"], counts["predicted"], counts["unreadable"]) == (2, 1, 1)
    assert pd.read_csv(cache)["path"].tolist() == ["Amanita/000.jpg"]


def test_review_queue_cli_shows_progress_and_caches(tmp_path, tiny_checkpoint):
    data = write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))
    store = tmp_path / "labels"
    cmd = [sys.executable, "-m", "mushroom", "review-queue", "--data", str(data), "--labels",
           str(store), "--model", str(tiny_checkpoint), "--oof", "none", "--batch-size", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "scoring photos" in first.stderr and "2/2" in first.stderr  # tqdm progress bar
    assert "predicted: 4" in first.stdout and "reviewed: 0 / 4" in first.stdout
    queue = review.load_queue(store / review.CACHE_NAME, store)
    assert len(queue) == 4 and set(queue["folder_genus"]) == {"Amanita", "Boletus"}
    bad = subprocess.run(cmd[:5] + [str(tmp_path / "missing")] + cmd[6:], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=300)
    assert bad.returncode == 2 and "data folder not found" in bad.stderr
    cached = (store / review.CACHE_NAME).read_bytes()
    typo = subprocess.run(cmd[:11] + [str(tmp_path / "oof_typo.csv")] + cmd[12:],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert typo.returncode == 2 and "--oof " in typo.stderr and "no such file" in typo.stderr
    (tmp_path / "empty").mkdir()
    empty = subprocess.run(cmd[:5] + [str(tmp_path / "empty")] + cmd[6:], capture_output=True,
                           text=True, cwd=ROOT, env=env, timeout=300)
    assert empty.returncode == 2 and "no photos in genus folders" in empty.stderr
    assert (store / review.CACHE_NAME).read_bytes() == cached  # the queue was not replaced


def test_queue_over_the_real_photos(real_data, tmp_path):
    """The real folder layout, scored from a synthetic out-of-fold file (no model needed)."""
    photos = review.list_photos(real_data)
    assert len(photos) > 1000 and set(photos["folder_genus"]) == set(GENERA)
    probs = np.random.default_rng(0).dirichlet(np.ones(len(GENERA)), len(photos))
    oof = photos.assign(**{f"p_{g}": probs[:, i] for i, g in enumerate(GENERA)})
    oof.to_csv(tmp_path / "oof.csv", index=False)
    counts = review.build_queue(real_data, tmp_path / "q.csv", None, tmp_path / "oof.csv")
    assert counts["from_oof"] == len(photos)
    queue = review.load_queue(tmp_path / "q.csv", tmp_path / "labels")
    assert (np.diff(queue["tier"]) >= 0).all() and queue["votes"].sum() == 0
    hints = pd.read_csv(real_data / "metadata.csv", dtype=str, keep_default_na=False)
    known = set(species_list.species_choices(tmp_path / "labels", "Amanita"))
    assert {s for s in hints["species_hint"] if s.startswith("Amanita ")} <= known


def test_the_refresh_sets_the_headers_flags_count_and_dispute_but_not_its_label():
    """A flag, a further vote or a disagreement shows in the header on screen as a fresh
    header would say it; a changed genus or species does not (the page's Confirm refers to
    the label shown: the status line's notice says it changed)."""
    from mushroom.ui.review_view import describe, with_votes

    shown = pd.Series({"genus": "Amanita", "species": "Amanita muscaria", "flags": "",
                       "folder_genus": "Amanita", "path": "Amanita/a.jpg", "image_id": "a1",
                       "tier": 0, "rank": 3, "source": "oof", "votes": 0, "agreement": 1.0})
    near = "**Near-duplicate of** Amanita/b.jpg, labelled Amanita by bob (1 vote): ..."
    header = describe(shown, ["bob"], near)
    assert with_votes(header, shown) == header
    for change in ({"votes": 1}, {"votes": 2, "agreement": 0.5},
                   {"votes": 1, "flags": "unusable"}, {"votes": 2, "flags": "blurry;unusable"}):
        now = shown.copy()
        now.update(pd.Series(change))
        assert with_votes(header, now) == describe(now, ["bob"], near)
        assert with_votes(describe(now, ["bob"], near), shown) == header
    relabelled = shown.copy()
    relabelled.update(pd.Series({"genus": "Russula", "species": "", "votes": 1}))
    assert with_votes(header, relabelled) == header.replace(" · 0 vote(s)", " · 1 vote(s)")
