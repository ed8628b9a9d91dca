"""The vendor block at 0xE000 as ``docs/protocols/modbus.md`` publishes it: addresses, codes, encodings.

The module's own copy of the map (the tool's client keeps another one, on purpose). Values follow
SunSpec's conventions: big-endian registers, 32-bit values high word first, strings two characters
per register (first in the high byte), NUL-padded.
"""

from __future__ import annotations

import enum
from typing import Final

from bmsflasher.core.types import FirmwareVersion, SlotState

BASE: Final = 0xE000
MARKER: Final = b"BMSF"
MAP_VERSION: Final = 1
RECORD_REGISTERS: Final = 119
RECORD_BYTES: Final = 2 * RECORD_REGISTERS
CAPABILITIES: Final = 0b111
"""Bit 0 transfer window, bit 1 trusted-key file, bit 2 broadcast records."""

IDENTITY: Final = BASE  # 106 registers: identity (0..55), reserved (56..63), slots (64..105)
IDENTITY_REGISTERS: Final = 106
SLOT_REGISTERS: Final = 21
SLOTS_OFFSET: Final = 64
PARAMETERS: Final = BASE + 128  # size u32, SHA-256 (16), slot
PARAMETER_REGISTERS: Final = 19
COMMAND_ARGUMENT: Final = BASE + 160
COMMAND: Final = BASE + 161
STATUS: Final = BASE + 176
STATUS_REGISTERS: Final = 40
ERROR_TEXT_BYTES: Final = 64
DIRECTORY: Final = BASE + 224
FILE_COUNT: Final = 7
WINDOW: Final = BASE + 256  # record number, then one record
WINDOW_REGISTERS: Final = 1 + RECORD_REGISTERS
SENSORS: Final = BASE + 384
MAX_SENSORS: Final = 16

NOT_IMPLEMENTED_U16: Final = 0xFFFF
NO_TEMPERATURE: Final = 0x8000


class Mode(enum.IntEnum):
    """What runs: the Mode register (0xE003)."""

    APPLICATION = 0
    BOOTLOADER = 1
    RECOVERY = 2


class Command(enum.IntEnum):
    """The command register's codes (0xE0A1)."""

    PREPARE = 1
    VERIFY = 2
    TEST = 3
    CONFIRM = 4
    ROLLBACK = 5
    RESET = 6
    SELF_TEST = 7
    ABORT = 8
    CLEAR_DTCS = 9
    APPLY_CONFIG = 10
    BALANCE = 11


class CommandState(enum.IntEnum):
    """CmdState (0xE0B1): the last command's progress."""

    DONE = 0
    RUNNING = 1
    FAILED = 2


class UploadState(enum.IntEnum):
    """UploadState (0xE0B3)."""

    NONE = 0
    RECEIVING = 1
    COMPLETE = 2


class Error(enum.IntEnum):
    """The status block's error codes (0xE0B2)."""

    NONE = 0
    BAD_PARAMETERS = 1
    SLOT_IN_USE = 2
    NOT_IN_THIS_MODE = 3
    HASH_MISMATCH = 4
    SIGNATURE = 5
    DOWNGRADE = 6
    INCOMPLETE = 7
    NO_IMAGE = 8
    STATE = 9
    CONFIG_REJECTED = 10


class File(enum.IntEnum):
    """File numbers of the file-record functions."""

    IMAGE = 1
    MISSING = 2
    CONFIG = 3
    SCHEMA = 4
    DTCS = 5
    SELF_TEST = 6
    TRUSTED_KEYS = 7


BALANCE_ON: Final = 0x8000
SLOT_PRESENT: Final = 0x8000
_SLOT_FLAGS: Final = (("bootable", 0), ("pending", 1), ("confirmed", 2), ("active", 3), ("permanent", 4))


def text_registers(text: str | bytes, registers: int) -> list[int]:
    """``text`` as ``registers`` registers: UTF-8, cut to fit, NUL-padded."""
    raw = text.encode() if isinstance(text, str) else text
    raw = raw[: 2 * registers]
    if isinstance(text, str):
        raw = raw.decode(errors="ignore").encode()  # never end in half a character
    raw = raw.ljust(2 * registers, b"\x00")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def u32_registers(value: int) -> list[int]:
    """A uint32, high word first."""
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def version_registers(version: FirmwareVersion | None) -> list[int]:
    """``major << 8 | minor``, revision, build (2 registers); all 0xFFFF for no version."""
    if version is None:
        return [NOT_IMPLEMENTED_U16] * 4
    return [(version.major << 8) | version.minor, version.revision, *u32_registers(version.build)]


def slot_registers(slot: SlotState | None) -> list[int]:
    """Version (4), flags (1), SHA-256 (16) of one slot."""
    if slot is None:
        return version_registers(None) + [0] + [0] * 16
    flags = sum(1 << bit for name, bit in _SLOT_FLAGS if getattr(slot, name))
    if slot.version is not None:
        flags |= SLOT_PRESENT
    return [*version_registers(slot.version), flags, *text_registers(slot.image_hash[:32], 16)]
