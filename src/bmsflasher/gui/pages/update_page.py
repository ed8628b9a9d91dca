"""Update page: what the battery runs now, and the doors to the update wizard and to rollback.

The update itself is the wizard (it walks the technician through every step); this page is where
they start it, see the two image slots, and find the Roll back button outside an update too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bmsflasher.core.types import DeviceIdentity, DeviceMode
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import plain_label, sentence, shown
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import fmt, rollback_text
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.identity_view import IdentityView


class UpdatePage(RetranslateOnLanguageChange, QWidget):
    """Current firmware and slots, "Update firmware…" and "Roll back"."""

    sig_start_wizard = Signal()

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("update_page")
        self._model = model
        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)
        self.identity_box = QGroupBox(self)
        self.identity_view = IdentityView(self)
        QVBoxLayout(self.identity_box).addWidget(self.identity_view)
        self.start_button = QPushButton(self)
        self.start_button.setObjectName("start_update_button")
        self.rollback_button = QPushButton(self)
        self.rollback_button.setObjectName("rollback_button")
        self.rollback_note = plain_label(QLabel(self), device=False)
        self.rollback_note.setObjectName("rollback_note")
        self.rollback_note.setWordWrap(True)
        self.status = plain_label(QLabel(self), device=False)
        self.status.setWordWrap(True)
        self._status: Callable[[], str] | None = None
        self.pending_label = plain_label(QLabel(self), device=False)  # holds a file name
        self.pending_label.setObjectName("pending_package")
        self.pending_label.setWordWrap(True)
        self.pending_label.hide()
        self._pending: Path | None = None
        self._rolling_back = False
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.rollback_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.explanation)
        layout.addWidget(self.identity_box)
        layout.addWidget(self.pending_label)
        layout.addLayout(buttons)
        layout.addWidget(self.rollback_note)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.start_button.clicked.connect(self.sig_start_wizard)
        self.rollback_button.clicked.connect(self._on_rollback)
        model.sig_connection_changed.connect(self._on_connection)
        model.sig_update_running.connect(lambda _running: self._update_buttons())
        model.sig_rollback_finished.connect(self._on_rolled_back)
        model.sig_rollback_failed.connect(self._on_rollback_failed)
        model.sig_theme_changed.connect(lambda _name: self._apply_theme())
        bind_shortcut(self.start_button, "Ctrl+U", self)
        self.retranslate()
        self._apply_theme()
        self._update_buttons()

    def retranslate(self) -> None:
        self.title.setText(self.tr("Firmware update"))
        self.explanation.setText(
            self.tr(
                "The wizard checks the package's signature and compatibility, measures the preconditions "
                "(charge 20–80 %, temperature 0–45 °C, no load), backs up the configuration, transfers the "
                "firmware to the spare slot, reboots, runs the self-test and confirms — or rolls back by "
                "itself. Nothing is left half-done."
            )
        )
        self.identity_box.setTitle(self.tr("The battery now"))
        self.start_button.setText(self.tr("&Update firmware… (Ctrl+U)"))
        self.rollback_button.setText(self.tr("Roll &back to the other slot"))
        self.show_pending_package(self._pending)
        self._update_buttons()
        if self._status is not None:
            self.status.setText(self._status())

    def show_pending_package(self, path: Path | None) -> None:
        """Announce a package opened from outside that the wizard will preselect (None: hide it)."""
        self._pending = path
        if path is None:
            self.pending_label.clear()
            self.pending_label.hide()
            return
        self.pending_label.setText(
            fmt(
                self.tr("Package %1 is ready to install: connect a battery, then open the update wizard."),
                path.name,
            )
        )
        self.pending_label.setToolTip(str(path))
        self.pending_label.show()

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.start_button.setIcon(icon("update", colors.text))
        self.rollback_button.setIcon(icon("rollback", colors.text))

    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None) -> None:
        self.identity_view.show_identity(identity)
        reason = self._model.read_only_reason  # a battery watched through its CAN broadcasts
        if identity is not None and reason is not None:
            self._set_status(lambda: shown(reason))
        self._update_buttons()

    def _set_status(self, render: Callable[[], str] | None) -> None:
        """Show a status line that is written again in the new language after a switch."""
        self._status = render
        self.status.setText(render() if render is not None else "")

    @Slot()
    def _on_rollback(self) -> None:
        self._rolling_back = True
        self._set_status(lambda: self.tr("Rolling back: the battery reboots into its other firmware…"))
        self._model.rollback()

    @Slot(object)
    def _on_rolled_back(self, identity: DeviceIdentity) -> None:
        self._rolling_back = False
        version = identity.firmware_version or "?"
        self._set_status(lambda: fmt(self.tr("Rolled back: the battery runs firmware %1."), version))

    @Slot(object, object)
    def _on_rollback_failed(self, message: object, hint: object) -> None:
        """A refused rollback replaces "Rolling back…" with what happened: nothing changed."""
        if not self._rolling_back:
            return
        self._rolling_back = False
        self._set_status(
            lambda: (
                fmt(self.tr("Nothing was rolled back: %1"), sentence(message))
                + (f"\n{sentence(hint)}" if hint else "")
            )
        )

    def _update_buttons(self) -> None:
        identity = self._model.identity
        ready = (
            identity is not None
            and identity.mode is DeviceMode.APPLICATION
            and not self._model.update_running
            and self._model.read_only_reason is None
        )
        blocker = self._model.rollback_blocker()
        reason = rollback_text(blocker, identity)
        self.start_button.setEnabled(ready)
        self.rollback_button.setEnabled(ready and blocker is None)
        self.rollback_button.setToolTip(reason)
        self.rollback_note.setText(reason)
