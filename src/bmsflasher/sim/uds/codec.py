"""Byte layouts of the virtual BMS's UDS data identifiers and routine records (device side).

The layouts are specified in ``docs/protocols/uds.md``; the tool's client decodes them with its
own code (``protocols/uds/codec.py``) so a mistake on one side shows up as a failing test
instead of cancelling out. Everything is big-endian, as ISO 14229-1 transmits multi-byte values.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from bmsflasher.core.types import (
    Alarm,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    PackTelemetry,
    ParameterValue,
    SlotState,
)

# --- data identifiers ---------------------------------------------------------------------------
DID_BOOT_SOFTWARE_ID: Final = 0xF180
DID_ACTIVE_SESSION: Final = 0xF186
DID_SPARE_PART_NUMBER: Final = 0xF187
DID_SUPPLIER_ID: Final = 0xF18A
DID_SERIAL_NUMBER: Final = 0xF18C
DID_SOFTWARE_VERSION: Final = 0xF189
DID_HARDWARE_NUMBER: Final = 0xF191
DID_SUPPLIER_HARDWARE_VERSION: Final = 0xF193
DID_SUPPLIER_SOFTWARE_VERSION: Final = 0xF195
DID_SYSTEM_NAME: Final = 0xF197
DID_DEVICE_MODE: Final = 0xFD00
DID_SECURITY_COUNTER: Final = 0xFD01
DID_SLOTS: Final = 0xFD02
DID_TRANSPORT: Final = 0xFD03
DID_COMPRESSION: Final = 0xFD04
DID_UPLOAD_STATUS: Final = 0xFD05
DID_TRUSTED_KEYS: Final = 0xFD06
DID_PACK: Final = 0xFD10
DID_CELLS: Final = 0xFD11
DID_TEMPERATURES: Final = 0xFD12
DID_BALANCING: Final = 0xFD13
DID_ALARMS: Final = 0xFD14
DID_CONFIG_SCHEMA: Final = 0xFD20
DID_CONFIG_CHOICES: Final = 0xFD21
DID_DTC_TEXTS: Final = 0xFD30
DID_SELF_TEST: Final = 0xFD40
DID_CONFIG_BASE: Final = 0xFE00
CONFIG_DID_LIMIT: Final = 0x100

SUPPLIER_NAME: Final = "bmsflasher virtual BMS"
MODE_CODES: Final[dict[DeviceMode, int]] = {
    DeviceMode.APPLICATION: 0,
    DeviceMode.BOOTLOADER: 1,
    DeviceMode.RECOVERY: 2,
}
#: Bit i of the alarm bitmap is ALARM_ORDER[i].
ALARM_ORDER: Final[tuple[Alarm, ...]] = (
    Alarm.CELL_OVERVOLTAGE,
    Alarm.CELL_UNDERVOLTAGE,
    Alarm.OVERTEMPERATURE,
    Alarm.UNDERTEMPERATURE,
    Alarm.OVERCURRENT,
    Alarm.SENSOR_FAULT,
)
#: ISO 14229-1 DTCSeverityMask bits: maintenanceOnly, checkAtNextHalt, checkImmediately.
SEVERITY_BITS: Final[dict[DtcSeverity, int]] = {
    DtcSeverity.INFO: 0x20,
    DtcSeverity.WARNING: 0x40,
    DtcSeverity.CRITICAL: 0x80,
}
TEMPERATURE_FAILED: Final = -0x8000
PARAM_TYPE_CODES: Final[dict[type, int]] = {bool: ord("b"), int: ord("i"), float: ord("f"), str: ord("s")}


class ParameterSpecLike(Protocol):
    """What the codec needs of the device's parameter specification."""

    @property
    def writable(self) -> bool: ...


def _text(value: str) -> bytes:
    """A length-prefixed UTF-8 string (u8 length, truncated to 255 bytes)."""
    raw = value.encode("utf-8")[:255]
    return bytes([len(raw)]) + raw


def ascii_field(value: str) -> bytes:
    """Identification DIDs are plain ASCII without a length byte (ISO 14229-1 Annex C)."""
    return value.encode("ascii", errors="replace")


