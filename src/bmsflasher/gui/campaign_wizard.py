"""The campaign wizard: a whole pack updated to one release bundle, all or nothing.

Three pages follow the campaign procedure (:mod:`bmsflasher.procedure.campaign`, through the engine):

1. **Bundle** — the technician picks a ``.bmsbundle``; "Check the pack" starts the campaign, which
   verifies the bundle, matches every node to it and measures every node's preconditions.
2. **Preconditions** — every node's gates as they are measured (node, check, value, limit, result).
   When all pass, the campaign waits for "Update the pack" before its first write; Cancel (or
   closing the window) answers no, and nothing is written. A refusal ends here with its reason.
3. **Update** — a row per node (step, progress, result), the pack's self-test checks and log, then
   the pack's end: every node confirmed on the new set, or every node back on its old set.
   "Roll back the pack" returns a confirmed pack to its previous set (``rollback --all``), and
   "Save service report…" writes the campaign's report with its nodes table.

While the campaign writes, the wizard cannot be closed (as the single-battery wizard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.events import Event, LogLine, Measurement, StepStarted
from bmsflasher.gui.campaign_rows import CampaignRows, step_text
from bmsflasher.gui.engine import CampaignApproval, CampaignOutcome
from bmsflasher.gui.engine_text import device_item, measured, plain_label, sentence, shown
from bmsflasher.gui.pack_model import PackModel
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt, measurement_name

BUNDLE_PAGE, PRECONDITIONS_PAGE, RUN_PAGE = range(3)
BUNDLE_SUFFIX: Final = ".bmsbundle"

_PACK_CHECKS: Final = {
    "node_fault": QT_TRANSLATE_NOOP("CampaignWizard", "No node in fault"),
    "pack_nodes_answer": QT_TRANSLATE_NOOP("CampaignWizard", "Every node answers"),
    "pack_versions": QT_TRANSLATE_NOOP("CampaignWizard", "Every node runs the set"),
    "pack_voltage_sum": QT_TRANSLATE_NOOP("CampaignWizard", "Pack voltage = sum of modules"),
    "pack_communication": QT_TRANSLATE_NOOP("CampaignWizard", "Communication between nodes"),
}


def check_name(name: str) -> str:
    """A gate's or check's name, translated: the pack's own checks here, the others as everywhere."""
    source = _PACK_CHECKS.get(name)
    return QCoreApplication.translate("CampaignWizard", str(source)) if source else measurement_name(name)


