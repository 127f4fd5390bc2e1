"""Caches behind the Review tab: files are parsed again only when they change, and a change
is seen by the next read, whichever process made it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, review_setup
from mushroom import consensus, decision, labels, review
from mushroom.filecache import AppendOnlyLines


class Counting:
    """A line parser that records what it was asked to parse."""

    def __init__(self):
        self.seen: list[bytes] = []

    def __call__(self, line: bytes, where: str) -> str:
        if line == b"bad":
            raise ValueError(f"{where}: bad line")
        self.seen.append(line)
        return line.decode()


def test_only_appended_complete_lines_are_parsed(tmp_path):
    path, parse = tmp_path / "rows.jsonl", Counting()
    reader = AppendOnlyLines(parse)
    assert reader.read(path) == ([], reader.read(path)[1])  # no file yet: nothing
    path.write_bytes(b"a\n\nb\n")
    items, first = reader.read(path)
    assert items == ["a", "b"] and parse.seen == [b"a", b"b"]
    assert reader.read(path) == (["a", "b"], first) and len(parse.seen) == 2  # unchanged
    with path.open("ab") as fh:
        fh.write(b"c\nd-half")  # a write in progress: its line is left for later
    items, second = reader.read(path)
    assert items == ["a", "b", "c"] and parse.seen[2:] == [b"c"] and second != first
    with path.open("ab") as fh:
        fh.write(b"one\n")
    assert reader.read(path)[0] == ["a", "b", "c", "d-halfone"]
    assert parse.seen[3:] == [b"d-halfone"]


def test_a_rewritten_file_is_parsed_again_from_the_start(tmp_path):
    path = tmp_path / "rows.jsonl"
    reader = AppendOnlyLines(Counting())
    path.write_bytes(b"a\nb\n")
    _, before = reader.read(path)
    path.write_bytes(b"x\ny\nz\n")  # same inode, longer, other content
    items, after = reader.read(path)
    assert items == ["x", "y", "z"] and after != before
    path.write_bytes(b"p\nq\n")  # shorter, same number of rows as at first
    assert reader.read(path)[0] == ["p", "q"]
    path.unlink()
    assert reader.read(path)[0] == []


def test_a_bad_line_fails_every_read_with_its_line_number(tmp_path):
    path = tmp_path / "rows.jsonl"
    reader = AppendOnlyLines(Counting())
    path.write_bytes(b"a\n")
    reader.read(path)
    with path.open("ab") as fh:
        fh.write(b"\nbad\n")
    for _ in range(2):  # not cached as read
        with pytest.raises(ValueError, match=r"rows.jsonl:3: bad line"):
            reader.read(path)


@pytest.fixture
def setup(tmp_path) -> dict[str, str]:
    return review_setup(tmp_path)


def add_from_another_process(env: dict[str, str], rel: str, genus: str, who: str) -> None:
    """``python -m mushroom labels add`` in its own process, as a second app worker would."""
    data = env["MUSHROOM_REVIEW_DATA"]
    subprocess.run([sys.executable, "-m", "mushroom", "labels", "add", "--labels",
                    env["MUSHROOM_LABELS"], "--image", str(Path(data) / rel), "--data", data,
                    "--genus", genus, "--annotator", who],
                   check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=240)


def test_the_queue_sees_every_write_to_the_store_even_from_another_process(setup):
    store, data = setup["MUSHROOM_LABELS"], setup["MUSHROOM_REVIEW_DATA"]
    cache = Path(store) / review.CACHE_NAME
    queue = review.load_queue(cache, store)
    rel = queue["path"].iat[0]
    assert queue["votes"].iat[0] == 0 and labels.read_rows(store) == []
    labels.record(store, data, rel, "alice", genus="Boletus")  # this process
    queue = review.load_queue(cache, store)
    assert queue.loc[queue["path"] == rel, ["genus", "votes"]].values.tolist() == [["Boletus", 1]]
    agreed = consensus.current(store)
    assert consensus.current(store) is agreed  # nothing changed: not computed again
    add_from_another_process(setup, rel, "Russula", "bob")
    assert [r.annotator for r in labels.read_rows(store)] == ["alice", "bob"]
    assert consensus.current(store) is not agreed
    row = review.load_queue(cache, store).set_index("path").loc[rel]
    assert (row["votes"], row["reviewers"], row["agreement"]) == (2, "alice;bob", 0.5)


def test_the_queue_follows_a_rebuilt_cache_and_hands_out_copies(setup, tmp_path):
    store = setup["MUSHROOM_LABELS"]
    cache = Path(store) / review.CACHE_NAME
    first = review.load_queue(cache, store)
    first["genus"] = "changed by a caller"  # must not leak into the next load
    assert (review.load_queue(cache, store)["genus"] != "changed by a caller").all()
    frame = pd.read_csv(cache, dtype={"image_id": str})
    last = frame["image_id"] == first["image_id"].iat[-1]  # the least suspicious photo...
    frame.loc[last, [c for c in frame if c.startswith("p_")]] = 0.0
    frame.loc[last, "p_Suillus" if frame.loc[last, "folder_genus"].iat[0] != "Suillus"
              else "p_Amanita"] = 1.0  # ...now the model disagrees with its folder
    tmp = cache.with_name("queue.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(cache)  # as build_queue writes it
    queue = review.load_queue(cache, store)
    assert queue["image_id"].iat[0] == first["image_id"].iat[-1]
    assert queue["tier"].iat[0] == 0


def test_the_review_benchmark_times_every_event_and_keeps_its_store(tmp_path, capsys):
    from mushroom import bench_review

    args = ["--root", str(tmp_path), "--photos", "30", "--rows", "40", "--repeats", "2"]
    experts = os.environ.get("MUSHROOM_EXPERTS")
    assert bench_review.main(args) == 0
    # its expert is for the timed calls only: it had configured experts in every app this
    # test process launched afterwards (test_hf_oauth saw another app's Review tab)
    assert os.environ.get("MUSHROOM_EXPERTS") == experts
    store = tmp_path / "labels_30x40"
    built = (store / "queue.csv").stat().st_mtime_ns
    assert len(labels.read_rows(store)) == 40
    assert len(labels.read_rows(tmp_path / "work")) == 40 + 3  # the confirms went to a copy
    assert len(review.load_queue(store / "queue.csv", store)) == 30
    assert bench_review.main(args) == 0  # the setup is reused
    assert (store / "queue.csv").stat().st_mtime_ns == built
    saved = json.loads((tmp_path / "bench_30x40.json").read_text())
    assert set(saved["events"]) == {"load_queue", "show", "skip (unreviewed by me)", "go to",
                                    "refresh tick", "confirm (writes a row)"}
    assert all(r["n"] == 2 and r["p50_ms"] > 0 for r in saved["events"].values())
    assert "confirm (writes a row)" in capsys.readouterr().out


def vote(who: str, image: str, genus: str, row: str, action: str = "confirm",
         undoes: str = "") -> decision.Decision:
    return decision.Decision(who, action, image * 16, f"Amanita/{image}.jpg", "Amanita", genus,
                           undoes=undoes, row_id=row)


def test_the_consensus_kept_up_to_date_row_by_row_equals_one_computed_from_scratch():
    rows = [vote("alice", "a", "Amanita", "1"), vote("bob", "a", "Boletus", "2", "relabel"),
            vote("alice", "b", "Amanita", "3"), vote("bob", "a", "Boletus", "4", "undo", "2"),
            vote("carol", "c", "Russula", "5", "relabel"),
            vote("carol", "c", "Russula", "6", "undo", "5"),  # c loses its only vote
            vote("bob", "b", "Boletus", "7", "relabel"), vote("alice", "b", "Boletus", "8",
                                                             "relabel")]
    tally = consensus.Tally()
    for n, row in enumerate(rows, 1):
        before = tally.agreed
        tally.add([row])
        assert tally.agreed == consensus.consensus(rows[:n])
        assert tally.agreed is not before  # a dict handed out earlier never changes
    assert set(tally.agreed) == {"a" * 16, "b" * 16}
    assert tally.agreed["a" * 16].genus == "Amanita"  # bob's relabel was undone
    assert [v.row_id for v in tally.agreed["b" * 16].votes] == ["7", "8"]


def test_the_consensus_of_a_rewritten_store_is_computed_again(setup):
    store, data = Path(setup["MUSHROOM_LABELS"]), setup["MUSHROOM_REVIEW_DATA"]
    rels = [p.relative_to(data).as_posix() for p in sorted(Path(data).rglob("*.jpg"))[:2]]
    for rel in rels:
        labels.record(store, data, rel, "alice", genus="Suillus")
    assert len(consensus.current(store)) == 2
    path = store / labels.STORE_NAME
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[1])  # the first row removed
    assert [c.path for c in consensus.current(store).values()] == rels[1:]
