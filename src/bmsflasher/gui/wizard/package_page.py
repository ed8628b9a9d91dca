"""Wizard page 1: choose the firmware package (a file, or one of the demo packages).

The page also says which signing keys packages are checked against (one line per key, with its
file) and warns, in the technician's language, when one of them is bmsflasher's public demo key
outside a demo: a package "signed by a trusted key" means little if anyone could have signed it.
"""

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
from bmsflasher.gui.engine import TrustStatus
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, plain_label, sentence, shown
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES

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
        self.trust_caption = QLabel(self)
        self.trust_keys = plain_label(QLabel(self), device=False)  # engine sentences with file paths
        self.trust_keys.setObjectName("trust_keys")
        self.trust_keys.setWordWrap(True)
        self.trust_keys.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trust_warnings = plain_label(QLabel(self), device=False)
        self.trust_warnings.setObjectName("trust_warnings")
        self.trust_warnings.setWordWrap(True)
        self.trust_warnings.hide()
        self.trust: TrustStatus | None = model.trust  # the last status known, refreshed below
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.path_label)
        layout.addLayout(row)
        layout.addWidget(self.list_label)
        layout.addWidget(self.package_list, 1)
        layout.addWidget(self.trust_warnings)
        layout.addWidget(self.trust_caption)
        layout.addWidget(self.trust_keys)
        self.registerField("package_path*", self.path_edit)
        self.browse_button.clicked.connect(self._on_browse)
        self.package_list.currentItemChanged.connect(self._on_pick)
        self.path_edit.textChanged.connect(lambda _text: self.completeChanged.emit())
        model.sig_trust.connect(self.show_trust)
        model.sig_theme_changed.connect(lambda _name: self._apply_theme())
        self._fill_list()
        self.retranslate()
        self._apply_theme()
        model.load_trust()  # the keyring folder is read again each time the wizard opens

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
        self.trust_caption.setText(self.tr("Packages are checked against these signing keys:"))
        self._show_trust_texts()

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.trust_warnings.setStyleSheet(f"color: {colors.warning}; font-weight: bold;")

    @Slot(object)
    def show_trust(self, status: TrustStatus) -> None:
        """Show the keys packages are checked against and any warning about them."""
        self.trust = status
        self._show_trust_texts()

    def _show_trust_texts(self) -> None:
        """The trust lines in the language installed now (kept as engine sentences)."""
        status = self.trust
        if status is None:
            self.trust_keys.setText("…")
            return
        self.trust_keys.setText("\n".join(shown(line) for line in status.keys) or "—")
        warnings = [sentence(warning) for warning in status.warnings]
        if status.problem:
            problem = (sentence(status.problem), sentence(status.hint))
            warnings.append(" ".join(part for part in problem if part))
        self.trust_warnings.setText("\n".join(warnings))
        self.trust_warnings.setVisible(bool(warnings))

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
