"""Issue 14, GUI: Roll back says beforehand whether it can work, and the demo's rollback works.

Item 1: the demo's rollback failed every time (its healthy update raised the security counter), the
button gave no warning, and the error started in lower case. Item 2: "Roll back to the other slot"
was enabled with slot 1 empty, "Rolling back…" stayed after a refusal, and hints told the
technician to run command-line commands.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import DEMO_RELEASES
from bmsflasher.gui.engine_text import sentence
from bmsflasher.gui.main_window import UPDATE

from .conftest import GuiRig
from .gui_steps import run_update

pytestmark = pytest.mark.gui

DEMO_PACKAGES = resource_path("demo", "packages")
SRC = Path(__file__).resolve().parents[2] / "src" / "bmsflasher"


def test_rollback_button_on_a_fresh_battery_is_disabled_because_slot_1_is_empty(rig: GuiRig) -> None:
    rig.connect()
    rig.window.show_page(UPDATE)
    page = rig.window.update_page
    rig.wait(page.start_button.isEnabled)
    assert not page.rollback_button.isEnabled()
    assert "slot 1 is empty" in page.rollback_button.toolTip()
    assert page.rollback_note.isVisibleTo(rig.window)
    assert "slot 1 is empty" in page.rollback_note.text()


def test_rollback_blocked_by_anti_rollback_is_shown_before_pressing_and_a_refusal_is_capitalised(
    rig: GuiRig, qtbot, packages
) -> None:
    wizard = run_update(rig, qtbot, packages["counter-raise"])  # 1.3.0 raises the counter to 2
    assert rig.model.last_outcome is not None
    assert rig.model.last_outcome.ok
    result = wizard.result_page
    assert not result.rollback_button.isEnabled()
    for text in (result.rollback_button.toolTip(), result.rollback_note.text()):
        assert "anti-rollback" in text
        assert "1.0.0" in text
    assert result.rollback_note.isVisibleTo(wizard)
    wizard.close()

    # Pressed anyway (the menu, a script): the refusal replaces "Rolling back…" and reads as a sentence.
    page = rig.window.update_page
    assert not page.rollback_button.isEnabled()
    page._on_rollback()
    qtbot.waitUntil(lambda: bool(rig.errors) and not rig.model.update_running, timeout=30000)
    assert "Rolling back" not in page.status.text()
    assert page.status.text().startswith("Nothing was rolled back: The device refused")
    assert rig.window.banner.message[0].isupper()
    assert rig.model.identity is not None
    assert rig.model.identity.firmware_version == FirmwareVersion(1, 3, 0)  # nothing changed


def test_demo_packages_give_the_guide_s_rollback_and_one_anti_rollback_refusal(rig: GuiRig, qtbot) -> None:
    """The technician's guide: install VBMS-16-1.0.1, roll back to 1.0.0; VBMS-16-1.1.0 cannot be undone."""
    factory = DEMO_RELEASES[0].security_counter
    by_version = {release.version: release for release in DEMO_RELEASES}
    assert by_version["1.0.1"].security_counter == factory
    assert by_version["1.1.0"].security_counter > factory

    wizard = run_update(rig, qtbot, DEMO_PACKAGES / "VBMS-16-1.0.1.bmspkg")
    result = wizard.result_page
    assert rig.model.last_outcome is not None
    assert rig.model.last_outcome.ok
    assert result.rollback_button.isEnabled()
    assert "1.0.0" in result.rollback_button.toolTip()
    with qtbot.waitSignal(rig.model.sig_rollback_finished, timeout=60000) as rolled_back:
        result.rollback_button.click()
    assert rolled_back.args[0].firmware_version == FirmwareVersion(1, 0, 0)
    assert rig.errors == []
    wizard.close()

    wizard = run_update(rig, qtbot, DEMO_PACKAGES / "VBMS-16-1.1.0.bmspkg")
    assert rig.model.last_outcome is not None
    assert rig.model.last_outcome.ok
    assert not wizard.result_page.rollback_button.isEnabled()
    assert "anti-rollback" in wizard.result_page.rollback_note.text()


def test_rollback_after_a_refusal_no_longer_says_rolling_back_on_the_result_page(
    rig: GuiRig, qtbot, packages
) -> None:
    wizard = run_update(rig, qtbot, packages["counter-raise"])
    result = wizard.result_page
    result._on_rollback()  # what a click would do, were the button not disabled
    qtbot.waitUntil(lambda: not rig.model.update_running and bool(rig.errors), timeout=30000)
    qtbot.waitUntil(lambda: "Rolling back" not in result.action_status.text(), timeout=5000)
    assert result.action_status.text().startswith("Nothing was rolled back: The device refused")


def _cli_sentences() -> list[str]:
    """Every sentence below the GUI that names a command of the command-line tool."""
    found: list[str] = []
    for path in SRC.rglob("*.py"):
        if {"cli", "sim", "gui"} & set(path.relative_to(SRC).parts[:1]):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "'bmsflasher " in node.value
            ):
                found.append(node.value)
    return found


def test_gui_hints_never_tell_the_technician_to_run_a_cli_command() -> None:
    sentences = _cli_sentences()
    assert len(sentences) >= 3, sentences  # the engine names commands for the CLI's sake
    command = re.compile(r"bmsflasher (flash|rollback|recover|scan|history|restore|backup|config)\b")
    for text in sentences:
        shown = sentence(text)
        assert "'bmsflasher" not in shown, (text, shown)
        assert not command.search(shown), (text, shown)
    assert "Roll back on the Update page" in sentence(
        "Run the update again with that package to finish it, or run 'bmsflasher rollback'."
    )
    assert "Recover… on the Devices page" in sentence("bring it back with 'bmsflasher recover PKG' first")


def test_recovery_refusal_in_the_gui_points_to_the_update_wizard_not_a_command(
    rig: GuiRig, qtbot, packages
) -> None:
    dialog = rig.window.open_recovery(rig.bench.link)
    dialog.path_edit.setText(str(packages["healthy"]))
    dialog.recover_button.click()
    qtbot.waitUntil(lambda: bool(rig.errors), timeout=30000)
    qtbot.waitUntil(dialog.recover_button.isEnabled, timeout=5000)
    assert "update wizard" in dialog.status.text()
    assert "bmsflasher flash" not in dialog.status.text()
    assert "bmsflasher" not in rig.window.banner.text.text()
    dialog.close()
