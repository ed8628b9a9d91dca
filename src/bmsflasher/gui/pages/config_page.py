"""Configuration page: view and edit parameters, back them up, restore a backup, compare.

Edits are validated as they are typed (a parameter keeps the type the device reported: an integer
stays an integer, a flag stays a flag) and only changed values are written. Range checks are the
device's job: its refusal comes back as one sentence naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, ParameterValue
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES

_ORIGINAL_ROLE = Qt.ItemDataRole.UserRole + 1


def parse_value(text: str, like: ParameterValue) -> ParameterValue:
    """Parse ``text`` as the same type as ``like``; raises ValueError with the reason."""
    stripped = text.strip()
    if isinstance(like, bool):
        lowered = stripped.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError("expected true or false")
    if isinstance(like, int):
        return int(stripped, 0)
    if isinstance(like, float):
        return float(stripped)
    return text


def value_text(value: ParameterValue | None) -> str:
    """A parameter value as shown in the tables."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ConfigPage(RetranslateOnLanguageChange, QWidget):
    """Parameter table, backup list and diff view."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("config_page")
        self._model = model
        self._snapshot: ConfigSnapshot | None = None
        self._backups: list[Any] = []
        self._filling = False

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.read_button = QPushButton(self)
        self.write_button = QPushButton(self)
        self.backup_button = QPushButton(self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        top.addWidget(self.read_button)
        top.addWidget(self.backup_button)
        top.addWidget(self.write_button)

        self.table = QTableWidget(0, 2, self)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )

        self.backups_box = QGroupBox(self)
        self.backups_table = QTableWidget(0, 3, self)
        self.backups_table.verticalHeader().setVisible(False)
        self.backups_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.backups_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.backups_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.backups_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.restore_button = QPushButton(self)
        self.diff_button = QPushButton(self)
        backup_buttons = QHBoxLayout()
        backup_buttons.addStretch(1)
        backup_buttons.addWidget(self.diff_button)
        backup_buttons.addWidget(self.restore_button)
        self.diff_label = QLabel(self)
        self.diff_table = QTableWidget(0, 3, self)
        self.diff_table.verticalHeader().setVisible(False)
        self.diff_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        backups_layout = QVBoxLayout(self.backups_box)
        backups_layout.addWidget(self.backups_table, 2)
        backups_layout.addLayout(backup_buttons)
        backups_layout.addWidget(self.diff_label)
        backups_layout.addWidget(self.diff_table, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.backups_box)
        splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self.read_button.clicked.connect(model.read_config)
        self.write_button.clicked.connect(self._on_write)
        self.backup_button.clicked.connect(model.backup_config)
        self.restore_button.clicked.connect(self._on_restore)
        self.diff_button.clicked.connect(self._on_diff)
        self.table.itemChanged.connect(self._on_item_changed)
        self.backups_table.itemSelectionChanged.connect(self._update_buttons)
        model.sig_config.connect(self.show_snapshot)
        model.sig_config_written.connect(self._on_written)
        model.sig_backups.connect(self.show_backups)
        model.sig_backup_done.connect(self._on_backup_done)
        model.sig_diff.connect(self.show_diff)
        model.sig_connection_changed.connect(self._on_connection)
        model.sig_update_finished.connect(lambda _outcome: model.list_backups())
        model.sig_theme_changed.connect(lambda _name: self._apply_theme())
        bind_shortcut(self.read_button, "Ctrl+Shift+R", self)
        bind_shortcut(self.write_button, "Ctrl+S", self)
        bind_shortcut(self.backup_button, "Ctrl+B", self)
        self.retranslate()
        self._apply_theme()
        self._update_buttons()

    # --- text and looks ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.title.setText(self.tr("Configuration"))
        self.read_button.setText(self.tr("&Read"))
        self.read_button.setToolTip(self.tr("Read every parameter from the battery (Ctrl+Shift+R)."))
        self.write_button.setText(self.tr("&Write changes"))
        self.write_button.setToolTip(self.tr("Write the edited parameters to the battery (Ctrl+S)."))
        self.backup_button.setText(self.tr("&Back up"))
        self.backup_button.setToolTip(self.tr("Store every parameter in the service history (Ctrl+B)."))
        self.table.setHorizontalHeaderLabels([self.tr("Parameter"), self.tr("Value")])
        self.backups_box.setTitle(self.tr("Backups of this battery"))
        self.backups_table.setHorizontalHeaderLabels(
            [self.tr("Backup"), self.tr("Taken"), self.tr("SHA-256")]
        )
        self.restore_button.setText(self.tr("Res&tore selected"))
        self.diff_button.setText(self.tr("Com&pare with battery"))
        self.diff_label.setText(self.tr("Differences (backup → battery now):"))
        self.diff_table.setHorizontalHeaderLabels(
            [self.tr("Parameter"), self.tr("Backup"), self.tr("Battery")]
        )

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.read_button.setIcon(icon("refresh", colors.text))
        self.write_button.setIcon(icon("edit", colors.text))
        self.backup_button.setIcon(icon("backup", colors.text))
        self.restore_button.setIcon(icon("restore", colors.text))
        self.diff_button.setIcon(icon("diff", colors.text))

    # --- parameters -------------------------------------------------------------------------------
    @Slot(object)
    def show_snapshot(self, snapshot: ConfigSnapshot) -> None:
        """Fill the table with the device's parameters (edits start from these values)."""
        self._snapshot = snapshot
        self._filling = True
        self.table.setRowCount(len(snapshot.parameters))
        for row, (name, value) in enumerate(sorted(snapshot.parameters.items())):
            name_item = QTableWidgetItem(name)
            name_item.setFlags(name_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            value_item = QTableWidgetItem(value_text(value))
            value_item.setData(_ORIGINAL_ROLE, value)
            self.table.setItem(row, 0, name_item)
            self.table.setItem(row, 1, value_item)
        self._filling = False
        self.status.setText(
            fmt(
                self.tr("%1 parameters, schema version %2."),
                len(snapshot.parameters),
                snapshot.schema_version,
            )
        )
        self._update_buttons()

    def changes(self) -> tuple[dict[str, ParameterValue], list[str]]:
        """Edited values that parse (name → value) and the names of those that do not."""
        changed: dict[str, ParameterValue] = {}
        invalid: list[str] = []
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, 0), self.table.item(row, 1)
            if name_item is None or value_item is None:
                continue
            original = value_item.data(_ORIGINAL_ROLE)
            try:
                value = parse_value(value_item.text(), original)
            except ValueError:
                invalid.append(name_item.text())
                continue
            if value != original:
                changed[name_item.text()] = value
        return changed, invalid

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 1:
            return
        colors = THEMES[self._model.theme_name]
        original = item.data(_ORIGINAL_ROLE)
        try:
            value = parse_value(item.text(), original)
        except ValueError as exc:
            item.setForeground(QColor(colors.bad))
            item.setToolTip(fmt(self.tr("Not a valid value: %1"), exc))
        else:
            item.setForeground(QColor(colors.highlight if value != original else colors.text))
            item.setToolTip("")
        self._update_buttons()

    @Slot()
    def _on_write(self) -> None:
        changed, invalid = self.changes()
        if invalid:
            self._model.sig_error.emit(
                fmt(self.tr("Fix the invalid values first: %1."), ", ".join(invalid)), ""
            )
            return
        if changed:
            self._model.write_config(changed)

    @Slot(object)
    def _on_written(self, snapshot: ConfigSnapshot) -> None:
        self.show_snapshot(snapshot)
        self.status.setText(self.tr("The battery accepted the configuration."))

    # --- backups ----------------------------------------------------------------------------------
    @Slot(list)
    def show_backups(self, backups: Sequence[Any]) -> None:
        """List the stored backups of the connected battery, newest first."""
        self._backups = list(backups)
        self.backups_table.setRowCount(len(self._backups))
        for row, backup in enumerate(self._backups):
            created = backup.created.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            for column, text in enumerate((f"#{backup.id}", created, backup.sha256[:16] + "…")):
                self.backups_table.setItem(row, column, QTableWidgetItem(text))
        if self._backups:
            self.backups_table.selectRow(0)
        self._update_buttons()

    @Slot(object)
    def _on_backup_done(self, backup: Any) -> None:
        self.status.setText(fmt(self.tr("Backup #%1 stored and verified."), backup.id))

    def _selected_backup(self) -> Any | None:
        rows = self.backups_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._backups):
            return None
        return self._backups[rows[0].row()]

    @Slot()
    def _on_restore(self) -> None:
        backup = self._selected_backup()
        if backup is not None:
            self._model.restore_config(backup.id)

    @Slot()
    def _on_diff(self) -> None:
        backup = self._selected_backup()
        if backup is not None:
            self._model.diff_backup(backup.id)

    @Slot(object)
    def show_diff(self, diff: Mapping[str, tuple[ParameterValue | None, ParameterValue | None]]) -> None:
        """Show parameters that differ between the selected backup and the battery."""
        self.diff_table.setRowCount(len(diff))
        for row, (name, (before, after)) in enumerate(sorted(diff.items())):
            for column, text in enumerate((name, value_text(before), value_text(after))):
                self.diff_table.setItem(row, column, QTableWidgetItem(text))
        if not diff:
            self.diff_label.setText(self.tr("No differences: the battery matches the backup."))
        else:
            self.diff_label.setText(fmt(self.tr("%1 parameter(s) differ (backup → battery now):"), len(diff)))

    # --- state ------------------------------------------------------------------------------------
    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None) -> None:
        self.table.setRowCount(0)
        self.backups_table.setRowCount(0)
        self.diff_table.setRowCount(0)
        self._snapshot = None
        if identity is not None:
            self._model.read_config()
            self._model.list_backups()
        self._update_buttons()

    def _update_buttons(self) -> None:
        connected = self._model.connected
        changed, invalid = self.changes()
        self.read_button.setEnabled(connected)
        self.backup_button.setEnabled(connected)
        self.write_button.setEnabled(connected and bool(changed) and not invalid)
        selected = self._selected_backup() is not None
        self.restore_button.setEnabled(connected and selected)
        self.diff_button.setEnabled(connected and selected)
