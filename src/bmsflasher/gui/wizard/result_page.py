"""Wizard page 8: how the update ended, what to do next, and the three undo/record buttons.

**Roll back** reverts to the firmware in the other slot, **Restore config** writes the backup taken
before the transfer, **Save service report** writes the session's report. A failure shows the
troubleshooting row that applies (what to check, what to do), in the technician's language.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bmsflasher.core.types import DeviceIdentity
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import UpdateOutcome
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import fmt, step_title
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.widgets.measurement_table import MeasurementTable
from bmsflasher.gui.wizard.guidance import guidance_for
from bmsflasher.gui.wizard.run_state import UpdateRunState

_ICON_PX = 40


class ResultPage(RetranslateOnLanguageChange, QWizardPage):
    """Outcome, guidance, self-test summary and the Roll back / Restore config / report buttons."""

    def __init__(
        self, model: AppModel, run_state: UpdateRunState, log: LogView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_result_page")
        self.setFinalPage(True)
        self._model = model
        self._run_state = run_state
        self._log = log
        self.outcome: UpdateOutcome | None = None
        self._busy = False

        self.icon_label = QLabel(self)
        self.headline = QLabel(self)
        self.headline.setWordWrap(True)
        self.headline.setObjectName("result_headline")
        top = QHBoxLayout()
        top.addWidget(self.icon_label)
        top.addWidget(self.headline, 1)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.guidance_box = QGroupBox(self)
        self.guidance = QLabel(self.guidance_box)
        self.guidance.setWordWrap(True)
        QVBoxLayout(self.guidance_box).addWidget(self.guidance)
        self.table = MeasurementTable(self)
        self.rollback_button = QPushButton(self)
        self.rollback_button.setObjectName("rollback_button")
        self.restore_button = QPushButton(self)
        self.restore_button.setObjectName("restore_button")
        self.report_button = QPushButton(self)
        self.report_button.setObjectName("report_button")
        buttons = QHBoxLayout()
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(self.report_button)
        self.action_status = QLabel(self)
        self.action_status.setWordWrap(True)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(top)
        self._layout.addWidget(self.reason)
        self._layout.addWidget(self.guidance_box)
        self._layout.addWidget(self.table, 1)
        self._layout.addLayout(buttons)
        self._layout.addWidget(self.action_status)

        self.rollback_button.clicked.connect(self._on_rollback)
        self.restore_button.clicked.connect(self._on_restore)
        self.report_button.clicked.connect(self._on_report)
        model.sig_rollback_finished.connect(self._on_rolled_back)
        model.sig_config_written.connect(self._on_restored)
        model.sig_report_saved.connect(self._on_report_saved)
        model.sig_update_running.connect(self._on_running)
        model.sig_error.connect(self._on_error)
        bind_shortcut(self.rollback_button, "Ctrl+Shift+Z", self)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Result"))
        self.guidance_box.setTitle(self.tr("Troubleshooting"))
        self.rollback_button.setText(self.tr("&Roll back"))
        self.rollback_button.setToolTip(
            self.tr("Return to the firmware in the other slot; the battery reboots into it (Ctrl+Shift+Z).")
        )
        self.restore_button.setText(self.tr("Restore &config"))
        self.restore_button.setToolTip(self.tr("Write the configuration backed up before this update."))
        self.report_button.setText(self.tr("&Save service report…"))
        if self.outcome is not None:
            self.show_outcome(self.outcome)

    def initializePage(self) -> None:
        self._layout.addWidget(self._log, 1)
        self._log.show()
        if self._model.last_outcome is not None:
            self.show_outcome(self._model.last_outcome)

    # --- outcome ----------------------------------------------------------------------------------
    def show_outcome(self, outcome: UpdateOutcome) -> None:
        """Fill the page for one outcome (called again after a language change)."""
        self.outcome = outcome
        colors = THEMES[self._model.theme_name]
        self.table.apply_theme(colors)
        self._log.apply_theme(colors)
        target = outcome.to_version or "?"
        previous = outcome.from_version or "?"
        headlines = {
            "updated": (fmt(self.tr("Firmware updated to %1."), target), "ok", colors.good),
            "rolled_back": (
                fmt(self.tr("The new firmware failed its checks: the battery is back on %1."), previous),
                "rollback",
                colors.warning,
            ),
            "refused": (
                self.tr("The update was refused before anything was written."),
                "warning",
                colors.warning,
            ),
            "cancelled": (
                self.tr("The update was cancelled before anything was written."),
                "warning",
                colors.warning,
            ),
        }
        text, icon_name, color = headlines.get(
            outcome.result, (self.tr("The update failed."), "fail", colors.bad)
        )
        self.icon_label.setPixmap(icon(icon_name, color).pixmap(_ICON_PX, _ICON_PX))
        self.headline.setText(f'<span style="font-size:14pt; color:{color}"><b>{text}</b></span>')
        reason_lines = [outcome.message] if outcome.message else []
        if outcome.failed_step:
            reason_lines.append(fmt(self.tr("Step that stopped: %1"), step_title(outcome.failed_step)))
        if outcome.identity is not None and outcome.identity.firmware_version is not None:
            reason_lines.append(
                fmt(self.tr("The battery now runs firmware %1."), outcome.identity.firmware_version)
            )
        self.reason.setText("\n".join(reason_lines))
        advice = guidance_for(outcome.failure_kind) if outcome.failure_kind else None
        self.guidance_box.setVisible(advice is not None or bool(outcome.hint))
        if advice is not None:
            self.guidance.setText(
                f"<b>{advice.pattern}</b><br>"
                + fmt(self.tr("What to check: %1"), advice.diagnostic)
                + "<br>"
                + fmt(self.tr("What to do: %1"), advice.resolution)
            )
        else:
            self.guidance.setText(outcome.hint)
        checks = outcome.self_test or outcome.preconditions
        self.table.show_measurements(sorted(checks, key=lambda m: m.passed))  # failed checks first
        self._update_buttons()

    def _update_buttons(self) -> None:
        outcome = self.outcome
        idle = not self._busy and not self._model.update_running
        updated = outcome is not None and outcome.ok  # else the old firmware already runs
        self.rollback_button.setEnabled(idle and updated and self._model.connected)
        self.restore_button.setEnabled(
            idle and outcome is not None and outcome.backup_id is not None and self._model.connected
        )
        self.report_button.setEnabled(idle and outcome is not None and outcome.session_id is not None)

    # --- actions ----------------------------------------------------------------------------------
    @Slot()
    def _on_rollback(self) -> None:
        self._busy = True
        self._run_state.reset()
        self.action_status.setText(self.tr("Rolling back: the battery reboots into its other firmware…"))
        self._update_buttons()
        self._model.rollback()

    @Slot(object)
    def _on_rolled_back(self, identity: DeviceIdentity) -> None:
        self._busy = False
        self.action_status.setText(
            fmt(self.tr("Rolled back: the battery runs firmware %1."), identity.firmware_version or "?")
        )
        self._update_buttons()

    @Slot()
    def _on_restore(self) -> None:
        outcome = self.outcome
        if outcome is None or outcome.backup_id is None:
            return
        self._busy = True
        self.action_status.setText(self.tr("Restoring the configuration backup…"))
        self._update_buttons()
        self._model.restore_config(outcome.backup_id)

    @Slot(object)
    def _on_restored(self, _snapshot: Any) -> None:
        if self._busy:
            self._busy = False
            self.action_status.setText(self.tr("The configuration backup was restored."))
            self._update_buttons()

    @Slot()
    def _on_report(self) -> None:
        outcome = self.outcome
        if outcome is None or outcome.session_id is None:
            return
        name = f"bmsflasher-report-{datetime.now():%Y%m%d-%H%M%S}.html"
        suggested = str(self._model.reports_folder() / name)
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save service report"), suggested, self.tr("Service reports (*.html *.pdf)")
        )
        if path:
            self.save_report(Path(path))

    def save_report(self, path: Path) -> None:
        """Write the service report of this update to ``path`` (HTML or PDF by suffix)."""
        if self.outcome is not None and self.outcome.session_id is not None:
            self._model.save_report(self.outcome.session_id, path)

    @Slot(str)
    def _on_report_saved(self, path: str) -> None:
        self.action_status.setText(fmt(self.tr("Service report saved to %1."), path))

    @Slot(bool)
    def _on_running(self, _running: bool) -> None:
        self._update_buttons()

    @Slot(str, str)
    def _on_error(self, message: str, hint: str) -> None:
        if self._busy:
            self._busy = False
            self.action_status.setText(message + (f"\n{hint}" if hint else ""))
            self._update_buttons()
