"""The Pack page: the tree lists every node of a virtual pack by tier; every BMU's cells are drawn live."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.gui.pack_tree import SERIAL_ROLE

from .pack_support import PackRig, started_pack_rig

pytestmark = pytest.mark.gui


@pytest.fixture
def pack_rig(qapp: QApplication, data_home: Path) -> Iterator[PackRig]:
    yield from started_pack_rig(qapp, data_home)


def test_the_tree_lists_every_node_under_its_tier(pack_rig: PackRig) -> None:
    page = pack_rig.window.pack_page
    tree = page.tree
    tiers = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    assert [top.data(0, SERIAL_ROLE) for top in tiers if top is not None] == ["bcu", "bmc", "bmu"]
    assert [top.childCount() for top in tiers if top is not None] == [1, 1, 2]
    rows = {item.text(2): item for item in tree.node_items()}
    nodes = pack_rig.window.pack_model.nodes
    assert set(rows) == {node.serial for node in nodes}
    for node in nodes:
        row = rows[node.serial]
        assert (row.text(1), row.text(3)) == (node.model, "1.0.0")
        assert row.text(4) == "application"
    assert {node.model for node in nodes} == {"VBCU-1", "VBMC-4", "VBMU-16"}


def test_the_cells_of_every_bmu_are_drawn_live(pack_rig: PackRig) -> None:
    page = pack_rig.window.pack_page
    assert page.cells_button.isEnabled()
    page.cells_button.click()
    pack_rig.wait(lambda: page.frames_drawn >= 3 and page.cells.cell_count == 32, 20)
    matrix = page.cells.matrix_mv()
    assert matrix.shape == (2, 16)
    assert np.all((matrix > 2500) & (matrix < 4500))
    assert page.cells.addresses == (0x40, 0x41)
    # the BMUs' own cell frames (10 Hz), not a poll in turn: whole sweeps of the pack, ten a second
    pack_rig.wait(lambda: page.sweeps_per_s >= 9.0, 6)
    assert "sweeps a second" in page.cells_status.text()
    stream = pack_rig.window.pack_model.cell_stream
    assert stream is not None
    assert stream.frame_samples > 0
    assert stream.polled_samples == 0
    assert not pack_rig.photograph(pack_rig.window, "pack-view")

    # a BMU whose firmware sends no cell frames: its row is read over UDS and the status says so
    demo_pack = pack_rig.window.pack_model.demo._pack  # the in-process CanPack behind the demo
    demo_pack.link.mute_cells(0x41)
    pack_rig.wait(lambda: "read over UDS (no cell frames): 0x41" in page.cells_status.text(), 6)
    drawn = page.cells.samples[0x41].timestamp_s
    pack_rig.wait(lambda: page.cells.samples[0x41].timestamp_s > drawn, 3)  # the row stays current
    assert stream.polled_samples > 0

    # a pack's largest picture: 32 BMUs of 16 cells (512), drawn well within the 100 ms refresh
    sample = page.cells.samples[0x40]
    bmus = tuple(range(0x40, 0x60))
    page.cells.watch(bmus)
    for address in bmus:
        page.cells.add_sample(address, sample)
    started = time.monotonic()
    for _ in range(10):
        page.render_cells()
    per_frame_s = (time.monotonic() - started) / 10
    assert page.cells.cell_count == 512
    assert per_frame_s < 0.1, f"a 512-cell frame takes {per_frame_s * 1000:.0f} ms, over the 100 ms refresh"
    page.cells_button.click()
    pack_rig.wait(lambda: not pack_rig.window.pack_model.watching_cells, 5)
    assert page.cells.addresses == ()
