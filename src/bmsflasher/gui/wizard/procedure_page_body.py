"""What the wizard pages that follow the running procedure share.

These pages only *show* the procedure: it runs on the device thread and the wizard moves from page
to page as the steps start. Each shows its steps' live status and the one live log widget, which
moves to whichever page is current.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizardPage

from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.wizard.run_state import UpdateRunState
from bmsflasher.gui.wizard.step_checklist import StepChecklist


class ProcedurePageBody:
    """The part every progress page shares: explanation, checklist, and the live log slot."""

    def __init__(
        self,
        page: QWizardPage,
        steps: tuple[str, ...],
        run_state: UpdateRunState,
        log: LogView,
        *,
        only_if_run: tuple[str, ...] = (),
    ) -> None:
        self.page = page
        self.run_state = run_state
        self.log = log
        self.explanation = QLabel(page)
        self.explanation.setWordWrap(True)
        self.checklist = StepChecklist(steps, run_state, page, only_if_run=only_if_run)
        self.layout = QVBoxLayout(page)
        self.layout.addWidget(self.explanation)
        self.layout.addWidget(self.checklist)

    def adopt_log(self) -> None:
        """Move the shared log widget onto this page (it is one widget, shown on the current page)."""
        self.layout.addWidget(self.log, 1)
        self.log.show()
