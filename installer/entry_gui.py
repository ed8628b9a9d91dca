"""Frozen entry point of the ``bmsflasher-gui`` desktop program (no console window on Windows/macOS).

Two things differ from ``python -m bmsflasher.gui.app``:

* A windowed executable has no console: ``sys.stdout``/``sys.stderr`` are ``None``. Log lines and a
  crash's traceback would vanish, so they go to ``bmsflasher-gui.log`` in the user's log folder,
  where a support engineer can ask for them.
* ``BMSFLASHER_QUIT_AFTER_MS`` (smoke tests only) quits the application that many milliseconds after
  start, through the normal shutdown path, so a frozen build can be started and closed unattended.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path
from typing import TextIO

QUIT_AFTER_ENV = "BMSFLASHER_QUIT_AFTER_MS"


def _log_stream() -> TextIO | None:
    """Open the GUI's log file when the process has no console; None when it has one."""
    if sys.stderr is not None and sys.stdout is not None:
        return None
    import platformdirs

    folder = Path(platformdirs.user_log_dir("bmsflasher", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / "bmsflasher-gui.log").open("a", encoding="utf-8", buffering=1)


def _schedule_quit() -> None:
    """Quit the Qt event loop after BMSFLASHER_QUIT_AFTER_MS milliseconds, if that is set."""
    text = os.environ.get(QUIT_AFTER_ENV, "").strip()
    if not text:
        return
    try:
        delay_ms = int(text)
    except ValueError:
        sys.exit(f"error: {QUIT_AFTER_ENV} must be a whole number of milliseconds, not {text!r}")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from bmsflasher.gui import qt_compat

    qt_compat.apply()  # before the first QApplication, as bmsflasher.gui.app.run does
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QTimer.singleShot(max(0, delay_ms), app.quit)


def _run() -> int:
    stream = _log_stream()
    if stream is not None:
        sys.stdout = sys.stderr = stream
    _schedule_quit()
    from bmsflasher.gui.app import main

    return main()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(_run())
