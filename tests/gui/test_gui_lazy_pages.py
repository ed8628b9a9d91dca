"""The live and pack pages are built when first needed, yet miss nothing a built page would have shown.

Building them lazily (gui/lazy_page.py) keeps pyqtgraph off the cold start; the risk is a page
that comes into being after the samples, the device or the rack it should show. Real virtual BMS
in process, real AppModel and MainWindow.
"""

from __future__ import annotations

from bmsflasher.gui.main_window import LIVE, UPDATE
from bmsflasher.gui.pages.live_page import LivePage

from .conftest import GuiRig


def test_a_fresh_window_builds_neither_plot_page(rig: GuiRig) -> None:
    assert rig.window._live_slot.built is None
    assert rig.window._pack_slot.built is None


def test_connecting_builds_the_live_page_before_the_first_sample(rig: GuiRig) -> None:
    rig.window.show_page(UPDATE)  # connecting from here does not open the live page
    rig.connect()
    page = rig.window._live_slot.built
    assert isinstance(page, LivePage)  # built without anyone opening the page
    rig.wait(lambda: page.history.latest is not None)  # and it buffers the samples from the start
    assert rig.model.identity is not None
    assert rig.model.identity.serial_number in page.status.text()


def test_opening_the_page_or_asking_for_it_builds_it_once(rig: GuiRig) -> None:
    rig.window.show_page(LIVE)
    rig.app.processEvents()
    built = rig.window._live_slot.built
    assert isinstance(built, LivePage)
    assert built.isVisible()
    assert rig.window.live_page is built
    assert rig.window.pack_page is rig.window._pack_slot.built
