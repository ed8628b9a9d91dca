"""The custom DID records, pinned to the bytes ``docs/protocols/uds.md`` specifies.

``test_uds_codec`` checks that the virtual BMS's encoders and the tool's decoders agree with each
other; a mistake made the same way on both sides (both little-endian, both swapping minimum and
maximum, both dropping a field) would pass it. Here every record is compared with literal bytes
worked out by hand from the documentation's tables: the sim must *produce* them and the client
must *read* them as the documented values. Each case quotes the table row it was taken from, and
a test checks the document still says so: changing a layout in the doc without changing these
bytes (or the other way round) fails.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.core.types import (
    Alarm,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    PackTelemetry,
    SelfTestCheck,
    SlotState,
)
from bmsflasher.protocols.uds import codec, ids
from bmsflasher.sim.device.config import SCHEMA
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.uds import codec as device_codec
from bmsflasher.sim.uds.device_calls import DeviceCalls
from bmsflasher.sim.uds.server_config import UdsServerConfig
from bmsflasher.sim.uds.services_data import DataServices
from bmsflasher.sim.uds.services_session import SessionState

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocols" / "uds.md").read_text(encoding="utf-8")

# The table rows (or sentences) each literal below was worked out from.
ROWS = {
    "endianness": "All multi-byte values are big-endian.",
    "FD00": "| `FD00` | mode u8: 0 application, 1 bootloader, 2 recovery |",
    "FD01": "| `FD01` | stored security counter u32 |",
    "FD02": (
        "| `FD02` | slot table: count u8, then per slot: slot u8, flags u8 (bit0 bootable, 1 pending, "
        "2 confirmed, 3 active, 4 permanent, 7 version present), major u8, minor u8, revision u16, "
        "build u32, hash length u8 + hash |"
    ),
    "FD03": (
        "| `FD03` | transport capabilities: FD u8, max data length u8 (8/64), block size u8, STmin u8, "
        "maxNumberOfBlockLength u16 |"
    ),
    "FD04": "bit0 none, bit1 zlib",
    "FD05": (
        "| `FD05` | upload in progress: slot u8 (`FF` none), offset u32, total u32, "
        "SHA-256 (length u8 + bytes) |"
    ),
    "FD10": (
        "| `FD10` | pack: voltage mV u32, current mA s32 (discharge positive), SoC 0.01 % u16, "
        "SoH 0.01 % u16, alarm bitmap u16 |"
    ),
    "FD11": "| `FD11` | cells: count u16, then count × mV u16",
    "FD12": (
        "| `FD12` | temperatures: count u8, then count × 0.1 °C s16; `0x8000` = failed sensor (open/short) |"
    ),
    "FD13": "| `FD13` | balancing: count u16, then bitmap (cell *i* = bit *i* % 8 of byte *i* / 8) |",
    "FD14": (
        "| `FD14` | alarm bitmap u16: bit0 cell overvoltage, 1 cell undervoltage, 2 overtemperature, "
        "3 undertemperature, 4 overcurrent, 5 sensor fault |"
    ),
    "FD30": (
        "| `FD30` | DTC texts: count u8, then code u24, severity u8 (ISO 14229-1 severity bits: `20` "
        "maintenance, `40` check at next halt, `80` check immediately), text |"
    ),
    "F004": "per check: passed u8, name, measured, limit, detail (texts)",
    "text": '"text" = u8 length + UTF-8.',
    "FD20": (
        "`FD20` is the self-describing schema: schema version u16, count u8, then per parameter: DID u16,\n"
        "type u8 (`b` bool, `i` int, `f` float, `s` text), writable u8, minimum f64, maximum f64 "
        "(NaN = none),\n"
        "name (text), unit (text). Parameter *i* (schema order, stable) is DID `FE00 + i`:"
    ),
    "FD21": (
        "`FD21` lists the allowed values of the parameters that accept only a few (bit rates): "
        "count u8, then\nper such parameter: its DID u16 (`FE00 + i`), count u8, then count values in "
        "that parameter's value\nencoding (the table above)."
    ),
    "values": "| bool | u8 0/1 |\n| int | s32 |\n| float | IEEE-754 double |\n| text | u8 length + UTF-8 |",
}


def h(text: str) -> bytes:
    """Hex with spaces for readability: one group per documented field."""
    return bytes.fromhex(text.replace(" ", ""))


def test_the_document_still_specifies_what_these_bytes_were_taken_from() -> None:
    missing = [did for did, row in ROWS.items() if row not in DOC]
    assert not missing, f"docs/protocols/uds.md no longer says what these cases assume: {missing}"


@pytest.fixture
def device_read() -> Iterator[tuple[VirtualBms, DataServices]]:
    """The virtual BMS's own 0x22 handler on a factory-fresh device (no bus needed)."""
    with VirtualBms.create(SimOptions(erase_time_s_per_sector=0, boot_time_s=0)) as device:
        services = DataServices(
            SessionState(), DeviceCalls(device, lambda _sid: None), UdsServerConfig(), lambda: None
        )
        yield device, services


