"""The live log of a running procedure: one line per event, warnings and errors in colour.

A ``QPlainTextEdit`` with a block limit: appending is O(1) and a very long transfer cannot grow the
widget without bound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Final

from PySide6.QtWidgets import QPlainTextEdit, QWidget

from bmsflasher.core.events import LogLevel, LogLine
from bmsflasher.gui.engine_text import sentence
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.theme import LIGHT, ThemeColors

MAX_LINES: Final = 5000


class LogView(RetranslateOnLanguageChange, QPlainTextEdit):
    """Read-only, auto-scrolling log; its lines are shown again in the new language after a switch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("live_log")
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setMinimumHeight(90)
        self._colors = LIGHT
        self._lines: deque[LogLine] = deque(maxlen=MAX_LINES)

    def retranslate(self) -> None:
        self.replace_all(list(self._lines))

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors

    def add(self, line: LogLine) -> None:
        """Append one line with its time and, for warnings and errors, its colour."""
        self._lines.append(line)
        stamp = datetime.fromtimestamp(line.at_s).strftime("%H:%M:%S")
        color = {LogLevel.WARNING: self._colors.warning, LogLevel.ERROR: self._colors.bad}.get(line.level)
        text = escape(f"{stamp}  {sentence(line.message)}")
        self.appendHtml(f'<span style="color:{color}">{text}</span>' if color else text)

    def replace_all(self, lines: Iterable[LogLine]) -> None:
        """Show exactly these lines (a page that just became current catches up)."""
        self.clear()
        self._lines.clear()
        for line in lines:
            self.add(line)
