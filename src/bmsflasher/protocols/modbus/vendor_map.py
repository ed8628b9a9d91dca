"""The vendor block at 0xE000 as the tool reads it (``docs/protocols/modbus.md``, "The vendor block").

The client's own copy of the published map — the virtual module keeps another on purpose — and the
decoders of its identity, slot and status registers. SunSpec's conventions: big-endian registers,
32-bit values high word first, strings two characters per register, NUL-padded.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import MalformedResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion, SlotState

BASE: Final = 0xE000
MARKER: Final = b"BMSF"
IDENTITY: Final = BASE
IDENTITY_REGISTERS: Final = 106
SLOTS_OFFSET: Final = 64
SLOT_REGISTERS: Final = 21
PARAMETERS: Final = BASE + 128
COMMAND_ARGUMENT: Final = BASE + 160
COMMAND: Final = BASE + 161
STATUS: Final = BASE + 176
STATUS_REGISTERS: Final = 40
DIRECTORY: Final = BASE + 224
FILE_COUNT: Final = 7
WINDOW: Final = BASE + 256
SENSORS: Final = BASE + 384
MAX_SENSORS: Final = 16
NO_TEMPERATURE: Final = 0x8000
BALANCE_ON: Final = 0x8000
RECORD_REGISTERS: Final = 119
"""The published record size; the module states its own in RecLen (0xE036)."""
_NO_VERSION: Final = (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF)
_MODES: Final = {0: DeviceMode.APPLICATION, 1: DeviceMode.BOOTLOADER, 2: DeviceMode.RECOVERY}


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
    """CmdState (0xE0B1)."""

    DONE = 0
    RUNNING = 1
    FAILED = 2


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


@dataclass(frozen=True, slots=True)
class ModuleIdentity:
    """The identity block: the device's identity plus what the transfer needs to know."""

    identity: DeviceIdentity
    record_registers: int
    capabilities: int


@dataclass(frozen=True, slots=True)
class Status:
    """The status block (0xE0B0)."""

    last_command: int
    state: int
    error: int
    upload_state: int
    records_total: int
    records_held: int
    bytes_held: int
    text: str

    @property
    def complete(self) -> bool:
        """Every record held and the SHA-256 checked (UploadState 2)."""
        return self.upload_state == 2


def registers_bytes(registers: Sequence[int]) -> bytes:
    """Registers as their big-endian bytes."""
    return b"".join(value.to_bytes(2, "big") for value in registers)


def text_of(registers: Sequence[int]) -> str:
    """A NUL-padded string (UTF-8; undecodable bytes shown as replacement characters)."""
    return registers_bytes(registers).split(b"\x00", 1)[0].decode(errors="replace")


def u32_of(registers: Sequence[int]) -> int:
    """A uint32, high word first."""
    return (registers[0] << 16) | registers[1]


def version_of(registers: Sequence[int]) -> FirmwareVersion | None:
    """``major << 8 | minor``, revision, build (u32); all 0xFFFF is no version."""
    if tuple(registers) == _NO_VERSION:
        return None
    return FirmwareVersion(registers[0] >> 8, registers[0] & 0xFF, registers[1], u32_of(registers[2:4]))


def slot_of(number: int, registers: Sequence[int]) -> SlotState:
    """One slot: version (4), flags (1: bit 0 bootable … 4 permanent, 15 present), SHA-256 (16)."""
    flags = registers[4]
    image_hash = registers_bytes(registers[5:21])
    return SlotState(
        slot=number,
        version=version_of(registers[0:4]) if flags & 0x8000 else None,
        image_hash=image_hash if any(image_hash) else b"",
        bootable=bool(flags & 1),
        pending=bool(flags & 2),
        confirmed=bool(flags & 4),
        active=bool(flags & 8),
        permanent=bool(flags & 16),
    )


def has_marker(registers: Sequence[int]) -> bool:
    """True when the first two registers read "BMSF": the module publishes this vendor block."""
    return registers_bytes(registers[:2]) == MARKER


def identity_of(registers: Sequence[int]) -> ModuleIdentity:
    """The identity block's 106 registers as a device identity.

    Raises:
        MalformedResponseError: no marker, or a mode the map does not know.
    """
    if len(registers) < IDENTITY_REGISTERS or not has_marker(registers):
        raise MalformedResponseError(t("The module's vendor block at 0xE000 does not start with BMSF."))
    mode = _MODES.get(registers[3])
    if mode is None:
        raise MalformedResponseError(
            t("The module reports mode {mode}, which the register map does not define.", mode=registers[3])
        )
    slots = tuple(
        slot_of(number, registers[SLOTS_OFFSET + number * SLOT_REGISTERS :][:SLOT_REGISTERS])
        for number in (0, 1)
    )
    identity = DeviceIdentity(
        model=text_of(registers[4:20]),
        serial_number=text_of(registers[20:36]),
        hardware_revision=text_of(registers[36:44]),
        firmware_version=version_of(registers[44:48]),
        bootloader_version=version_of(registers[48:52]),
        mode=mode,
        slots=slots,
        security_counter=u32_of(registers[52:54]),
    )
    return ModuleIdentity(identity, registers[54], registers[55])


def status_of(registers: Sequence[int]) -> Status:
    """The status block's 40 registers."""
    return Status(
        last_command=registers[0],
        state=registers[1],
        error=registers[2],
        upload_state=registers[3],
        records_total=registers[4],
        records_held=registers[5],
        bytes_held=u32_of(registers[6:8]),
        text=text_of(registers[8:40]),
    )


def missing_records(bitmap: bytes, total: int) -> list[int]:
    """File 2: the records whose bit is set (bit r mod 8 of byte r // 8)."""
    return [
        record
        for record in range(total)
        if record // 8 < len(bitmap) and bitmap[record // 8] >> (record % 8) & 1
    ]
