"""``python -m mushroom labels``: real processes, concurrent writers, SIGKILL, the manifest."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, run_cli, write_tiny_dataset
from mushroom import labels, species
from mushroom.cli import build_parser, main
from mushroom.data import file_id

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the real entry point, ``python -m mushroom``."""
    return subprocess.run([sys.executable, "-m", "mushroom", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=ENV)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "photos", per_class=3, genera=("Amanita", "Boletus"))


def add_votes(store: Path, data: Path, votes) -> None:
    """Record each ``(annotator, labels-add flags)`` through the real ``labels add``."""
    for annotator, extra in votes:
        assert main(["labels", "add", "--labels", str(store), "--data", str(data),
                     "--annotator", annotator, *extra]) == 0


def _writer(store: str, image: str, worker: int, n: int) -> None:
    for k in range(n):
        code = main(["labels", "add", "--labels", store, "--image", image, "--genus", "Boletus",
                     "--annotator", f"w{worker}", "--note", f"{worker}-{k}"])
        assert code == 0


@pytest.mark.slow
def test_20_processes_x_25_adds_leave_exactly_500_parseable_rows(photos, tmp_path):
    store = tmp_path / "labels"
    image = str(photos / "Amanita/000.jpg")
    build_parser()  # import every command module once, before forking
    ctx = mp.get_context("fork")  # children start with the CLI imported: fast
    procs = [ctx.Process(target=_writer, args=(str(store), image, w, 25)) for w in range(20)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    elapsed = time.perf_counter() - start
    assert [p.exitcode for p in procs] == [0] * 20
    raw = (store / labels.STORE_NAME).read_bytes()
    assert raw.endswith(b"\n")
    rows = [json.loads(line) for line in raw.splitlines()]
    assert len(rows) == 500 and len(labels.read_rows(store)) == 500
    assert {r["note"] for r in rows} == {f"{w}-{k}" for w in range(20) for k in range(25)}
    assert len({r["row_id"] for r in rows}) == 500
    print(f"\n20 x 25 concurrent adds: 500 rows in {elapsed:.1f}s")


def test_concurrent_adds_through_the_real_entry_point(photos, tmp_path):
    store = tmp_path / "labels"
    cmds = [[sys.executable, "-m", "mushroom", "labels", "add", "--labels", str(store),
             "--image", str(photos / f"{g}/00{k}.jpg"), "--genus", "Amanita",
             "--annotator", f"p{k}", "--note", f"{g}{k}"]
            for g in ("Amanita", "Boletus") for k in range(2)]
    procs = [subprocess.Popen(c, cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for c in cmds]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    rows = labels.read_rows(store)
    assert sorted(r.note for r in rows) == ["Amanita0", "Amanita1", "Boletus0", "Boletus1"]
    assert sum(r.action == "relabel" for r in rows) == 2  # the Boletus photos changed genus


SLOW_WRITES = textwrap.dedent("""
    import os, sys, time
    real_write = os.write
    def slow_write(fd, data):  # one byte per call: a kill lands inside a row
        time.sleep(0.0005)
        return real_write(fd, bytes(data[:1]))
    os.write = slow_write
""")
CRASH_WRITER = SLOW_WRITES + textwrap.dedent("""
    from mushroom import labels
    store, data = sys.argv[1], sys.argv[2]
    for k in range(10_000):
        d = labels.record(store, data, "Amanita/000.jpg", "crash", genus="Boletus", note=str(k))
        print(d.row_id, flush=True)
""")


def test_sigkill_mid_write_leaves_a_readable_store(photos, tmp_path):
    store = tmp_path / "labels"
    labels.record(store, photos, "Boletus/000.jpg", "before", genus="Boletus")
    proc = subprocess.Popen([sys.executable, "-c", CRASH_WRITER, str(store), str(photos)],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    committed = [proc.stdout.readline().strip() for _ in range(3)]
    path = store / labels.STORE_NAME
    deadline = time.monotonic() + 60
    while path.read_bytes().endswith(b"\n") and time.monotonic() < deadline:
        time.sleep(0.001)  # wait until the writer is inside a row, then kill it there
    proc.send_signal(signal.SIGKILL)
    committed += proc.stdout.read().split()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (store / labels.STORE_NAME).read_bytes().endswith(b"\n")  # really torn
    rows = labels.read_rows(store)  # readable as is
    assert [r.annotator for r in rows][0] == "before"
    assert set(committed) <= {r.row_id for r in rows}
    # the next writer gets the lock the dead one held and cuts the torn row off
    labels.record(store, photos, "Boletus/001.jpg", "after", genus="Boletus")
    raw = (store / labels.STORE_NAME).read_bytes()
    assert raw.endswith(b"\n") and all(json.loads(x) for x in raw.splitlines())
    assert [r.annotator for r in labels.read_rows(store)][-1] == "after"
    assert (store / labels.TORN_NAME).is_file()


CRASH_SPECIES_WRITER = SLOW_WRITES + textwrap.dedent("""
    from mushroom import species
    for k in range(10_000):
        name = "Amanita crash" + "".join(chr(97 + int(c)) for c in str(k))
        species.ensure_species(sys.argv[1], "Amanita", name, "crash")
        print(name, flush=True)
""")


def crash_name(k: int) -> str:
    """The species CRASH_SPECIES_WRITER adds k-th (epithets take letters only)."""
    return "Amanita crash" + "".join(chr(97 + int(c)) for c in str(k))


def test_sigkill_mid_species_append_leaves_a_readable_taxonomy(tmp_path):
    store = tmp_path / "labels"
    proc = subprocess.Popen([sys.executable, "-c", CRASH_SPECIES_WRITER, str(store)],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    committed = [proc.stdout.readline().strip() for _ in range(3)]
    path = store / "taxonomy.csv"
    deadline = time.monotonic() + 60
    while path.read_bytes().endswith(b"\n") and time.monotonic() < deadline:
        time.sleep(0.001)  # wait until the writer is inside a row, then kill it there
    proc.send_signal(signal.SIGKILL)
    committed += proc.stdout.read().split("\n")[:-1]
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not path.read_bytes().endswith(b"\n")  # really torn
    known = species.species_choices(store, "Amanita")  # readable as is
    crashed = [n for n in known if "crash" in n]
    assert set(committed) <= set(crashed) <= set(committed) | {crash_name(len(committed))}
    assert "Amanita muscaria" in known  # the seed list survived
    # the next writer gets the lock the dead one held and cuts the torn row off
    assert species.ensure_species(store, "Boletus", "Boletus after", "after")
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and b"Boletus after" in raw.splitlines()[-1]
    assert all(len(row) == 4 for row in csv.reader(io.StringIO(raw.decode(), newline="")))
    assert set(crashed) <= set(species.species_choices(store, "Amanita"))
    assert "Boletus after" in species.species_choices(store, "Boletus")
    assert (store / species.TORN_NAME).is_file()


@pytest.mark.parametrize("args, message", [
    (["--genus", "Amanitaa"], "genus"),
    (["--genus", "Amanita", "--species", "Boletus edulis"], "does not belong"),
    (["--genus", "Amanita", "--flag", "gone"], "invalid choice"),
    (["--genus", "Amanita", "--annotator", "bad name"], "annotator"),
    (["--genus", "Amanita", "--image", "../../outside.jpg"], "without '..'"),
    ([], "say what to record"),
    (["--genus", "Amanita", "--image", "Amanita/notes.jpg"], "not a readable photo"),
])
def test_bad_input_exits_nonzero_and_writes_nothing(photos, tmp_path, capsys, args, message):
    (photos / "Amanita" / "notes.jpg").write_text("a text file with a photo's name\n")
    store = tmp_path / "labels"
    base = {"--labels": str(store), "--image": "Amanita/000.jpg", "--data": str(photos),
            "--annotator": "alice"}
    for key in args[::2]:
        base.pop(key, None)
    argv = ["labels", "add", *[x for kv in base.items() for x in kv], *args]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses bad choices itself
        code = exit_.code
    assert code != 0
    assert message in capsys.readouterr().err
    assert labels.read_rows(store) == []


def test_real_cli_refuses_a_photo_outside_the_data_folder(photos, tmp_path):
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes((photos / "Amanita/000.jpg").read_bytes())
    store = tmp_path / "labels"
    result = cli("labels", "add", "--labels", str(store), "--image", str(outside),
                 "--data", str(photos), "--genus", "Amanita", "--annotator", "alice")
    assert result.returncode == 2
    assert "not inside the data folder" in result.stderr
    assert not (store / labels.STORE_NAME).exists()


def test_cli_relabel_reaches_the_next_manifest_and_its_report(tiny_data, tmp_path):
    store, out = tmp_path / "labels", tmp_path / "manifest.csv"
    for extra in (["--image", str(tiny_data / "Amanita/000.jpg"), "--genus", "Boletus",
                   "--species", "Boletus edulis"],
                  ["--image", str(tiny_data / "Russula/001.jpg"), "--flag", "not_a_mushroom"]):
        assert main(["labels", "add", "--labels", str(store), "--annotator", "alice",
                     *extra]) == 0
    result = cli("manifest", "--data", str(tiny_data), "--labels", str(store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("path")
    row = frame.loc["Amanita/000.jpg"]
    assert (row["genus"], row["folder_genus"], row["species"], row["label_source"]) == (
        "Boletus", "Amanita", "Boletus edulis", "expert")
    assert "Russula/001.jpg" not in frame.index
    assert frame.loc["Amanita/001.jpg", "genus"] == "Amanita"
    assert row["image_id"] == file_id(tiny_data / "Amanita/000.jpg")
    assert "genus corrections: 1" in result.stdout
    assert "excluded (flagged): 1" in result.stdout
    assert "species labels: 1" in result.stdout


def test_export_counts_one_photo_in_the_singular(photos, tmp_path):
    """Seen running the README's bulk commands: "wrote consensus.csv (1 photos)"."""
    store, out = tmp_path / "labels", tmp_path / "consensus.csv"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    result = cli("labels", "export", "--labels", str(store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out} (1 photo)"
    labels.record(store, photos, "Boletus/000.jpg", "alice", genus="Boletus")
    result = cli("labels", "export", "--labels", str(store), "--out", str(out))
    assert result.stdout.strip() == f"wrote {out} (2 photos)"


def test_export_writes_one_consensus_row_per_photo(photos, tmp_path):
    store, out = tmp_path / "labels", tmp_path / "out" / "consensus.csv"
    for who, genus in (("alice", "Boletus"), ("bob", "Boletus"), ("carol", "Amanita")):
        labels.record(store, photos, "Amanita/000.jpg", who, genus=genus)
    labels.record(store, photos, "Boletus/000.jpg", "alice", genus="Boletus", note="=1+2")
    result = cli("labels", "export", "--labels", str(store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("path")
    assert len(frame) == 2
    assert frame.loc["Amanita/000.jpg", "genus"] == "Boletus"
    assert frame.loc["Amanita/000.jpg", "n_votes"] == "3"
    assert frame.loc["Boletus/000.jpg", "notes"] == "'=1+2"
    assert cli("labels", "export", "--labels", str(tmp_path / "none"),
               "--out", str(out)).returncode == 2


def test_export_and_undo_never_write_into_or_invent_a_store(photos, tmp_path, capsys):
    store = tmp_path / "labels"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    before = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    for name in (labels.STORE_NAME, "taxonomy.csv"):  # the export would replace the store
        assert main(["labels", "export", "--labels", str(store), "--out", str(store / name)]) == 2
        assert "inside the label store" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()} == before
    typo = tmp_path / "lables"
    assert main(["labels", "undo", "--labels", str(typo), "--annotator", "alice"]) == 2
    assert "label store not found" in capsys.readouterr().err and not typo.exists()


def test_labels_add_enters_a_download_folder_like_every_data_flag(photos, tmp_path):
    """``--data archive`` means ``archive/Mushrooms`` for the Review tab and every other
    command, so the decision's path must be relative to that, as the queue's paths are."""
    archive = tmp_path / "archive"
    archive.mkdir()
    photos.rename(archive / "Mushrooms")
    store = tmp_path / "labels"
    status, out, err = run_cli("labels", "add", "--labels", str(store), "--data", str(archive),
                               "--image", "Amanita/000.jpg", "--genus", "Boletus",
                               "--annotator", "alice")
    assert status == 0, err
    assert f"reading those inside {archive / 'Mushrooms'}" in err
    row = labels.read_rows(store)[-1]
    assert (row.path, row.previous_genus, row.genus) == ("Amanita/000.jpg", "Amanita", "Boletus")
    assert row.image_id == file_id(archive / "Mushrooms" / "Amanita" / "000.jpg")


def test_retire_species_takes_an_addition_off_the_list(photos, tmp_path):
    store = tmp_path / "labels"
    for name in ("Amanita muscria", "Amanita muscaria"):  # a typo, then the corrected vote
        labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita", species=name)
    status, out, err = run_cli("labels", "retire-species", "--labels", str(store),
                               "--species", " Amanita  muscria", "--annotator", "alice")
    assert status == 0, err
    assert out.startswith("retired: Amanita muscria (retired by alice on ")
    assert "Amanita muscria" not in species.species_choices(store, "Amanita")


@pytest.mark.parametrize("name, vote, message", [
    ("Amanita muscaria", "", "curated seed list"),
    ("Amanita muscria", "Amanita muscria", "re-vote those photos with the corrected name"),
    ("Amanita nusquam", "", "not on the species list"),
    ("Amanitaa muscria", "", "unknown genus"),
    ("", "", "--species is empty"),
])
def test_retire_species_refusals_exit_2_and_write_nothing(photos, tmp_path, name, vote, message):
    store = tmp_path / "labels"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita",
                  species="Amanita muscria")
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita", species=vote)
    before = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    status, out, err = run_cli("labels", "retire-species", "--labels", str(store),
                               "--species", name, "--annotator", "alice")
    assert (status, out) == (2, "")
    assert err.startswith("error: ") and message in err
    assert {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()} == before


def test_retire_species_never_invents_a_store(tmp_path):
    typo = tmp_path / "lables"
    result = cli("labels", "retire-species", "--labels", str(typo), "--species",
                 "Amanita muscria", "--annotator", "alice")
    assert result.returncode == 2 and "label store not found" in result.stderr
    assert not typo.exists()


def test_a_relabel_or_a_flag_moves_no_other_photo_to_another_split(tmp_path):
    """Expert labels must leave the split as it was: a test photo moved into training by
    someone else's relabel would contaminate every later test metric."""
    data = write_tiny_dataset(tmp_path / "photos", per_class=12)
    store, before, after = tmp_path / "labels", tmp_path / "before.csv", tmp_path / "after.csv"
    assert cli("manifest", "--data", str(data), "--out", str(before)).returncode == 0
    for extra in (["--image", str(data / "Russula/003.jpg"), "--genus", "Amanita"],
                  ["--image", str(data / "Amanita/005.jpg"), "--flag", "unusable"]):
        assert main(["labels", "add", "--labels", str(store), "--annotator", "alice",
                     *extra]) == 0
    result = cli("manifest", "--data", str(data), "--labels", str(store), "--out", str(after))
    assert result.returncode == 0, result.stderr
    old = pd.read_csv(before).set_index("path")
    new = pd.read_csv(after).set_index("path")
    assert new.loc["Russula/003.jpg", "genus"] == "Amanita"
    assert "Amanita/005.jpg" not in new.index
    old = old.drop("Amanita/005.jpg")
    assert new.index.equals(old.index)
    moved = new.index[(new["split"] != old["split"]) | (new["fold"] != old["fold"])]
    assert list(moved) == []


def test_the_cleaning_report_says_which_labels_were_applied_and_why_others_were_not(tmp_path):
    """Every label is accounted for: applied, disputed, or ignored with its reason; and a
    relabel that leaves its near-duplicates at the old genus says which photos to review."""
    from PIL import Image

    data = write_tiny_dataset(tmp_path / "photos", per_class=6)
    with Image.open(data / "Russula/003.jpg") as img:  # the same mushroom, re-encoded
        img.resize((86, 72)).save(data / "Russula/003_near.jpg", quality=70)
    (data / "Amanita/broken.jpg").write_bytes(b"\x00not a photo" * 40)
    store = tmp_path / "labels"
    add_votes(store, data, (
        ("alice", ["--image", "Russula/003.jpg", "--genus", "Amanita"]),
        ("alice", ["--image", "Boletus/001.jpg", "--genus", "Suillus"]),
        ("bob", ["--image", "Boletus/001.jpg", "--genus", "Boletus"]),
        ("alice", ["--image", "Russula/001.jpg", "--genus", "Lactarius"]),
        ("bob", ["--image", "Russula/001.jpg", "--genus", "Lactarius"]),
        ("carol", ["--image", "Russula/001.jpg", "--genus", "Russula"]),
        ("alice", ["--image", "Amanita/broken.jpg", "--flag", "unusable"]),
        ("alice", ["--image", "Lactarius/002.jpg", "--genus", "Russula"]),
        ("alice", ["--image", "Amanita/005.jpg", "--flag", "not_a_mushroom"])))
    (data / "Lactarius/002.jpg").unlink()  # deleted after it was labelled
    result = cli("manifest", "--data", str(data), "--labels", str(store), "--out",
                 str(tmp_path / "m.csv"))
    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert "labels: reviewed photos: 4" in report
    assert "labels: genus corrections: 2" in report
    assert "labels: excluded (flagged): 1" in report
    assert "labels: held out (tied votes): 1" in report  # Boletus/001: Suillus 1, Boletus 1
    assert "labels: disputed (votes disagree; the majority applies): 1" in report
    assert ("labels: near-duplicates still labelled otherwise than their relabelled photo "
            "(review them): 1: Russula/003_near.jpg") in report
    assert "labels: ignored, photo dropped by the cleaning (corrupt, too small, duplicate): 1" \
        in report
    assert "labels: ignored, photo no longer in the data folder: 1" in report


def test_copies_of_one_scene_relabelled_to_two_genera_are_named_for_review(tmp_path):
    """Alice relabels a photo Amanita, Bob its near-duplicate Boletus: training would learn
    one mushroom under two genera, and the report said 0 (only a copy left at its folder
    genus was named)."""
    from PIL import Image

    data = write_tiny_dataset(tmp_path / "photos", per_class=6)
    with Image.open(data / "Russula/003.jpg") as img:  # the same mushroom, re-encoded
        img.resize((86, 72)).save(data / "Russula/003_near.jpg", quality=70)
    store = tmp_path / "labels"
    add_votes(store, data, (("alice", ["--image", "Russula/003.jpg", "--genus", "Amanita"]),
                            ("bob", ["--image", "Russula/003_near.jpg", "--genus", "Boletus"])))
    result = cli("manifest", "--data", str(data), "--labels", str(store), "--out",
                 str(tmp_path / "m.csv"))
    assert result.returncode == 0, result.stderr
    assert "labels: genus corrections: 2" in result.stdout
    assert ("labels: near-duplicates still labelled otherwise than their relabelled photo "
            "(review them): 2: Russula/003.jpg, Russula/003_near.jpg") in result.stdout
    add_votes(store, data, (("bob", ["--image", "Russula/003_near.jpg", "--genus", "Amanita"]),))
    result = cli("manifest", "--data", str(data), "--labels", str(store), "--out",
                 str(tmp_path / "m.csv"))
    assert ("labels: near-duplicates still labelled otherwise than their relabelled photo "
            "(review them): 0") in result.stdout  # agreed: nothing left to review


def test_labels_on_a_rewritten_photo_or_from_an_empty_store_are_not_lost_in_silence(tmp_path):
    """Labels follow a photo's content: re-saving the file (a batch EXIF strip) leaves them
    behind, and a --labels folder without decisions applies nothing; the report says so."""
    from PIL import Image

    data = write_tiny_dataset(tmp_path / "photos", per_class=6)
    store = tmp_path / "labels"
    assert main(["labels", "add", "--labels", str(store), "--image",
                 str(data / "Russula/003.jpg"), "--genus", "Amanita", "--annotator",
                 "alice"]) == 0
    with Image.open(data / "Russula/003.jpg") as img:
        img.load()
    img.save(data / "Russula/003.jpg", quality=80)  # the same photo, other bytes
    status, out, _ = run_cli("manifest", "--data", str(data), "--labels", str(store), "--out",
                             str(tmp_path / "m.csv"))
    assert status == 0
    assert ("labels: ignored, photo file rewritten since it was labelled (labels follow the "
            "file's content): 1: Russula/003.jpg") in out
    assert "labels: ignored, photo no longer in the data folder: 0" in out
    status, out, _ = run_cli("manifest", "--data", str(data), "--labels", str(tmp_path),
                             "--out", str(tmp_path / "m.csv"))
    assert status == 0
    assert f"labels: none: {tmp_path} holds no decision (decisions.jsonl missing or empty)" in out


def test_genus_names_are_taken_in_any_case_and_stored_as_spelled_in_the_list(photos, tmp_path):
    store = tmp_path / "labels"
    base = ["labels", "add", "--labels", str(store), "--data", str(photos)]
    status, out, err = run_cli(*base, "--image", "Boletus/000.jpg", "--genus", " amanita ",
                               "--species", "AMANITA  muscaria", "--annotator", "alice")
    assert status == 0, err
    assert out.startswith("relabel: Boletus/000.jpg [") and out.endswith(
        "Boletus -> Amanita muscaria\n")
    # the same vote in other letters is a confirm of it, not a relabel
    assert run_cli(*base, "--image", "Boletus/000.jpg", "--genus", "AMANITA", "--species",
                   "amanita muscaria", "--annotator", "bob")[0] == 0
    rows = labels.read_rows(store)
    assert [(r.action, r.genus, r.species) for r in rows] == [
        ("relabel", "Amanita", "Amanita muscaria"), ("confirm", "Amanita", "Amanita muscaria")]
    status, _, err = run_cli(*base, "--image", "Boletus/001.jpg", "--genus", "amanitaa",
                             "--annotator", "alice")
    assert status == 2 and err == ("error: genus 'amanitaa' (Amanita misspelt?) must be one "
                                   "of Agaricus, Amanita, "
                                   "Boletus, Cortinarius, Entoloma, Hygrocybe, Lactarius, "
                                   "Russula, Suillus\n")
    assert len(labels.read_rows(store)) == 2


def test_retire_species_takes_the_genus_in_any_case(photos, tmp_path):
    store = tmp_path / "labels"
    for name in ("Amanita muscria", "Amanita muscaria"):
        labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Amanita", species=name)
    status, out, err = run_cli("labels", "retire-species", "--labels", str(store),
                               "--species", "amanita muscria", "--annotator", "alice")
    assert status == 0, err
    assert out.startswith("retired: Amanita muscria (retired by alice on ")
    assert "Amanita muscria" not in species.species_choices(store, "Amanita")


def test_photos_in_a_lowercase_genus_folder_can_be_labelled(photos, tmp_path):
    """The data scan reads "amanita/" as Amanita; the store must take its photos too (it
    refused every decision on them: "previous_genus 'amanita' must be one of ...")."""
    (photos / "Amanita").rename(photos / "amanita")
    store, csv = tmp_path / "labels", tmp_path / "consensus.csv"
    status, out, err = run_cli("labels", "add", "--labels", str(store), "--image",
                               str(photos / "amanita" / "000.jpg"), "--genus", "Boletus",
                               "--annotator", "alice")
    assert status == 0, err
    assert out.startswith("relabel: amanita/000.jpg [") and "Amanita -> Boletus" in out
    status, _, err = run_cli("labels", "add", "--labels", str(store), "--data", str(photos),
                             "--image", "amanita/001.jpg", "--genus", "Amanita",
                             "--annotator", "alice")
    assert status == 0, err
    assert [(r.action, r.previous_genus) for r in labels.read_rows(store)] == [
        ("relabel", "Amanita"), ("confirm", "Amanita")]
    assert run_cli("labels", "export", "--labels", str(store), "--out", str(csv))[0] == 0
    assert set(pd.read_csv(csv)["folder_genus"]) == {"Amanita"}


def test_near_duplicates_of_a_flagged_photo_are_dropped_or_named(tmp_path):
    """A re-encoded copy of a photo flagged not_a_mushroom is not a mushroom either: it
    leaves training with it; a copy of an unusable (blurry) photo may be fine, so it stays
    and the report names it for review. A copy an expert labelled keeps that label."""
    from PIL import Image

    data = write_tiny_dataset(tmp_path / "photos", per_class=6)
    for name in ("Amanita/005", "Russula/002", "Boletus/001"):  # the same photo, re-encoded
        with Image.open(data / f"{name}.jpg") as img:
            img.resize((86, 72)).save(data / f"{name}_near.jpg", quality=70)
    store = tmp_path / "labels"
    add_votes(store, data, (
        ("alice", ["--image", "Amanita/005.jpg", "--flag", "not_a_mushroom"]),
        ("alice", ["--image", "Russula/002.jpg", "--flag", "unusable"]),
        ("alice", ["--image", "Boletus/001.jpg", "--flag", "not_a_mushroom"]),
        ("bob", ["--image", "Boletus/001_near.jpg", "--genus", "Boletus"])))
    status, out, err = run_cli("manifest", "--data", str(data), "--labels", str(store),
                               "--out", str(tmp_path / "m.csv"))
    assert status == 0, err
    paths = set(pd.read_csv(tmp_path / "m.csv")["path"])
    assert "Amanita/005_near.jpg" not in paths
    assert {"Russula/002_near.jpg", "Boletus/001_near.jpg"} <= paths
    assert ("labels: near-duplicates of a photo flagged not_a_mushroom, dropped with it: 1: "
            "Amanita/005_near.jpg") in out
    assert ("labels: near-duplicates of a flagged photo still in training (review them; "
            "only not_a_mushroom drops its near-duplicates): 1: Russula/002_near.jpg") in out
    assert "labels: excluded (flagged): 3" in out
    assert f"kept {9 * 6 + 3 - 4}" in out  # 3 flagged, 1 near-duplicate


def test_a_label_on_a_dropped_exact_duplicate_reaches_the_copy_kept(tmp_path):
    """The cleaning keeps one of two files with the same pixels; a label on the other is
    the same photo's label, unless the copy kept has a label of its own (which wins)."""
    from PIL import Image

    data = write_tiny_dataset(tmp_path / "photos", per_class=6)
    for name in ("Amanita/000", "Russula/001"):  # same decoded pixels, other bytes
        with Image.open(data / f"{name}.jpg") as img:
            img.convert("RGB").save(data / f"{name}_copy.png")
    store = tmp_path / "labels"
    add_votes(store, data, (
        ("alice", ["--image", "Amanita/000_copy.png", "--genus", "Boletus"]),
        ("alice", ["--image", "Russula/001.jpg", "--genus", "Russula"]),
        ("bob", ["--image", "Russula/001_copy.png", "--genus", "Lactarius"])))
    status, out, err = run_cli("manifest", "--data", str(data), "--labels", str(store),
                               "--out", str(tmp_path / "m.csv"))
    assert status == 0, err
    assert "exact duplicates:   2" in out
    frame = pd.read_csv(tmp_path / "m.csv").set_index("path")
    assert frame.loc["Amanita/000.jpg", ["genus", "label_source"]].tolist() == ["Boletus",
                                                                                "expert"]
    assert frame.loc["Russula/001.jpg", "genus"] == "Russula"
    assert ("labels: on a dropped exact duplicate, applied to the copy kept (same pixels): 1: "
            "Amanita/000_copy.png -> Amanita/000.jpg") in out
    assert ("labels: on a dropped exact duplicate, set aside: the copy kept has a label of its "
            "own that differs, which applies: 1: Russula/001_copy.png -> Russula/001.jpg") in out
    assert "labels: ignored, photo dropped by the cleaning (corrupt, too small, duplicate): 0" \
        in out
    assert "labels: genus corrections: 1" in out


def test_undo_with_nothing_to_undo_is_an_error_like_the_others(photos, tmp_path):
    store = tmp_path / "labels"
    labels.record(store, photos, "Amanita/000.jpg", "alice", genus="Boletus")
    done = cli("labels", "undo", "--labels", str(store), "--annotator", "alice")
    assert done.returncode == 0 and "undone: Amanita/000.jpg" in done.stdout
    for who in ("alice", "bob"):
        again = cli("labels", "undo", "--labels", str(store), "--annotator", who)
        assert again.returncode == 2
        assert again.stderr == (f"error: nothing to undo for {who}: no decision of theirs is "
                                f"in force in {store}\n")


def test_labels_given_as_the_store_file_names_its_folder(tmp_path):
    """``--labels labels/decisions.jsonl`` (the file, not its folder): "not found" would
    mislead, the file is right there."""
    root = write_tiny_dataset(tmp_path / "photos", per_class=1)
    store = tmp_path / "labels"
    store.mkdir()
    (store / "decisions.jsonl").write_text("")
    status, _, stderr = run_cli("manifest", "--data", str(root), "--labels",
                                str(store / "decisions.jsonl"), "--out", str(tmp_path / "m.csv"))
    assert status == 2
    assert stderr == (f"error: {store / 'decisions.jsonl'} is a file: the label store is the "
                      f"folder that holds it, {store}\n")
