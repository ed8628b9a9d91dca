"""Decode the BMS's UDS data identifiers and routine records into domain types (tool side).

Layouts are those of ``docs/protocols/uds.md``. Every decoder checks lengths and raises
:class:`MalformedResponseError` naming the DID, because a device that answers garbage must give
the technician a sentence, not a ``struct.error`` traceback.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import MalformedResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import (
    Alarm,
    DeviceMode,
    DeviceSelfTest,
    DtcSeverity,
    FirmwareVersion,
    ParameterValue,
    SelfTestCheck,
    SlotState,
)

MODES: Final[dict[int, DeviceMode]] = {
    0: DeviceMode.APPLICATION,
    1: DeviceMode.BOOTLOADER,
    2: DeviceMode.RECOVERY,
}
ALARM_ORDER: Final[tuple[Alarm, ...]] = (
    Alarm.CELL_OVERVOLTAGE,
    Alarm.CELL_UNDERVOLTAGE,
    Alarm.OVERTEMPERATURE,
    Alarm.UNDERTEMPERATURE,
    Alarm.OVERCURRENT,
    Alarm.SENSOR_FAULT,
)
SEVERITY_OF_BITS: Final[tuple[tuple[int, DtcSeverity], ...]] = (
    (0x80, DtcSeverity.CRITICAL),
    (0x40, DtcSeverity.WARNING),
    (0x20, DtcSeverity.INFO),
)
TEMPERATURE_FAILED: Final = -0x8000
KEY_HASH_BYTES: Final = 32
PARAM_TYPES: Final[dict[int, type]] = {ord("b"): bool, ord("i"): int, ord("f"): float, ord("s"): str}


class _Reader:
    """A bounds-checked cursor over one DID's bytes."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def take(self, count: int) -> bytes:
        if count < 0 or self._pos + count > len(self._data):
            raise MalformedResponseError(
                t("The device's {what} record is shorter than its own length fields.", what=self._what)
            )
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))

    def u8(self) -> int:
        return self.take(1)[0]

    def text(self) -> str:
        raw = self.take(self.u8())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedResponseError(
                t("The device's {what} record holds text that is not UTF-8.", what=self._what)
            ) from exc

    def done(self) -> None:
        if self._pos != len(self._data):
            raise MalformedResponseError(
                t(
                    "The device's {what} record has {count} extra bytes.",
                    what=self._what,
                    count=len(self._data) - self._pos,
                )
            )


def ascii_text(data: bytes) -> str:
    """An identification DID: ASCII, padding (NUL, 0xFF, spaces) stripped."""
    return data.rstrip(b"\x00\xff ").decode("ascii", errors="replace")


def device_mode(data: bytes) -> DeviceMode:
    """DID 0xFD00: what runs on the device."""
    if len(data) != 1 or data[0] not in MODES:
        raise MalformedResponseError(t("The device reported an unknown operating mode."))
    return MODES[data[0]]


def version_or_none(text: str) -> FirmwareVersion | None:
    """Parse a version string; None when the device reports none (no image)."""
    if not text:
        return None
    try:
        return FirmwareVersion.parse(text)
    except ValueError as exc:
        raise MalformedResponseError(
            t("The device reported the version '{text}', which is not X.Y.Z.", text=text)
        ) from exc


def trusted_key_hashes(data: bytes) -> tuple[bytes, ...]:
    """DID 0xFD06: count u8, then per key the SHA-256 of its public key (32 bytes, MCUboot KEYHASH)."""
    reader = _Reader(data, t("trusted key"))
    hashes = tuple(reader.take(KEY_HASH_BYTES) for _ in range(reader.u8()))
    reader.done()
    return hashes


def slots(data: bytes) -> tuple[SlotState, ...]:
    """DID 0xFD02: count, then per slot number, flags, version (u8 u8 u16 u32) and hash."""
    reader = _Reader(data, t("slot table"))
    result = []
    for _ in range(reader.u8()):
        slot, flags, major, minor, revision, build = reader.unpack(">BBBBHI")
        image_hash = reader.take(reader.u8())
        has_version = bool(int(flags) & 0x80)
        result.append(
            SlotState(
                slot=int(slot),
                version=FirmwareVersion(int(major), int(minor), int(revision), int(build))
                if has_version
                else None,
                image_hash=image_hash,
                bootable=bool(int(flags) & 0x01),
                pending=bool(int(flags) & 0x02),
                confirmed=bool(int(flags) & 0x04),
                active=bool(int(flags) & 0x08),
                permanent=bool(int(flags) & 0x10),
            )
        )
    reader.done()
    return tuple(result)


