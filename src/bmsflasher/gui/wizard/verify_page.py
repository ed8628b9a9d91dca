"""Wizard page 2: the package's signature and its compatibility with this battery.

The check runs in a task thread as soon as the page opens; Next stays disabled until every check
passed. A refusal says which check failed and what to do (the troubleshooting table).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget, QWizardPage

from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import PackageCheck
from bmsflasher.gui.engine_text import measured, plain_label, sentence
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt, measurement_name
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.measurement_table import MeasurementTable
from bmsflasher.gui.wizard.guidance import guidance_for


class VerifyPage(RetranslateOnLanguageChange, QWizardPage):
    """Package facts, a table of checks, and the verdict."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_verify_page")
        self._model = model
        self.check: PackageCheck | None = None
        self._checking = False
        self.verdict = QLabel(self)
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)  # coloured; package text in it is escaped
        self.facts = QFormLayout()
        self._fact_captions = [QLabel(self) for _ in range(5)]
        self.fact_values = [plain_label(QLabel("—", self)) for _ in range(5)]  # the package's words
        for caption, value in zip(self._fact_captions, self.fact_values, strict=True):
            value.setWordWrap(True)
            self.facts.addRow(caption, value)
        self.table = MeasurementTable(self)
        self.guidance = plain_label(QLabel(self), device=False)
        self.guidance.setWordWrap(True)
        self._error: tuple[object, object] | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addLayout(self.facts)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.guidance)
        model.sig_package_checked.connect(self._on_checked)
        model.sig_error.connect(self._on_error)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Signature and compatibility"))
        self.setSubTitle(self.tr("The package is checked on this computer before the battery is touched."))
        captions = [
            self.tr("Firmware version:"),
            self.tr("Released for:"),
            self.tr("Security counter:"),
            self.tr("Signed by:"),
            self.tr("Release notes:"),
        ]
        for caption, text in zip(self._fact_captions, captions, strict=True):
            caption.setText(text)
        if self.check is not None:
            self._show(self.check)
        elif self._error is not None:
            self._show_error(*self._error)

    def initializePage(self) -> None:
        self.check = None
        self._error = None
        self._checking = True
        self.table.show_measurements([])
        self.guidance.clear()
        for value in self.fact_values:
            value.setText("—")
        self.verdict.setText(self.tr("Checking the package…"))
        self.table.apply_theme(THEMES[self._model.theme_name])
        self._model.check_package(Path(str(self.field("package_path"))))

    @Slot(object)
    def _on_checked(self, check: PackageCheck) -> None:
        self._checking = False
        self.check = check
        self._show(check)
        self.completeChanged.emit()

    @Slot(object, object)
    def _on_error(self, message: object, hint: object) -> None:
        if self._checking and self.isVisible():
            self._checking = False
            self._error = (message, hint)
            self._show_error(message, hint)

    def _show_error(self, message: object, hint: object) -> None:
        self.verdict.setText(escape(fmt(self.tr("The package cannot be checked: %1"), sentence(message))))
        self.guidance.setText(sentence(hint))

    def _refusal(self, check: PackageCheck) -> str:
        """Why the package is refused, in the technician's language: each failed check, or the error."""
        failed = [m for m in check.checks if not m.passed]
        if check.message or not failed:  # not even readable: the error says why (it may name a member)
            return sentence(check.message)
        return "; ".join(
            fmt(
                self.tr("%1 is %2 (needs %3)"), measurement_name(m.name), measured(m.value), measured(m.limit)
            )
            for m in failed
        )

    def _show(self, check: PackageCheck) -> None:
        colors = THEMES[self._model.theme_name]
        self.table.show_measurements(check.checks)
        values = (
            check.version or "—",
            f"{check.model} ({', '.join(check.hardware_revisions)})" if check.model else "—",
            str(check.security_counter),
            check.signer or "—",
            check.release_notes or "—",
        )
        for label, text in zip(self.fact_values, values, strict=True):
            label.setText(text)
        if check.ok:
            self.verdict.setText(
                f'<span style="color:{colors.good}"><b>'
                + escape(self.tr("The package is genuine and made for this battery."))
                + "</b></span>"
            )
            self.guidance.clear()
            return
        self.verdict.setText(
            f'<span style="color:{colors.bad}"><b>'
            + escape(fmt(self.tr("This package must not be installed: %1"), self._refusal(check)))
            + "</b></span>"
        )
        advice = guidance_for(check.failure_kind)
        lines = [sentence(check.hint)] if check.hint else []
        if advice is not None:
            lines.append(fmt(self.tr("What to check: %1"), advice.diagnostic))
            lines.append(fmt(self.tr("What to do: %1"), advice.resolution))
        self.guidance.setText("\n".join(lines))

    def isComplete(self) -> bool:
        return self.check is not None and self.check.ok
