"""How the system starts the application: package argument, macOS file-open events, timed quit,
the desktop entry name, and a demo that cannot run (Windows has no ptys).

The file associations are the installer's (installer/windows/bmsflasher.iss runs
``bmsflasher-gui "%1"``, installer/linux/bmsflasher.desktop ``bmsflasher-gui %f``, the macOS bundle
declares the .bmspkg document type and gets a QFileOpenEvent); these tests drive the same entry
points with real packages, a real virtual BMS and real Qt.
"""

from __future__ import annotations

import argparse
import configparser
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from bmsflasher.gui.app import DESKTOP_FILE_NAME, build_session, prepare_application, run
from bmsflasher.gui.file_open import FileOpenHandler
from bmsflasher.gui.main_window import UPDATE
from bmsflasher.gui.options import add_arguments, quit_after_ms
from bmsflasher.gui.wizard import page_ids
from bmsflasher.sim import demo_bench as demo_module

from .conftest import GuiRig, wait_until

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bmsflasher-gui")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_and_gui_programs_accept_the_package_and_quit_options(tmp_path: Path) -> None:
    from bmsflasher.cli.main import build_parser

    package = tmp_path / "VBMS-16-1.1.0.bmspkg"
    args = build_parser(["gui"]).parse_args(["gui", "--demo", "--quit-after-ms", "250", str(package)])
    assert (args.package, args.quit_after_ms, args.demo) == (package, 250, True)
    args = _args(str(package))
    assert (args.package, args.quit_after_ms) == (package, None)
    with pytest.raises(SystemExit):
        _args("--quit-after-ms", "-5")


@pytest.mark.parametrize(
    ("argv", "language"),
    [
        (["--lang", "nl", "gui"], "nl"),  # the command line's language is the window's default
        (["--lang", "nl", "gui", "--lang", "fr"], "fr"),  # the GUI's own --lang still wins
        (["gui", "--lang", "fr"], "fr"),
    ],
)
def test_the_command_line_language_opens_the_gui_in_it(
    qapp: QApplication, data_home: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], language: str
) -> None:
    """``bmsflasher --lang nl gui`` used to open an English window: the GUI has its own ``--lang``.

    The command line runs for real up to the GUI's ``run``; only its event loop is left out, because
    a finished ``QApplication.exec`` in this process would end pyqtgraph for every later test (it
    cleans up on ``aboutToQuit``). The window is built from exactly the arguments ``run`` received.
    """
    from bmsflasher.cli import console
    from bmsflasher.cli.main import main
    from bmsflasher.gui import app as app_module

    languages: list[str] = []

    def window_without_event_loop(args: argparse.Namespace) -> int:
        session = build_session(args, qapp)
        try:
            languages.append(session.model.language)
        finally:
            session.languages.set_language("en")
            session.close()
            qapp.processEvents()
        return 0

    monkeypatch.setattr(app_module, "run", window_without_event_loop)
    try:
        code = main([*argv, "--db", str(data_home / "history.sqlite3")])
    finally:
        console.set_language("en")
    assert code == 0
    assert languages == [language]


def test_desktop_file_name_matches_the_installed_menu_entry(qapp: QApplication) -> None:
    prepare_application(qapp, "light")
    entry = ROOT / "installer" / "linux" / "bmsflasher.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(entry, encoding="utf-8")
    assert QGuiApplication.desktopFileName() == DESKTOP_FILE_NAME == entry.stem
    assert parser["Desktop Entry"]["StartupWMClass"] == DESKTOP_FILE_NAME


def test_demo_with_a_package_argument_opens_the_wizard_on_it_once_connected(
    qapp: QApplication, packages: dict[str, Path], data_home: Path
) -> None:
    package = packages["healthy"]
    session = build_session(_args("--demo", "--lang", "en", str(package)), qapp)
    try:
        window = session.window
        assert window.pending_package == package
        wait_until(qapp, lambda: window.wizard is not None, START_TIMEOUT_S)
        wizard = window.wizard
        assert wizard is not None
        assert session.model.identity is not None
        assert wizard.currentId() == page_ids.PACKAGE
        assert wizard.package_page.path_edit.text() == str(package)
        assert wizard.package_page.isComplete()
        assert window.pending_package is None
        assert not window.update_page.pending_label.isVisibleTo(window)
    finally:
        if session.window.wizard is not None:
            session.window.wizard.close()
        session.close()
        qapp.processEvents()


