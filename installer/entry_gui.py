"""Frozen entry point of the ``bmsflasher-gui`` desktop program (no console window on Windows/macOS).

One thing differs from ``python -m bmsflasher.gui.app``: a windowed executable has no console, so
``sys.stdout``/``sys.stderr`` are ``None``. Log lines and a crash's traceback would vanish, so they go
to ``bmsflasher-gui.log`` in the user's log folder, where a support engineer can ask for them.

Everything else is the application's own: the ``.bmspkg`` argument the file associations pass
(``bmsflasher-gui "%1"`` on Windows, ``%f`` in the Linux .desktop entry), macOS file-open events,
and ``--quit-after-ms N`` (or ``BMSFLASHER_QUIT_AFTER_MS``) with which smoke tests start a frozen
build and close it unattended.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path
from typing import TextIO


def _log_stream() -> TextIO | None:
    """Open the GUI's log file when the process has no console; None when it has one."""
    if sys.stderr is not None and sys.stdout is not None:
        return None
    import platformdirs

    folder = Path(platformdirs.user_log_dir("bmsflasher", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / "bmsflasher-gui.log").open("a", encoding="utf-8", buffering=1)


def _run() -> int:
    stream = _log_stream()
    if stream is not None:
        sys.stdout = sys.stderr = stream
    from bmsflasher.gui.app import main

    return main()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(_run())
