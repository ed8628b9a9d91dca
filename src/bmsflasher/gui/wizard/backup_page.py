"""Wizard page 4: the procedure re-checks, then backs up and verifies the configuration."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget, QWizardPage

from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.wizard import page_ids
from bmsflasher.gui.wizard.procedure_page_body import ProcedurePageBody
from bmsflasher.gui.wizard.run_state import UpdateRunState


class BackupPage(RetranslateOnLanguageChange, QWizardPage):
    """Step 4: re-check, then read and verify every configuration parameter."""

    STEPS = ("verify_package", "identify", "preconditions", "backup")

    def __init__(
        self, model: AppModel, run_state: UpdateRunState, log: LogView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_backup_page")
        self._model = model
        self.body = ProcedurePageBody(self, self.STEPS, run_state, log)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Configuration backup"))
        self.setSubTitle(
            self.tr("Every parameter is read, stored with its checksum, and read back to verify.")
        )
        self.body.explanation.setText(
            self.tr(
                "The procedure checks the package and the battery once more, then backs up the configuration "
                "so it can be restored whatever happens next."
            )
        )

    def initializePage(self) -> None:
        self.body.checklist.apply_theme(THEMES[self._model.theme_name])
        self.body.adopt_log()

    def isComplete(self) -> bool:
        return False  # the wizard advances by itself as the procedure does

    def nextId(self) -> int:
        return page_ids.TRANSFER
