"""``evaluate`` on a disk that fills mid-write: no output is left torn, the error names it.

The disk is made "full" for real: the run is a process whose file-size limit
(``RLIMIT_FSIZE``) stops the write of one output part-way, as ENOSPC would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT, run_cli, write_tiny_dataset

# Written in this order; a limit just under one's size lets the earlier ones through.
OUTPUTS = ("report.json", "predictions.csv", "confusion_matrix.png", "safety_report.json")
LIMITED = """import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-long write fails (EFBIG), no kill
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
from mushroom.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, tiny_checkpoint) -> tuple[list[str], Path, dict[str, bytes]]:
    """A complete evaluation: its arguments, its --out folder and the bytes of each output."""
    root = tmp_path_factory.mktemp("full_disk")
    data = write_tiny_dataset(root / "photos")
    (root / "everyday").mkdir()
    for i in range(3):  # tiny, so the generated everyday photos never reach the limit
        Image.new("RGB", (16, 16), (80 * i, 0, 0)).save(root / "everyday" / f"{i}.png")
    out = root / "out"
    argv = ["evaluate", "--data", str(data), "--out", str(out), "--model",
            str(tiny_checkpoint), "--workers", "0", "--nonmushroom", str(root / "everyday")]
    assert run_cli(*argv)[0] == 0
    return argv, out, {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.mark.slow
@pytest.mark.parametrize("torn", OUTPUTS[:3])
def test_a_full_disk_leaves_no_truncated_output_that_would_read_as_valid(first_run, torn):
    argv, out, before = first_run
    limit = len(before[torn]) - 1
    earlier = OUTPUTS[:OUTPUTS.index(torn)]
    assert all(len(before[name]) < limit for name in earlier)  # they are written whole
    done = subprocess.run([sys.executable, "-c", LIMITED, str(limit), *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == f"error: cannot write {out / torn}: File too large"
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # no temp file left
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
