"""A short checklist of procedure steps with their live status (waiting, running, done, failed)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from bmsflasher.gui.engine_text import sentence
from bmsflasher.gui.icons import icon
from bmsflasher.gui.texts import step_title
from bmsflasher.gui.theme import LIGHT, ThemeColors
from bmsflasher.gui.wizard.run_state import UpdateRunState

_ICON_PX = 18


class StepChecklist(QWidget):
    """One row per step: an icon and the translated title, plus the step's detail when it failed.

    ``only_if_run`` steps (rollback, configuration restore) happen only when something failed, so
    they appear only once the procedure starts them: a healthy update never lists them as pending.
    """

    def __init__(
        self,
        steps: Sequence[str],
        run_state: UpdateRunState,
        parent: QWidget | None = None,
        *,
        only_if_run: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self._steps = tuple(steps)
        self._only_if_run = frozenset(only_if_run)
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
            self._titles[step].setTextFormat(Qt.TextFormat.RichText)  # bold titles, escaped details
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
            title = escape(step_title(step))
            shown = status is not None or step not in self._only_if_run
            self._icons[step].setVisible(shown)
            self._titles[step].setVisible(shown)
            if status is None:
                name, color, text = "history", self._colors.muted_text, title
            elif not status.finished:
                name, color, text = "refresh", self._colors.highlight, f"<b>{title}…</b>"
            elif status.ok:
                name, color, text = "ok", self._colors.good, title
            else:
                name, color = "fail", self._colors.bad
                detail = escape(sentence(status.detail)) if status.detail else ""
                text = f"<b>{title}</b>" + (f" — {detail}" if detail else "")
            self._icons[step].setPixmap(icon(name, color).pixmap(_ICON_PX, _ICON_PX))
            self._titles[step].setText(text)

    def is_listed(self, step: str) -> bool:
        """The step's row is shown (a conditional step only once it ran)."""
        return step in self._titles and not self._titles[step].isHidden()
