"""Device-side encoders against tool-side decoders, key derivation and NRC translation.

The two sides are written separately on purpose (sim/uds/codec.py, protocols/uds/codec.py); these
tests are where they must agree.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from udsoncan import Response
from udsoncan.exceptions import NegativeResponseException

from bmsflasher.core.errors import (
    DeviceRejectedError,
    KeyFileError,
    MalformedResponseError,
    SecurityAccessDeniedError,
)
from bmsflasher.core.types import (
    Alarm,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    PackTelemetry,
    SelfTestCheck,
    SlotState,
)
from bmsflasher.protocols.uds import codec, ids
from bmsflasher.protocols.uds.download import _BlockPlan
from bmsflasher.protocols.uds.errors import translate
from bmsflasher.protocols.uds.security import HmacKeyProvider, demo_key_provider, load_master_secret
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.uds import codec as device_codec
from bmsflasher.sim.uds import server as uds_server


def _telemetry(cells: tuple[int, ...], temps: tuple[float | None, ...]) -> PackTelemetry:
    return PackTelemetry(
        timestamp_s=0.0,
        cell_voltages_mv=cells,
        balancing=tuple(i % 3 == 0 for i in range(len(cells))),
        temperatures_c=temps,
        pack_voltage_mv=sum(cells),
        current_ma=-12_345,
        soc_pct=57.25,
        soh_pct=96.5,
        alarms=frozenset({Alarm.OVERTEMPERATURE, Alarm.SENSOR_FAULT}),
    )


@given(
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=512),
    st.lists(st.one_of(st.none(), st.integers(-400, 1250).map(lambda t: t / 10)), max_size=16),
)
def test_telemetry_records_round_trip(cells: list[int], temps: list[float | None]) -> None:
    sample = _telemetry(tuple(cells), tuple(temps))
    assert codec.cells(device_codec.encode_cells(sample)) == sample.cell_voltages_mv
    assert codec.temperatures(device_codec.encode_temperatures(sample)) == sample.temperatures_c
    assert codec.balancing(device_codec.encode_balancing(sample)) == sample.balancing
    pack = codec.pack_values(device_codec.encode_pack(sample))
    assert (pack.pack_voltage_mv, pack.current_ma, pack.soc_pct, pack.soh_pct) == (
        sum(cells),
        -12_345,
        57.25,
        96.5,
    )
    assert pack.alarms == sample.alarms


def test_slot_table_round_trip() -> None:
    slots = (
        SlotState(0, FirmwareVersion(1, 2, 3, 4), b"\x01" * 32, bootable=True, confirmed=True, active=True),
        SlotState(1, None, b"", pending=True, permanent=True),
    )
    assert codec.slots(device_codec.encode_slots(slots)) == slots


def test_device_configuration_schema_and_values_round_trip() -> None:
    with VirtualBms.create(SimOptions(erase_time_s_per_sector=0, boot_time_s=0)) as device:
        schema = device.config_schema()
        snapshot = device.config()
        raw = device_codec.encode_config_schema(
            snapshot.schema_version, list(schema), schema, snapshot.parameters
        )
        version, params = codec.config_schema(raw)
        assert version == snapshot.schema_version
        assert [p.name for p in params] == list(schema)
        assert [p.did for p in params] == [ids.DID_CONFIG_BASE + i for i in range(len(schema))]
        for param in params:
            spec = schema[param.name]
            assert param.kind is spec.kind
            assert param.writable == spec.writable
            assert param.unit == spec.unit
            assert param.minimum == spec.minimum  # None (NaN on the wire) for text and booleans
            assert param.maximum == spec.maximum
            value = snapshot.parameters[param.name]
            encoded = device_codec.encode_param(param.kind, value)
            assert codec.decode_param(param.kind, encoded, param.name) == value
            assert codec.encode_param(param.kind, value) == encoded


def test_dtc_texts_self_test_and_upload_status_round_trip() -> None:
    dtcs = [
        Dtc(0x9A0110, 0x09, DtcSeverity.CRITICAL, "Cell overvoltage"),
        Dtc(0x123456, 0x01, DtcSeverity.INFO, ""),
    ]
    texts = codec.dtc_texts(device_codec.encode_dtc_texts(dtcs))
    assert texts[0x9A0110].severity is DtcSeverity.CRITICAL
    assert texts[0x9A0110].description == "Cell overvoltage"
    result = DeviceSelfTest(
        (SelfTestCheck("voltage_calibration", True, "+0.10 %", "±0.5 %", "sum of cells"),)
    )
    assert codec.self_test(device_codec.encode_self_test(result)[0:]) == result
    status = codec.upload_status(device_codec.encode_upload_status(-1, 0, 0, b""))
    assert status.slot == -1
    assert status.offset == 0


def test_identifier_tables_agree_between_tool_and_device() -> None:
    assert ids.node_ids(0) == uds_server.node_ids(1) == (0x7E0, 0x7E8)
    assert ids.node_ids(8) == uds_server.node_ids(8) == (0x7E7, 0x7EF)
    for name in dir(ids):
        if name.startswith(("DID_", "RID_")) and hasattr(device_codec, name):
            assert getattr(device_codec, name) == getattr(ids, name), name
        if name.startswith("RID_") and hasattr(uds_server, name):
            assert getattr(uds_server, name) == getattr(ids, name), name
    with pytest.raises(ValueError, match="outside"):
        ids.node_ids(9)


def test_truncated_records_give_a_sentence_not_a_traceback() -> None:
    with pytest.raises(MalformedResponseError, match="cell voltage"):
        codec.cells(b"\x00\x05\x0c\xe4")
    with pytest.raises(MalformedResponseError, match="extra bytes"):
        codec.transport_caps(bytes(7))
    with pytest.raises(MalformedResponseError, match="unknown operating mode"):
        codec.device_mode(b"\x07")


def test_key_provider_matches_the_device_derivation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with VirtualBms.create(SimOptions(erase_time_s_per_sector=0, boot_time_s=0)) as device:
        provider = demo_key_provider()
        seed = bytes(range(16))
        expected = hmac.new(device.security_secret, seed, hashlib.sha256).digest()[:16]
        assert provider.key_for(seed, device.serial_number, 1) == expected
        assert HmacKeyProvider(b"\x01" * 32).key_for(seed, device.serial_number, 1) != expected
    bad = tmp_path / "key.txt"
    bad.write_text("not hex")
    with pytest.raises(KeyFileError, match="hexadecimal"):
        load_master_secret(bad)
    with pytest.raises(KeyFileError, match="cannot be read"):
        load_master_secret(tmp_path / "missing.key")


def test_negative_responses_name_the_nrc() -> None:
    error = translate(NegativeResponseException(Response.from_payload(b"\x7f\x34\x70")), "start the download")
    assert isinstance(error, DeviceRejectedError)
    assert error.code == 0x70
    assert str(error) == "The device refused to start the download (NRC 0x70 uploadDownloadNotAccepted)."
    locked = translate(
        NegativeResponseException(Response.from_payload(b"\x7f\x27\x36")), "unlock security access"
    )
    assert isinstance(locked, SecurityAccessDeniedError)
    assert "exceededNumberOfAttempts" in str(locked)
    assert locked.hint


def test_block_plan_shrinks_on_failure_and_grows_back() -> None:
    plan = _BlockPlan(4093)
    for _ in range(6):
        plan.failed()
    assert plan.size == 256
    for _ in range(8 * 5):
        plan.succeeded()
    assert plan.size == 4093
