"""Test modules must have unique import names, or pytest silently collects the wrong one (or errors).

tests/unit, tests/integration and tests/reliability have no ``__init__.py``: pytest's default
"prepend" import mode puts each folder on ``sys.path`` and imports every file by its bare basename.
Two ``test_x.py`` in different folders then collide ("import file mismatch"), and two support
modules imported by bare name (``from proc_support import ...``) are worse: whichever folder comes
first on ``sys.path`` wins, so a test can run against the other area's helpers without any error.
A bare name that equals an installed or standard-library module (``can.py``, ``serial.py``) shadows
the real library for every test after it. This fast check keeps all of that from coming back.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
BARE_IMPORT_ROOTS = (ROOT / "installer",)
"""Folders that tests put on ``sys.path`` themselves (test_frozen_* import ``manifest``, ``build``)."""
EXEMPT = frozenset({"conftest"})
"""pytest imports each rootless conftest.py afresh (it drops the cached module first): no clash."""


def import_name(path: Path) -> str:
    """The name pytest's prepend mode imports ``path`` under: dotted through ``__init__.py`` packages."""
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _package_root(path: Path) -> Path:
    """The outermost package folder holding ``path`` (``path``'s own folder chain of ``__init__.py``)."""
    folder = path.parent
    while (folder.parent / "__init__.py").is_file():
        folder = folder.parent
    return folder


def collisions(files: Iterable[Path]) -> dict[str, list[Path]]:
    """Import names held by more than one file or package (a bare module also clashes with a package)."""
    by_name: dict[str, set[Path]] = defaultdict(set)
    for path in files:
        name = import_name(path)
        if name.rpartition(".")[2] in EXEMPT:
            continue
        if "." in name or path.stem == "__init__":
            by_name[name.partition(".")[0]].add(_package_root(path))  # one entry per package folder
            if "." in name:
                by_name[name].add(path)
        else:
            by_name[name].add(path)
    return {name: sorted(paths) for name, paths in by_name.items() if len(paths) > 1}


def python_files(*folders: Path) -> list[Path]:
    return sorted(
        path for folder in folders for path in folder.rglob("*.py") if "__pycache__" not in path.parts
    )


def shadowed_libraries(files: Iterable[Path]) -> dict[str, Path]:
    """Bare-imported test modules whose name is a standard-library or installed top-level module."""
    libraries = set(sys.stdlib_module_names) | set(importlib.metadata.packages_distributions())
    found: dict[str, Path] = {}
    for path in files:
        top = import_name(path).partition(".")[0]
        if top not in EXEMPT and top in libraries:
            found[top] = path
    return found


def _relative(groups: dict[str, list[Path]]) -> dict[str, list[str]]:
    return {name: [str(p.relative_to(ROOT)) for p in paths] for name, paths in groups.items()}


def test_every_test_and_support_module_has_its_own_import_name() -> None:
    files = python_files(TESTS, *BARE_IMPORT_ROOTS)
    assert len(files) > 50
    assert not collisions(files), (
        f"rename one of each group (use your area prefix): {_relative(collisions(files))}"
    )


def test_no_test_module_shadows_a_library() -> None:
    files = python_files(TESTS)
    assert not shadowed_libraries(files), f"these test modules hide a library: {shadowed_libraries(files)}"


# --- the checker itself, on trees built for the purpose ------------------------------------------
def _touch(root: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
        paths.append(path)
    return paths


def test_checker_finds_same_basenames_in_rootless_folders(tmp_path: Path) -> None:
    files = _touch(
        tmp_path,
        "unit/test_scan.py",
        "integration/test_scan.py",
        "unit/proc_support.py",
        "reliability/proc_support.py",
        "unit/test_only_here.py",
        "unit/conftest.py",
        "integration/conftest.py",
    )
    found = collisions(files)
    assert set(found) == {"test_scan", "proc_support"}
    assert found["test_scan"] == [tmp_path / "integration/test_scan.py", tmp_path / "unit/test_scan.py"]


def test_checker_follows_packages_and_their_top_level_name(tmp_path: Path) -> None:
    files = _touch(
        tmp_path,
        "gui/__init__.py",
        "gui/test_pages.py",
        "unit/test_pages.py",  # bare "test_pages" vs "gui.test_pages": different names, no clash
        "unit/gui.py",  # a bare module named like the package: imports of gui.* would break
    )
    assert import_name(tmp_path / "gui/test_pages.py") == "gui.test_pages"
    assert set(collisions(files)) == {"gui"}


@pytest.mark.parametrize("name", ["can", "serial", "json"])
def test_checker_flags_a_module_that_would_hide_a_library(tmp_path: Path, name: str) -> None:
    (path,) = _touch(tmp_path, f"unit/{name}.py")
    assert shadowed_libraries([path]) == {name: path}
