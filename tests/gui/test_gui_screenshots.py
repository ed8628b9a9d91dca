"""Screenshots of every main page and of the wizard, for people to look at (tests/screenshots/).

The folder is ignored by git; ``docs/img`` holds the few committed ones the technician's guide uses.
Each grab is checked to be a real picture (right size, more than one colour), so a page that
renders blank fails here rather than in a reviewer's eyes.
"""

from __future__ import annotations

import pytest

from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import CONFIG, DEVICES, DIAGNOSTICS, HISTORY, LIVE, UPDATE
from bmsflasher.gui.wizard import page_ids

from .conftest import GuiRig
from .screenshot_support import SHOTS
from .screenshot_support import clipped_texts as _clipped_texts
from .screenshot_support import save_shot as _save

pytestmark = pytest.mark.gui


def test_screenshots_of_every_page_and_the_wizard(rig: GuiRig, qtbot, packages) -> None:
    window = rig.window
    window.resize(1280, 800)
    rig.connect()
    live = window.live_page
    # balance from a lower voltage and a smaller spread, so the picture shows balancing cells
    with qtbot.waitSignal(rig.model.sig_config_written, timeout=10000):
        rig.model.write_config({"balance_start_mv": 3000, "balance_delta_mv": 3})
    qtbot.waitUntil(lambda: len(live.history) >= 60 and live.frames_drawn >= 40, timeout=30000)
    qtbot.waitUntil(
        lambda: live.history.latest is not None and any(live.history.latest.balancing), timeout=10000
    )
    qtbot.waitUntil(lambda: live.summary.tiles["balancing"].value.text() != "0", timeout=5000)
    _save(window, "live")
    rig.model.set_theme("dark")
    qtbot.waitUntil(lambda: live.frames_drawn >= 25, timeout=5000)
    _save(window, "live-dark")
    rig.model.set_theme("light")

    window.show_page(DEVICES)
    _save(window, "devices")
    window.show_page(CONFIG)
    qtbot.waitUntil(lambda: window.config_page.table.rowCount() > 5, timeout=10000)
    _save(window, "config")
    window.show_page(DIAGNOSTICS)
    with qtbot.waitSignal(rig.model.sig_link_stats, timeout=10000):
        rig.model.read_link_stats()
    _save(window, "diagnostics")
    window.show_page(UPDATE)
    _save(window, "update")

    wizard = window.open_update_wizard()
    assert wizard is not None
    wizard.package_page.select_package(packages["selftest-fail"])
    _save(wizard, "wizard-1-package")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.verify_page.check is not None, timeout=15000)
    _save(wizard, "wizard-2-verify")
    wizard.next()
    qtbot.waitUntil(lambda: bool(wizard.preconditions_page.results), timeout=20000)
    _save(wizard, "wizard-3-preconditions")
    taken: set[str] = set()

    def on_progress(progress: object) -> None:
        if "transfer" not in taken and getattr(progress, "fraction", 0.0) >= 0.5:
            taken.add("transfer")
            _save(wizard, "wizard-5-transfer")

    def on_step_finished(step: str, _ok: bool, _detail: str) -> None:
        if step == "self_test" and "self_test" not in taken:
            taken.add("self_test")
            _save(wizard, "wizard-7-selftest")

    wizard.run_state.sig_progress.connect(on_progress)
    wizard.run_state.sig_step_finished.connect(on_step_finished)
    wizard.next()
    qtbot.waitUntil(
        lambda: wizard.currentId() == page_ids.RESULT and not rig.model.update_running, timeout=90000
    )
    _save(wizard, "wizard-8-result-rolled-back")
    assert taken == {"transfer", "self_test"}
    wizard.close()

    window.show_page(HISTORY)
    qtbot.waitUntil(lambda: window.history_page.table.rowCount() >= 1, timeout=10000)
    window.history_page.table.selectRow(0)
    qtbot.waitUntil(lambda: "Session #" in window.history_page.detail.toPlainText(), timeout=10000)
    _save(window, "history")
    assert len(list(SHOTS.glob("*.png"))) >= 12


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_translated_pages_fit_and_are_photographed(rig: GuiRig, qtbot, qapp, packages, language: str) -> None:
    switcher = LanguageSwitcher(qapp)
    window = rig.window
    window.resize(1280, 800)
    try:
        assert switcher.set_language(language)
        rig.connect()
        live = window.live_page
        qtbot.waitUntil(lambda: live.frames_drawn >= 10, timeout=15000)
        qapp.processEvents()
        assert live.title.text() != "Live data"
        problems: dict[str, list[str]] = {}
        for page, name in (
            (LIVE, "live"),
            (DEVICES, "devices"),
            (UPDATE, "update"),
            (CONFIG, "config"),
            (DIAGNOSTICS, "diagnostics"),
        ):
            window.show_page(page)
            if page == CONFIG:
                qtbot.waitUntil(lambda: window.config_page.table.rowCount() > 5, timeout=10000)
            qapp.processEvents()
            _save(window, f"{name}-{language}")
            problems[name] = _clipped_texts(window)
        wizard = window.open_update_wizard()
        assert wizard is not None
        wizard.package_page.select_package(packages["healthy"])
        qapp.processEvents()
        _save(wizard, f"wizard-1-package-{language}")
        problems["wizard"] = _clipped_texts(wizard)
        wizard.close()
        assert not any(problems.values()), problems
    finally:
        switcher.set_language("en")
