"""One row per node of a pack campaign: who it is, the step it is in, its transfer progress, its result.

The rows follow the campaign's per-node events (:mod:`bmsflasher.core.events`): a step that starts
shows its name, a transfer its bar, a step that fails its reason (as the row's tooltip too), and the
campaign's end the node's final state — confirmed on the new set, rolled back, untouched or failed.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QHeaderView, QProgressBar, QTableWidget, QTableWidgetItem, QWidget

from bmsflasher.core.events import Event, Progress, StepFinished, StepStarted
from bmsflasher.gui.engine import NodeOutcome
from bmsflasher.gui.engine_text import device_item, sentence
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange

NODE, TIER, MODEL, STEP, PROGRESS, RESULT, DETAIL = range(7)
PROGRESS_WIDTH: Final = 150

_STEPS: Final = {
    "prepare": QT_TRANSLATE_NOOP("CampaignRows", "Preconditions"),
    "backup": QT_TRANSLATE_NOOP("CampaignRows", "Configuration backup"),
    "transfer": QT_TRANSLATE_NOOP("CampaignRows", "Transfer"),
    "test_boot": QT_TRANSLATE_NOOP("CampaignRows", "Test boot"),
    "self_test": QT_TRANSLATE_NOOP("CampaignRows", "Self-test"),
    "confirm": QT_TRANSLATE_NOOP("CampaignRows", "Confirm"),
    "config_check": QT_TRANSLATE_NOOP("CampaignRows", "Configuration check"),
    "revert": QT_TRANSLATE_NOOP("CampaignRows", "Revert"),
    "rollback": QT_TRANSLATE_NOOP("CampaignRows", "Roll back"),
    "verify_package": QT_TRANSLATE_NOOP("CampaignRows", "Package check"),
    "identify": QT_TRANSLATE_NOOP("CampaignRows", "Identify"),
    "reboot": QT_TRANSLATE_NOOP("CampaignRows", "Reboot"),
    "config_restore": QT_TRANSLATE_NOOP("CampaignRows", "Configuration restore"),
}
_RESULTS: Final = {
    "confirmed": QT_TRANSLATE_NOOP("CampaignRows", "Confirmed"),
    "rolled_back": QT_TRANSLATE_NOOP("CampaignRows", "Rolled back"),
    "untouched": QT_TRANSLATE_NOOP("CampaignRows", "Untouched"),
    "refused": QT_TRANSLATE_NOOP("CampaignRows", "Refused"),
    "failed": QT_TRANSLATE_NOOP("CampaignRows", "Failed"),
    "updated": QT_TRANSLATE_NOOP("CampaignRows", "Updated, not confirmed"),
    "waiting": QT_TRANSLATE_NOOP("CampaignRows", "Waiting"),
    "running": QT_TRANSLATE_NOOP("CampaignRows", "Running…"),
    "done": QT_TRANSLATE_NOOP("CampaignRows", "Step done"),
    "step_failed": QT_TRANSLATE_NOOP("CampaignRows", "Step failed"),
}


def step_text(step: str) -> str:
    """A campaign step's name, translated (an unknown step as the engine names it)."""
    source = _STEPS.get(step)
    return QCoreApplication.translate("CampaignRows", str(source)) if source else step.replace("_", " ")


def result_key(outcome: NodeOutcome) -> str:
    """The row's final result: ``confirmed`` only for a node on the new set and confirmed."""
    if outcome.state == "updated":
        return "confirmed" if outcome.confirmed else "updated"
    return outcome.state if outcome.state in _RESULTS else "failed"


