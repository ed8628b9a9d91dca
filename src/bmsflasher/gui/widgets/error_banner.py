"""A dismissable banner for errors: one sentence, the hint under it, never a modal box.

The message may be an engine sentence or the GUI's own: it is kept as given and shown again in the
new language after a switch, with a capital first letter (engine sentences may start lower-case).

Modal message boxes stop a technician's hands (and automated tests); a banner at the top of the
window says the same thing and goes away with Esc or its close button.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from bmsflasher.gui.engine_text import sentence
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.theme import LIGHT, ThemeColors


class ErrorBanner(RetranslateOnLanguageChange, QFrame):
    """Hidden until :meth:`show_error`; closes on its button or Esc."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("error_banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.icon = QLabel(self)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.addWidget(self.icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.hide)
        self._colors = LIGHT
        self.message = ""
        """The message as shown now (translated, capitalised)."""
        self._raw: tuple[object, object] = ("", "")
        self.hide()
        self.retranslate()

    def retranslate(self) -> None:
        self.close_button.setText("✕")
        self.close_button.setToolTip(self.tr("Dismiss (Esc)"))
        if self._raw != ("", ""):
            self._render()

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.setStyleSheet(
            f"#error_banner {{ border: 1px solid {colors.bad}; border-radius: 4px;"
            f" background: {colors.base}; }}"
        )
        self.icon.setPixmap(icon("warning", colors.bad).pixmap(22, 22))

    @Slot(object, object)
    def show_error(self, message: object, hint: object) -> None:
        """Show one error (engine or GUI sentence, kept to be shown again after a language switch)."""
        self._raw = (message, hint)
        self._render()
        self.show()

    def _render(self) -> None:
        message, hint = (sentence(part) for part in self._raw)
        self.message = message
        body = f"<b>{escape(message)}</b>"
        if hint:
            body += f"<br>{escape(hint)}"
        self.text.setText(body)