def encode_slots(slots: Sequence[SlotState]) -> bytes:
    """DID 0xFD02: slot table (number, flags, version, hash)."""
    out = bytearray([len(slots)])
    for slot in slots:
        flags = (
            (slot.bootable << 0)
            | (slot.pending << 1)
            | (slot.confirmed << 2)
            | (slot.active << 3)
            | (slot.permanent << 4)
            | ((slot.version is not None) << 7)
        )
        version = slot.version
        out += struct.pack(
            ">BBBBHI",
            slot.slot,
            flags,
            version.major if version else 0,
            version.minor if version else 0,
            version.revision if version else 0,
            version.build if version else 0,
        )
        out += bytes([len(slot.image_hash)]) + slot.image_hash
    return bytes(out)


@dataclass(frozen=True, slots=True)
class TransportCaps:
    """What the device's ISO-TP receiver offers (DID 0xFD03)."""

    fd: bool
    max_data_length: int
    block_size: int
    stmin: int
    max_block_length: int

    def encode(self) -> bytes:
        return struct.pack(
            ">BBBBH", int(self.fd), self.max_data_length, self.block_size, self.stmin, self.max_block_length
        )


def encode_upload_status(slot: int, offset: int, total: int, sha256: bytes) -> bytes:
    """DID 0xFD05; slot 0xFF means "no upload in progress"."""
    return struct.pack(">BII", slot if slot >= 0 else 0xFF, offset, total) + bytes([len(sha256)]) + sha256


def encode_trusted_keys(key_hashes: tuple[bytes, ...]) -> bytes:
    """DID 0xFD06: count u8, then the SHA-256 (32 bytes) of each key the bootloader trusts."""
    return bytes([len(key_hashes)]) + b"".join(key_hashes)


def alarm_bits(alarms: frozenset[Alarm]) -> int:
    """The alarm bitmap: bit i set when ALARM_ORDER[i] is active."""
    return sum(1 << index for index, alarm in enumerate(ALARM_ORDER) if alarm in alarms)


def encode_pack(telemetry: PackTelemetry) -> bytes:
    """DID 0xFD10: pack voltage, current, SoC, SoH, alarm bitmap."""
    return struct.pack(
        ">IiHHH",
        max(0, telemetry.pack_voltage_mv),
        telemetry.current_ma,
        round(min(max(telemetry.soc_pct, 0.0), 100.0) * 100),
        round(min(max(telemetry.soh_pct, 0.0), 100.0) * 100),
        alarm_bits(telemetry.alarms),
    )


def encode_cells(telemetry: PackTelemetry) -> bytes:
    """DID 0xFD11: count, then every cell voltage in mV."""
    cells = telemetry.cell_voltages_mv
    return struct.pack(f">H{len(cells)}H", len(cells), *(min(max(v, 0), 0xFFFF) for v in cells))


def encode_temperatures(telemetry: PackTelemetry) -> bytes:
    """DID 0xFD12: count, then 0.1 °C values; 0x8000 marks a failed sensor."""
    values = [
        TEMPERATURE_FAILED if t is None else min(max(round(t * 10), -0x7FFF), 0x7FFF)
        for t in telemetry.temperatures_c
    ]
    return struct.pack(f">B{len(values)}h", len(values), *values)


