"""Start the desktop application: ``bmsflasher-gui [--demo] [--lang en|nl|fr] [PACKAGE.bmspkg]``.

Builds the QApplication, the translators, the theme, the one AppModel and the main window; in demo
mode also a virtual BMS on a pty, which the window connects to straight away. Everything started
here is stopped here, in reverse order, when the window closes.

A package given on the command line (how the Windows and Linux ``.bmspkg`` file associations start
the program) or sent by macOS as a file-open event is preselected in the update wizard.
``--quit-after-ms`` lets a smoke test start an installed build unattended and close it normally.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bmsflasher import __version__
from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.gui import pyside_source_scan, qt_compat  # noqa: F401 - pyside_source_scan acts on import
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.demo import DemoBench, DemoScenario, DemoUnavailableError
from bmsflasher.gui.display_check import display_problem, this_machine
from bmsflasher.gui.engine import Engine
from bmsflasher.gui.file_open import FileOpenHandler
from bmsflasher.gui.i18n import LanguageSwitcher, system_language
from bmsflasher.gui.icons import icon
from bmsflasher.gui.main_window import MainWindow
from bmsflasher.gui.options import add_arguments, quit_after_ms
from bmsflasher.gui.theme import apply_theme

DESKTOP_FILE_NAME: Final = "bmsflasher"
"""Base name of the installed ``bmsflasher.desktop`` entry: Wayland compositors find the window's
icon and group it with the menu entry through it (installer/linux/bmsflasher.desktop)."""


@dataclass(slots=True)
class Session:
    """Everything one run of the GUI owns, so tests and ``main`` shut it down the same way."""

    app: QApplication
    model: AppModel
    window: MainWindow
    languages: LanguageSwitcher
    demo: DemoBench | None = None
    file_open: FileOpenHandler | None = None

    def close(self) -> None:
        """Close the device, join worker threads, stop the demo device (idempotent)."""
        if self.file_open is not None:
            self.file_open.remove()
            self.file_open = None
        self.model.shutdown()
        self.window.close()
        if self.demo is not None:
            self.demo.close()
            self.demo = None


def build_session(args: argparse.Namespace, app: QApplication) -> Session:
    """Create model, window and (in demo mode) the virtual BMS; connect when in demo mode."""
    if not 1 <= args.cells <= 512:
        raise BmsFlasherError(f"--cells must be between 1 and 512, not {args.cells}")
    if not 0.0 <= args.soc <= 100.0:
        raise BmsFlasherError(f"--soc must be between 0 and 100, not {args.soc}")
    demo: DemoBench | None = None
    demo_refused: DemoUnavailableError | None = None
    if args.demo:
        try:
            demo = DemoBench(DemoScenario(cells=args.cells, soc_pct=args.soc))
        except DemoUnavailableError as exc:  # Windows: no ptys; the window says so in one sentence
            demo_refused = exc
    try:
        if demo is not None:
            engine = Engine(
                db_path=args.db or demo.history_path,
                trusted_keys=[demo.trusted_key(), *args.trust],
                keys_dir=demo.trusted_keys_dir,
                journal_dir=demo.journal_dir,
                demo=True,  # the demo key is expected here: no "public demo key" warning
            )
        else:
            engine = Engine(db_path=args.db, trusted_keys=args.trust, demo=args.demo)
        model = AppModel(engine)
        languages = LanguageSwitcher(app)
        language = args.lang or system_language()
        packages_dir = demo.packages_dir() if demo is not None else None
        window = MainWindow(model, languages, packages_dir)
        model.set_theme(args.theme)
        if language != model.language:
            model.set_language(language)
        if demo_refused is not None:
            model.report_error(demo_refused)
        # In demo mode the wizard opens as soon as the demo battery answers; otherwise the package
        # waits, shown on the Update page, for the technician to connect one.
        open_when_connected = demo is not None
        file_open = FileOpenHandler(app, lambda path: window.open_package(path, open_when_connected))
        if args.package is not None:
            window.open_package(args.package, open_when_connected)
        if demo is not None:
            model.connect_device(demo.link)
    except BaseException:
        if demo is not None:
            demo.close()
        raise
    return Session(app, model, window, languages, demo, file_open)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bmsflasher-gui``; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="bmsflasher-gui", description="bmsflasher desktop application")
    parser.add_argument("--version", action="version", version=f"bmsflasher {__version__}")
    add_arguments(parser)
    arguments = list(sys.argv[1:] if argv is None else argv)
    # macOS before 10.9 added a process serial number when Finder launched an app; never a package.
    args = parser.parse_args([a for a in arguments if not a.startswith("-psn_")])
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run the application until its window closes."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if QApplication.instance() is None:
        problem = display_problem(this_machine(os.environ))
        if problem is not None:  # Qt would abort the process (core dump) or blame the wrong library
            print(f"error: {problem.message}", file=sys.stderr)
            return problem.exit_code
    qt_compat.apply()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    prepare_application(app, args.theme)
    try:
        quit_ms = quit_after_ms(args)
        session = build_session(args, app)
    except BmsFlasherError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    session.window.show()
    wake = _quit_on_signals(app)
    if quit_ms is not None:
        QTimer.singleShot(quit_ms, app.quit)
    try:
        code = app.exec()
    finally:
        wake.stop()
        session.close()
    return int(code)


def prepare_application(app: QApplication, theme: str) -> None:
    """Name, version, desktop entry, icon and theme: what the desktop shows about the application."""
    app.setApplicationName("bmsflasher")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    app.setWindowIcon(icon("app"))
    apply_theme(app, theme)


def _quit_on_signals(app: QApplication) -> QTimer:
    """Let Ctrl+C and SIGTERM close the application cleanly (demo device included).

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++; a short timer
    hands control back to Python regularly so the handler gets its turn.
    """
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda _signum, _frame: app.quit())
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


if __name__ == "__main__":
    sys.exit(main())
