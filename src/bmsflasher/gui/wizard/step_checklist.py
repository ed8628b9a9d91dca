"""A short checklist of procedure steps with their live status (waiting, running, done, failed)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Slot
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from bmsflasher.gui.icons import icon
from bmsflasher.gui.texts import step_title
from bmsflasher.gui.theme import LIGHT, ThemeColors
from bmsflasher.gui.wizard.run_state import UpdateRunState

_ICON_PX = 18


class StepChecklist(QWidget):
    """One row per step: an icon and the translated title, plus the step's detail when it failed."""

    def __init__(
        self, steps: Sequence[str], run_state: UpdateRunState, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._steps = tuple(steps)
        self._state = run_state
        self._colors = LIGHT
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._icons: dict[str, QLabel] = {}
        self._titles: dict[str, QLabel] = {}
        for row, step in enumerate(self._steps):
            self._icons[step] = QLabel(self)
            self._titles[step] = QLabel(self)
            self._titles[step].setWordWrap(True)
            layout.addWidget(self._icons[step], row, 0)
            layout.addWidget(self._titles[step], row, 1)
        layout.setColumnStretch(1, 1)
        run_state.sig_step_started.connect(self._on_step)
        run_state.sig_step_finished.connect(lambda step, _ok, _detail: self._on_step(step))
        self.refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.refresh()

    @Slot(str)
    def _on_step(self, step: str) -> None:
        if step in self._steps:
            self.refresh()

    def refresh(self) -> None:
        """Redraw every row from the run state."""
        for step in self._steps:
            status = self._state.status(step)
            title = step_title(step)
            if status is None:
                name, color, text = "history", self._colors.muted_text, title
            elif not status.finished:
                name, color, text = "refresh", self._colors.highlight, f"<b>{title}…</b>"
            elif status.ok:
                name, color, text = "ok", self._colors.good, title
            else:
                name, color = "fail", self._colors.bad
                text = f"<b>{title}</b>" + (f" — {status.detail}" if status.detail else "")
            self._icons[step].setPixmap(icon(name, color).pixmap(_ICON_PX, _ICON_PX))
            self._titles[step].setText(text)
