"""Screenshots of every main page and of the wizard, for people to look at (tests/screenshots/).

The folder is ignored by git; ``docs/img`` holds the few committed ones the technician's guide uses.
Each grab is checked to be a real picture (right size, more than one colour), so a page that
renders blank fails here rather than in a reviewer's eyes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import CONFIG, DEVICES, DIAGNOSTICS, HISTORY, LIVE, UPDATE
from bmsflasher.gui.wizard import page_ids

from .conftest import GuiRig

pytestmark = pytest.mark.gui

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def _save(widget: QWidget, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 400
    assert image.height() >= 300
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
    assert len(colours) > 8, f"{name} looks blank"
    _assert_no_button_over_a_table(widget, name)
    return path


def _assert_no_button_over_a_table(widget: QWidget, name: str) -> None:
    """A layout squeezed below its widgets' minimum sizes draws them over each other (it happened to the
    result page's buttons and its checks table in a small wizard)."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QAbstractScrollArea

    def box(child: QWidget) -> QRect:
        return QRect(child.mapTo(widget, child.rect().topLeft()), child.size())

    buttons = [b for b in widget.findChildren(QPushButton) if b.isVisible()]
    areas = [a for a in widget.findChildren(QAbstractScrollArea) if a.isVisible()]
    overlaps = [
        (b.text(), type(a).__name__)
        for b in buttons
        for a in areas
        if not a.isAncestorOf(b) and box(b).intersects(box(a))
    ]
    assert not overlaps, f"{name}: buttons drawn over a table or list: {overlaps}"


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


def _shown(text: str) -> str:
    """The text as drawn: a single ``&`` marks a mnemonic, ``&&`` is a literal ampersand."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _clipped_texts(root: QWidget) -> list[str]:
    """Visible one-line labels and buttons whose text is wider than the room they were given."""
    clipped: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) or widget.width() <= 0:
            continue
        metrics = widget.fontMetrics()
        if (
            isinstance(widget, QLabel)
            and not widget.wordWrap()
            and widget.textFormat() != Qt.TextFormat.RichText
        ):
            text = _shown(widget.text())
            if (
                text
                and "<" not in text
                and metrics.horizontalAdvance(text) > widget.contentsRect().width() + 1
            ):
                clipped.append(f"label {text!r}")
        elif isinstance(widget, QPushButton):
            text = _shown(widget.text())
            room = widget.width() - (widget.iconSize().width() + 4 if not widget.icon().isNull() else 0)
            if text and metrics.horizontalAdvance(text) > room:
                clipped.append(f"button {text!r}")
    return clipped


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
