"""``--labels`` given as the Review tab's download (the zip, or the folder it unzips into):
the message must lead to the store inside, not elsewhere."""

from __future__ import annotations

import zipfile

from conftest import run_cli, write_tiny_dataset
from mushroom.store_merge import snapshot


def _download(tmp_path):
    """Photos, a store with one real vote, and the tab's download of that store."""
    data = write_tiny_dataset(tmp_path / "photos", per_class=2)
    store = tmp_path / "labels"
    status, _, err = run_cli("labels", "add", "--labels", str(store), "--image",
                             str(data / "Russula/000.jpg"), "--genus", "Amanita",
                             "--annotator", "alice")
    assert status == 0, err
    zipped = tmp_path / "mushroom-labels-20260601-093000.zip"
    assert snapshot(store, zipped) == 1
    return data, zipped


def test_a_downloaded_zip_given_as_labels_says_to_merge_or_unzip_it(tmp_path):
    """The zip's parent folder (what "the folder that holds it" named) is no store at all."""
    data, zipped = _download(tmp_path)
    for argv in (("manifest", "--data", str(data), "--out", str(tmp_path / "m.csv")),
                 ("labels", "export", "--out", str(tmp_path / "c.csv"))):
        status, _, stderr = run_cli(*argv, "--labels", str(zipped))
        assert status == 2
        assert stderr == (f"error: {zipped} is a zip (a label store download): bring it into "
                          f"your store with `python -m mushroom labels merge --labels labels/ "
                          f"--from {zipped}`, or unzip it and give the labels/ folder inside\n")
    assert not (tmp_path / "m.csv").exists()


def test_the_unzipped_download_folder_names_the_store_inside_it(tmp_path):
    """Unzipped, the download is ``labels/`` inside a folder: given that folder, the report
    must point at the store it holds, not only say that no decision was found."""
    data, zipped = _download(tmp_path)
    unzipped = tmp_path / "download"
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(unzipped)
    status, out, _ = run_cli("manifest", "--data", str(data), "--labels", str(unzipped),
                             "--out", str(tmp_path / "m.csv"))
    assert status == 0
    assert (f"labels: none: {unzipped} holds no decision (decisions.jsonl missing or empty); "
            f"the store is its labels/ folder: give --labels {unzipped / 'labels'}") in out
