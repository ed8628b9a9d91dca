"""Steps the GUI tests share: drive the update wizard to its end, and read what a widget shows."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from bmsflasher.gui.wizard import page_ids
from bmsflasher.gui.wizard.update_wizard import UpdateWizard

from .conftest import GuiRig


def open_wizard_at_preconditions(rig: GuiRig, qtbot, package: Path) -> UpdateWizard:
    """Connect, open the wizard on ``package``, pass verification, and wait for the measured gates."""
    if rig.model.identity is None:
        rig.connect()
    wizard = rig.window.open_update_wizard()
    assert wizard is not None
    wizard.package_page.select_package(package)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.verify_page.check is not None, timeout=15000)
    assert wizard.verify_page.check.ok, wizard.verify_page.check.message
    wizard.next()
    qtbot.waitUntil(lambda: bool(wizard.preconditions_page.results), timeout=20000)
    return wizard


def run_update(rig: GuiRig, qtbot, package: Path, timeout_ms: int = 90000) -> UpdateWizard:
    """A whole update through the wizard, ending on the result page with the procedure finished."""
    wizard = open_wizard_at_preconditions(rig, qtbot, package)
    assert wizard.preconditions_page.isComplete()
    wizard.next()  # "Start update"
    qtbot.waitUntil(
        lambda: wizard.currentId() == page_ids.RESULT and not rig.model.update_running, timeout=timeout_ms
    )
    qtbot.waitUntil(lambda: rig.model.identity is not None, timeout=10000)
    return wizard


def displayed(label: QLabel) -> str:
    """What a label draws: its text as is when plain, the rendered text when Qt takes it as rich text."""
    text = label.text()
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text)
    )
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()
