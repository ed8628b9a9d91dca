"""Domain types shared by every layer.

Units are in the names (``_mv``, ``_ma``, ``_c``, ``_pct``) because a BMS tool that confuses volts
with millivolts is a safety problem, not a cosmetic one. All types are immutable so they can cross
threads (worker → GUI) without copies or locks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import total_ordering
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t

_VERSION_RE = re.compile(r"^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,5})(?:\+(\d{1,10}))?\s*$")


@total_ordering
@dataclass(frozen=True, slots=True)
class FirmwareVersion:
    """A firmware version as MCUboot stores it: major.minor.revision+build.

    The field widths match the MCUboot header (u8, u8, u16, u32) so every version can round-trip
    through an image header.
    """

    major: int
    minor: int
    revision: int
    build: int = 0

    def __post_init__(self) -> None:
        limits = ((self.major, 0xFF), (self.minor, 0xFF), (self.revision, 0xFFFF), (self.build, 0xFFFFFFFF))
        for value, limit in limits:
            if not 0 <= value <= limit:
                raise BmsFlasherError(
                    t("version field {number} is out of range 0..{limit}", number=value, limit=limit)
                )

    @classmethod
    def parse(cls, text: str) -> FirmwareVersion:
        """Parse ``X.Y.Z`` or ``X.Y.Z+B``; raises BmsFlasherError with the offending text."""
        match = _VERSION_RE.match(text)
        if match is None:
            raise BmsFlasherError(t("'{text}' is not a version of the form X.Y.Z or X.Y.Z+BUILD", text=text))
        major, minor, revision, build = match.groups()
        return cls(int(major), int(minor), int(revision), int(build or 0))

    def _key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.revision, self.build)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, FirmwareVersion):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.revision}"
        return f"{base}+{self.build}" if self.build else base


class DeviceMode(enum.Enum):
    """What is running on the device right now."""

    APPLICATION = "application"
    BOOTLOADER = "bootloader"  # programming session / bootloader with a valid image present
    RECOVERY = "recovery"  # no bootable image: only emergency recovery answers


@dataclass(frozen=True, slots=True)
class SlotState:
    """One image slot as the device reports it (MCUboot image-state semantics)."""

    slot: int
    version: FirmwareVersion | None
    image_hash: bytes = b""
    bootable: bool = False
    pending: bool = False
    confirmed: bool = False
    active: bool = False
    permanent: bool = False


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who the device is. Identity is by serial number, never by the port it happens to sit on."""

    model: str
    serial_number: str
    hardware_revision: str
    firmware_version: FirmwareVersion | None
    bootloader_version: FirmwareVersion | None
    mode: DeviceMode = DeviceMode.APPLICATION
    slots: tuple[SlotState, ...] = ()
    security_counter: int = 0


class Alarm(enum.Enum):
    """Protection alarms a BMS raises."""

    CELL_OVERVOLTAGE = "cell_overvoltage"
    CELL_UNDERVOLTAGE = "cell_undervoltage"
    OVERTEMPERATURE = "overtemperature"
    UNDERTEMPERATURE = "undertemperature"
    OVERCURRENT = "overcurrent"
    SENSOR_FAULT = "sensor_fault"


@dataclass(frozen=True, slots=True)
class PackTelemetry:
    """One snapshot of the pack.

    ``temperatures_c`` holds ``None`` for a sensor that reads open/short (a failed sensor), which is
    different from a cold one.
    """

    timestamp_s: float
    cell_voltages_mv: tuple[int, ...]
    balancing: tuple[bool, ...]
    temperatures_c: tuple[float | None, ...]
    pack_voltage_mv: int
    current_ma: int
    soc_pct: float
    soh_pct: float
    alarms: frozenset[Alarm] = frozenset()

    @property
    def cell_count(self) -> int:
        return len(self.cell_voltages_mv)

    @property
    def cell_sum_mv(self) -> int:
        return sum(self.cell_voltages_mv)

    @property
    def min_cell_mv(self) -> int:
        return min(self.cell_voltages_mv) if self.cell_voltages_mv else 0

    @property
    def max_cell_mv(self) -> int:
        return max(self.cell_voltages_mv) if self.cell_voltages_mv else 0

    @property
    def delta_cell_mv(self) -> int:
        return self.max_cell_mv - self.min_cell_mv


