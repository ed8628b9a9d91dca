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
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import can

from bmsflasher.core.types import FirmwareVersion

STATUS_FRAME_BASE: Final = 0x18FF5000
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
