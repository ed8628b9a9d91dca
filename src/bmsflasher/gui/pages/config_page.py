"""Configuration page: view and edit parameters, back them up, restore a backup, compare.

Each parameter is shown by its name in the technician's language, with its unit and the range or
values the battery accepts, read from the battery's own schema. Edits are checked as they are typed
against that schema (type, minimum, maximum, allowed values): a value outside it is marked in red
with a sentence saying why, and nothing is sent until every edited value is valid. Only changed
values are written.

A battery that cannot describe its parameters gets the type check only (an integer stays an
integer, a flag stays a flag), and the page says that the battery itself checks the range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

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
from bmsflasher.gui.config_rules import InvalidValueError, number_text, parse_value
from bmsflasher.gui.engine import ConfigSchema, ParameterRule
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, plain_label, shown
from bmsflasher.gui.icons import icon
from bmsflasher.gui.parameter_texts import parameter_description, parameter_name
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES

NAME_ROLE: Final = Qt.ItemDataRole.UserRole
"""The device's identifier of the parameter in a row (the cell shows its translated name)."""
_ORIGINAL_ROLE: Final = Qt.ItemDataRole.UserRole + 1
COL_NAME, COL_VALUE, COL_UNIT, COL_ALLOWED = range(4)


def value_text(value: ParameterValue | None) -> str:
    """A parameter value as shown in the tables (flags are check boxes in the parameter table)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✔" if value else "✘"
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
        self._schema: ConfigSchema | None = None
        self._backups: list[Any] = []
        self._diff: Mapping[str, tuple[ParameterValue | None, ParameterValue | None]] | None = None
        self._filling = False
        self._status: Callable[[], str] | None = None

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.read_button = QPushButton(self)
        self.write_button = QPushButton(self)
        self.backup_button = QPushButton(self)
        self.status = plain_label(QLabel(self), device=False)
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        top.addWidget(self.read_button)
        top.addWidget(self.backup_button)
        top.addWidget(self.write_button)
        self.schema_note = plain_label(QLabel(self), device=False)
        self.schema_note.setObjectName("schema_note")
        self.schema_note.setWordWrap(True)
        self.schema_note.hide()

        self.table = QTableWidget(0, 4, self)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in (COL_NAME, COL_VALUE, COL_UNIT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_ALLOWED, QHeaderView.ResizeMode.Stretch)  # long lists elide
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
        self.diff_label.setWordWrap(True)
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
        splitter.setSizes([700, 330])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.schema_note)
        layout.addWidget(splitter, 1)

        self.read_button.clicked.connect(model.read_config)
        self.write_button.clicked.connect(self._on_write)
        self.backup_button.clicked.connect(model.backup_config)
        self.restore_button.clicked.connect(self._on_restore)
        self.diff_button.clicked.connect(self._on_diff)
        self.table.itemChanged.connect(self._on_item_changed)
        self.backups_table.itemSelectionChanged.connect(self._update_buttons)
        model.sig_config_schema.connect(self.show_schema)
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
        self.write_button.setToolTip(
            self.tr(
                "Write the edited parameters to the battery (Ctrl+S); values marked in red are never sent."
            )
        )
        self.backup_button.setText(self.tr("&Back up"))
        self.backup_button.setToolTip(self.tr("Store every parameter in the service history (Ctrl+B)."))
        self.table.setHorizontalHeaderLabels(
            [self.tr("Parameter"), self.tr("Value"), self.tr("Unit"), self.tr("Allowed")]
        )
        self.backups_box.setTitle(self.tr("Backups of this battery"))
        self.backups_table.setHorizontalHeaderLabels(
            [self.tr("Backup"), self.tr("Taken"), self.tr("SHA-256")]
        )
        self.restore_button.setText(self.tr("Res&tore selected"))
        self.diff_button.setText(self.tr("Com&pare with battery"))
        self.diff_table.setHorizontalHeaderLabels(
            [self.tr("Parameter"), self.tr("Backup"), self.tr("Battery")]
        )
        self.schema_note.setText(
            self.tr(
                "This battery does not describe its parameters: only the type of each value is checked "
                "here; the battery checks the range when the value is written."
            )
        )
        if self._snapshot is not None:
            edits = self._edited_texts()
            self.show_snapshot(self._snapshot)
            self._restore_edits(edits)
        self.show_diff(self._diff)
        if self._status is not None:
            self.status.setText(self._status())

    def _set_status(self, render: Callable[[], str]) -> None:
        """A status line written again in the new language after a switch."""
        self._status = render
        self.status.setText(render())

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.read_button.setIcon(icon("refresh", colors.text))
        self.write_button.setIcon(icon("edit", colors.text))
        self.backup_button.setIcon(icon("backup", colors.text))
        self.restore_button.setIcon(icon("restore", colors.text))
        self.diff_button.setIcon(icon("diff", colors.text))

    # --- parameters -------------------------------------------------------------------------------
    def rule(self, name: str) -> ParameterRule | None:
        """The device's schema entry for ``name`` (None: no schema, or the device did not list it)."""
        return self._schema.parameters.get(name) if self._schema is not None else None

    @Slot(object)
    def show_schema(self, schema: ConfigSchema | None) -> None:
        """Remember what the device accepts; without a schema, say that only types are checked."""
        self._schema = schema
        self.schema_note.setVisible(schema is None or not schema.parameters)

    def _allowed_text(self, rule: ParameterRule | None) -> str:
        if rule is None:
            return "—"
        if not rule.writable:
            return self.tr("read-only")
        if rule.choices:
            return ", ".join(number_text(c) if isinstance(c, int | float) else str(c) for c in rule.choices)
        if rule.minimum is not None and rule.maximum is not None:
            return fmt(self.tr("%1 to %2"), number_text(rule.minimum), number_text(rule.maximum))
        if rule.minimum is not None:
            return fmt(self.tr("at least %1"), number_text(rule.minimum))
        if rule.maximum is not None:
            return fmt(self.tr("at most %1"), number_text(rule.maximum))
        return "—"

    def _tooltip(self, name: str, rule: ParameterRule | None) -> str:
        lines = [parameter_description(name, rule.description if rule is not None else "")]
        if rule is not None and not rule.writable:
            lines.append(self.tr("Set at the factory: it cannot be changed here."))
        elif rule is not None and self._allowed_text(rule) != "—":
            unit = f" {rule.unit}" if rule.unit else ""
            lines.append(fmt(self.tr("Allowed: %1"), self._allowed_text(rule) + unit))
        return "\n".join(line for line in lines if line)

    @Slot(object)
    def show_snapshot(self, snapshot: ConfigSnapshot) -> None:
        """Fill the table with the device's parameters (edits start from these values)."""
        self._snapshot = snapshot
        self._filling = True
        colors = THEMES[self._model.theme_name]
        rows = sorted(snapshot.parameters.items(), key=lambda item: parameter_name(item[0]).casefold())
        self.table.setRowCount(len(rows))
        for row, (name, value) in enumerate(rows):
            rule = self.rule(name)
            tooltip = self._tooltip(name, rule)
            name_item = QTableWidgetItem(parameter_name(name))
            name_item.setData(NAME_ROLE, name)
            name_item.setFlags(name_item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            name_item.setToolTip(tooltip)
            value_item = QTableWidgetItem()
            value_item.setData(_ORIGINAL_ROLE, value)
            value_item.setToolTip(tooltip)
            if isinstance(value, bool):
                value_item.setFlags(
                    (value_item.flags() | Qt.ItemFlag.ItemIsUserCheckable) & ~Qt.ItemFlag.ItemIsEditable
                )
                value_item.setCheckState(Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
            else:
                value_item.setText(value_text(value))
                if isinstance(value, str):
                    value_item.setData(DEVICE_TEXT_ROLE, True)  # text the battery holds
            if rule is not None and not rule.writable:
                value_item.setFlags(
                    value_item.flags() & ~Qt.ItemFlag.ItemIsEditable & ~Qt.ItemFlag.ItemIsUserCheckable
                )
                value_item.setForeground(QColor(colors.muted_text))
            unit_item = QTableWidgetItem(rule.unit if rule is not None else "")
            unit_item.setData(DEVICE_TEXT_ROLE, True)  # units are the same in every language
            allowed_item = QTableWidgetItem(self._allowed_text(rule))
            for item in (unit_item, allowed_item):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(tooltip)
            self.table.setItem(row, COL_NAME, name_item)
            self.table.setItem(row, COL_VALUE, value_item)
            self.table.setItem(row, COL_UNIT, unit_item)
            self.table.setItem(row, COL_ALLOWED, allowed_item)
        self._filling = False
        count, version = len(snapshot.parameters), snapshot.schema_version
        self._set_status(lambda: fmt(self.tr("%n parameter(s), schema version %1.", "", count), version))
        self._update_buttons()

    def _edited_texts(self) -> dict[str, str]:
        """Values typed but not written yet (kept across a language switch)."""
        edits: dict[str, str] = {}
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, COL_NAME), self.table.item(row, COL_VALUE)
            if name_item is None or value_item is None:
                continue
            original = value_item.data(_ORIGINAL_ROLE)
            if not isinstance(original, bool) and value_item.text() != value_text(original):
                edits[str(name_item.data(NAME_ROLE))] = value_item.text()
        return edits

    def _restore_edits(self, edits: Mapping[str, str]) -> None:
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, COL_NAME), self.table.item(row, COL_VALUE)
            if name_item is not None and value_item is not None and name_item.data(NAME_ROLE) in edits:
                value_item.setText(edits[str(name_item.data(NAME_ROLE))])

    def _typed_value(self, item: QTableWidgetItem) -> ParameterValue:
        """The value a cell holds now, checked against the schema; raises InvalidValueError."""
        original = item.data(_ORIGINAL_ROLE)
        if isinstance(original, bool):
            return item.checkState() == Qt.CheckState.Checked
        name_item = self.table.item(item.row(), COL_NAME)
        name = str(name_item.data(NAME_ROLE)) if name_item is not None else ""
        if item.text() == value_text(original):
            unchanged: ParameterValue = original  # what the device holds is what it accepted
            return unchanged
        return parse_value(item.text(), original, self.rule(name))

    def changes(self) -> tuple[dict[str, ParameterValue], list[str]]:
        """Edited values that pass the checks (name → value) and the names of those that do not."""
        changed: dict[str, ParameterValue] = {}
        invalid: list[str] = []
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, COL_NAME), self.table.item(row, COL_VALUE)
            if name_item is None or value_item is None:
                continue
            name = str(name_item.data(NAME_ROLE))
            try:
                value = self._typed_value(value_item)
            except InvalidValueError:
                invalid.append(name)
                continue
            if value != value_item.data(_ORIGINAL_ROLE):
                changed[name] = value
        return changed, invalid

    def problem_text(self, problem: InvalidValueError, rule: ParameterRule | None) -> str:
        """Why a typed value is refused, as one sentence in the technician's language."""
        unit = f" {rule.unit}" if rule is not None and rule.unit else ""
        texts = {
            "not_number": lambda: self.tr("Type a number, for example 3.5."),
            "not_whole": lambda: self.tr("Type a whole number."),
            "not_flag": lambda: self.tr("Tick or untick the box."),
            "below": lambda: fmt(self.tr("Too low: the battery accepts at least %1."), problem.limit + unit),
            "above": lambda: fmt(self.tr("Too high: the battery accepts at most %1."), problem.limit + unit),
            "not_choice": lambda: fmt(self.tr("Not allowed: choose one of %1."), problem.limit + unit),
            "read_only": lambda: self.tr("Set at the factory: it cannot be changed here."),
        }
        return texts[problem.kind]()

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != COL_VALUE:
            return
        colors = THEMES[self._model.theme_name]
        original = item.data(_ORIGINAL_ROLE)
        name_item = self.table.item(item.row(), COL_NAME)
        name = str(name_item.data(NAME_ROLE)) if name_item is not None else ""
        rule = self.rule(name)
        try:
            value = self._typed_value(item)
        except InvalidValueError as problem:
            item.setForeground(QColor(colors.bad))
            item.setToolTip(self.problem_text(problem, rule))
        else:
            item.setForeground(QColor(colors.highlight if value != original else colors.text))
            item.setToolTip(self._tooltip(name, rule))
        self._update_buttons()

    @Slot()
    def _on_write(self) -> None:
        changed, invalid = self.changes()
        if invalid:
            names = ", ".join(parameter_name(name) for name in invalid)
            self._set_status(lambda: fmt(self.tr("Nothing was written: correct %1 first."), names))
            return
        if changed:
            self._model.write_config(changed)

    @Slot(object)
    def _on_written(self, snapshot: ConfigSnapshot) -> None:
        self.show_snapshot(snapshot)
        self._set_status(lambda: self.tr("The battery accepted the configuration."))

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
        backup_id = backup.id
        self._set_status(lambda: fmt(self.tr("Backup #%1 stored and verified."), backup_id))

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
    def show_diff(
        self, diff: Mapping[str, tuple[ParameterValue | None, ParameterValue | None]] | None
    ) -> None:
        """Show parameters that differ between the selected backup and the battery."""
        self._diff = diff
        if diff is None:
            self.diff_table.setRowCount(0)
            self.diff_label.setText(self.tr("Differences (backup → battery now):"))
            return
        self.diff_table.setRowCount(len(diff))
        for row, (name, (before, after)) in enumerate(sorted(diff.items())):
            for column, text in enumerate((parameter_name(name), value_text(before), value_text(after))):
                self.diff_table.setItem(row, column, QTableWidgetItem(text))
        if not diff:
            self.diff_label.setText(self.tr("No differences: the battery matches the backup."))
        else:
            self.diff_label.setText(self.tr("%n parameter(s) differ (backup → battery now):", "", len(diff)))

    # --- state ------------------------------------------------------------------------------------
    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None) -> None:
        self.table.setRowCount(0)
        self.backups_table.setRowCount(0)
        self._snapshot = None
        self._schema = self._model.config_schema
        self.schema_note.hide()
        self.show_diff(None)
        reason = self._model.read_only_reason  # a battery watched through its CAN broadcasts
        if identity is not None and reason is not None:
            self._set_status(lambda: shown(reason))
        elif identity is not None:
            self._model.read_config()
            self._model.list_backups()
        self._update_buttons()

    def _update_buttons(self) -> None:
        connected = self._model.connected and self._model.read_only_reason is None
        changed, invalid = self.changes()
        self.read_button.setEnabled(connected)
        self.backup_button.setEnabled(connected)
        self.write_button.setEnabled(connected and bool(changed) and not invalid)
        selected = self._selected_backup() is not None
        self.restore_button.setEnabled(connected and selected)
        self.diff_button.setEnabled(connected and selected)