@dataclass(frozen=True, slots=True)
class TransportCaps:
    """DID 0xFD03: what the device's ISO-TP receiver offers."""

    fd: bool
    max_data_length: int
    block_size: int
    stmin: int
    max_block_length: int


def transport_caps(data: bytes) -> TransportCaps:
    """DID 0xFD03 → the device's ISO-TP receive capabilities."""
    reader = _Reader(data, t("transport capability"))
    fd, max_dl, block_size, stmin, max_block = reader.unpack(">BBBBH")
    reader.done()
    return TransportCaps(bool(fd), int(max_dl), int(block_size), int(stmin), int(max_block))


def compression_methods(data: bytes) -> frozenset[int]:
    """DID 0xFD04: bit n set = dataFormatIdentifier compressionMethod n accepted."""
    if len(data) != 1:
        raise MalformedResponseError(t("The device's compression capability record is not one byte."))
    return frozenset(method for method in range(8) if data[0] & (1 << method))


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """DID 0xFD05: the device's upload in progress (slot -1 / 0xFF when none)."""

    slot: int
    offset: int
    total: int
    sha256: bytes


def upload_status(data: bytes) -> UploadStatus:
    """DID 0xFD05 → the upload in progress."""
    reader = _Reader(data, t("upload status"))
    slot, offset, total = reader.unpack(">BII")
    sha = reader.take(reader.u8())
    reader.done()
    return UploadStatus(int(slot) if slot != 0xFF else -1, int(offset), int(total), sha)


@dataclass(frozen=True, slots=True)
class PackValues:
    """DID 0xFD10."""

    pack_voltage_mv: int
    current_ma: int
    soc_pct: float
    soh_pct: float
    alarms: frozenset[Alarm]


def alarms(bits: int) -> frozenset[Alarm]:
    """An alarm bitmap (bit i = ALARM_ORDER[i]) → the set of alarms."""
    return frozenset(alarm for index, alarm in enumerate(ALARM_ORDER) if bits & (1 << index))


def pack_values(data: bytes) -> PackValues:
    """DID 0xFD10 → pack voltage, current, SoC, SoH and alarms."""
    reader = _Reader(data, t("pack values"))
    voltage, current, soc, soh, alarm_bits = reader.unpack(">IiHHH")
    reader.done()
    return PackValues(int(voltage), int(current), int(soc) / 100, int(soh) / 100, alarms(int(alarm_bits)))


def cells(data: bytes) -> tuple[int, ...]:
    """DID 0xFD11 → cell voltages in mV."""
    reader = _Reader(data, t("cell voltage"))
    count = int(reader.unpack(">H")[0])
    values = reader.unpack(f">{count}H")
    reader.done()
    return tuple(int(v) for v in values)


def temperatures(data: bytes) -> tuple[float | None, ...]:
    """DID 0xFD12 → temperatures in °C (None for a failed sensor)."""
    reader = _Reader(data, t("temperature"))
    count = reader.u8()
    values = reader.unpack(f">{count}h")
    reader.done()
    return tuple(None if v == TEMPERATURE_FAILED else int(v) / 10 for v in values)


