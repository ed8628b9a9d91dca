"""Issue 14, GUI item 5: self-test rows read like sentences and stay in view; no phantom steps.

Rows showed raw names ("Device: balancing_circuit", "-0.00 %") and hid below a scrollbar on the
result page; the self-test page listed "Roll back" and "Restore" as pending during a healthy update.
"""

from __future__ import annotations

import pytest

from bmsflasher.gui.engine_text import measured
from bmsflasher.gui.texts import measurement_name
from bmsflasher.gui.widgets.measurement_table import COL_NAME, COL_RESULT, COL_VALUE, MeasurementTable

from .conftest import GuiRig
from .gui_steps import run_update

pytestmark = pytest.mark.gui


def test_device_check_names_are_human_and_minus_zero_is_zero() -> None:
    assert measurement_name("device_balancing_circuit") == "Battery self-test: balancing circuit"
    assert measurement_name("device_some_new_check") == "Battery self-test: some new check"
    assert measurement_name("some_future_gate") == "Some future gate"
    assert measured("-0.00 %") == "0.00 %"
    assert measured("cells 52000 mV vs pack 52001 mV (-0.00 %)") == "cells 52000 mV vs pack 52001 mV (0.00 %)"
    assert measured("-0.01 %") == "-0.01 %"
    assert measured("-0 mV") == "0 mV"
    assert measured("VB-0") == "VB-0"


def _all_rows_visible(table: MeasurementTable) -> bool:
    last = table.model().index(table.rowCount() - 1, 0)
    return table.visualRect(last).bottom() <= table.viewport().height()


def test_healthy_update_shows_every_check_by_name_and_no_rollback_steps(rig: GuiRig, qtbot, packages) -> None:
    wizard = run_update(rig, qtbot, packages["healthy"])
    assert rig.model.last_outcome is not None
    assert rig.model.last_outcome.ok
    checklist = wizard.selftest_page.body.checklist
    assert checklist.is_listed("self_test")
    assert checklist.is_listed("confirm")
    assert not checklist.is_listed("rollback")  # a healthy update never rolls back...
    assert not checklist.is_listed("config_restore")  # ...nor restores the configuration

    table = wizard.result_page.table
    assert table.rowCount() >= 8
    names = [table.item(row, COL_NAME).text() for row in range(table.rowCount())]
    assert not any("_" in name for name in names), names
    assert "Battery self-test: balancing circuit" in names
    values = [table.item(row, COL_VALUE).text() for row in range(table.rowCount())]
    assert not any("-0.00" in value for value in values), values
    wizard.resize(1080, 706)  # what the wizard gets on a 1366×768 laptop screen (screen_fit)
    qtbot.waitUntil(lambda: table.height() > 100, timeout=3000)
    rig.app.processEvents()
    assert table.verticalScrollBar().maximum() == 0, "checks hide below a scrollbar"
    assert _all_rows_visible(table)
    assert not wizard.log.isVisibleTo(wizard)  # the log folds away; one click shows it
    wizard.result_page.log_button.click()
    assert wizard.log.isVisibleTo(wizard)


def test_self_test_failure_lists_the_rollback_it_ran(rig: GuiRig, qtbot, packages) -> None:
    wizard = run_update(rig, qtbot, packages["selftest-fail"])
    assert rig.model.last_outcome is not None
    assert rig.model.last_outcome.result == "rolled_back"
    checklist = wizard.selftest_page.body.checklist
    assert checklist.is_listed("rollback")
    table = wizard.result_page.table
    assert table.item(0, COL_NAME).text() == "Battery self-test: balancing circuit"  # failed first
    assert table.item(0, COL_RESULT).text() == "FAIL"
