"""Steps the GUI tests share: drive the update wizard to its end, and read what a widget shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTableWidget,
    QWidget,
    QWizard,
)

from bmsflasher.gui.engine_text import DEVICE_TEXT_PROPERTY, DEVICE_TEXT_ROLE
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


@dataclass(frozen=True)
class Shown:
    """One piece of text a widget puts on the screen."""

    path: str
    kind: str
    text: str
    device: bool = False
    """Device or package text (serial, file name, DTC description): the same in every language."""


def widget_path(widget: QWidget, root: QWidget) -> str:
    """Where a widget sits under ``root``: class and object name (or index among its like) per level."""
    parts: list[str] = []
    current = widget
    while current is not root and current is not None:
        parent = current.parentWidget()
        if parent is None:
            break
        alike = [c for c in parent.children() if type(c) is type(current)]
        parts.append(f"{type(current).__name__}#{current.objectName() or alike.index(current)}")
        current = parent
    return "/".join(reversed(parts))


def _mnemonic_free(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _menu_texts(menu: QMenu, path: str) -> list[Shown]:
    found = [Shown(path, "menu", _mnemonic_free(menu.title()))]
    for action in menu.actions():
        if action.menu() is not None:
            found += _menu_texts(action.menu(), f"{path}/{action.menu().title()}")
        elif action.text():
            found.append(Shown(path, "action", _mnemonic_free(action.text())))
    return found


def shown_texts(root: QWidget) -> list[Shown]:
    """Every text ``root`` shows now: labels, buttons, titles, tables, lists, tooltips, menus, logs."""
    found: list[Shown] = []
    if root.windowTitle():
        found.append(Shown("", "window title", root.windowTitle()))
    if isinstance(root, QMainWindow):
        for action in root.menuBar().actions():
            if action.menu() is not None:
                found += _menu_texts(action.menu(), "menu")
    if isinstance(root, QWizard):
        for which in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.CommitButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            button = root.button(which)
            if button is not None and button.isVisible() and button.text():
                found.append(
                    Shown(f"wizard button {int(which.value)}", "button", _mnemonic_free(button.text()))
                )
        page = root.currentPage()
        if page is not None:
            found += [
                Shown("page", "page title", page.title()),
                Shown("page", "page subtitle", page.subTitle()),
            ]
    for widget in root.findChildren(QWidget):
        if widget.window() is not root or not widget.isVisibleTo(root):
            continue
        path = widget_path(widget, root)
        device = bool(widget.property(DEVICE_TEXT_PROPERTY))
        if widget.toolTip():
            found.append(Shown(path, "tooltip", widget.toolTip(), device))
        if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
            found.append(Shown(path, "label", displayed(widget), device))
        elif isinstance(widget, QAbstractButton) and widget.text():
            found.append(Shown(path, "button", _mnemonic_free(widget.text())))
        elif isinstance(widget, QGroupBox) and widget.title():
            found.append(Shown(path, "group", widget.title()))
        elif isinstance(widget, QTableWidget):
            for column in range(widget.columnCount()):
                header = widget.horizontalHeaderItem(column)
                if header is not None and header.text() and not widget.isColumnHidden(column):
                    found.append(Shown(path, "header", header.text()))
            for row in range(widget.rowCount()):
                for column in range(widget.columnCount()):
                    item = widget.item(row, column)
                    if item is None:
                        continue
                    item_device = bool(item.data(DEVICE_TEXT_ROLE))
                    if item.text():
                        found.append(Shown(f"{path}[{row},{column}]", "cell", item.text(), item_device))
                    if item.toolTip():
                        found.append(Shown(f"{path}[{row},{column}]", "tooltip", item.toolTip(), item_device))
        elif isinstance(widget, QListWidget):
            for row in range(widget.count()):
                item = widget.item(row)
                found.append(
                    Shown(f"{path}[{row}]", "list item", item.text(), bool(item.data(DEVICE_TEXT_ROLE)))
                )
        elif isinstance(widget, QComboBox):
            for index in range(widget.count()):
                found.append(Shown(f"{path}[{index}]", "combo item", widget.itemText(index)))
        elif isinstance(widget, QLineEdit) and widget.placeholderText():
            found.append(Shown(path, "placeholder", widget.placeholderText()))
        elif isinstance(widget, QPlainTextEdit):
            for number, line in enumerate(widget.toPlainText().splitlines()):
                if line.strip():
                    found.append(Shown(f"{path}[{number}]", "text line", line))
    return [shown for shown in found if shown.text.strip()]