def encode_balancing(telemetry: PackTelemetry) -> bytes:
    """DID 0xFD13: count, then one bit per cell."""
    flags = telemetry.balancing
    bitmap = bytearray((len(flags) + 7) // 8)
    for index, on in enumerate(flags):
        if on:
            bitmap[index // 8] |= 1 << (index % 8)
    return struct.pack(">H", len(flags)) + bytes(bitmap)


def encode_alarms(telemetry: PackTelemetry) -> bytes:
    """DID 0xFD14: the alarm bitmap alone."""
    return struct.pack(">H", alarm_bits(telemetry.alarms))


def _limit(value: object) -> float:
    """A range limit as a double; NaN stands for "no limit" (text, booleans)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan


def encode_config_schema(
    schema_version: int,
    names: Sequence[str],
    specs: Mapping[str, object],
    values: Mapping[str, ParameterValue],
) -> bytes:
    """DID 0xFD20: the self-describing parameter table the client needs to decode 0xFE00+i."""
    out = bytearray(struct.pack(">HB", schema_version, len(names)))
    for index, name in enumerate(names):
        spec = specs[name]
        kind = _param_type(getattr(spec, "kind", None), values.get(name))
        writable = bool(getattr(spec, "writable", True))
        minimum = _limit(getattr(spec, "minimum", None))
        maximum = _limit(getattr(spec, "maximum", None))
        unit = str(getattr(spec, "unit", "") or "")
        out += struct.pack(
            ">HBBdd", DID_CONFIG_BASE + index, PARAM_TYPE_CODES[kind], int(writable), minimum, maximum
        )
        out += _text(name) + _text(unit)
    return bytes(out)


def encode_config_choices(
    names: Sequence[str],
    specs: Mapping[str, object],
    values: Mapping[str, ParameterValue],
) -> bytes:
    """DID 0xFD21: the allowed values of the parameters that have a list of them.

    count u8, then per such parameter: its DID u16 (``FE00 + i``), count u8, and the values in
    the parameter's own value encoding (that of ``FE00 + i``).
    """
    entries = bytearray()
    listed = 0
    for index, name in enumerate(names):
        spec = specs[name]
        choices = tuple(getattr(spec, "choices", ()) or ())
        if not choices:
            continue
        kind = _param_type(getattr(spec, "kind", None), values.get(name))
        entries += struct.pack(">HB", DID_CONFIG_BASE + index, len(choices))
        for choice in choices:
            entries += encode_param(kind, choice)
        listed += 1
    return bytes([listed]) + bytes(entries)


def _param_type(declared: object, value: object) -> type:
    """The wire type of a parameter: the spec's declared Python type, else the value's type."""
    if isinstance(declared, type) and declared in PARAM_TYPE_CODES:
        return declared
    if isinstance(declared, str):
        by_name = {"bool": bool, "int": int, "float": float, "str": str}
        if declared in by_name:
            return by_name[declared]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind
    return str


def param_type_of(spec: object, value: object) -> type:
    """The wire type of a parameter (its spec's declared type, else its value's)."""
    return _param_type(getattr(spec, "kind", None), value)


def encode_param(kind: type, value: ParameterValue) -> bytes:
    """One parameter value: bool u8, int s32, float IEEE-754 double, str length-prefixed UTF-8."""
    if kind is bool:
        return bytes([1 if value else 0])
    if kind is int:
        return struct.pack(">i", int(value))
    if kind is float:
        return struct.pack(">d", float(value))
    return _text(str(value))


def decode_param(kind: type, raw: bytes) -> ParameterValue:
    """Inverse of :func:`encode_param`; raises ValueError on a wrong length."""
    if kind is bool:
        if len(raw) != 1 or raw[0] > 1:
            raise ValueError("a boolean parameter is one byte, 0 or 1")
        return bool(raw[0])
    if kind is int:
        if len(raw) != 4:
            raise ValueError("an integer parameter is 4 bytes")
        return int(struct.unpack(">i", raw)[0])
    if kind is float:
        if len(raw) != 8:
            raise ValueError("a float parameter is 8 bytes")
        return float(struct.unpack(">d", raw)[0])
    if not raw or raw[0] != len(raw) - 1:
        raise ValueError("a text parameter is a length byte followed by that many bytes")
    return raw[1:].decode("utf-8")


def encode_dtc_texts(dtcs: Sequence[Dtc]) -> bytes:
    """DID 0xFD30: code, severity bits and description of each stored DTC."""
    out = bytearray([min(len(dtcs), 255)])
    for dtc in dtcs[:255]:
        out += dtc.code.to_bytes(3, "big") + bytes([SEVERITY_BITS[dtc.severity]]) + _text(dtc.description)
    return bytes(out)


def encode_self_test(result: DeviceSelfTest) -> bytes:
    """Routine 0xF004 / DID 0xFD40: overall verdict, then each check."""
    out = bytearray([int(result.passed), len(result.checks)])
    for check in result.checks:
        out += bytes([int(check.passed)])
        out += _text(check.name) + _text(check.measured) + _text(check.limit) + _text(check.detail)
    return bytes(out)