def _record(services: DataServices, did: int) -> bytes:
    answer = services.read_dids(bytes([0x22]) + did.to_bytes(2, "big"))
    assert answer[:3] == bytes([0x62]) + did.to_bytes(2, "big")
    return answer[3:]


# --- device state ----------------------------------------------------------------------------------
def test_fd00_mode() -> None:
    for mode, literal in (
        (DeviceMode.APPLICATION, "00"),
        (DeviceMode.BOOTLOADER, "01"),
        (DeviceMode.RECOVERY, "02"),
    ):
        assert bytes([device_codec.MODE_CODES[mode]]) == h(literal)
        assert codec.device_mode(h(literal)) is mode


def test_fd00_fd01_fd03_fd04_fd05_as_the_device_answers(device_read: tuple[VirtualBms, DataServices]) -> None:
    device, services = device_read
    assert device.mode is DeviceMode.APPLICATION
    assert _record(services, 0xFD00) == h("00")
    assert device.identity().security_counter == 1
    assert _record(services, 0xFD01) == h("00000001")
    # defaults: classic CAN (FD 0, 8-byte frames), block size 0, STmin 0, 4095-byte blocks
    assert _record(services, 0xFD03) == h("00 08 00 00 0FFF")
    assert codec.transport_caps(h("00 08 00 00 0FFF")) == codec.TransportCaps(False, 8, 0, 0, 4095)
    assert codec.transport_caps(h("01 40 08 05 0FFF")) == codec.TransportCaps(True, 64, 8, 5, 4095)
    assert _record(services, 0xFD04) == h("03")  # none and zlib
    assert codec.compression_methods(h("03")) == {ids.COMPRESSION_NONE, ids.COMPRESSION_ZLIB} == {0, 1}
    assert _record(services, 0xFD05) == h("FF 00000000 00000000 00")  # no upload in progress
    idle = codec.upload_status(h("FF 00000000 00000000 00"))
    assert (idle.slot, idle.offset, idle.total, idle.sha256) == (-1, 0, 0, b"")


def test_fd05_upload_in_progress() -> None:
    literal = h("01 00001000 00012000 02 ABCD")
    assert device_codec.encode_upload_status(1, 0x1000, 0x12000, h("ABCD")) == literal
    status = codec.upload_status(literal)
    assert (status.slot, status.offset, status.total, status.sha256) == (1, 0x1000, 0x12000, h("ABCD"))


def test_fd02_slot_table() -> None:
    slots = (
        # bootable | confirmed | active | version present = 0x01 | 0x04 | 0x08 | 0x80 = 0x8D
        SlotState(0, FirmwareVersion(1, 2, 3, 4), h("ABCD"), bootable=True, confirmed=True, active=True),
        # pending | permanent = 0x02 | 0x10 = 0x12; no version: zeros, bit 7 clear; no hash
        SlotState(1, None, b"", pending=True, permanent=True),
    )
    literal = h("02  00 8D 01 02 0003 00000004 02 ABCD  01 12 00 00 0000 00000000 00")
    assert device_codec.encode_slots(slots) == literal
    assert codec.slots(literal) == slots


