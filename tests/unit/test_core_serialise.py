"""One JSON shape per core type: every shape reads back to the value it was made from, keys stay put."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bmsflasher.core import serialise
from bmsflasher.core.types import (
    Alarm,
    CanAddressing,
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    LinkSettings,
    PackTelemetry,
    SlotState,
)
from bmsflasher.records import codec

versions = st.builds(
    FirmwareVersion,
    st.integers(0, 0xFF),
    st.integers(0, 0xFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
)
text = st.text(max_size=20)
finite = st.floats(allow_nan=False, allow_infinity=False)
slots = st.builds(
    SlotState,
    slot=st.integers(0, 3),
    version=st.none() | versions,
    image_hash=st.binary(max_size=32),
    bootable=st.booleans(),
    pending=st.booleans(),
    confirmed=st.booleans(),
    active=st.booleans(),
    permanent=st.booleans(),
)
identities = st.builds(
    DeviceIdentity,
    model=text,
    serial_number=text,
    hardware_revision=text,
    firmware_version=st.none() | versions,
    bootloader_version=st.none() | versions,
    mode=st.sampled_from(DeviceMode),
    slots=st.lists(slots, max_size=3).map(tuple),
    security_counter=st.integers(0, 0xFFFFFFFF),
)
samples = st.integers(0, 32).flatmap(
    lambda cells: st.builds(
        PackTelemetry,
        timestamp_s=finite,
        cell_voltages_mv=st.lists(st.integers(0, 5000), min_size=cells, max_size=cells).map(tuple),
        balancing=st.lists(st.booleans(), min_size=cells, max_size=cells).map(tuple),
        temperatures_c=st.lists(st.none() | finite, max_size=8).map(tuple),
        pack_voltage_mv=st.integers(0, 200_000),
        current_ma=st.integers(-500_000, 500_000),
        soc_pct=finite,
        soh_pct=finite,
        alarms=st.frozensets(st.sampled_from(Alarm)),
    )
)
dtcs = st.builds(
    Dtc,
    code=st.integers(0, 0xFFFFFF),
    status=st.integers(0, 0xFF),
    severity=st.sampled_from(DtcSeverity),
    description=text,
)
parameter_values = st.integers() | finite | text | st.booleans()
snapshots = st.builds(
    ConfigSnapshot,
    schema_version=st.integers(0, 1000),
    parameters=st.dictionaries(text, parameter_values, max_size=8),
)
serial_links = st.builds(LinkSettings, kind=st.just("serial"), port=text, baud=st.integers(0, 12_000_000))
can_links = st.builds(
    LinkSettings,
    kind=st.just("can"),
    interface=text,
    channel=text,
    bitrate=st.integers(0, 1_000_000),
    data_bitrate=st.integers(0, 12_000_000),
    node=st.integers(0, 0xFF),
    fd=st.booleans(),
    addressing=st.sampled_from(CanAddressing),
    tester_address=st.integers(0, 0xFF),
)


def through_json(value: Any) -> Any:
    """What a reader of the printed or stored text gets back."""
    return json.loads(json.dumps(value))


@given(identities)
def test_identity_round_trips(identity: DeviceIdentity) -> None:
    assert serialise.identity_from_json(through_json(serialise.identity_to_json(identity))) == identity


@given(samples)
def test_telemetry_round_trips(sample: PackTelemetry) -> None:
    assert serialise.telemetry_from_json(through_json(serialise.telemetry_to_json(sample))) == sample


@given(dtcs)
def test_both_trouble_code_shapes_round_trip(dtc: Dtc) -> None:
    assert serialise.dtc_from_json(through_json(serialise.dtc_to_json(dtc))) == dtc
    assert serialise.dtc_from_json(through_json(serialise.dtc_to_record_json(dtc))) == dtc


@given(snapshots)
def test_configuration_round_trips(snapshot: ConfigSnapshot) -> None:
    assert serialise.snapshot_from_json(through_json(serialise.snapshot_to_json(snapshot))) == snapshot


@given(serial_links | can_links)
def test_links_round_trip(link: LinkSettings) -> None:
    assert serialise.link_from_json(through_json(serialise.link_to_json(link))) == link


@given(st.none() | versions)
def test_versions_round_trip(version: FirmwareVersion | None) -> None:
    assert serialise.version_from_json(serialise.version_to_json(version)) == version


def test_the_documented_keys_do_not_move() -> None:
    """docs/update-procedure.md lists the keys of ``info --json``; the journal keeps numeric codes."""
    slot = SlotState(0, FirmwareVersion(1, 0, 0), b"\xab", True, False, True, True, True)
    identity = DeviceIdentity("VBMS-16", "SN1", "C", FirmwareVersion(1, 0, 0), None, slots=(slot,))
    shown = serialise.identity_to_json(identity)
    assert list(shown) == [
        "model", "serial_number", "hardware_revision", "firmware_version", "bootloader_version", "mode",
        "security_counter", "slots",
    ]  # fmt: skip
    assert shown["slots"] == [
        {"slot": 0, "version": "1.0.0", "hash": "ab", "bootable": True, "pending": False,
         "confirmed": True, "active": True, "permanent": True},
    ]  # fmt: skip
    dtc = Dtc(0xA1B2, 0x09, DtcSeverity.WARNING, "cell imbalance")
    assert serialise.dtc_to_json(dtc)["code"] == "00A1B2"
    assert serialise.dtc_to_record_json(dtc) == {
        "code": 0xA1B2, "status": 9, "severity": "warning", "description": "cell imbalance",
    }  # fmt: skip
    can = LinkSettings("can", interface="slcan", channel="/dev/ttyACM0", bitrate=500_000, node=1)
    assert list(serialise.link_to_json(can)) == [
        "kind", "interface", "channel", "bitrate", "data_bitrate", "node", "fd", "addressing",
        "tester_address",
    ]  # fmt: skip


def test_the_records_store_the_same_shapes() -> None:
    """The history's encoders are the shared ones (a backup adds only its refusal of non-finite values)."""
    assert codec.telemetry_to_json is serialise.telemetry_to_json
    assert codec.telemetry_from_json is serialise.telemetry_from_json
    snapshot = ConfigSnapshot(3, {"cell_overvoltage_mv": 3650, "gain": 1.0})
    assert codec.snapshot_to_json(snapshot) == serialise.snapshot_to_json(snapshot)