class ChecksTable(QTableWidget):
    """Measurements as rows: (node,) check, value, limit, result — the gates and the pack's self-test."""

    def __init__(self, with_node: bool, parent: QWidget | None = None) -> None:
        super().__init__(0, 5 if with_node else 4, parent)
        self._with_node = with_node
        self.verticalHeader().hide()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.horizontalHeader()
        for column in range(self.columnCount() - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.measurements: list[tuple[str, Measurement]] = []

    def set_titles(self, node: str, check: str, value: str, limit: str, result: str) -> None:
        self.setHorizontalHeaderLabels(
            [node, check, value, limit, result] if self._with_node else [check, value, limit, result]
        )
        rows, self.measurements = self.measurements, []
        self.setRowCount(0)
        for serial, measurement in rows:
            self.add(serial, measurement)

    def add(self, serial: str, measurement: Measurement) -> None:
        self.measurements.append((serial, measurement))
        row = self.rowCount()
        self.insertRow(row)
        cells: list[QTableWidgetItem] = [device_item(serial)] if self._with_node else []
        mark = "✓" if measurement.passed else "✗"
        result = mark if measurement.passed else f"{mark} {sentence(measurement.why)}".strip()
        cells += [
            QTableWidgetItem(check_name(measurement.name)),
            QTableWidgetItem(measured(measurement.value)),
            QTableWidgetItem(measured(measurement.limit)),
            QTableWidgetItem(result),
        ]
        for column, item in enumerate(cells):
            self.setItem(row, column, item)
        self.scrollToBottom()

    @property
    def failed(self) -> list[tuple[str, Measurement]]:
        return [(serial, m) for serial, m in self.measurements if not m.passed]


class CampaignWizard(RetranslateOnLanguageChange, QDialog):
    """Bundle → preconditions → a row per node; one Roll back for the whole pack."""

    def __init__(self, model: PackModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("campaign_wizard")
        self.model = model
        self.bundle: Path | None = None
        self.outcome: CampaignOutcome | None = None
        self.approval: CampaignApproval | None = None
        self.running = False
        self._waiting_approval = False
        self._phase = ""
        self._status_source: tuple[str, tuple[object, ...]] = ("", ())
        self._run_title_source = "update"
        self._log_lines: list[object] = []
        self._error: tuple[object, object] = ("", "")
        self._report_path = ""
        self.resize(1100, 680)

        # page 1: bundle
        bundle_page = QWidget(self)
        self.bundle_title = QLabel(bundle_page)
        self.bundle_title.setObjectName("page_title")
        self.bundle_explanation = QLabel(bundle_page)
        self.bundle_explanation.setWordWrap(True)
        self.bundle_edit = QLineEdit(bundle_page)
        self.bundle_edit.setObjectName("bundle_path")
        self.bundle_edit.setReadOnly(True)
        self.choose_button = QPushButton(bundle_page)
        self.choose_button.setObjectName("choose_bundle_button")
        self.pack_summary = QLabel(bundle_page)
        self.pack_summary.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.bundle_edit, 1)
        row.addWidget(self.choose_button)
        bundle_layout = QVBoxLayout(bundle_page)
        bundle_layout.addWidget(self.bundle_title)
        bundle_layout.addWidget(self.bundle_explanation)
        bundle_layout.addLayout(row)
        bundle_layout.addWidget(self.pack_summary)
        bundle_layout.addStretch(1)

        # page 2: preconditions
        preconditions_page = QWidget(self)
        self.preconditions_title = QLabel(preconditions_page)
        self.preconditions_title.setObjectName("page_title")
        self.preconditions_status = plain_label(QLabel(preconditions_page), device=False)
        self.preconditions_status.setObjectName("preconditions_status")
        self.preconditions_status.setWordWrap(True)
        self.gates = ChecksTable(True, preconditions_page)
        self.gates.setObjectName("pack_gates")
        preconditions_layout = QVBoxLayout(preconditions_page)
        preconditions_layout.addWidget(self.preconditions_title)
        preconditions_layout.addWidget(self.preconditions_status)
        preconditions_layout.addWidget(self.gates, 1)

        # page 3: a row per node
        run_page = QWidget(self)
        self.run_title = QLabel(run_page)
        self.run_title.setObjectName("page_title")
        self.phase_label = QLabel(run_page)
        self.phase_label.setObjectName("campaign_phase")
        self.rows = CampaignRows(run_page)
        self.pack_checks_label = QLabel(run_page)
        self.pack_checks = ChecksTable(False, run_page)
        self.pack_checks.setObjectName("pack_checks")
        self.pack_checks.setMinimumHeight(150)
        self._show_pack_checks(False)
        self.log = QPlainTextEdit(run_page)
        self.log.setObjectName("campaign_log")
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(70)
        self.outcome_label = plain_label(QLabel(run_page), device=False)
        self.outcome_label.setObjectName("campaign_outcome")
        self.outcome_label.setWordWrap(True)
        run_layout = QVBoxLayout(run_page)
        run_layout.addWidget(self.run_title)
        run_layout.addWidget(self.phase_label)
        run_layout.addWidget(self.rows, 4)
        run_layout.addWidget(self.pack_checks_label)
        run_layout.addWidget(self.pack_checks, 1)
        run_layout.addWidget(self.log)
        run_layout.addWidget(self.outcome_label)

        self.stack = QStackedWidget(self)
        for page in (bundle_page, preconditions_page, run_page):
            self.stack.addWidget(page)

        self.check_button = QPushButton(self)
        self.check_button.setObjectName("check_pack_button")
        self.approve_button = QPushButton(self)
        self.approve_button.setObjectName("approve_campaign_button")
        self.rollback_button = QPushButton(self)
        self.rollback_button.setObjectName("pack_rollback_button")
        self.report_button = QPushButton(self)
        self.report_button.setObjectName("pack_report_button")
        self.cancel_button = QPushButton(self)
        self.cancel_button.setObjectName("cancel_campaign_button")
        self.close_button = QPushButton(self)
        self.close_button.setObjectName("close_campaign_button")
        buttons = QHBoxLayout()
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.report_button)
        buttons.addStretch(1)
        for button in (self.check_button, self.approve_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

        self.choose_button.clicked.connect(self._choose_bundle)
        self.check_button.clicked.connect(self.check_pack)
        self.approve_button.clicked.connect(self.approve)
        self.cancel_button.clicked.connect(self._cancel)
        self.close_button.clicked.connect(self.close)
        self.rollback_button.clicked.connect(self.roll_back_pack)
        self.report_button.clicked.connect(self._save_report)
        model.sig_approval.connect(self._on_approval)
        model.sig_node_event.connect(self._on_node_event)
        model.sig_pack_event.connect(self._on_pack_event)
        model.sig_campaign_finished.connect(self._on_finished)
        model.sig_busy.connect(self._on_busy)
        model.sig_report_saved.connect(self._on_report_saved)
        model.sig_error.connect(self._on_error)
        self.retranslate()
        self._update_buttons()

    # --- text ----------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Update the pack"))
        self.bundle_title.setText(self.tr("1 · Release bundle"))
        self.bundle_explanation.setText(
            self.tr(
                "A release bundle holds one signed package per node type, released together. The campaign "
                "checks every node's preconditions, backs up every configuration, transfers to every "
                "node (BMUs first, the BCU last), test-boots and self-tests every node and the pack, and "
                "only then confirms them all. If anything fails before that, every node returns to its "
                "previous firmware: the pack never ends on a mix of versions."
            )
        )
        self.choose_button.setText(self.tr("&Choose…"))
        self.bundle_edit.setPlaceholderText(self.tr("No bundle chosen"))
        self.pack_summary.setText(self._pack_summary())
        self.preconditions_title.setText(self.tr("2 · Preconditions of every node"))
        self.run_title.setText(
            self.tr("3 · Update, node by node")
            if self._run_title_source == "update"
            else self.tr("Pack rollback")
        )
        self.pack_checks_label.setText(self.tr("Pack checks"))
        titles = (self.tr("Node"), self.tr("Check"), self.tr("Value"), self.tr("Limit"), self.tr("Result"))
        self.gates.set_titles(*titles)
        self.pack_checks.set_titles(*titles)
        self.check_button.setText(self.tr("Check the &pack"))
        self.approve_button.setText(self.tr("&Update the pack"))
        self.rollback_button.setText(self.tr("Roll &back the pack"))
        self.report_button.setText(self.tr("&Save service report…"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.close_button.setText(self.tr("Close"))
        self._show_status()
        self._show_phase()
        self._show_outcome()
        self.log.setPlainText("\n".join(shown(line) for line in self._log_lines))

    def _pack_summary(self) -> str:
        nodes = self.model.nodes
        if not nodes:
            return self.tr("The pack has not been read yet: the campaign finds its nodes itself.")
        count = {tier: sum(1 for n in nodes if n.tier == tier) for tier in ("bcu", "bmc", "bmu")}
        return fmt(
            self.tr("The pack on this bus has %1 nodes: %2 BCU, %3 BMC, %4 BMU."),
            len(nodes),
            count["bcu"],
            count["bmc"],
            count["bmu"],
        )

    def _set_status(self, source: str, *args: object) -> None:
        self._status_source = (source, args)
        self._show_status()

    def _show_status(self) -> None:
        source, args = self._status_source
        texts = {
            "checking": self.tr("Verifying the bundle and measuring every node's preconditions…"),
            "approve": self.tr("Every node passed its preconditions. Update the %1 nodes of the pack to %2?"),
            "cancelling": self.tr("Cancelling: nothing will be written."),
        }
        text = texts.get(source, "")
        if source == "outcome" and self.outcome is not None:
            text = sentence(self.outcome.message)
        elif source == "error":
            text = self._error_text()
        self.preconditions_status.setText(fmt(text, *args) if text else "")

    def _show_phase(self) -> None:
        self.phase_label.setText(fmt(self.tr("Phase: %1"), step_text(self._phase)) if self._phase else "")

    def _show_outcome(self) -> None:
        outcome = self.outcome
        if outcome is None:
            self.outcome_label.setText("")
            return
        text = sentence(outcome.message)
        if outcome.hint:
            text = f"{text}\n{sentence(outcome.hint)}"
        if self._report_path:
            text = f"{text}\n{fmt(self.tr('Service report saved: %1'), self._report_path)}"
        self.outcome_label.setText(text)

    # --- flow ----------------------------------------------------------------------------------
    def select_bundle(self, path: Path) -> None:
        """Preselect a bundle (the file dialog, or a test)."""
        self.bundle = path
        self.bundle_edit.setText(str(path))
        self._update_buttons()

    @Slot()
    def _choose_bundle(self) -> None:
        folder = self.model.bundles_dir()
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Choose a release bundle"),
            str(folder or ""),
            self.tr("Release bundles (*.bmsbundle)"),
        )
        if path:
            self.select_bundle(Path(path))

    @Slot()
    def check_pack(self) -> None:
        """Start the campaign: bundle, matching and every node's preconditions (nothing written yet)."""
        if self.bundle is None or self.model.busy:
            return
        self.outcome = None
        self.approval = None
        self.gates.set_titles(*self._titles())
        self.gates.setRowCount(0)
        self.gates.measurements = []
        self.rows.clear_rows()
        self.pack_checks.setRowCount(0)
        self.pack_checks.measurements = []
        self._show_pack_checks(False)
        self.log.clear()
        self._log_lines = []
        self._phase = ""
        self._run_title_source = "update"
        self.retranslate()
        self.stack.setCurrentIndex(PRECONDITIONS_PAGE)
        self._set_status("checking")
        self.running = True
        self.model.run_campaign(self.bundle)
        self._update_buttons()

    def _titles(self) -> tuple[str, str, str, str, str]:
        return (self.tr("Node"), self.tr("Check"), self.tr("Value"), self.tr("Limit"), self.tr("Result"))

    @Slot(object)
    def _on_approval(self, question: CampaignApproval) -> None:
        self.approval = question
        self._waiting_approval = True
        for serial, tier, model, _old, _new in question.nodes:
            self.rows.add_node(serial, tier, model)
        self._set_status("approve", len(question.nodes), question.release)
        self._update_buttons()

    @Slot()
    def approve(self) -> None:
        """The technician's go: the first write happens now."""
        if not self._waiting_approval:
            return
        self._waiting_approval = False
        self.stack.setCurrentIndex(RUN_PAGE)
        self.model.answer_approval(True)
        self._update_buttons()

    @Slot()
    def _cancel(self) -> None:
        if self._waiting_approval:
            self._waiting_approval = False
            self.model.answer_approval(False)
            self._set_status("cancelling")
        elif not self.running:
            self.close()
        self._update_buttons()

    @Slot()
    def roll_back_pack(self) -> None:
        """Every node of the pack back on its previous firmware (one rollback for the whole pack)."""
        if self.model.busy:
            return
        self.outcome = None
        self._run_title_source = "rollback"
        self._phase = ""
        self.rows.clear_rows()
        for node in self.model.nodes:
            self.rows.add_node(node.serial, node.tier, node.model)
        self.pack_checks.setRowCount(0)
        self.pack_checks.measurements = []
        self._show_pack_checks(False)
        self.retranslate()
        self.stack.setCurrentIndex(RUN_PAGE)
        self.running = True
        self.model.rollback_pack()
        self._update_buttons()

    @Slot(str, object)
    def _on_node_event(self, serial: str, event: Event) -> None:
        if isinstance(event, Measurement):
            if self.stack.currentIndex() == PRECONDITIONS_PAGE:
                self.gates.add(serial, event)
            return
        self.rows.node_event(serial, event)

    @Slot(object)
    def _on_pack_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._phase = event.step
            self._show_phase()
            self.pack_checks.setRowCount(0)  # each phase's pack self-test replaces the last one
            self.pack_checks.measurements = []
            self._show_pack_checks(False)
        elif isinstance(event, Measurement):
            self.pack_checks.add("", event)
            self._show_pack_checks(True)
        elif isinstance(event, LogLine):
            self._log_lines.append(event.message)
            self.log.appendPlainText(shown(event.message))

    def _show_pack_checks(self, shown_now: bool) -> None:
        """The pack's checks take room only once the pack self-test has run (the node rows need it)."""
        self.pack_checks_label.setVisible(shown_now)
        self.pack_checks.setVisible(shown_now)

    @Slot(object)
    def _on_finished(self, outcome: CampaignOutcome) -> None:
        self._report_path = ""
        self.running = False
        self._waiting_approval = False
        self.outcome = outcome
        self.rows.finish(outcome.nodes)
        if self.stack.currentIndex() == PRECONDITIONS_PAGE:
            self._set_status("outcome")
        self._show_outcome()
        self._update_buttons()

    @Slot(object, object)
    def _on_error(self, message: object, hint: object) -> None:
        """A job that stopped with an error (an unreadable bundle, a bus that cannot be opened)."""
        if not self.running:
            return
        self.running = False
        self._waiting_approval = False
        self._error = (message, hint)
        self._set_status("error")
        self.outcome_label.setText(self._error_text())
        self._update_buttons()

    def _error_text(self) -> str:
        message, hint = self._error
        return "\n".join(text for text in (sentence(message), sentence(hint)) if text)

    @Slot(str)
    def _on_busy(self, _job: str) -> None:
        self._update_buttons()

    @Slot()
    def _save_report(self) -> None:
        outcome = self.outcome
        if outcome is None or outcome.session_id is None:
            return
        default = self.model.engine.reports_folder() / f"pack-{outcome.pack or 'report'}.pdf"
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save the pack's service report"), str(default), self.tr("Reports (*.pdf *.html)")
        )
        if path:
            self.save_report(Path(path))

    def save_report(self, path: Path) -> None:
        """Write the service report of the campaign (or rollback) just shown."""
        if self.outcome is not None and self.outcome.session_id is not None:
            self.model.save_report(self.outcome.session_id, path)

    @Slot(str)
    def _on_report_saved(self, path: str) -> None:
        self._report_path = path
        self._show_outcome()

    def _update_buttons(self) -> None:
        page = self.stack.currentIndex()
        busy = bool(self.model.busy)
        self.check_button.setVisible(page == BUNDLE_PAGE)
        self.check_button.setEnabled(self.bundle is not None and not busy)
        self.approve_button.setVisible(page == PRECONDITIONS_PAGE)
        self.approve_button.setEnabled(self._waiting_approval)
        self.cancel_button.setVisible(page != RUN_PAGE and (self.running or page == BUNDLE_PAGE))
        self.cancel_button.setEnabled(page == BUNDLE_PAGE or self._waiting_approval)
        finished = not self.running and self.outcome is not None
        self.rollback_button.setVisible(page == RUN_PAGE)
        self.rollback_button.setEnabled(
            finished and not busy and self.outcome is not None and self.outcome.ok
        )
        self.report_button.setVisible(page == RUN_PAGE or finished)
        self.report_button.setEnabled(
            finished and self.outcome is not None and self.outcome.session_id is not None
        )
        self.close_button.setVisible(not self.running)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closed before the go: the campaign is cancelled (nothing written); while it writes: refused."""
        if self._waiting_approval:
            self._waiting_approval = False
            self.model.answer_approval(False)
        elif self.running and self.stack.currentIndex() == RUN_PAGE:
            event.ignore()
            return
        super().closeEvent(event)