# --- live telemetry --------------------------------------------------------------------------------
SAMPLE = PackTelemetry(
    timestamp_s=0.0,
    cell_voltages_mv=(3300, 3301, 3302),
    balancing=(True, False, True),
    temperatures_c=(25.5, None, -10.0),
    pack_voltage_mv=52_000,
    current_ma=-12_345,
    soc_pct=57.25,
    soh_pct=96.5,
    alarms=frozenset({Alarm.OVERTEMPERATURE, Alarm.SENSOR_FAULT}),  # bits 2 and 5: 0x0024
)


def test_fd10_pack_values() -> None:
    literal = h("0000CB20 FFFFCFC7 165D 25B2 0024")  # 52000 mV, -12345 mA, 5725, 9650, bits 2+5
    assert device_codec.encode_pack(SAMPLE) == literal
    pack = codec.pack_values(literal)
    assert (pack.pack_voltage_mv, pack.current_ma, pack.soc_pct, pack.soh_pct) == (
        52_000,
        -12_345,
        57.25,
        96.5,
    )
    assert pack.alarms == SAMPLE.alarms


def test_fd11_fd12_fd13_fd14_cells_temperatures_balancing_alarms() -> None:
    cells = h("0003 0CE4 0CE5 0CE6")
    assert device_codec.encode_cells(SAMPLE) == cells
    assert codec.cells(cells) == (3300, 3301, 3302)
    sixteen = dataclasses.replace(SAMPLE, cell_voltages_mv=(3300,) * 16)
    assert len(device_codec.encode_cells(sixteen)) == 34  # the doc's own example: 16 cells = 34 bytes
    temperatures = h("03 00FF 8000 FF9C")  # 25.5 °C, failed sensor, -10.0 °C
    assert device_codec.encode_temperatures(SAMPLE) == temperatures
    assert codec.temperatures(temperatures) == (25.5, None, -10.0)
    balancing = h("0003 05")  # cells 0 and 2: bits 0 and 2 of byte 0
    assert device_codec.encode_balancing(SAMPLE) == balancing
    assert codec.balancing(balancing) == (True, False, True)
    assert device_codec.encode_alarms(SAMPLE) == h("0024")
    every = frozenset(Alarm)
    order = (
        Alarm.CELL_OVERVOLTAGE,
        Alarm.CELL_UNDERVOLTAGE,
        Alarm.OVERTEMPERATURE,
        Alarm.UNDERTEMPERATURE,
        Alarm.OVERCURRENT,
        Alarm.SENSOR_FAULT,
    )
    assert set(order) == every
    for bit, alarm in enumerate(order):
        assert codec.alarms(1 << bit) == {alarm}, bit
        assert device_codec.alarm_bits(frozenset({alarm})) == 1 << bit, bit


def test_fd30_dtc_texts() -> None:
    dtcs = [
        Dtc(0x9A0110, 0x09, DtcSeverity.CRITICAL, "Cell OV"),
        Dtc(0x123456, 0x01, DtcSeverity.WARNING, ""),
        Dtc(0x000001, 0x01, DtcSeverity.INFO, "é"),
    ]
    literal = h("03  9A0110 80 07 43656C6C204F56  123456 40 00  000001 20 02 C3A9")
    assert device_codec.encode_dtc_texts(dtcs) == literal
    texts = codec.dtc_texts(literal)
    assert [(t.code, t.severity, t.description) for t in texts.values()] == [
        (0x9A0110, DtcSeverity.CRITICAL, "Cell OV"),
        (0x123456, DtcSeverity.WARNING, ""),
        (0x000001, DtcSeverity.INFO, "é"),
    ]


def test_fd40_f004_self_test_record() -> None:
    result = DeviceSelfTest((SelfTestCheck("v", True, "+1", "2", ""), SelfTestCheck("t", False, "", "", "x")))
    # passed u8 (0: one check failed), count u8, then per check: passed u8, name, measured, limit, detail
    literal = h("00 02  01 0176 022B31 0132 00  00 0174 00 00 0178")
    assert device_codec.encode_self_test(result) == literal
    assert codec.self_test(literal) == result


# --- configuration -----------------------------------------------------------------------------------
F64_2500 = "40A3880000000000"
F64_4500 = "40B1940000000000"
F64_NAN = "7FF8000000000000"


