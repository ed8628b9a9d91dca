"""Wizard page 1: choose the firmware package (a file, or one of the demo packages)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, plain_label
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt

PACKAGE_SUFFIX = ".bmspkg"


class PackagePage(RetranslateOnLanguageChange, QWizardPage):
    """A path field with a Browse button, and the packages found in the offered folder."""

    def __init__(self, model: AppModel, packages_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizard_package_page")
        self._model = model
        self._packages_dir = packages_dir
        self.intro = plain_label(QLabel(self), device=False)  # names the battery's model and serial
        self.intro.setWordWrap(True)
        self.path_label = QLabel(self)
        self.path_edit = QLineEdit(self)
        self.path_label.setBuddy(self.path_edit)
        self.browse_button = QPushButton(self)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.list_label = QLabel(self)
        self.package_list = QListWidget(self)
        self.list_label.setBuddy(self.package_list)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.path_label)
        layout.addLayout(row)
        layout.addWidget(self.list_label)
        layout.addWidget(self.package_list, 1)
        self.registerField("package_path*", self.path_edit)
        self.browse_button.clicked.connect(self._on_browse)
        self.package_list.currentItemChanged.connect(self._on_pick)
        self.path_edit.textChanged.connect(lambda _text: self.completeChanged.emit())
        self._fill_list()
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Choose the firmware package"))
        self.setSubTitle(self.tr("Only packages signed by a trusted manufacturer key can be installed."))
        identity = self._model.identity
        if identity is not None:
            self.intro.setText(
                fmt(
                    self.tr("Battery %1 (serial %2) runs firmware %3. Choose the package to install."),
                    identity.model,
                    identity.serial_number,
                    str(identity.firmware_version or "?"),
                )
            )
        self.path_label.setText(self.tr("&Package file:"))
        self.browse_button.setText(self.tr("&Browse…"))
        self.list_label.setText(self.tr("Packages &available:"))

    def _fill_list(self) -> None:
        self.package_list.clear()
        folder = self._packages_dir
        if folder is None or not folder.is_dir():
            return
        for path in sorted(folder.glob(f"*{PACKAGE_SUFFIX}")):
            item = QListWidgetItem(path.name, self.package_list)  # a file name, shown as it is
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setData(DEVICE_TEXT_ROLE, True)

    @Slot()
    def _on_browse(self) -> None:
        start = str(self._packages_dir) if self._packages_dir else ""
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Choose a firmware package"), start, self.tr("Firmware packages (*.bmspkg)")
        )
        if path:
            self.path_edit.setText(path)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_pick(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None:
            self.path_edit.setText(str(current.data(Qt.ItemDataRole.UserRole)))

    def select_package(self, path: Path) -> None:
        """Choose a package programmatically (tests, command-line argument, file association)."""
        for row in range(self.package_list.count()):
            item = self.package_list.item(row)
            if Path(str(item.data(Qt.ItemDataRole.UserRole))) == path:
                self.package_list.setCurrentItem(item)
                break
        self.path_edit.setText(str(path))

    def isComplete(self) -> bool:
        text = self.path_edit.text().strip()
        return bool(text) and Path(text).is_file()
