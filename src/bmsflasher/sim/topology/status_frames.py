"""The cyclic status frame every pack node sends while its application runs.

A real distributed BMS shares live data on its internal CAN bus: each BMU reports its module, the
BCU adds them up for the pack. One classic 8-byte frame per node and period, 29-bit identifier
``0x18FF50<address>`` (priority 6, so any UDS frame, 0x18DA…/0x18DB…, wins arbitration):

=====  ======  ===================================================
bytes  type    content
=====  ======  ===================================================
0-1    u16 BE  module voltage, 10 mV per bit (0..655.35 V)
2-3    s16 BE  module current, 100 mA per bit (discharge positive)
4      u8      state of charge, 0.5 % per bit
5-7    u8×3    running firmware version: major, minor, revision (capped at 255)
=====  ======  ===================================================

A node in its bootloader or in recovery, or without power, sends nothing: its peers notice.

Every BMU also sends its cell voltages, four cells per classic 8-byte frame, every
:data:`~bmsflasher.sim.topology.pack_link.CELL_PERIOD_S` (10 Hz) on ``0x18FF51<address>``
(priority 6 as well), laid out as the single virtual BMS's ``VBMS_CellVoltages`` (``vbms.dbc``)
with the group count added, so one DBC multiplexer decodes both:

=====  ======  ===================================================
bits   type    content
=====  ======  ===================================================
0-3    u4      cell group ``g`` (the multiplexer): cells 4g .. 4g+3
4-7    u4      last group of the node (groups - 1): the cycle is complete at that group
8-63   u14×4   the group's cells, 1 mV per bit, little-endian bit order (Intel, as the DBC
               says ``@1``); 0x3FFF marks a slot past the node's last cell
=====  ======  ===================================================

16 groups hold 64 cells. 32 BMUs of 16 cells at 10 Hz are 1280 frames a second, about 35 % of a
500 kbit/s bus (a 29-bit 8-byte frame is about 136 bits with its stuff bits and interframe
space): that is what real packs spend on it, and why the BMUs hold their cell frames while a
node of the pack runs its bootloader (``pack_link``), leaving an update the bus.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import can

from bmsflasher.core.types import FirmwareVersion

STATUS_FRAME_BASE: Final = 0x18FF5000
CELL_FRAME_BASE: Final = 0x18FF5100
CELLS_PER_FRAME: Final = 4
MAX_CELL_GROUPS: Final = 16
CELL_BITS: Final = 14
NO_CELL: Final = (1 << CELL_BITS) - 1
"""The raw value of a slot past the node's last cell (16.383 V: no cell reads it)."""
_ADDRESS_MASK: Final = 0xFF
_LAYOUT: Final = struct.Struct(">HhB3B")


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What one status frame says."""

    voltage_mv: int
    current_ma: int
    soc_pct: float
    version: FirmwareVersion


def status_frame(address: int, status: NodeStatus) -> can.Message:
    """The frame node ``address`` sends to report ``status`` (values clamped to the fields)."""
    version = status.version
    data = _LAYOUT.pack(
        max(0, min(0xFFFF, round(status.voltage_mv / 10))),
        max(-0x8000, min(0x7FFF, round(status.current_ma / 100))),
        max(0, min(200, round(status.soc_pct * 2))),
        version.major & 0xFF,
        version.minor & 0xFF,
        min(0xFF, version.revision),
    )
    return can.Message(arbitration_id=STATUS_FRAME_BASE | address, data=data, is_extended_id=True)


def sender_of(message: can.Message) -> int | None:
    """The address of the node that sent a status frame; None for any other frame."""
    if not message.is_extended_id or message.arbitration_id & ~_ADDRESS_MASK != STATUS_FRAME_BASE:
        return None
    return int(message.arbitration_id & _ADDRESS_MASK)


def decode_status(data: bytes) -> NodeStatus:
    """The status in a frame's data.

    Raises:
        ValueError: the data is not 8 bytes (a frame from a foreign device on the same id).
    """
    if len(data) != _LAYOUT.size:
        raise ValueError(f"a status frame has {_LAYOUT.size} data bytes, not {len(data)}")
    voltage, current, soc, major, minor, revision = _LAYOUT.unpack(data)
    return NodeStatus(voltage * 10, current * 100, soc / 2, FirmwareVersion(major, minor, revision))


def cell_frames(address: int, cells_mv: tuple[int, ...] | list[int]) -> list[can.Message]:
    """The cell frames node ``address`` sends for ``cells_mv`` (one per group of four, in order).

    Cells past :data:`MAX_CELL_GROUPS` groups are not sent; a value is clamped to 0..16382 mV.
    """
    cells = list(cells_mv)[: MAX_CELL_GROUPS * CELLS_PER_FRAME]
    if not cells:
        return []
    groups = (len(cells) + CELLS_PER_FRAME - 1) // CELLS_PER_FRAME
    frames = []
    for group in range(groups):
        chunk = cells[group * CELLS_PER_FRAME : (group + 1) * CELLS_PER_FRAME]
        raw = group | (groups - 1) << 4
        for slot in range(CELLS_PER_FRAME):
            value = max(0, min(NO_CELL - 1, round(chunk[slot]))) if slot < len(chunk) else NO_CELL
            raw |= value << (8 + slot * CELL_BITS)
        frames.append(
            can.Message(
                arbitration_id=CELL_FRAME_BASE | address, data=raw.to_bytes(8, "little"), is_extended_id=True
            )
        )
    return frames
