"""The guided firmware update: a QWizard whose later pages follow the running procedure.

Pages 1–3 are the technician's decisions (package, verification, preconditions and overrides);
pressing "Start update" on page 3 hands the battery to the procedure, after which the wizard only
*follows* it: it moves to the page of each step as the step starts, and to the result page when the
procedure ends — on success, on a refusal, or after an automatic rollback. While the procedure runs
the wizard cannot be closed: a half-done update must end in a known state, not in a closed window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSize, Qt, Slot
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QWidget, QWizard

from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import UpdateOutcome
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.screen_fit import fitted_size
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.wizard import page_ids
from bmsflasher.gui.wizard.backup_page import BackupPage
from bmsflasher.gui.wizard.package_page import PackagePage
from bmsflasher.gui.wizard.preconditions_page import PreconditionsPage
from bmsflasher.gui.wizard.reboot_page import RebootPage
from bmsflasher.gui.wizard.result_page import ResultPage
from bmsflasher.gui.wizard.run_state import UpdateRunState
from bmsflasher.gui.wizard.selftest_page import SelfTestPage
from bmsflasher.gui.wizard.transfer_page import TransferPage
from bmsflasher.gui.wizard.verify_page import VerifyPage

WIZARD_WIDTH_PX = 1080
WIZARD_HEIGHT_PX = 720
"""Wide enough that each check's "why it matters" fits on two lines; shrunk to small screens."""


class UpdateWizard(RetranslateOnLanguageChange, QWizard):
    """Choose → verify → preconditions → backup → transfer → reboot → self-test → result."""

    def __init__(
        self, model: AppModel, packages_dir: Path | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("update_wizard")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        screen = self.screen()
        preferred = QSize(WIZARD_WIDTH_PX, WIZARD_HEIGHT_PX)
        self.resize(fitted_size(screen.availableGeometry(), preferred) if screen is not None else preferred)
        self._model = model
        self.run_state = UpdateRunState(self)
        self.log = LogView(self)
        self.log.hide()
        self.package_page = PackagePage(model, packages_dir, self)
        self.verify_page = VerifyPage(model, self)
        self.preconditions_page = PreconditionsPage(model, self)
        self.backup_page = BackupPage(model, self.run_state, self.log, self)
        self.transfer_page = TransferPage(model, self.run_state, self.log, self)
        self.reboot_page = RebootPage(model, self.run_state, self.log, self)
        self.selftest_page = SelfTestPage(model, self.run_state, self.log, self)
        self.result_page = ResultPage(model, self.run_state, self.log, self)
        pages = (
            (page_ids.PACKAGE, self.package_page),
            (page_ids.VERIFY, self.verify_page),
            (page_ids.PRECONDITIONS, self.preconditions_page),
            (page_ids.BACKUP, self.backup_page),
            (page_ids.TRANSFER, self.transfer_page),
            (page_ids.REBOOT, self.reboot_page),
            (page_ids.SELF_TEST, self.selftest_page),
            (page_ids.RESULT, self.result_page),
        )
        for page_id, page in pages:
            self.setPage(page_id, page)
        self.setStartId(page_ids.PACKAGE)

        model.sig_update_event.connect(self.run_state.on_event)
        self.run_state.sig_step_started.connect(self._follow_step)
        self.run_state.sig_log.connect(self.log.add)
        model.sig_update_finished.connect(self._on_finished)
        model.sig_update_running.connect(self._on_running)
        self.finished.connect(self._on_closed)
        self.currentIdChanged.connect(self._arrange_buttons)
        self.log.apply_theme(THEMES[model.theme_name])
        self.setWindowIcon(icon("update", THEMES[model.theme_name].text))
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Firmware update"))
        # QWizard writes its standard button texts once, when it is built; after a language switch
        # they are set again from Qt's own catalogue (the texts of the ModernStyle this wizard uses).
        button = QWizard.WizardButton
        for which, source in (
            (button.BackButton, "< &Back"),
            (button.NextButton, "&Next >"),
            (button.FinishButton, "&Finish"),
            (button.CancelButton, "Cancel"),
        ):
            self.setButtonText(which, QCoreApplication.translate("QWizard", source))

    # --- following the procedure -----------------------------------------------------------------
    @Slot(str)
    def _follow_step(self, step: str) -> None:
        target = page_ids.PAGE_OF_STEP.get(step)
        if target is not None:
            self._advance_to(target)

    def _advance_to(self, target: int) -> None:
        """Move forward page by page (each page's ``initializePage`` runs) until ``target``."""
        while self.currentId() < target and self.currentId() != -1:
            before = self.currentId()
            self.next()
            if self.currentId() == before:
                break

    @Slot(object)
    def _on_finished(self, outcome: UpdateOutcome) -> None:
        if self.currentId() >= page_ids.BACKUP or self._model.update_running:
            self._advance_to(page_ids.RESULT)
        if self.currentId() == page_ids.RESULT:
            self.result_page.show_outcome(outcome)

    @Slot(int)
    def _arrange_buttons(self, page_id: int) -> None:
        """Once the procedure owns the battery there is no Back and no Cancel: only its end."""
        button = QWizard.WizardButton
        if page_id >= page_ids.BACKUP:
            self.setButtonLayout([button.Stretch, button.NextButton, button.FinishButton])
        else:
            self.setButtonLayout(
                [button.Stretch, button.BackButton, button.NextButton, button.CommitButton,
                 button.FinishButton, button.CancelButton]
            )  # fmt: skip

    @Slot(bool)
    def _on_running(self, running: bool) -> None:
        for which in (QWizard.WizardButton.CancelButton, QWizard.WizardButton.BackButton):
            button = self.button(which)
            if button is not None:
                button.setEnabled(not running)

    # --- closing ----------------------------------------------------------------------------------
    def reject(self) -> None:
        if self._model.update_running:
            return  # the procedure must reach a safe end first
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._model.update_running:
            event.ignore()
            return
        super().closeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._model.update_running:
            event.ignore()
            return
        super().keyPressEvent(event)

    @Slot(int)
    def _on_closed(self, _result: int) -> None:
        self._model.resume_polling()
        if self._model.connected:
            self._model.refresh_identity()

    def nextId(self) -> int:
        current = self.currentId()
        outcome: Any = self._model.last_outcome
        if current >= page_ids.BACKUP and outcome is not None and not self._model.update_running:
            return page_ids.RESULT if current != page_ids.RESULT else -1
        return super().nextId()
