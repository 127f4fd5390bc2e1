"""The code stays lint-clean: pyflakes (unused names, undefined names) and 100 columns; the
tests write nothing into the checkout."""

import ast
import subprocess
import sys

import pytest

from conftest import ROOT


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="ruff is in requirements-dev.txt")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


WRITES = {"write_text", "write_bytes", "mkdir", "touch", "screenshot", "savefig", "save",
          "to_csv"}


def _under_root(node: ast.AST, derived: set[str]) -> bool:
    """Whether an expression names ROOT, or a module constant built from it."""
    return any(isinstance(n, ast.Name) and (n.id == "ROOT" or n.id in derived)
               for n in ast.walk(node))


def test_tests_write_nothing_into_the_checkout():
    """Screenshots and the like go to pytest's tmp_path (conftest's ``artifacts``): a test
    run leaves the checkout as it found it (the browser tests wrote into ``artifacts/``)."""
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        derived = {t.id for node in tree.body if isinstance(node, ast.Assign)
                   and _under_root(node.value, set()) for t in node.targets
                   if isinstance(t, ast.Name) and t.id != "ROOT"}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in WRITES):
                continue
            targets = [node.func.value, *node.args, *(k.value for k in node.keywords)]
            if any(_under_root(t, derived) for t in targets):
                found.append(f"{path.name}:{node.lineno}")
    assert not found, f"writes under the repository root: {found}"


def test_the_find_tab_does_not_depend_on_the_identify_tab():
    """What both tabs need lives below them (``ui/uploads.py``, ``ui/cards.py``): the find
    tab imported the Identify tab's module for one message pattern."""
    done = subprocess.run([sys.executable, "-c", "import sys, mushroom.ui.find; "
                           "sys.exit('mushroom.ui.identify' in sys.modules)"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:] or "mushroom.ui.find imports ui.identify"


def test_importing_the_app_loads_no_torch():
    """``import app`` builds the page only: torch (and torchvision, which pulls in
    torch._dynamo) took 2-3 s and ~780 MB of the import; the model's warm-up thread, started
    at launch, imports them instead, so the server listens sooner after a Space restarts."""
    done = subprocess.run([sys.executable, "-c", "import sys, app; heavy = [m for m in "
                           "('torch', 'torchvision', 'mushroom.predict') if m in sys.modules]; "
                           "print(heavy); sys.exit(bool(heavy))"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
