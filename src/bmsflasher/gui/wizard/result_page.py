"""Wizard page 8: how the update ended, what to do next, and the three undo/record buttons.

**Roll back** reverts to the firmware in the other slot, **Restore config** writes the backup taken
before the transfer, **Save service report** writes the session's report. A failure shows the
troubleshooting row that applies (what to check, what to do), in the technician's language.

Whether Roll back can work is read from the battery's slots before it is pressed: when it cannot
(nothing in slot 1, an image the bootloader refuses under anti-rollback, a newer failed image) the
button is disabled and the reason is written beside it. Every check is visible without scrolling;
the live log folds away behind a button so it does not push the results out of sight.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
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
from bmsflasher.gui.engine import UpdateOutcome, rollback_blocker
from bmsflasher.gui.engine_text import plain_label, sentence
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import fmt, rollback_text, step_title
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.log_view import LogView
from bmsflasher.gui.widgets.measurement_table import MeasurementTable
from bmsflasher.gui.wizard.guidance import guidance_for
from bmsflasher.gui.wizard.run_state import UpdateRunState

_ICON_PX = 40
_ROWS_SHOWN = 14
"""The checks table grows to show this many rows before it scrolls (a self-test has about ten)."""


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
        self._action: Callable[[], str] | None = None
        """Renders the action status line (again after a language switch)."""

        self.icon_label = QLabel(self)
        self.headline = QLabel(self)
        self.headline.setWordWrap(True)
        self.headline.setObjectName("result_headline")
        self.headline.setTextFormat(Qt.TextFormat.RichText)  # large and coloured; versions escaped
        top = QHBoxLayout()
        top.addWidget(self.icon_label)
        top.addWidget(self.headline, 1)
        self.reason = plain_label(QLabel(self), device=False)  # engine sentences may quote device text
        self.reason.setWordWrap(True)
        self.guidance_box = QGroupBox(self)
        self.guidance = QLabel(self.guidance_box)
        self.guidance.setWordWrap(True)
        self.guidance.setTextFormat(Qt.TextFormat.RichText)
        QVBoxLayout(self.guidance_box).addWidget(self.guidance)
        self.table = MeasurementTable(self)
        self.table.fit_rows(_ROWS_SHOWN)
        self.rollback_button = QPushButton(self)
        self.rollback_button.setObjectName("rollback_button")
        self.restore_button = QPushButton(self)
        self.restore_button.setObjectName("restore_button")
        self.report_button = QPushButton(self)
        self.report_button.setObjectName("report_button")
        self.log_button = QPushButton(self)
        self.log_button.setObjectName("show_log_button")
        self.log_button.setCheckable(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(self.log_button)
        buttons.addWidget(self.report_button)
        self.rollback_note = plain_label(QLabel(self), device=False)
        self.rollback_note.setObjectName("rollback_note")
        self.rollback_note.setWordWrap(True)
        self.action_status = plain_label(QLabel(self), device=False)
        self.action_status.setWordWrap(True)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(top)
        self._layout.addWidget(self.reason)
        self._layout.addWidget(self.guidance_box)
        self._layout.addWidget(self.table, 1)
        self._layout.addLayout(buttons)
        self._layout.addWidget(self.rollback_note)
        self._layout.addWidget(self.action_status)

        self.rollback_button.clicked.connect(self._on_rollback)
        self.restore_button.clicked.connect(self._on_restore)
        self.report_button.clicked.connect(self._on_report)
        self.log_button.toggled.connect(self._show_log)
        model.sig_rollback_finished.connect(self._on_rolled_back)
        model.sig_rollback_failed.connect(self._on_rollback_failed)
        model.sig_config_written.connect(self._on_restored)
        model.sig_report_saved.connect(self._on_report_saved)
        model.sig_update_running.connect(self._on_running)
        model.sig_connection_changed.connect(self._on_connection)  # a method: gone with the page
        model.sig_error.connect(self._on_error)
        bind_shortcut(self.rollback_button, "Ctrl+Shift+Z", self)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Result"))
        self.guidance_box.setTitle(self.tr("Troubleshooting"))
        self.rollback_button.setText(self.tr("&Roll back"))
        self.restore_button.setText(self.tr("Restore &config"))
        self.restore_button.setToolTip(self.tr("Write the configuration backed up before this update."))
        self.report_button.setText(self.tr("&Save service report…"))
        self.log_button.setText(
            self.tr("Hide the &log") if self.log_button.isChecked() else self.tr("Show the &log")
        )
        if self.outcome is not None:
            self.show_outcome(self.outcome)
        self._update_buttons()
        if self._action is not None:
            self.action_status.setText(self._action())

    def initializePage(self) -> None:
        self._layout.addWidget(self._log, 1)
        self._show_log(self.log_button.isChecked())
        if self._model.last_outcome is not None:
            self.show_outcome(self._model.last_outcome)

    @Slot(bool)
    def _show_log(self, visible: bool) -> None:
        """The log is there for whoever wants the details; the results come first."""
        if self._log.parent() is self:
            self._log.setVisible(visible)
        self.log_button.setText(self.tr("Hide the &log") if visible else self.tr("Show the &log"))

    def _set_action(self, render: Callable[[], str]) -> None:
        self._action = render
        self.action_status.setText(render())

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
        self.headline.setText(f'<span style="font-size:14pt; color:{color}"><b>{escape(text)}</b></span>')
        reason_lines = [sentence(outcome.message)] if outcome.message else []
        if outcome.failed_step:
            reason_lines.append(fmt(self.tr("Step that stopped: %1"), step_title(outcome.failed_step)))
        if outcome.identity is not None and outcome.identity.firmware_version is not None:
            reason_lines.append(
                fmt(self.tr("The battery now runs firmware %1."), outcome.identity.firmware_version)
            )
        self.reason.setText("\n".join(reason_lines))
        self.reason.setVisible(bool(reason_lines))
        advice = guidance_for(outcome.failure_kind) if outcome.failure_kind else None
        self.guidance_box.setVisible(advice is not None or bool(outcome.hint))
        if advice is not None:
            self.guidance.setText(
                f"<b>{escape(advice.pattern)}</b><br>"
                + escape(fmt(self.tr("What to check: %1"), advice.diagnostic))
                + "<br>"
                + escape(fmt(self.tr("What to do: %1"), advice.resolution))
            )
        else:
            self.guidance.setText(escape(sentence(outcome.hint)))
        checks = outcome.self_test or outcome.preconditions
        self.table.show_measurements(sorted(checks, key=lambda m: m.passed))  # failed checks first
        self._update_buttons()

    def _identity(self) -> DeviceIdentity | None:
        """The battery as it is now: the model's newest identity, else what the outcome reported."""
        if not self._model.connected:
            return None
        outcome_identity = self.outcome.identity if self.outcome is not None else None
        return self._model.identity or outcome_identity

    def _update_buttons(self) -> None:
        outcome = self.outcome
        idle = not self._busy and not self._model.update_running
        identity = self._identity()
        blocker = rollback_blocker(identity)
        reason = rollback_text(blocker, identity)
        updated = outcome is not None and outcome.ok  # else the old firmware already runs
        self.rollback_button.setEnabled(idle and updated and identity is not None and blocker is None)
        self.rollback_button.setToolTip(reason + " (Ctrl+Shift+Z)")
        self.rollback_note.setText(reason if updated and blocker is not None else "")
        self.rollback_note.setVisible(updated and blocker is not None)
        self.restore_button.setEnabled(
            idle and outcome is not None and outcome.backup_id is not None and self._model.connected
        )
        self.report_button.setEnabled(idle and outcome is not None and outcome.session_id is not None)

    # --- actions ----------------------------------------------------------------------------------
    @Slot()
    def _on_rollback(self) -> None:
        self._busy = True
        self._run_state.reset()
        self._set_action(lambda: self.tr("Rolling back: the battery reboots into its other firmware…"))
        self._update_buttons()
        self._model.rollback()

    @Slot(object)
    def _on_rolled_back(self, identity: DeviceIdentity) -> None:
        self._busy = False
        version = identity.firmware_version or "?"
        self._set_action(lambda: fmt(self.tr("Rolled back: the battery runs firmware %1."), version))
        self._update_buttons()

    @Slot(object, object)
    def _on_rollback_failed(self, message: object, hint: object) -> None:
        if self._busy:
            self._busy = False
            self._set_action(lambda: self._failure_text(message, hint))
            self._update_buttons()

    def _failure_text(self, message: object, hint: object) -> str:
        text = fmt(self.tr("Nothing was rolled back: %1"), sentence(message))
        return text + (f"\n{sentence(hint)}" if hint else "")

    @Slot()
    def _on_restore(self) -> None:
        outcome = self.outcome
        if outcome is None or outcome.backup_id is None:
            return
        self._busy = True
        self._set_action(lambda: self.tr("Restoring the configuration backup…"))
        self._update_buttons()
        self._model.restore_config(outcome.backup_id)

    @Slot(object)
    def _on_restored(self, _snapshot: Any) -> None:
        if self._busy:
            self._busy = False
            self._set_action(lambda: self.tr("The configuration backup was restored."))
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
        self._set_action(lambda: fmt(self.tr("Service report saved to %1."), path))

    @Slot(bool)
    def _on_running(self, _running: bool) -> None:
        self._update_buttons()

    @Slot(object)
    def _on_connection(self, _identity: object) -> None:
        self._update_buttons()

    @Slot(object, object)
    def _on_error(self, message: object, hint: object) -> None:
        if self._busy and not self._model.update_running:  # a failed restore (a rollback says so itself)
            self._busy = False
            self._set_action(lambda: sentence(message) + (f"\n{sentence(hint)}" if hint else ""))
            self._update_buttons()
