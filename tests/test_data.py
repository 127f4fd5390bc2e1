"""Cleaning, near-duplicate grouping and the grouped stratified split, on generated photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from conftest import make_photo, write_tiny_dataset
from mushroom.config import DataConfig
from mushroom.data import build_manifest
from mushroom.manifest import MANIFEST_COLUMNS, manifest_sha256
from mushroom.split import assign_splits
from mushroom.taxonomy import GENERA


def near_copy(src: Path, dst: Path) -> None:
    """A slightly smaller, harder-compressed re-encoding: different pixels, same photo."""
    with Image.open(src) as img:
        w, h = img.size
        img.resize((int(w * 0.9), int(h * 0.9))).save(dst, quality=70)


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> tuple[Path, pd.DataFrame, object]:
    """4 clean photos per genus plus one of every kind of problem."""
    root = write_tiny_dataset(tmp_path_factory.mktemp("messy") / "photos", per_class=4)
    (root / "Amanita" / "corrupt.jpg").write_bytes(b"\x00garbage" * 50)
    good = (root / "Amanita" / "000.jpg").read_bytes()
    (root / "Amanita" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "Boletus" / "empty.jpg").write_bytes(b"")
    shutil.copy(root / "Boletus" / "000.jpg", root / "Boletus" / "copy.jpg")
    with Image.open(root / "Boletus" / "001.jpg") as img:  # same pixels, other bytes
        img.convert("RGB").save(root / "Boletus" / "copy.png")
    shutil.copy(root / "Amanita" / "002.jpg", root / "Lactarius" / "filed_twice.jpg")
    near_copy(root / "Russula" / "000.jpg", root / "Russula" / "near.jpg")
    make_photo(8, seed=99, size=(40, 30)).save(root / "Suillus" / "tiny.jpg")
    frame, report = build_manifest(root, split=False)
    return root, frame, report


def test_corrupt_truncated_and_empty_files_are_dropped_and_reported(messy):
    _, frame, report = messy
    assert sorted(report.corrupt) == ["Amanita/corrupt.jpg", "Amanita/truncated.jpg",
                                      "Boletus/empty.jpg"]
    assert not frame["path"].isin(report.corrupt).any()
    assert "corrupt/unreadable: 3" in report.summary()


def test_tiny_images_are_dropped(messy):
    _, frame, report = messy
    assert report.tiny == ["Suillus/tiny.jpg"]
    assert "Suillus/tiny.jpg" not in set(frame["path"])


def test_exact_duplicates_keep_one_copy_even_with_other_bytes(messy):
    _, frame, report = messy
    paths = set(frame["path"])
    assert len(report.exact_duplicates) == 2
    assert len(paths & {"Boletus/000.jpg", "Boletus/copy.jpg"}) == 1
    assert len(paths & {"Boletus/001.jpg", "Boletus/copy.png"}) == 1


def test_same_photo_under_two_genera_is_dropped_everywhere(messy):
    _, frame, report = messy
    assert sorted(report.conflicting) == ["Amanita/002.jpg", "Lactarius/filed_twice.jpg"]
    assert not frame["path"].isin(report.conflicting).any()


def test_near_duplicate_is_kept_but_grouped_with_its_original(messy):
    _, frame, report = messy
    group = frame.set_index("path")["group"]
    assert group["Russula/near.jpg"] == group["Russula/000.jpg"]
    assert report.near_duplicate_groups == 1  # different generated photos are not grouped
    assert frame["group"].value_counts().max() == 2


def test_manifest_columns_and_counts(messy):
    root, frame, report = messy
    assert list(frame.columns) == MANIFEST_COLUMNS
    assert report.scanned == 9 * 4 + 8
    assert report.kept == len(frame) == 9 * 4 + 8 - 3 - 1 - 2 - 2
    assert (frame["genus"] == frame["path"].str.split("/").str[0]).all()
    assert (frame["split"] == "all").all() and (frame["fold"] == -1).all()
    assert all((root / p).is_file() for p in frame["path"])
    assert frame["image_id"].is_unique


@pytest.fixture(scope="module")
def grouped(tmp_path_factory) -> Path:
    """12 photos per genus, several with near-duplicate copies (groups of 2 and 3)."""
    root = write_tiny_dataset(tmp_path_factory.mktemp("grouped") / "photos", per_class=12)
    for genus in GENERA:
        for k in (0, 1, 2):
            near_copy(root / genus / f"{k:03d}.jpg", root / genus / f"{k:03d}_near.jpg")
        near_copy(root / genus / "000.jpg", root / genus / "000_near2.jpg")
    return root


def test_split_is_grouped_stratified_and_deterministic(grouped):
    first, _ = build_manifest(grouped, DataConfig(seed=7))
    again, _ = build_manifest(grouped, DataConfig(seed=7))
    pd.testing.assert_frame_equal(first, again)
    assert (first.groupby("group")["split"].nunique() == 1).all()  # no leakage
    near = first.set_index("path")
    for genus in GENERA:
        assert near.loc[f"{genus}/000_near.jpg", "split"] == near.loc[f"{genus}/000.jpg", "split"]
        counts = first[first["genus"] == genus]["split"].value_counts()
        assert set(counts.index) == {"train", "val", "test"}  # every genus in every split
        assert 0.5 <= counts["train"] / counts.sum() <= 0.85


def test_another_seed_gives_another_split(grouped):
    a, _ = build_manifest(grouped, DataConfig(seed=7), split=False)
    split7 = assign_splits(a, DataConfig(seed=7))["split"]
    split8 = assign_splits(a, DataConfig(seed=8))["split"]
    assert (split7 != split8).any()
    assert (assign_splits(a, DataConfig(seed=7))["split"] == split7).all()


def test_folds_cover_train_and_val_without_group_leakage(grouped):
    frame, _ = build_manifest(grouped, DataConfig(seed=3, n_folds=3))
    test = frame["split"] == "test"
    assert (frame.loc[test, "fold"] == -1).all()
    pool = frame[~test]
    assert set(pool["fold"]) == {0, 1, 2}
    assert (pool.groupby("group")["fold"].nunique() == 1).all()
    sizes = pool["fold"].value_counts()
    assert sizes.max() - sizes.min() <= 0.25 * sizes.mean()


def test_metadata_is_optional_and_its_groups_and_species_are_used(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos", per_class=3, genera=("Amanita", "Boletus"))
    plain, _ = build_manifest(root, split=False)
    assert plain["group"].is_unique and (plain["species"] == "").all()
    pd.DataFrame({
        "file": ["Amanita/000.jpg", "Amanita/001.jpg", "Boletus/002.jpg"],
        "genus": ["Amanita", "Amanita", "Boletus"],
        "species_hint": ["Amanita muscaria", "", "Boletus edulis"],
        "near_duplicate_group": ["17", "17", "4"],
    }).to_csv(root / "metadata.csv", index=False)
    frame, _ = build_manifest(root, split=False)
    by_path = frame.set_index("path")
    assert by_path.loc["Amanita/000.jpg", "group"] == by_path.loc["Amanita/001.jpg", "group"]
    assert frame["group"].nunique() == len(frame) - 1
    assert by_path.loc["Amanita/000.jpg", "species"] == "Amanita muscaria"
    assert by_path.loc["Boletus/002.jpg", "species"] == "Boletus edulis"
    assert by_path.loc["Boletus/000.jpg", "species"] == ""  # not listed in metadata.csv


def test_manifest_hash_tracks_content(messy):
    _, frame, _ = messy
    assert manifest_sha256(frame) == manifest_sha256(frame.copy())
    changed = frame.copy()
    changed.loc[0, "genus"] = "Suillus" if changed.loc[0, "genus"] != "Suillus" else "Amanita"
    assert manifest_sha256(changed) != manifest_sha256(frame)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="data folder not found"):
        build_manifest(tmp_path / "nowhere")


def test_genus_folders_match_whatever_their_case(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))
    (root / "Amanita").rename(root / "amanita")
    (root / "Boletus").rename(root / "BOLETUS")
    frame, report = build_manifest(root, split=False)
    assert sorted(frame["genus"].unique()) == ["Amanita", "Boletus"]
    assert sorted(frame["folder_genus"].unique()) == ["Amanita", "Boletus"]
    assert frame["path"].str.startswith(("amanita/", "BOLETUS/")).all()  # real paths
    assert not report.ignored_dirs


def test_a_folder_without_photos_says_why_and_how_to_fix_it(tmp_path):
    wrapped = tmp_path / "download"
    write_tiny_dataset(wrapped / "Mushrooms", per_class=1)
    with pytest.raises(ValueError, match="inside Mushrooms/: use .*download/Mushrooms"):
        build_manifest(wrapped)
    (tmp_path / "other" / "Fungi").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"expected .*<Genus>/\*.jpg.*found only Fungi"):
        build_manifest(tmp_path / "other", split=False)
    broken = tmp_path / "broken" / "Amanita"
    broken.mkdir(parents=True)
    (broken / "a.jpg").write_bytes(b"not a photo")
    with pytest.raises(ValueError, match=r"none of the 1 photos .*\(1 unreadable, 0 too small\)"):
        build_manifest(tmp_path / "broken")


def test_phone_formats_are_scanned_and_decoded(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos", per_class=3)
    make_photo(5, seed=50, size=(120, 90)).save(root / "Hygrocybe" / "IMG_0001.HEIC", "HEIF")
    make_photo(5, seed=51, size=(120, 90)).save(root / "Hygrocybe" / "pxl_0002.avif", "AVIF")
    frame, report = build_manifest(root, split=False)
    assert {"Hygrocybe/IMG_0001.HEIC", "Hygrocybe/pxl_0002.avif"} <= set(frame["path"])
    assert not report.corrupt
    row = frame.set_index("path").loc["Hygrocybe/IMG_0001.HEIC"]
    assert (row["width"], row["height"]) == (120, 90)


def test_mac_archive_leftovers_are_skipped_not_reported_as_corrupt(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))
    (root / "Amanita" / "._000.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / "Amanita" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "__MACOSX" / "Amanita").mkdir(parents=True)
    (root / "__MACOSX" / "Amanita" / "._000.jpg").write_bytes(b"\x00\x05\x16\x07")
    (root / "Boletus" / ".thumbs").mkdir()
    make_photo(2, seed=7).save(root / "Boletus" / ".thumbs" / "t.jpg")  # a real photo, hidden
    frame, report = build_manifest(root, split=False)
    assert sorted(frame["path"]) == ["Amanita/000.jpg", "Amanita/001.jpg",
                                     "Boletus/000.jpg", "Boletus/001.jpg"]
    assert report.scanned == 4 and not report.corrupt
    assert not report.ignored_dirs  # __MACOSX is not worth a line in the cleaning report


def test_the_review_tab_enters_a_download_folder_like_the_commands(tmp_path, monkeypatch):
    from mushroom.ui.review_context import context_from_env

    write_tiny_dataset(tmp_path / "archive" / "Mushrooms", per_class=1, genera=("Amanita",))
    monkeypatch.setenv("MUSHROOM_REVIEW_DATA", str(tmp_path / "archive"))
    assert context_from_env().data_dir == tmp_path / "archive" / "Mushrooms"
    monkeypatch.setenv("MUSHROOM_REVIEW_DATA", str(tmp_path / "archive" / "Mushrooms"))
    assert context_from_env().data_dir == tmp_path / "archive" / "Mushrooms"


def test_links_to_missing_photos_and_other_files_are_named_not_dropped_silently(tmp_path):
    root = write_tiny_dataset(tmp_path / "photos", per_class=2, genera=("Amanita", "Boletus"))
    gone = tmp_path / "moved" / "IMG 7.jpg"
    (root / "Amanita" / "IMG 7.jpg").symlink_to(gone)  # its photo moved after linking
    (tmp_path / "elsewhere").mkdir()  # a linked folder is not followed (nor are loops)
    make_photo(0, seed=70).save(tmp_path / "elsewhere" / "a.jpg")
    (root / "Amanita" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "Boletus" / "photo.jfif").write_bytes((root / "Boletus" / "000.jpg").read_bytes())
    (root / "Boletus" / "linked.jpg").symlink_to(root / "Amanita" / "000.jpg")
    frame, report = build_manifest(root, split=False)
    assert report.corrupt == ["Amanita/IMG 7.jpg"]
    assert report.not_photos == ["Amanita/more/", "Boletus/photo.jfif"]
    assert "Boletus/linked.jpg" in report.conflicting  # a live link is read like a photo
    summary = report.summary()
    assert "corrupt/unreadable: 1 (Amanita/IMG 7.jpg)" in summary
    assert "skipped, not photos: 2 (Amanita/more/, Boletus/photo.jfif)" in summary
    assert report.scanned == 6 and len(frame) == 3
    from mushroom.review import list_photos  # the review tab lists the photos it can show

    assert "Amanita/IMG 7.jpg" not in set(list_photos(root)["path"])