def test_without_a_battery_the_package_waits_on_the_update_page(
    rig: GuiRig, packages: dict[str, Path]
) -> None:
    window = rig.window
    package = packages["healthy"]
    window.open_package(package)
    assert window.stack.currentIndex() == UPDATE
    label = window.update_page.pending_label
    assert label.isVisibleTo(window)
    assert package.name in label.text()
    rig.connect()
    rig.app.processEvents()
    assert window.wizard is None  # outside the demo, connecting does not push a wizard open
    wizard = window.open_update_wizard()
    assert wizard is not None
    assert wizard.package_page.path_edit.text() == str(package)
    assert not label.isVisibleTo(window)
    again = window.open_update_wizard()  # the handed-over package is used once
    assert again is not None
    assert again.package_page.path_edit.text() == ""


def test_macos_file_open_event_opens_the_wizard_on_a_connected_battery(
    rig: GuiRig, packages: dict[str, Path]
) -> None:
    rig.connect()
    handler = FileOpenHandler(rig.app, rig.window.open_package)
    try:
        package = packages["selftest-fail"]
        assert QApplication.sendEvent(rig.app, QFileOpenEvent(str(package)))
        assert handler.opened == [package]
        wizard = rig.window.wizard
        assert wizard is not None
        assert wizard.package_page.path_edit.text() == str(package)
    finally:
        handler.remove()
    QApplication.sendEvent(rig.app, QFileOpenEvent(str(packages["healthy"])))
    assert handler.opened == [packages["selftest-fail"]]  # removed: no longer listening


def test_a_bad_package_argument_is_one_sentence_in_the_banner(rig: GuiRig, tmp_path: Path) -> None:
    window = rig.window
    window.open_package(tmp_path / "missing.bmspkg")
    assert window.banner.isVisibleTo(window)
    assert "does not exist" in window.banner.message
    notes = tmp_path / "notes.txt"
    notes.write_text("not a package", encoding="utf-8")
    window.open_package(notes)
    assert "notes.txt is not a firmware package (.bmspkg)." in window.banner.message
    assert window.pending_package is None


def test_a_demo_forced_onto_a_pty_on_a_system_without_ptys_says_so_in_the_window(
    qapp: QApplication, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the variable the demo runs over TCP on Windows (tests/integration/test_sim_tcp_demo.py)."""
    monkeypatch.setattr(demo_module, "_os_name", lambda: "nt")  # what os.name is on Windows
    monkeypatch.setenv("BMSFLASHER_DEMO_LINK", "pty")
    assert demo_module._child_creation_flags() == 0x08000000  # CREATE_NO_WINDOW
    session = build_session(_args("--demo", "--lang", "en", "--db", str(data_home / "h.sqlite3")), qapp)
    try:
        assert session.demo is None
        window = session.window
        assert window.banner.isVisibleTo(window)
        text = window.banner.message
        assert "not available on Windows" in text
        assert "pseudo-terminal" in text
        assert "Traceback" not in text
        assert not session.model.connected
    finally:
        session.close()
        qapp.processEvents()
    monkeypatch.undo()
    assert demo_module._child_creation_flags() == 0


def test_the_gui_imports_where_the_pty_modules_cannot(tmp_path: Path) -> None:
    """Windows has no termios/fcntl: nothing pty-specific may load before a demo bench starts."""
    code = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name in ('bmsflasher.sim.wire.pty_link', 'bmsflasher.sim.wire.serial_frontend'):\n"
        "            raise ImportError('no ptys here: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import bmsflasher.gui.app, bmsflasher.gui.demo\n"
        "from bmsflasher.cli.main import build_parser\n"
        "build_parser()  # what `bmsflasher --help` imports: every command module\n"
        "print('imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "imported"


def _gui(env_extra: dict[str, str], *argv: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {name: value for name, value in os.environ.items() if name != "BMSFLASHER_QUIT_AFTER_MS"}
    env.update(QT_QPA_PLATFORM="offscreen", **env_extra)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bmsflasher.gui.app", "--lang", "en", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return result, time.monotonic() - started


def test_quit_after_ms_closes_the_application_normally(data_home: Path) -> None:
    result, elapsed_s = _gui({}, "--quit-after-ms", "600", "--db", str(data_home / "h.sqlite3"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert elapsed_s >= 0.6


def test_the_environment_variable_still_works_and_is_checked(
    qapp: QApplication, data_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BMSFLASHER_QUIT_AFTER_MS", "300")
    assert quit_after_ms(_args()) == 300
    assert quit_after_ms(_args("--quit-after-ms", "5")) == 5  # the option wins
    monkeypatch.setenv("BMSFLASHER_QUIT_AFTER_MS", "soon")
    code = run(_args("--db", str(data_home / "h.sqlite3")))  # refused before any window opens
    assert code == 8
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: BMSFLASHER_QUIT_AFTER_MS: 'soon' is not a whole number of milliseconds"
    ]
    monkeypatch.delenv("BMSFLASHER_QUIT_AFTER_MS")
    assert quit_after_ms(_args()) is None