class CampaignRows(RetranslateOnLanguageChange, QTableWidget):
    """Node rows keyed by serial number; :attr:`results` keeps each row's result key for tests and reports."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 7, parent)
        self.setObjectName("campaign_rows")
        self.verticalHeader().hide()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        for column in (NODE, TIER, MODEL, STEP, RESULT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PROGRESS, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(PROGRESS, PROGRESS_WIDTH)
        header.setSectionResizeMode(DETAIL, QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(False)
        self.rows: dict[str, int] = {}
        self.steps: dict[str, str] = {}
        self.results: dict[str, str] = {}
        self.details: dict[str, str] = {}
        self.retranslate()

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels(
            [
                self.tr("Node"),
                self.tr("Tier"),
                self.tr("Model"),
                self.tr("Step"),
                self.tr("Progress"),
                self.tr("Result"),
                self.tr("Why"),
            ]
        )
        for serial, row in self.rows.items():
            self._set_text(row, STEP, step_text(self.steps[serial]) if self.steps.get(serial) else "")
            self._set_text(row, RESULT, self._result_text(serial))
            self._set_text(row, DETAIL, sentence(self.details.get(serial, "")))
            for column in (NODE, TIER, MODEL):  # their tooltip is the row's "why": in the new language too
                self._set_text(row, column, item.text() if (item := self.item(row, column)) else "")

    def clear_rows(self) -> None:
        self.setRowCount(0)
        self.rows.clear()
        self.steps.clear()
        self.results.clear()
        self.details.clear()

    def add_node(self, serial: str, tier: str, model: str) -> int:
        """The row of ``serial`` (added, waiting, when new)."""
        if serial in self.rows:
            row = self.rows[serial]
            if tier:
                self._set_text(row, TIER, tier.upper())
            if model:
                self.setItem(row, MODEL, device_item(model))
            return row
        row = self.rowCount()
        self.insertRow(row)
        self.rows[serial] = row
        self.setItem(row, NODE, device_item(serial))
        self.setItem(row, TIER, QTableWidgetItem(tier.upper()))
        self.setItem(row, MODEL, device_item(model))
        bar = QProgressBar(self)
        bar.setRange(0, 100)
        bar.setValue(0)
        bar.setTextVisible(True)
        self.setCellWidget(row, PROGRESS, bar)
        self.results[serial] = "waiting"
        self._set_text(row, STEP, "")
        self._set_text(row, RESULT, self._result_text(serial))
        return row

    def node_event(self, serial: str, event: Event) -> None:
        """Follow one node's event (steps, transfer progress; measurements are the wizard's)."""
        row = self.add_node(serial, "", "")
        if isinstance(event, StepStarted):
            self.steps[serial] = event.step
            self.results[serial] = "running"
            self._set_text(row, STEP, step_text(event.step))
        elif isinstance(event, Progress) and event.total > 0:
            bar = self.progress_bar(serial)
            if bar is not None:
                bar.setValue(round(100 * event.done / event.total))
        elif isinstance(event, StepFinished):
            self.results[serial] = "done" if event.ok else "step_failed"
            if event.step == "transfer" and event.ok:
                bar = self.progress_bar(serial)
                if bar is not None:
                    bar.setValue(100)
            if not event.ok and event.detail:
                self.details[serial] = event.detail
        else:
            return
        self._set_text(row, RESULT, self._result_text(serial))
        self._set_text(row, DETAIL, sentence(self.details.get(serial, "")))

    def finish(self, outcomes: tuple[NodeOutcome, ...]) -> None:
        """Each node's final state, as read back at the campaign's end."""
        for outcome in outcomes:
            row = self.add_node(outcome.serial, outcome.tier, outcome.model)
            self.results[outcome.serial] = result_key(outcome)
            if outcome.detail:
                self.details[outcome.serial] = outcome.detail
            self._set_text(row, RESULT, self._result_text(outcome.serial))
            self._set_text(row, DETAIL, sentence(self.details.get(outcome.serial, "")))

    def progress_bar(self, serial: str) -> QProgressBar | None:
        widget = self.cellWidget(self.rows[serial], PROGRESS) if serial in self.rows else None
        return widget if isinstance(widget, QProgressBar) else None

    def _result_text(self, serial: str) -> str:
        source = _RESULTS.get(self.results.get(serial, ""), "")
        return QCoreApplication.translate("CampaignRows", str(source)) if source else ""

    def _set_text(self, row: int, column: int, text: str) -> None:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            self.setItem(row, column, item)
        item.setText(text)
        serial = next((s for s, r in self.rows.items() if r == row), "")
        detail = self.details.get(serial, "")
        item.setToolTip(sentence(detail) if detail else "")
