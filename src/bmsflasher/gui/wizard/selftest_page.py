"""Wizard page 7: the self-test results live; a failed check rolls back automatically."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget, QWizardPage

from bmsflasher.core.events import Measurement
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.widgets.measurement_table import MeasurementTable
from bmsflasher.gui.wizard import page_ids
from bmsflasher.gui.wizard.procedure_page_body import ProcedurePageBody
from bmsflasher.gui.wizard.run_state import UpdateRunState


class SelfTestPage(RetranslateOnLanguageChange, QWizardPage):
    """Step 7: self-test, then confirm — or roll back automatically when a check fails."""

    STEPS = ("self_test", "confirm", "config_check", "rollback", "config_restore")
    ONLY_IF_RUN = ("rollback", "config_restore")
    """Listed only once the procedure starts them: a healthy update never rolls back or restores."""

    def __init__(
        self, model: AppModel, run_state: UpdateRunState, log: LogView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_selftest_page")
        self._model = model
        self.body = ProcedurePageBody(self, self.STEPS, run_state, log, only_if_run=self.ONLY_IF_RUN)
        self.table = MeasurementTable(self)
        self.body.layout.addWidget(self.table, 1)
        run_state.sig_measurement.connect(self._on_measurement)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Self-test"))
        self.setSubTitle(
            self.tr("Calibration (±0.5 %), temperature sensors, communication speed, balancing, fault codes.")
        )
        self.body.explanation.setText(
            self.tr("If any check fails, the previous firmware and configuration are restored automatically.")
        )

    def initializePage(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.body.checklist.apply_theme(colors)
        self.table.apply_theme(colors)
        self.table.show_measurements(self.body.run_state.measurements("self_test"))
        self.body.adopt_log()

    @Slot(str, object)
    def _on_measurement(self, step: str, measurement: Measurement) -> None:
        if step == "self_test":
            self.table.add_measurement(measurement)

    def isComplete(self) -> bool:
        return False

    def nextId(self) -> int:
        return page_ids.RESULT