def test_fd20_schema_entries_as_the_device_answers(device_read: tuple[VirtualBms, DataServices]) -> None:
    device, services = device_read
    assert struct.pack(">d", 2500.0) == h(F64_2500)
    assert struct.pack(">d", 4500.0) == h(F64_4500)
    record = _record(services, 0xFD20)
    names = list(SCHEMA)
    # schema version 1, 19 parameters
    assert record[:3] == h("0001 13")
    assert device.config().schema_version == 1
    assert len(names) == 0x13
    # parameter 0: DID FE00, 'i', writable, 2500 .. 4500, "cell_overvoltage_mv", "mV"
    first = h(f"FE00 69 01 {F64_2500} {F64_4500} 13") + b"cell_overvoltage_mv" + h("02") + b"mV"
    assert record[3 : 3 + len(first)] == first
    # the serial number: DID FE00 + 17, 's', read-only, no limits (NaN), no unit
    serial = h(f"FE11 73 00 {F64_NAN} {F64_NAN} 0D") + b"serial_number" + h("00")
    assert serial in record
    version, params = codec.config_schema(record)
    assert version == 1
    decoded = {p.name: p for p in params}
    assert decoded["cell_overvoltage_mv"] == codec.ParameterInfo(
        0xFE00, "cell_overvoltage_mv", int, True, 2500.0, 4500.0, "mV"
    )
    assert decoded["serial_number"] == codec.ParameterInfo(
        0xFE11, "serial_number", str, False, None, None, ""
    )


def test_fd20_minimum_and_maximum_of_every_parameter_reach_the_client(
    device_read: tuple[VirtualBms, DataServices],
) -> None:
    """The limits the technician's input is checked against are the device's own, not lost on the way."""
    _device, services = device_read
    _version, params = codec.config_schema(_record(services, 0xFD20))
    assert [p.name for p in params] == list(SCHEMA)
    for param in params:
        spec = SCHEMA[param.name]
        numeric = spec.kind in (int, float)
        assert param.minimum == (float(spec.minimum) if numeric and spec.minimum is not None else None), (
            param.name
        )
        assert param.maximum == (float(spec.maximum) if numeric and spec.maximum is not None else None), (
            param.name
        )
        if numeric:
            assert param.minimum is not None
            assert param.maximum is not None
            assert param.minimum < param.maximum, param.name


def test_fd21_allowed_values_as_the_device_answers(device_read: tuple[VirtualBms, DataServices]) -> None:
    _device, services = device_read
    record = _record(services, 0xFD21)
    # two parameters list their values: can_bitrate (parameter 13, DID FE0D) and serial_baud (15, FE0F)
    assert list(SCHEMA).index("can_bitrate") == 0x0D
    assert list(SCHEMA).index("serial_baud") == 0x0F
    assert record == h(
        "02"
        " FE0D 04 0001E848 0003D090 0007A120 000F4240"
        " FE0F 09 00002580 00004B00 00009600 0000E100 0001C200 00038400 00070800 000E1000 000F4240"
    )
    _version, params = codec.config_schema(_record(services, 0xFD20))
    assert codec.config_choices(record, params) == {
        "can_bitrate": (125_000, 250_000, 500_000, 1_000_000),
        "serial_baud": (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1_000_000),
    }


def test_fe00_parameter_values_as_the_device_answers(device_read: tuple[VirtualBms, DataServices]) -> None:
    device, services = device_read
    values = device.config().parameters
    names = list(SCHEMA)
    cases = {
        "cell_overvoltage_mv": (int, "00000E42", 3650),  # s32
        "overtemperature_c": (float, "404B800000000000", 55.0),  # IEEE-754 double
        "balancing_enabled": (bool, "01", True),  # u8 0/1
        "serial_number": (str, "09" + b"VB2400001".hex(), "VB2400001"),  # u8 length + UTF-8
    }
    for name, (kind, literal, value) in cases.items():
        assert values[name] == value, name
        did = ids.DID_CONFIG_BASE + names.index(name)
        assert _record(services, did) == h(literal), name
        assert codec.decode_param(kind, h(literal), name) == value
        assert codec.encode_param(kind, value) == h(literal)  # what the tool writes with 0x2E
    assert codec.encode_param(int, -50) == h("FFFFFFCE")
    assert math.isclose(float(codec.decode_param(float, h("3FEE666666666666"), "voltage_gain")), 0.95)
