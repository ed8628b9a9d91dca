"""PySide6's import hook must not leave the source of every later import in ``linecache``."""

from __future__ import annotations

import importlib
import linecache
import sys
from pathlib import Path

import pytest

import bmsflasher.gui.app_model  # noqa: F401 - the GUI's normal import path applies the fix
from bmsflasher.gui import pyside_source_scan

pytestmark = pytest.mark.gui


def test_importing_a_module_after_qt_caches_no_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pyside_source_scan.limit()
    assert (
        sys.modules["shibokensupport.feature"]._mod_uses_pyside is pyside_source_scan.module_mentions_pyside
    )
    module_file = tmp_path / "bmsflasher_probe_module.py"
    module_file.write_text("VALUE = 41 + 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("bmsflasher_probe_module")
        assert module.VALUE == 42
        assert str(module_file) not in linecache.cache
    finally:
        sys.modules.pop("bmsflasher_probe_module", None)


def test_the_replacement_answers_like_pyside(tmp_path: Path) -> None:
    import types

    with_qt = tmp_path / "with_qt.py"
    with_qt.write_text("from PySide6.QtCore import QObject\n", encoding="utf-8")
    without_qt = tmp_path / "without_qt.py"
    without_qt.write_text("import json\n", encoding="utf-8")
    for path, expected in ((with_qt, True), (without_qt, False)):
        module = types.ModuleType(path.stem)
        module.__file__ = str(path)
        assert pyside_source_scan.module_mentions_pyside(module) is expected
    assert pyside_source_scan.module_mentions_pyside(sys) is False  # built in: no source, like PySide says
