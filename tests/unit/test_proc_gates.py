"""Precondition gates and self-test checks evaluated on plain core values (no device)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bmsflasher.core.errors import PreconditionError
from bmsflasher.core.types import (
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    PackTelemetry,
    SelfTestCheck,
)
from bmsflasher.procedure import preconditions as pre
from bmsflasher.procedure import selftest as st
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.profiles import profile_for_model

V = FirmwareVersion.parse
LIMITS = profile_for_model("any-model", dirs=None)


def identity(**changes: object) -> DeviceIdentity:
    base = DeviceIdentity(
        model="BMS-16S",
        serial_number="SN1",
        hardware_revision="B",
        firmware_version=V("1.0.0"),
        bootloader_version=V("1.2.0"),
        mode=DeviceMode.APPLICATION,
        security_counter=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def package(**changes: object) -> PackageFacts:
    base = PackageFacts(
        model="BMS-16S",
        hardware_revisions=("A", "B"),
        version=V("1.1.0"),
        security_counter=2,
        min_bootloader_version=V("1.0.0"),
        package_sha256="ab" * 32,
        image_sha256="cd" * 32,
        image_size=1000,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def telemetry(**changes: object) -> PackTelemetry:
    cells = (3300,) * 16
    base = PackTelemetry(
        timestamp_s=0.0,
        cell_voltages_mv=cells,
        balancing=(False,) * 16,
        temperatures_c=(25.0, 26.0, 24.5),
        pack_voltage_mv=sum(cells),
        current_ma=0,
        soc_pct=50.0,
        soh_pct=98.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def inputs(samples: tuple[PackTelemetry, ...] | None = None, **changes: object) -> pre.PreconditionInputs:
    base = pre.PreconditionInputs(
        identity=identity(),
        samples=samples if samples is not None else (telemetry(),) * 5,
        dtcs=(),
        round_trips=(0.01,) * 5,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def by_name(report: pre.PreconditionReport | st.SelfTestReport, name: str) -> object:
    return next(m for m in report.results if m.name == name)


def test_healthy_device_passes_every_gate() -> None:
    report = pre.evaluate(inputs(), package(), LIMITS.preconditions)
    assert report.passed, report.summary()
    assert {m.name for m in report.results} == set(pre.ALL_GATES)


@pytest.mark.parametrize(
    ("soc", "passed"), [(19.9, False), (20.0, True), (50.0, True), (80.0, True), (80.1, False), (15.0, False)]
)
def test_soc_window_is_20_to_80_percent(soc: float, passed: bool) -> None:
    report = pre.evaluate(inputs((telemetry(soc_pct=soc),) * 3), package(), LIMITS.preconditions)
    gate = by_name(report, pre.STATE_OF_CHARGE)
    assert gate.passed is passed  # type: ignore[attr-defined]
    assert report.passed is passed
    assert "20..80 %" in gate.limit  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("temps", "passed"),
    [
        ((25.0, 25.0), True),
        ((0.0, 45.0), True),
        ((25.0, 50.0), False),  # one hot sensor is enough
        ((-0.5, 20.0), False),
        ((25.0, None), False),  # a failed sensor cannot prove the pack is in range
    ],
)
def test_temperature_on_every_sensor(temps: tuple[float | None, ...], passed: bool) -> None:
    report = pre.evaluate(inputs((telemetry(temperatures_c=temps),) * 2), package(), LIMITS.preconditions)
    assert by_name(report, pre.TEMPERATURE).passed is passed  # type: ignore[attr-defined]


def test_load_current_uses_the_worst_sample() -> None:
    samples = (telemetry(current_ma=10), telemetry(current_ma=-2000), telemetry(current_ma=0))
    report = pre.evaluate(inputs(samples), package(), LIMITS.preconditions)
    gate = by_name(report, pre.LOAD_CURRENT)
    assert not gate.passed  # type: ignore[attr-defined]
    assert gate.value == "2000 mA"  # type: ignore[attr-defined]


def test_stability_window_detects_a_moving_cell_and_supply() -> None:
    moving = telemetry(cell_voltages_mv=(3300,) * 15 + (3350,), pack_voltage_mv=52800 + 500)
    report = pre.evaluate(inputs((telemetry(), moving, telemetry())), package(), LIMITS.preconditions)
    assert not by_name(report, pre.CELL_STABILITY).passed  # type: ignore[attr-defined]
    assert not by_name(report, pre.SUPPLY_STABILITY).passed  # type: ignore[attr-defined]
    assert by_name(report, pre.CELL_STABILITY).overridable  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ident", "pkg", "gate"),
    [
        (identity(model="OTHER"), package(), pre.MODEL),
        (identity(hardware_revision="C"), package(), pre.HARDWARE_REVISION),
        (identity(bootloader_version=V("0.9.0")), package(), pre.BOOTLOADER_VERSION),
        (
            identity(bootloader_version=V("1.2.0")),
            package(min_bootloader_version=V("2.0.0")),
            pre.BOOTLOADER_VERSION,
        ),
        (identity(security_counter=5), package(security_counter=4), pre.ANTI_ROLLBACK),
        (identity(mode=DeviceMode.RECOVERY), package(), pre.DEVICE_MODE),
    ],
)
def test_identity_safety_gates(ident: DeviceIdentity, pkg: PackageFacts, gate: str) -> None:
    report = pre.evaluate(inputs(identity=ident), pkg, LIMITS.preconditions)
    failed = [m.name for m in report.blocking]
    assert failed == [gate]
    assert not by_name(report, gate).overridable  # type: ignore[attr-defined]


def test_critical_dtc_blocks_but_warning_does_not() -> None:
    warn = Dtc(0x010203, 0x09, DtcSeverity.WARNING, "cell imbalance")
    crit = Dtc(0x0A0B0C, 0x09, DtcSeverity.CRITICAL, "contactor welded")
    ok = pre.evaluate(inputs(dtcs=(warn,)), package(), LIMITS.preconditions)
    bad = pre.evaluate(inputs(dtcs=(warn, crit)), package(), LIMITS.preconditions)
    assert ok.passed
    assert [m.name for m in bad.blocking] == [pre.CRITICAL_DTCS]
    assert "0A0B0C" in bad.blocking[0].value


def test_link_quality_can_be_overridden_with_a_reason_only() -> None:
    lossy = inputs(round_trips=(0.01, None, 0.02, None, 0.01))
    refused = pre.evaluate(lossy, package(), LIMITS.preconditions)
    assert [m.name for m in refused.blocking] == [pre.LINK_QUALITY]
    accepted = pre.evaluate(
        lossy, package(), LIMITS.preconditions, {pre.LINK_QUALITY: "long RS485 run on site"}
    )
    assert accepted.passed
    assert accepted.overrides == {pre.LINK_QUALITY: "long RS485 run on site"}
    assert not by_name(accepted, pre.LINK_QUALITY).passed  # type: ignore[attr-defined]  # still shows the truth
    with pytest.raises(PreconditionError, match="needs a reason"):
        pre.evaluate(lossy, package(), LIMITS.preconditions, {pre.LINK_QUALITY: "  "})


@pytest.mark.parametrize("gate", [pre.STATE_OF_CHARGE, pre.TEMPERATURE, pre.ANTI_ROLLBACK, pre.MODEL])
def test_safety_gates_refuse_overrides(gate: str) -> None:
    with pytest.raises(PreconditionError, match="safety gate"):
        pre.validate_overrides({gate: "I know what I am doing"})


def test_unknown_override_names_the_valid_ones() -> None:
    with pytest.raises(PreconditionError, match="link_quality"):
        pre.validate_overrides({"bogus": "x"})


def test_no_telemetry_fails_pack_gates_instead_of_passing() -> None:
    report = pre.evaluate(inputs(samples=()), package(), LIMITS.preconditions)
    assert {m.name for m in report.blocking} >= {pre.STATE_OF_CHARGE, pre.TEMPERATURE, pre.LOAD_CURRENT}


# --- self-test ---------------------------------------------------------------------------------------
def st_inputs(**changes: object) -> st.SelfTestInputs:
    base = st.SelfTestInputs(
        telemetry=telemetry(),
        round_trips=(0.01,) * 10,
        balancing=st.BalancingObservation(0, True, True, 0.2),
        dtcs_before=(),
        dtcs_after=(),
        device=DeviceSelfTest((SelfTestCheck("adc", True, "ok", "ok"),)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_healthy_selftest_passes() -> None:
    report = st.evaluate(st_inputs(), LIMITS.self_test)
    assert report.passed, report.summary()
    assert any(m.name == "device_adc" for m in report.results)


@pytest.mark.parametrize(("offset_pct", "passed"), [(0.0, True), (0.49, True), (0.51, False), (1.5, False)])
def test_cell_sum_vs_pack_within_half_a_percent(offset_pct: float, passed: bool) -> None:
    cells = (3300,) * 16
    pack = round(sum(cells) * (1 + offset_pct / 100))
    report = st.evaluate(st_inputs(telemetry=telemetry(pack_voltage_mv=pack)), LIMITS.self_test)
    assert by_name(report, st.CALIBRATION).passed is passed  # type: ignore[attr-defined]


def test_reference_voltage_is_checked_when_given() -> None:
    ok = st.evaluate(st_inputs(reference_mv=52800), LIMITS.self_test)
    bad = st.evaluate(st_inputs(reference_mv=54000), LIMITS.self_test)
    assert by_name(ok, st.REFERENCE_VOLTAGE).passed  # type: ignore[attr-defined]
    assert [m.name for m in bad.failed] == [st.REFERENCE_VOLTAGE]
    assert all(m.name != st.REFERENCE_VOLTAGE for m in st.evaluate(st_inputs(), LIMITS.self_test).results)


@pytest.mark.parametrize(
    "temps",
    [(25.0, None), (25.0, 120.0), (5.0, 40.0)],  # failed, implausible, inconsistent (spread 35)
)
def test_temperature_sensors_plausible_and_consistent(temps: tuple[float | None, ...]) -> None:
    report = st.evaluate(st_inputs(telemetry=telemetry(temperatures_c=temps)), LIMITS.self_test)
    assert [m.name for m in report.failed] == [st.TEMPERATURE_SENSORS]


def test_balancing_must_be_seen_on_and_off() -> None:
    never_on = st.BalancingObservation(3, False, True)
    report = st.evaluate(st_inputs(balancing=never_on), LIMITS.self_test)
    assert [m.name for m in report.failed] == [st.BALANCING]
    assert "cell 4" in report.failed[0].value


def test_new_dtcs_fail_but_old_ones_do_not() -> None:
    old = Dtc(1, 9, DtcSeverity.WARNING, "old")
    new = Dtc(2, 9, DtcSeverity.WARNING, "new after update")
    assert st.evaluate(st_inputs(dtcs_before=(old,), dtcs_after=(old,)), LIMITS.self_test).passed
    report = st.evaluate(st_inputs(dtcs_before=(old,), dtcs_after=(old, new)), LIMITS.self_test)
    assert [m.name for m in report.failed] == [st.NEW_DTCS]
    assert "new after update" in report.failed[0].value


def test_slow_or_lost_round_trips_fail_communication() -> None:
    slow = st.evaluate(st_inputs(round_trips=(0.01, 0.9)), LIMITS.self_test)
    lost = st.evaluate(st_inputs(round_trips=(0.01, None)), LIMITS.self_test)
    assert [m.name for m in slow.failed] == [st.COMMUNICATION_SPEED]
    assert [m.name for m in lost.failed] == [st.COMMUNICATION_SPEED]


def test_device_own_failed_check_fails_the_selftest() -> None:
    device = DeviceSelfTest((SelfTestCheck("voltage_calibration", False, "1.5 %", "0.5 %"),))
    report = st.evaluate(st_inputs(device=device), LIMITS.self_test)
    assert [m.name for m in report.failed] == ["device_voltage_calibration"]
    assert "device voltage calibration is 1.5 %" in report.summary()
