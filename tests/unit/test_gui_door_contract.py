"""Every GUI module but the engine and the demo launcher is bound by the GUI's import contract (issue 13).

The contract in pyproject.toml lists its source modules by name; a new page or helper module that
is not listed would reach ``procedure`` or ``records`` unchecked. This test keeps the list complete.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUI = ROOT / "src" / "bmsflasher" / "gui"
DOORS = {"bmsflasher.gui.engine", "bmsflasher.gui.demo"}
"""The engine is the door; the demo launcher re-exports the virtual BMS bench."""


def _contract_sources() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    door = next(c for c in contracts if "door" in c["name"])
    return set(door["source_modules"])


def _gui_modules() -> set[str]:
    found: set[str] = set()
    for path in GUI.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            found.add(f"bmsflasher.gui.{path.name}")
        elif path.suffix == ".py" and path.stem != "__init__":
            found.add(f"bmsflasher.gui.{path.stem}")
    return found


def test_every_gui_module_except_the_doors_is_bound_by_the_contract() -> None:
    missing = sorted(_gui_modules() - DOORS - _contract_sources())
    assert not missing, f"add these to the GUI door contract in pyproject.toml: {missing}"


def test_the_doors_are_not_bound_by_it() -> None:
    assert not DOORS & _contract_sources()