def balancing(data: bytes) -> tuple[bool, ...]:
    """DID 0xFD13 → balancing flag per cell."""
    reader = _Reader(data, t("balancing"))
    count = int(reader.unpack(">H")[0])
    bitmap = reader.take((count + 7) // 8)
    reader.done()
    return tuple(bool(bitmap[i // 8] & (1 << (i % 8))) for i in range(count))


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One entry of the configuration schema DID 0xFD20."""

    did: int
    name: str
    kind: type
    writable: bool
    minimum: float | None
    maximum: float | None
    unit: str


def config_schema(data: bytes) -> tuple[int, tuple[ParameterInfo, ...]]:
    """DID 0xFD20 → (schema version, parameters in DID order)."""
    reader = _Reader(data, t("configuration schema"))
    version, count = reader.unpack(">HB")
    params = []
    for _ in range(int(count)):
        did, type_code, writable, minimum, maximum = reader.unpack(">HBBdd")
        kind = PARAM_TYPES.get(int(type_code))
        if kind is None:
            raise MalformedResponseError(
                t("The device's configuration schema uses the unknown type code {code}.", code=type_code)
            )
        name = reader.text()
        unit = reader.text()
        params.append(
            ParameterInfo(
                did=int(did),
                name=name,
                kind=kind,
                writable=bool(writable),
                minimum=None if math.isnan(minimum) else float(minimum),
                maximum=None if math.isnan(maximum) else float(maximum),
                unit=unit,
            )
        )
    reader.done()
    return int(version), tuple(params)


def config_choices(data: bytes, params: tuple[ParameterInfo, ...]) -> dict[str, tuple[ParameterValue, ...]]:
    """DID 0xFD21 → parameter name → its allowed values (decoded in the parameter's own type).

    Layout: count u8, then per parameter: its DID u16, count u8, then the values, each in the
    encoding of that parameter's DID (``FE00 + i``).
    """
    by_did = {param.did: param for param in params}
    reader = _Reader(data, t("allowed values"))
    result: dict[str, tuple[ParameterValue, ...]] = {}
    for _ in range(reader.u8()):
        did = int(reader.unpack(">H")[0])
        param = by_did.get(did)
        if param is None:
            raise MalformedResponseError(
                t(
                    "The device lists allowed values for DID 0x{did:04X}, which its schema does not name.",
                    did=did,
                )
            )
        result[param.name] = tuple(_choice(reader, param) for _ in range(reader.u8()))
    reader.done()
    return result


def _choice(reader: _Reader, param: ParameterInfo) -> ParameterValue:
    """One allowed value, in the encoding of the parameter's own DID."""
    if param.kind is bool:
        return bool(reader.u8())
    if param.kind is int:
        return int(reader.unpack(">i")[0])
    if param.kind is float:
        return float(reader.unpack(">d")[0])
    return reader.text()


def encode_param(kind: type, value: ParameterValue) -> bytes:
    """A parameter value for 0x2E: bool u8, int s32, float double, text u8 length + UTF-8."""
    if kind is bool:
        return bytes([1 if value else 0])
    if kind is int:
        return struct.pack(">i", int(value))
    if kind is float:
        return struct.pack(">d", float(value))
    raw = str(value).encode("utf-8")
    return bytes([len(raw)]) + raw


def decode_param(kind: type, data: bytes, name: str) -> ParameterValue:
    """A configuration DID's value (inverse of :func:`encode_param`)."""
    if kind is bool:
        if len(data) != 1:
            raise MalformedResponseError(t("The device's parameter '{name}' is not one byte.", name=name))
        return bool(data[0])
    if kind is int:
        if len(data) != 4:
            raise MalformedResponseError(t("The device's parameter '{name}' is not four bytes.", name=name))
        return int(struct.unpack(">i", data)[0])
    if kind is float:
        if len(data) != 8:
            raise MalformedResponseError(t("The device's parameter '{name}' is not eight bytes.", name=name))
        return float(struct.unpack(">d", data)[0])
    reader = _Reader(data, t("parameter '{name}'", name=name))
    text = reader.text()
    reader.done()
    return text


@dataclass(frozen=True, slots=True)
class DtcText:
    """DID 0xFD30 entry: the device's own description and severity of a stored code."""

    code: int
    severity: DtcSeverity
    description: str


def severity_of(bits: int) -> DtcSeverity:
    """ISO 14229-1 DTC severity bits → the worst severity they state."""
    for mask, severity in SEVERITY_OF_BITS:
        if bits & mask:
            return severity
    return DtcSeverity.INFO


def dtc_texts(data: bytes) -> dict[int, DtcText]:
    """DID 0xFD30 → code → the device's description and severity."""
    reader = _Reader(data, t("DTC description"))
    result = {}
    for _ in range(reader.u8()):
        code = int.from_bytes(reader.take(3), "big")
        severity = severity_of(reader.u8())
        result[code] = DtcText(code, severity, reader.text())
    reader.done()
    return result


def self_test(data: bytes) -> DeviceSelfTest:
    """Routine 0xF004 status record (after its 0x00 status byte) / DID 0xFD40."""
    reader = _Reader(data, t("self-test result"))
    _passed, count = reader.u8(), reader.u8()
    checks = []
    for _ in range(count):
        passed = bool(reader.u8())
        name, measured, limit, detail = reader.text(), reader.text(), reader.text(), reader.text()
        checks.append(SelfTestCheck(name, passed, measured, limit, detail))
    reader.done()
    return DeviceSelfTest(tuple(checks))
