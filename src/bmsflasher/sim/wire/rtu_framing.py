"""Modbus RTU framing: address + PDU + CRC-16/Modbus, as a module on the bus checks and builds it.

A frame is the unit address (1..247; 0 broadcasts), the PDU (function code and data, at most 253
bytes) and the CRC-16/Modbus of both (polynomial 0xA001 reflected, initial 0xFFFF) sent low byte
first (Modbus over serial line v1.02, 2.5.1.2 and 6.2.2). Written here from the specification,
not taken from the tool's client, so a shared mistake cannot pass unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

BROADCAST_ADDRESS: Final = 0
MIN_ADDRESS: Final = 1
MAX_ADDRESS: Final = 247
MAX_PDU_BYTES: Final = 253
MAX_FRAME_BYTES: Final = 256
MIN_FRAME_BYTES: Final = 4
"""Address, function code and two CRC bytes."""


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE: Final = _crc_table()


def crc16_modbus(data: bytes | bytearray) -> int:
    """CRC-16/Modbus of ``data`` (check value of ``b"123456789"``: 0x4B37)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def rtu_frame(address: int, pdu: bytes) -> bytes:
    """The frame a node sends: ``address``, ``pdu`` and the CRC, low byte first."""
    body = bytes([address]) + pdu
    return body + crc16_modbus(body).to_bytes(2, "little")


@dataclass(frozen=True, slots=True)
class RtuFrame:
    """A received frame whose CRC is right."""

    address: int
    pdu: bytes

    @property
    def broadcast(self) -> bool:
        return self.address == BROADCAST_ADDRESS


def parse_rtu(frame: bytes | bytearray) -> RtuFrame | None:
    """The frame's address and PDU, or None when it is too short, too long or its CRC is wrong."""
    if not MIN_FRAME_BYTES <= len(frame) <= MAX_FRAME_BYTES:
        return None
    if crc16_modbus(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
        return None
    return RtuFrame(frame[0], bytes(frame[1:-2]))
