"""Issue 14, GUI item 3: the configuration page checks values against the battery's schema.

It showed raw snake_case names with no units or ranges, Python exceptions as tooltips ("could not
convert string to float") and sent out-of-range values (cell over-voltage 99999 mV) that only the
device rejected. Now every value is checked against the schema the device reports before anything
is sent, with sentences in the technician's language.
"""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from bmsflasher.core.types import LinkSettings
from bmsflasher.gui.config_rules import InvalidValueError, parse_value
from bmsflasher.gui.engine import ParameterRule
from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import CONFIG
from bmsflasher.gui.pages.config_page import COL_ALLOWED, COL_NAME, COL_UNIT, COL_VALUE, NAME_ROLE, ConfigPage
from bmsflasher.gui.theme import LIGHT
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

from .conftest import GuiRig

pytestmark = pytest.mark.gui


def _row(page: ConfigPage, name: str) -> int:
    names = [page.table.item(row, COL_NAME).data(NAME_ROLE) for row in range(page.table.rowCount())]
    return names.index(name)


def _open(rig: GuiRig, qtbot) -> ConfigPage:
    rig.connect()
    rig.window.show_page(CONFIG)
    page = rig.window.config_page
    qtbot.waitUntil(lambda: page.table.rowCount() > 5, timeout=10000)
    return page


def test_config_page_checks_the_device_schema_before_anything_is_sent(rig: GuiRig, qtbot) -> None:
    page = _open(rig, qtbot)
    assert rig.model.config_schema is not None  # the SMP battery describes its parameters
    assert not page.schema_note.isVisibleTo(rig.window)
    row = _row(page, "cell_overvoltage_mv")
    assert page.table.item(row, COL_NAME).text() == "Cell over-voltage limit"
    assert page.table.item(row, COL_UNIT).text() == "mV"
    assert page.table.item(row, COL_ALLOWED).text() == "2500 to 4500"
    original = int(page.table.item(row, COL_VALUE).text())
    shown_names = [page.table.item(r, COL_NAME).text() for r in range(page.table.rowCount())]
    assert not any("_" in name for name in shown_names), shown_names

    item = page.table.item(row, COL_VALUE)
    item.setText("99999")
    assert item.foreground().color() == QColor(LIGHT.bad)
    assert item.toolTip() == "Too high: the battery accepts at most 4500 mV."
    assert page.changes() == ({}, ["cell_overvoltage_mv"])
    assert not page.write_button.isEnabled()
    item.setText("3,7")
    assert item.toolTip() == "Type a whole number."
    assert "convert" not in item.toolTip()

    # a write that skips the page (a script, a stale edit) is refused before it reaches the battery
    sessions_before = len(rig.model.engine.sessions())
    rig.model.write_config({"cell_overvoltage_mv": 99999})
    qtbot.waitUntil(lambda: bool(rig.errors), timeout=5000)
    assert "Nothing was written" in rig.errors[-1][0]
    assert rig.bench.device.config().parameters["cell_overvoltage_mv"] == original
    assert len(rig.model.engine.sessions()) == sessions_before  # nothing sent, nothing recorded

    choice_row = _row(page, "can_bitrate")
    choice = page.table.item(choice_row, COL_VALUE)
    choice.setText("300000")
    assert choice.toolTip().startswith("Not allowed: choose one of 125000, 250000, 500000, 1000000")
    choice.setText("250000")
    item.setText(str(original - 50))
    assert page.changes() == ({"cell_overvoltage_mv": original - 50, "can_bitrate": 250000}, [])
    with qtbot.waitSignal(rig.model.sig_config_written, timeout=10000) as written:
        page.write_button.click()
    assert written.args[0].parameters["cell_overvoltage_mv"] == original - 50


