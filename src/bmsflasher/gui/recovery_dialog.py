"""Emergency recovery: flash the last stable package into a battery that has no bootable firmware.

Opened from the Devices page's "Recover" button. The package is verified like any other (a device
in recovery will take whatever it is sent, so the host check matters even more here); the transfer
goes to the primary slot through the bootloader's serial recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.events import Event, LogLine, Progress
from bmsflasher.core.types import DeviceIdentity, LinkSettings
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import plain_label, sentence
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.wizard.guidance import guidance_for


class RecoveryDialog(RetranslateOnLanguageChange, QDialog):
    """Choose a package, flash it in recovery mode, and watch it happen."""

    def __init__(
        self, model: AppModel, link: LinkSettings, packages_dir: Path | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recovery_dialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._model = model
        self._link = link
        self._packages_dir = packages_dir
        self._running = False
        self.explanation = plain_label(QLabel(self), device=False)  # names the port
        self.explanation.setWordWrap(True)
        self.path_edit = QLineEdit(self)
        self.browse_button = QPushButton(self)
        # A bricked unit's bootloader often cannot tell its model or hardware revision: the technician
        # reads them from the label, and the procedure checks the package against them (recorded).
        self.label_hint = QLabel(self)
        self.label_hint.setWordWrap(True)
        self.model_edit = QLineEdit(self)
        self.hw_rev_edit = QLineEdit(self)
        self.hw_rev_edit.setMaximumWidth(120)
        label_row = QHBoxLayout()
        label_row.addWidget(self.model_edit, 1)
        label_row.addWidget(self.hw_rev_edit)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.log = LogView(self)
        self.log.apply_theme(THEMES[model.theme_name])
        self.status = plain_label(QLabel(self), device=False)  # engine sentences may quote device text
        self.status.setWordWrap(True)
        self._status: Callable[[], str] | None = None
        self.buttons = QDialogButtonBox(self)
        self.recover_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addLayout(row)
        layout.addWidget(self.label_hint)
        layout.addLayout(label_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(640, 420)

        self.browse_button.clicked.connect(self._on_browse)
        self.recover_button.clicked.connect(self._on_recover)
        self.close_button.clicked.connect(self.close)
        model.sig_update_event.connect(self._on_event)
        model.sig_recovery_finished.connect(self._on_finished)
        model.sig_error.connect(self._on_error)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Emergency recovery"))
        advice = guidance_for("stuck_in_recovery")
        text = fmt(self.tr("The battery on %1 has no bootable firmware."), self._link.describe())
        if advice is not None:
            text += " " + advice.diagnostic + " " + advice.resolution
        self.explanation.setText(text)
        self.path_edit.setPlaceholderText(self.tr("the last stable package (.bmspkg)"))
        self.browse_button.setText(self.tr("&Browse…"))
        self.label_hint.setText(
            self.tr(
                "If the battery cannot tell its model and hardware revision in recovery, type them from "
                "the label on the unit; the package is checked against them and they are recorded."
            )
        )
        self.model_edit.setPlaceholderText(self.tr("model on the label, e.g. VBMS-16"))
        self.hw_rev_edit.setPlaceholderText(self.tr("hardware revision"))
        self.recover_button.setText(self.tr("&Recover"))
        if self._status is not None:
            self.status.setText(self._status())

    def _set_status(self, render: Callable[[], str]) -> None:
        """A status line written again in the new language after a switch."""
        self._status = render
        self.status.setText(render())

    @Slot()
    def _on_browse(self) -> None:
        start = str(self._packages_dir) if self._packages_dir else ""
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Choose the last stable package"), start, self.tr("Firmware packages (*.bmspkg)")
        )
        if path:
            self.path_edit.setText(path)

    @Slot()
    def _on_recover(self) -> None:
        path = Path(self.path_edit.text().strip())
        if not path.is_file():
            self._set_status(lambda: self.tr("Choose an existing package file first."))
            return
        self._running = True
        self.recover_button.setEnabled(False)
        self._set_status(lambda: self.tr("Recovering…"))
        model = self.model_edit.text().strip() or None
        hw_rev = self.hw_rev_edit.text().strip() or None
        self._model.recover(self._link, path, model, hw_rev)

    @Slot(object)
    def _on_event(self, event: Event) -> None:
        if not self._running:
            return
        if isinstance(event, Progress):
            self.progress.setValue(round(event.fraction * 1000))
        elif isinstance(event, LogLine):
            self.log.add(event)

    @Slot(object)
    def _on_finished(self, identity: DeviceIdentity) -> None:
        self._running = False
        self.progress.setValue(1000)
        version = identity.firmware_version or "?"
        self._set_status(lambda: fmt(self.tr("Recovered: the battery runs firmware %1 again."), version))

    @Slot(object, object)
    def _on_error(self, message: object, hint: object) -> None:
        if self._running:
            self._running = False
            self.recover_button.setEnabled(True)
            self._set_status(lambda: sentence(message) + (f"\n{sentence(hint)}" if hint else ""))

    def reject(self) -> None:
        if not self._running:
            super().reject()
