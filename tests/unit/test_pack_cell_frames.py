"""The pack's cell frames: the virtual BMU's encoder and the tool's decoder agree, cycle by cycle.

The simulator and the tool each keep their own copy of the layout (the simulator is an honest
peer), so this checks the two against each other, including a cell count that is not a multiple of
four and a BMU whose cell count changes.
"""

from __future__ import annotations

import can

from bmsflasher.canbus.pack_cell_frames import PackCellAssembler, decode_cell_frame
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.sim.topology.status_frames import NodeStatus, cell_frames, status_frame


def test_a_13_cell_bmu_is_four_frames_and_one_whole_sample_at_its_last_group() -> None:
    cells = [3300 + 7 * i for i in range(13)]
    frames = cell_frames(0x45, cells)
    assert [frame.arbitration_id for frame in frames] == [0x18FF5145] * 4
    assert all(frame.is_extended_id and len(frame.data) == 8 for frame in frames)
    assembler = PackCellAssembler([0x45])
    assembler.feed(status_frame(0x45, NodeStatus(42_910, -1500, 61.5, FirmwareVersion(1, 1, 0))))
    results = [assembler.feed(frame) for frame in frames]
    assert results[:3] == [None, None, None]  # no half rows
    done = results[3]
    assert done is not None
    address, sample = done
    assert address == 0x45
    assert sample.cell_voltages_mv == tuple(cells)
    assert (sample.pack_voltage_mv, sample.current_ma, sample.soc_pct) == (42_910, -1500, 61.5)


def test_frames_of_other_nodes_other_ids_and_a_broken_multiplexer_are_ignored() -> None:
    assembler = PackCellAssembler([0x40])
    for frame in cell_frames(0x41, [3300] * 16):  # a BMU not watched
        assert assembler.feed(frame) is None
    assert (
        assembler.feed(can.Message(arbitration_id=0x18FF5140, data=b"\x05" + bytes(7), is_extended_id=True))
        is None
    )
    assert (
        decode_cell_frame(
            can.Message(arbitration_id=0x18FF5140, data=b"\x05" + bytes(7), is_extended_id=True)
        )
        is None
    )
    assert decode_cell_frame(can.Message(arbitration_id=0x351, data=bytes(8), is_extended_id=False)) is None
    assert assembler.last_frame_at(0x40) is None


def test_a_bmu_whose_cell_count_changes_starts_a_new_cycle() -> None:
    assembler = PackCellAssembler([0x40])
    first = cell_frames(0x40, [3000] * 16)
    for frame in first[:2]:
        assembler.feed(frame)
    second = cell_frames(0x40, [3100] * 8)  # two groups now: the old groups 0-1 are not mixed in
    assert assembler.feed(second[0]) is None
    done = assembler.feed(second[1])
    assert done is not None
    assert done[1].cell_voltages_mv == (3100,) * 8