def test_config_page_checks_the_schema_of_a_battery_on_can_too(rig: GuiRig, qtbot) -> None:
    """Over CAN the page used to check types only: the UDS client had no public schema."""
    channel = f"gui-schema-{uuid.uuid4().hex[:8]}"
    with VirtualBms.create(SimOptions(seed=31)) as device:
        simulation = can_frontend.start(device, FrontEndOptions(channel=channel), "virtual")
        try:
            rig.model.connect_device(
                LinkSettings(kind="can", interface="virtual", channel=channel, bitrate=500_000, node=1)
            )
            rig.wait(lambda: rig.model.identity is not None, 30)
            rig.window.show_page(CONFIG)
            page = rig.window.config_page
            qtbot.waitUntil(lambda: page.table.rowCount() > 5, timeout=15000)
            assert rig.model.link is not None
            assert rig.model.link.kind == "can"
            assert rig.model.config_schema is not None
            assert not page.schema_note.isVisibleTo(rig.window)  # no "only the type is checked" here
            row = _row(page, "cell_overvoltage_mv")
            assert page.table.item(row, COL_UNIT).text() == "mV"
            assert page.table.item(row, COL_ALLOWED).text() == "2500 to 4500"
            item = page.table.item(row, COL_VALUE)
            item.setText("99999")
            assert item.toolTip() == "Too high: the battery accepts at most 4500 mV."
            assert page.changes() == ({}, ["cell_overvoltage_mv"])
            choice = page.table.item(_row(page, "can_bitrate"), COL_VALUE)
            choice.setText("300000")
            assert choice.toolTip().startswith("Not allowed: choose one of 125000, 250000, 500000, 1000000")
            serial_row = _row(page, "serial_number")
            assert page.table.item(serial_row, COL_ALLOWED).text() == "read-only"
            rig.model.disconnect_device()
            rig.wait(lambda: rig.model.identity is None, 15)
        finally:
            simulation.close()


def test_config_page_speaks_the_technician_s_language(rig: GuiRig, qtbot, qapp: QApplication) -> None:
    switcher = LanguageSwitcher(qapp)
    try:
        page = _open(rig, qtbot)
        assert switcher.set_language("nl")
        qtbot.waitUntil(lambda: page.title.text() == "Configuratie", timeout=3000)
        row = _row(page, "cell_overvoltage_mv")
        assert page.table.item(row, COL_NAME).text() == "Maximale celspanning"
        assert page.table.item(row, COL_ALLOWED).text() == "2500 tot 4500"
        page.table.item(row, COL_VALUE).setText("99999")
        assert (
            page.table.item(row, COL_VALUE).toolTip() == "Te hoog: de batterij aanvaardt ten hoogste 4500 mV."
        )
        assert switcher.set_language("fr")
        qtbot.waitUntil(lambda: page.title.text() == "Configuration", timeout=3000)
        qtbot.waitUntil(
            lambda: (
                page.table.item(_row(page, "cell_overvoltage_mv"), COL_NAME).text() != "Maximale celspanning"
            ),
            timeout=3000,
        )
        row = _row(page, "cell_overvoltage_mv")
        assert page.table.item(row, COL_NAME).text() == "Seuil de surtension de cellule"
        assert page.table.item(row, COL_VALUE).text() == "99999"  # the edit survives the switch
        assert page.table.item(row, COL_VALUE).toolTip() == "Trop haut : la batterie accepte au plus 4500 mV."
    finally:
        switcher.set_language("en")


def test_config_page_without_a_schema_checks_types_only_and_says_so(rig: GuiRig, qtbot) -> None:
    page = _open(rig, qtbot)
    snapshot = rig.bench.device.config()
    rig.model.config_schema = None
    page.show_schema(None)  # what a target that cannot describe its parameters leads to
    page.show_snapshot(snapshot)
    assert page.schema_note.isVisibleTo(rig.window)
    assert "only the type" in page.schema_note.text()
    row = _row(page, "cell_overvoltage_mv")
    assert page.table.item(row, COL_ALLOWED).text() == "—"
    page.table.item(row, COL_VALUE).setText("99999")
    assert page.changes() == ({"cell_overvoltage_mv": 99999}, [])  # the battery checks the range
    page.table.item(row, COL_VALUE).setText("many")
    assert page.table.item(row, COL_VALUE).toolTip() == "Type a whole number."


def test_value_rules_follow_the_schema() -> None:
    rule = ParameterRule("overtemperature_c", float, "°C", 30.0, 90.0)
    assert parse_value("55,5", 55.0, rule) == 55.5
    with pytest.raises(InvalidValueError) as low:
        parse_value("10", 55.0, rule)
    assert (low.value.kind, low.value.limit) == ("below", "30")
    with pytest.raises(InvalidValueError) as nan:
        parse_value("nan", 55.0, rule)
    assert nan.value.kind == "not_number"
    assert parse_value("4000", 3650, None) == 4000  # no schema: the type only
    with pytest.raises(InvalidValueError):
        parse_value("4000.5", 3650, None)
