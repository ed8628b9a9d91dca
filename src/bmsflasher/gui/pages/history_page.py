"""History page: every service session from the records database, and its report.

The history is the workshop's memory ("what was done to this pack last spring?"), so sessions show
their outcome plainly, including the ones a crash interrupted, and any session can be saved as a
service report (HTML or PDF).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, measured, sentence
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import fmt, measurement_name, outcome_text, session_kind_text, step_title
from bmsflasher.gui.theme import THEMES


class HistoryPage(RetranslateOnLanguageChange, QWidget):
    """Sessions table, the selected session's steps and measurements, and report export."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("history_page")
        self._model = model
        self._sessions: list[Any] = []
        self._detail: Any | None = None

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.refresh_button = QPushButton(self)
        self.report_button = QPushButton(self)
        self.status = QLabel(self)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.report_button)

        self.table = QTableWidget(0, 6, self)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setSizes([400, 250])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self.refresh_button.clicked.connect(model.load_history)
        self.report_button.clicked.connect(self._on_save_report)
        self.table.itemSelectionChanged.connect(self._on_selection)
        model.sig_history.connect(self.show_sessions)
        model.sig_session_detail.connect(self.show_detail)
        model.sig_report_saved.connect(
            lambda path: self.status.setText(fmt(self.tr("Report saved to %1"), path))
        )
        model.sig_update_finished.connect(lambda _outcome: model.load_history())
        model.sig_theme_changed.connect(lambda _name: self._apply_theme())
        bind_shortcut(self.refresh_button, "Ctrl+H", self)
        self.retranslate()
        self._apply_theme()
        self._update_buttons()

    def retranslate(self) -> None:
        self.title.setText(self.tr("History"))
        self.refresh_button.setText(self.tr("Re&fresh"))
        self.refresh_button.setToolTip(self.tr("Read the service history again (Ctrl+H)."))
        self.report_button.setText(self.tr("Save &report…"))
        self.report_button.setToolTip(self.tr("Save the selected session as an HTML or PDF service report."))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Session"),
                self.tr("Started"),
                self.tr("Battery"),
                self.tr("Kind"),
                self.tr("Outcome"),
                self.tr("Firmware"),
            ]
        )
        if self._sessions:
            self.show_sessions(self._sessions)
        if self._detail is not None:
            self.show_detail(self._detail)

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.refresh_button.setIcon(icon("refresh", colors.text))
        self.report_button.setIcon(icon("report", colors.text))
        if self._sessions:
            self.show_sessions(self._sessions)

    @Slot(list)
    def show_sessions(self, sessions: Sequence[Any]) -> None:
        """Fill the sessions table, newest first."""
        colors = THEMES[self._model.theme_name]
        self._sessions = list(sessions)
        self.table.setRowCount(len(self._sessions))
        for row, session in enumerate(self._sessions):
            versions = ""
            if session.from_version or session.to_version:
                versions = f"{session.from_version or '?'} → {session.to_version or '?'}"
            outcome = outcome_text(session.outcome)
            started = session.started.astimezone().strftime("%Y-%m-%d %H:%M")
            texts = (
                f"#{session.id}",
                started,
                session.serial,
                session_kind_text(session.kind),
                outcome,
                versions,
            )
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column == 2:
                    item.setData(DEVICE_TEXT_ROLE, True)  # the battery's serial number
                if column == 4:
                    good = session.outcome in {
                        "updated",
                        "ok",
                        "restored",
                        "backed_up",
                        "config_written",
                        "rolled_back_manually",
                    }
                    item.setForeground(QColor(colors.good if good else colors.warning))
                self.table.setItem(row, column, item)
        self.status.setText(self.tr("%n session(s) recorded.", "", len(self._sessions)))
        self._update_buttons()

    def selected_session(self) -> Any | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._sessions):
            return None
        return self._sessions[rows[0].row()]

    @Slot()
    def _on_selection(self) -> None:
        session = self.selected_session()
        if session is not None:
            self._model.load_session_detail(session.id)
        self._update_buttons()

    @Slot(object)
    def show_detail(self, detail: Any) -> None:
        """Steps and measurements of one session as plain text (copyable into an e-mail)."""
        self._detail = detail
        session = detail.session
        lines = [
            fmt(
                self.tr("Session #%1 — %2 on %3"), session.id, session_kind_text(session.kind), session.serial
            ),
            fmt(self.tr("Operator: %1"), session.operator or "—"),
            fmt(self.tr("Outcome: %1"), outcome_text(session.outcome)),
            "",
            self.tr("Steps:"),
        ]
        steps = list(detail.steps)
        for index, step in enumerate(steps):
            if step.ok is None and any(later.step == step.step for later in steps[index + 1 :]):
                continue  # a start line whose end was recorded: show only the end
            mark = "…" if step.ok is None else ("✔" if step.ok else "✘")
            when = step.at.astimezone().strftime("%H:%M:%S")
            lines.append(f"  {when} {mark} {step_title(step.step)} {sentence(step.detail)}".rstrip())
        if detail.measurements:
            lines += ["", self.tr("Measurements:")]
            for m in detail.measurements:
                mark = "✔" if m.passed else "✘"
                lines.append(
                    f"  {mark} {measurement_name(m.name)}: {measured(m.value)} ({measured(m.limit)})"
                )
        self.detail.setPlainText("\n".join(lines))

    @Slot()
    def _on_save_report(self) -> None:
        session = self.selected_session()
        if session is None:
            return
        name = f"bmsflasher-report-{session.serial}-{session.id}.html"
        suggested = str(self._model.reports_folder() / name)
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save service report"), suggested, self.tr("Service reports (*.html *.pdf)")
        )
        if path:
            self._model.save_report(session.id, Path(path))

    def showEvent(self, event: Any) -> None:
        self._model.load_history()
        super().showEvent(event)

    def _update_buttons(self) -> None:
        self.report_button.setEnabled(self.selected_session() is not None)
