"""Wizard page 3: preconditions measured live, pass/fail with the reason, overrides with a reason.

This is the commit page: its button says "Start update", and once pressed there is no way back —
the procedure owns the battery until it reaches a safe end. Safety gates (charge, temperature, load,
compatibility, anti-rollback) cannot be overridden; quality gates can, with a reason that is
recorded in the service history.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from bmsflasher.core.events import Measurement
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import UpdateOptions
from bmsflasher.gui.engine_text import plain_label, sentence
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt, measurement_name
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.measurement_table import MeasurementTable
from bmsflasher.gui.wizard.guidance import guidance_for


class _Override:
    """The check box and reason field of one overridable failed gate."""

    def __init__(self, name: str, checkbox: QCheckBox, reason: QLineEdit) -> None:
        self.name = name
        self.checkbox = checkbox
        self.reason = reason

    @property
    def given(self) -> bool:
        return self.checkbox.isChecked() and bool(self.reason.text().strip())


class PreconditionsPage(RetranslateOnLanguageChange, QWizardPage):
    """Gate table, override boxes, operator name, and the commit button."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_preconditions_page")
        self.setCommitPage(True)
        self._model = model
        self.results: list[Measurement] = []
        self._measuring = False
        self._overrides: list[_Override] = []

        self.verdict = QLabel(self)
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self._error: tuple[object, object] | None = None
        self.table = MeasurementTable(self)
        self.overrides_box = QGroupBox(self)
        self.overrides_layout = QFormLayout(self.overrides_box)
        self.guidance = plain_label(QLabel(self), device=False)
        self.guidance.setWordWrap(True)
        self.operator_label = QLabel(self)
        self.operator_edit = QLineEdit(self)
        self.operator_label.setBuddy(self.operator_edit)
        self.remeasure_button = QPushButton(self)
        bottom = QHBoxLayout()
        bottom.addWidget(self.operator_label)
        bottom.addWidget(self.operator_edit, 1)
        bottom.addWidget(self.remeasure_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.overrides_box)
        layout.addWidget(self.guidance)
        layout.addLayout(bottom)
        self.overrides_box.hide()

        self.remeasure_button.clicked.connect(self.measure)
        model.sig_preconditions.connect(self._on_results)
        model.sig_error.connect(self._on_error)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Preconditions"))
        self.setSubTitle(
            self.tr("Charge, temperature, load, stability and link are measured now; nothing is written yet.")
        )
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("&Start update"))
        self.overrides_box.setTitle(self.tr("Overrides (recorded in the service history)"))
        self.operator_label.setText(self.tr("&Technician:"))
        self.operator_edit.setPlaceholderText(self.tr("your name, for the service report"))
        self.remeasure_button.setText(self.tr("&Measure again"))
        if self.results:
            self._show(self.results)
        elif self._error is not None:
            self._show_error(*self._error)
        elif self._measuring:
            self.verdict.setText(escape(self.tr("Measuring the battery (a few seconds)…")))

    def initializePage(self) -> None:
        self.measure()

    @Slot()
    def measure(self) -> None:
        """Measure every gate again (read-only)."""
        self.results = []
        self._error = None
        self._measuring = True
        self.table.apply_theme(THEMES[self._model.theme_name])
        self.table.show_measurements([])
        self._clear_overrides()
        self.guidance.clear()
        self.verdict.setText(escape(self.tr("Measuring the battery (a few seconds)…")))
        self.remeasure_button.setEnabled(False)
        self.completeChanged.emit()
        self._model.check_preconditions()

    @Slot(list)
    def _on_results(self, results: Sequence[Measurement]) -> None:
        self._measuring = False
        self.remeasure_button.setEnabled(True)
        self.results = list(results)
        self._show(self.results)
        self.completeChanged.emit()

    @Slot(object, object)
    def _on_error(self, message: object, hint: object) -> None:
        if self._measuring and self.isVisible():
            self._measuring = False
            self.remeasure_button.setEnabled(True)
            self._error = (message, hint)
            self._show_error(message, hint)

    def _show_error(self, message: object, hint: object) -> None:
        self.verdict.setText(escape(fmt(self.tr("The battery could not be measured: %1"), sentence(message))))
        self.guidance.setText(sentence(hint))

    def _clear_overrides(self) -> None:
        while self.overrides_layout.rowCount():
            self.overrides_layout.removeRow(0)
        self._overrides = []
        self.overrides_box.hide()

    def _show(self, results: Sequence[Measurement]) -> None:
        colors = THEMES[self._model.theme_name]
        # failed gates first: the one that refuses the update must be in view, not below a scrollbar
        self.table.show_measurements(sorted(results, key=lambda m: m.passed))
        previous = {o.name: (o.checkbox.isChecked(), o.reason.text()) for o in self._overrides}
        self._clear_overrides()
        failed = [m for m in results if not m.passed]
        safety = [m for m in failed if not m.overridable]
        for m in failed:
            if not m.overridable:
                continue
            checkbox = QCheckBox(fmt(self.tr("Override %1"), measurement_name(m.name)), self)
            reason = QLineEdit(self)
            reason.setPlaceholderText(self.tr("reason (required)"))
            checked, text = previous.get(m.name, (False, ""))
            checkbox.setChecked(checked)
            reason.setText(text)
            checkbox.toggled.connect(lambda _on: self.completeChanged.emit())
            reason.textChanged.connect(lambda _text: self.completeChanged.emit())
            self.overrides_layout.addRow(checkbox, reason)
            self._overrides.append(_Override(m.name, checkbox, reason))
        self.overrides_box.setVisible(bool(self._overrides))
        if safety:
            names = ", ".join(measurement_name(m.name) for m in safety)
            self.verdict.setText(
                f'<span style="color:{colors.bad}"><b>'
                + escape(fmt(self.tr("The update is refused: %1 outside the safe range."), names))
                + "</b></span>"
            )
            advice = guidance_for("precondition_refused")
            if advice is not None:
                self.guidance.setText(
                    fmt(self.tr("What to check: %1"), advice.diagnostic)
                    + "\n"
                    + fmt(self.tr("What to do: %1"), advice.resolution)
                )
        elif failed:
            self.verdict.setText(
                f'<span style="color:{colors.warning}"><b>'
                + escape(
                    self.tr(
                        "Some quality checks failed. Override them with a reason, or fix them and "
                        "measure again."
                    )
                )
                + "</b></span>"
            )
        else:
            self.verdict.setText(
                f'<span style="color:{colors.good}"><b>'
                + escape(self.tr("Every precondition is met. Press Start update to begin."))
                + "</b></span>"
            )

    @property
    def refused(self) -> bool:
        """A safety gate failed: the update cannot start."""
        return any(not m.passed and not m.overridable for m in self.results)

    def overrides(self) -> dict[str, str]:
        """Gate name → reason, for every override the technician gave."""
        return {o.name: o.reason.text().strip() for o in self._overrides if o.given}

    def isComplete(self) -> bool:
        if self._measuring or not self.results or self.refused:
            return False
        given = self.overrides()
        return all(m.passed or m.name in given for m in self.results)

    def validatePage(self) -> bool:
        options = UpdateOptions(overrides=self.overrides(), operator=self.operator_edit.text().strip())
        return self._model.start_update(options)
