"""Wizard page 6: the battery reboots into the new image on trial and is found again."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget, QWizardPage

from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.wizard import page_ids
from bmsflasher.gui.wizard.procedure_page_body import ProcedurePageBody
from bmsflasher.gui.wizard.run_state import UpdateRunState


class RebootPage(RetranslateOnLanguageChange, QWizardPage):
    """Step 6: the battery reboots into the new image in test mode and is found again."""

    def __init__(
        self, model: AppModel, run_state: UpdateRunState, log: LogView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_reboot_page")
        self._model = model
        self.body = ProcedurePageBody(self, ("reboot",), run_state, log)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Reboot"))
        self.setSubTitle(
            self.tr("The bootloader checks the new image's signature and starts it once, on trial.")
        )
        self.body.explanation.setText(
            self.tr(
                "Protection circuits go down and come back with the new firmware. If it does not start, the "
                "bootloader returns to the old firmware by itself."
            )
        )

    def initializePage(self) -> None:
        self.body.checklist.apply_theme(THEMES[self._model.theme_name])
        self.body.adopt_log()

    def isComplete(self) -> bool:
        return False

    def nextId(self) -> int:
        return page_ids.SELF_TEST