ParameterValue = int | float | str | bool


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    """The device's configuration parameters at one moment, with the schema they follow."""

    schema_version: int
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)

    def diff(self, other: ConfigSnapshot) -> dict[str, tuple[ParameterValue | None, ParameterValue | None]]:
        """Parameters whose value differs: name → (value here, value in ``other``); None when absent."""
        names = sorted(set(self.parameters) | set(other.parameters))
        return {
            name: (self.parameters.get(name), other.parameters.get(name))
            for name in names
            if self.parameters.get(name) != other.parameters.get(name)
        }


class DtcSeverity(enum.Enum):
    """How bad a diagnostic trouble code is; CRITICAL ones block an update."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Dtc:
    """A diagnostic trouble code (UDS 3-byte DTC number plus ISO 14229 status byte)."""

    code: int
    status: int
    severity: DtcSeverity
    description: str

    @property
    def code_text(self) -> str:
        return f"{self.code:06X}"


@dataclass(frozen=True, slots=True)
class SelfTestCheck:
    """One device-side self-test check with the value measured and the limit applied."""

    name: str
    passed: bool
    measured: str
    limit: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeviceSelfTest:
    """What the device reports when asked to test itself after an update."""

    checks: tuple[SelfTestCheck, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


class CanAddressing(enum.StrEnum):
    """How UDS requests and responses are addressed on CAN (ISO 15765-2 §10.3).

    ``NORMAL_11BIT`` numbers nodes 1..8 on the ISO 15765-4 identifiers (request 0x7E0+n-1,
    response 0x7E8+n-1). ``NORMAL_FIXED_29BIT`` (§10.3.6, J1939-style) puts one-byte addresses in
    the identifier: physical requests on 0x18DA<TA><SA>, responses on 0x18DA<SA><TA>, functional
    requests on 0x18DB33<SA>; the node is then the ECU's target address (0x00..0xFF).
    """

    NORMAL_11BIT = "11bit"
    NORMAL_FIXED_29BIT = "29bit"


#: The tester's source address in 29-bit normal fixed addressing (ISO 15765-4 / SAE J1939 off-board
#: diagnostic tool #1); what legislated-OBD servers answer and what the scanner's requests carry.
DEFAULT_TESTER_ADDRESS: Final = 0xF1


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """How to reach a device: enough to reopen the link after a reboot or a later run.

    ``kind`` is ``"serial"`` (port, baud), ``"can"`` (interface, channel, bitrate, node) or
    ``"modbus"`` (one module on an RS485 bus or behind a Modbus TCP gateway).
    A CAN link also names its ``addressing``: with 11-bit normal addressing (the default) ``node``
    is the node number 1..8; with 29-bit normal fixed addressing ``node`` is the ECU's one-byte
    target address and ``tester_address`` the tool's own source address.
    A Modbus link names the module's unit ``address`` (1..247) and either the RS485 line (``port``,
    ``baud``, ``parity`` ``N``/``E``/``O``, ``stopbits`` 1/2: Modbus RTU) or the gateway's ``tcp``
    ``HOST:PORT`` (Modbus TCP).
    """

    kind: str
    port: str = ""
    baud: int = 0
    interface: str = ""
    channel: str = ""
    bitrate: int = 0
    data_bitrate: int = 0
    node: int = 0
    fd: bool = False
    addressing: CanAddressing = CanAddressing.NORMAL_11BIT
    tester_address: int = DEFAULT_TESTER_ADDRESS
    parity: str = "N"
    stopbits: int = 1
    address: int = 0
    tcp: str = ""

    def describe(self) -> str:
        """A one-line, human-readable description for logs and reports."""
        if self.kind == "serial":
            return f"{self.port} @ {self.baud} baud"
        if self.kind == "modbus":
            if self.tcp:
                return f"Modbus TCP {self.tcp}, unit {self.address}"
            line = f"{self.port} @ {self.baud} baud 8{self.parity}{self.stopbits}"
            return f"{line}, Modbus address {self.address}"
        fd = f", FD data {self.data_bitrate}" if self.fd else ""
        where = f"{self.interface}:{self.channel} @ {self.bitrate} bit/s{fd}"
        if self.addressing is CanAddressing.NORMAL_FIXED_29BIT:
            return f"{where}, 29-bit node 0x{self.node:02X} (tester 0x{self.tester_address:02X})"
        return f"{where}, node {self.node}"
