"""Packages the operating system hands to the running application (macOS Finder, Dock, "Open with").

Windows and Linux start ``bmsflasher-gui "<file>"`` with the package as an argument (the installer's
file association and .desktop entry). macOS instead sends an Apple Event to the application, which
Qt turns into a :class:`~PySide6.QtGui.QFileOpenEvent` delivered to the ``QApplication`` — at launch
and again whenever another package is opened while the application runs. This filter catches those
events and hands each path to the same function the command-line argument goes to.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

PackageOpener = Callable[[Path], None]


class FileOpenHandler(QObject):
    """Application event filter: every file-open event becomes a call of ``opener(path)``.

    Args:
        app: the application whose events are watched.
        opener: receives each opened file's local path.
    """

    def __init__(self, app: QApplication, opener: PackageOpener) -> None:
        super().__init__(app)
        self._app = app
        self._opener = opener
        self.opened: list[Path] = []
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            text = event.file() or event.url().toLocalFile()
            if text:
                path = Path(text)
                self.opened.append(path)
                self._opener(path)
                return True
        return super().eventFilter(watched, event)

    def remove(self) -> None:
        """Stop watching (the window it feeds is closing)."""
        self._app.removeEventFilter(self)
