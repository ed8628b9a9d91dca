"""Wizard page 5: the transfer, with progress bar, throughput, time left and the live log."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget, QWizardPage

from bmsflasher.core.events import Progress
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.wizard import page_ids
from bmsflasher.gui.wizard.procedure_page_body import ProcedurePageBody
from bmsflasher.gui.wizard.run_state import UpdateRunState


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    return f"{total // 60}:{total % 60:02d}"


class TransferPage(RetranslateOnLanguageChange, QWizardPage):
    """Step 5: the image goes to the battery's secondary slot; the running firmware is untouched."""

    def __init__(
        self, model: AppModel, run_state: UpdateRunState, log: LogView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_transfer_page")
        self._model = model
        self.body = ProcedurePageBody(self, ("transfer",), run_state, log)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.bytes_label = QLabel(self)
        self.rate_label = QLabel(self)
        self.eta_label = QLabel(self)
        for widget in (self.progress, self.bytes_label, self.rate_label, self.eta_label):
            self.body.layout.addWidget(widget)
        self.last_progress: Progress | None = None
        run_state.sig_progress.connect(self.show_progress)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Firmware transfer"))
        self.setSubTitle(
            self.tr("The new firmware is written to the spare slot; the battery keeps running the old one.")
        )
        self.body.explanation.setText(
            self.tr("If the cable is pulled, plug it back in and start the update again: it resumes.")
        )
        self.show_progress(self.last_progress)

    def initializePage(self) -> None:
        self.body.checklist.apply_theme(THEMES[self._model.theme_name])
        self.body.adopt_log()

    @Slot(object)
    def show_progress(self, progress: Progress | None) -> None:
        """Update the bar, bytes, throughput and time left."""
        self.last_progress = progress
        if progress is None:
            self.bytes_label.setText(fmt(self.tr("Sent: %1"), "—"))
            self.rate_label.setText(fmt(self.tr("Throughput: %1"), "—"))
            self.eta_label.setText(fmt(self.tr("Time left: %1"), "—"))
            return
        self.progress.setValue(round(progress.fraction * 1000))
        self.bytes_label.setText(
            fmt(self.tr("Sent: %1 of %2 KiB"), f"{progress.done / 1024:.1f}", f"{progress.total / 1024:.1f}")
        )
        self.rate_label.setText(fmt(self.tr("Throughput: %1"), f"{progress.throughput_bps / 1024:.1f} KiB/s"))
        self.eta_label.setText(fmt(self.tr("Time left: %1"), _format_duration(progress.eta_s)))

    def isComplete(self) -> bool:
        return False

    def nextId(self) -> int:
        return page_ids.REBOOT
