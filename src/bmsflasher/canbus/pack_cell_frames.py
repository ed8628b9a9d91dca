"""Read a pack's live cells from the frames its BMUs send on their own, without asking them.

A pack's BMUs send their cell voltages cyclically on the pack's CAN bus (10 Hz on the virtual
pack), four cells per classic 8-byte frame on the 29-bit identifier ``0x18FF51<address>``, beside
the status frame ``0x18FF50<address>`` every node sends (module voltage, current, SoC, version).
The layout is the virtual BMS's multiplexed ``VBMS_CellVoltages`` with the group count added
(``dbc export --pack`` writes it for third-party tools; the simulator keeps its own copy in
``sim/topology/status_frames.py``, as an honest peer does):

=====  ======  ===================================================
bits   type    content
=====  ======  ===================================================
0-3    u4      cell group ``g`` (the multiplexer): cells 4g .. 4g+3
4-7    u4      last group of the node (groups - 1)
8-63   u14×4   the group's cells, 1 mV per bit, Intel bit order; 0x3FFF: no cell in this slot
=====  ======  ===================================================

:class:`PackCellAssembler` keeps each BMU's latest groups and hands out one whole sample when a
node's last group arrives and every group of its cycle has been heard: one sample per BMU and
cycle, never a row mixing a fresh half with nothing.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from typing import Final

import can

from bmsflasher.core.types import PackTelemetry

STATUS_FRAME_BASE: Final = 0x18FF5000
CELL_FRAME_BASE: Final = 0x18FF5100
CELLS_PER_FRAME: Final = 4
CELL_BITS: Final = 14
NO_CELL: Final = (1 << CELL_BITS) - 1
_CELL_MASK: Final = NO_CELL
_ADDRESS_MASK: Final = 0xFF
_STATUS: Final = struct.Struct(">HhB3B")


@dataclass(frozen=True, slots=True)
class CellGroup:
    """One cell frame: which node, which group of four, how many groups the node has, the cells."""

    address: int
    group: int
    groups: int
    cells_mv: tuple[int, ...]
    """The group's cells (fewer than four in a node's last group when its cell count is not a multiple)."""


@dataclass(frozen=True, slots=True)
class ModuleStatus:
    """What a node's status frame says that the live cells show beside them."""

    voltage_mv: int
    current_ma: int
    soc_pct: float


def decode_cell_frame(message: can.Message) -> CellGroup | None:
    """The cell group in ``message``; None for any other frame (or a cell id with foreign data)."""
    if not message.is_extended_id or message.arbitration_id & ~_ADDRESS_MASK != CELL_FRAME_BASE:
        return None
    data = bytes(message.data)
    if len(data) != 8:
        return None
    raw = int.from_bytes(data, "little")
    group, last = raw & 0x0F, (raw >> 4) & 0x0F
    if group > last:
        return None
    values = [(raw >> (8 + slot * CELL_BITS)) & _CELL_MASK for slot in range(CELLS_PER_FRAME)]
    cells = tuple(value for value in values if value != NO_CELL)
    return CellGroup(int(message.arbitration_id & _ADDRESS_MASK), group, last + 1, cells)


def decode_status_frame(message: can.Message) -> tuple[int, ModuleStatus] | None:
    """(sender address, status) of a node's status frame; None for any other frame."""
    if not message.is_extended_id or message.arbitration_id & ~_ADDRESS_MASK != STATUS_FRAME_BASE:
        return None
    data = bytes(message.data)
    if len(data) != _STATUS.size:
        return None
    voltage, current, soc, *_version = _STATUS.unpack(data)
    return int(message.arbitration_id & _ADDRESS_MASK), ModuleStatus(voltage * 10, current * 100, soc / 2)


@dataclass
class _Node:
    groups: dict[int, tuple[int, ...]] = field(default_factory=dict)
    count: int = 0
    status: ModuleStatus | None = None
    last_frame_at: float | None = None


class PackCellAssembler:
    """Every watched BMU's latest cell groups and status, turned into one sample per cycle.

    Not thread-safe: one thread feeds it (the listener's).
    """

    def __init__(self, addresses: tuple[int, ...] | list[int]) -> None:
        self._nodes = {address: _Node() for address in addresses}
        self.frames_decoded = 0

    def feed(self, message: can.Message, now: float | None = None) -> tuple[int, PackTelemetry] | None:
        """Take one frame; returns (address, sample) when it completed a watched BMU's cycle."""
        group = decode_cell_frame(message)
        if group is None:
            status = decode_status_frame(message)
            if status is not None and status[0] in self._nodes:
                self._nodes[status[0]].status = status[1]
            return None
        node = self._nodes.get(group.address)
        if node is None:
            return None
        self.frames_decoded += 1
        node.last_frame_at = time.monotonic() if now is None else now
        if node.count != group.groups:  # first frame, or the node's cell count changed: start over
            node.groups.clear()
            node.count = group.groups
        node.groups[group.group] = group.cells_mv
        if group.group != group.groups - 1 or len(node.groups) < group.groups:
            return None
        cells = tuple(cell for index in range(group.groups) for cell in node.groups[index])
        return group.address, _sample(cells, node.status)

    def last_frame_at(self, address: int) -> float | None:
        """When the last cell frame of ``address`` arrived (``time.monotonic``); None: never."""
        node = self._nodes.get(address)
        return node.last_frame_at if node is not None else None


def _sample(cells: tuple[int, ...], status: ModuleStatus | None) -> PackTelemetry:
    """A live sample from the frames: the cells, and the module values of the last status frame.

    The frames carry no temperatures, balancing flags or state of health: those stay empty (0 %
    for the SoH), as the pack view draws none of them. Without a status frame yet the module
    voltage is the cells' sum.
    """
    return PackTelemetry(
        timestamp_s=time.time(),
        cell_voltages_mv=cells,
        balancing=(),
        temperatures_c=(),
        pack_voltage_mv=status.voltage_mv if status is not None else sum(cells),
        current_ma=status.current_ma if status is not None else 0,
        soc_pct=status.soc_pct if status is not None else 0.0,
        soh_pct=0.0,
    )
