"""The target contract: the same assertions against the UDS and the SMP virtual BMS.

Every test here runs once per protocol and may not know which one it talks to: whatever the
procedure, the CLI or the GUI relies on must hold over CAN and over serial alike. A protocol that
needs an ``if protocol == ...`` here has broken the contract.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_benches import DEMO_PUB, PROTOCOLS, ContractBench, contract_bench, signed_image

from bmsflasher.core.config_schema import ConfigSchema
from bmsflasher.core.errors import (
    BmsFlasherError,
    ConfigValidationError,
    LinkError,
    LinkLostError,
    ProcedureError,
    ReadOnlyParameterError,
    ReconnectTimeoutError,
    UnknownParameterError,
)
from bmsflasher.core.events import Event, Progress
from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import NO_RESUME, ResumePolicy, Target
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, DeviceMode, FirmwareVersion, SlotState
from bmsflasher.procedure import build_keyring, load_package, profile_for_model
from bmsflasher.procedure.recovery import recover

NEW = FirmwareVersion(1, 1, 0)
FACTORY = FirmwareVersion(1, 0, 0)
WRITABLE = "balance_delta_mv"
READ_ONLY = "serial_number"


@pytest.fixture(params=PROTOCOLS)
def bench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContractBench]:
    with contract_bench(request.param, tmp_path) as rig:
        yield rig


@pytest.fixture
def target(bench: ContractBench) -> Target:
    return bench.open()


def _slot_view(slots: tuple[SlotState, ...]) -> list[tuple[int, FirmwareVersion | None, bytes, bool, bool]]:
    return [(s.slot, s.version, s.image_hash, s.active, s.confirmed) for s in slots if s.version is not None]


def _active(identity: DeviceIdentity) -> SlotState:
    return next(s for s in identity.slots if s.active)


# --- identity, live data, DTCs, link ------------------------------------------------------------------
def test_identify_reports_the_device(bench: ContractBench, target: Target) -> None:
    identity = target.identify()
    expected = bench.device.identity()
    assert target.protocol == bench.protocol
    assert target.link == bench.link
    assert (identity.model, identity.serial_number, identity.hardware_revision) == (
        expected.model,
        expected.serial_number,
        expected.hardware_revision,
    )
    assert identity.firmware_version == expected.firmware_version == FACTORY
    assert identity.bootloader_version == expected.bootloader_version
    assert identity.mode is DeviceMode.APPLICATION
    assert identity.security_counter == expected.security_counter
    assert _slot_view(identity.slots) == _slot_view(expected.slots)


def test_telemetry_is_the_pack_the_device_measures(bench: ContractBench, target: Target) -> None:
    telemetry = target.read_telemetry()
    expected = bench.device.telemetry()
    assert telemetry.cell_count == expected.cell_count == 16
    assert abs(telemetry.cell_sum_mv - telemetry.pack_voltage_mv) < 200
    assert len(telemetry.temperatures_c) == len(expected.temperatures_c)
    assert abs(telemetry.soc_pct - expected.soc_pct) < 1.0


def test_dtcs_read_and_clear(bench: ContractBench, target: Target) -> None:
    assert [(d.code, d.status) for d in target.read_dtcs()] == [
        (d.code, d.status) for d in bench.device.dtcs()
    ]
    target.clear_dtcs()
    assert target.read_dtcs() == []
    assert bench.device.dtcs() == []


def test_ping_and_link_statistics(target: Target) -> None:
    assert 0.0 < target.ping() < 1.0
    stats = target.link_stats()
    assert stats.requests >= 1
    assert stats.bytes_sent > 0
    assert stats.bytes_received > 0
    assert 0.0 < stats.last_round_trip_s < 1.0


def test_close_twice(target: Target) -> None:
    target.close()
    target.close()


# --- configuration: the write policy ------------------------------------------------------------------
def test_read_config_is_the_devices_configuration(bench: ContractBench, target: Target) -> None:
    assert dict(target.read_config().parameters) == dict(bench.device.config().parameters)


def _schema_view(schema: ConfigSchema) -> dict[str, tuple[object, ...]]:
    """What every protocol must report alike (SMP also carries the device's own description)."""
    return {
        name: (spec.kind, spec.unit, spec.minimum, spec.maximum, spec.choices, spec.writable)
        for name, spec in schema.parameters.items()
    }


def test_the_config_schema_is_the_devices_schema_over_every_protocol(
    bench: ContractBench, target: Target
) -> None:
    schema = target.read_config_schema()
    expected = bench.device.config_schema()
    assert schema.version == bench.device.config().schema_version
    assert list(schema.parameters) == list(expected)  # the device's order
    assert _schema_view(schema) == {
        name: (spec.kind, spec.unit, spec.minimum, spec.maximum, tuple(spec.choices), spec.writable)
        for name, spec in expected.items()
    }
    # the parts a technician's edit is checked against, spelled out
    assert schema.parameters["cell_overvoltage_mv"].kind is int
    assert (
        schema.parameters["overtemperature_c"].minimum,
        schema.parameters["overtemperature_c"].maximum,
    ) == (
        30.0,
        90.0,
    )
    assert schema.parameters["can_bitrate"].choices == (125_000, 250_000, 500_000, 1_000_000)
    assert not schema.parameters[READ_ONLY].writable
    assert set(schema.parameters) == set(target.read_config().parameters)


def test_write_config_writes_only_the_changed_values(bench: ContractBench, target: Target) -> None:
    before = target.read_config()
    changed = int(before.parameters[WRITABLE]) + 1
    bench.record_parameter_writes()
    # The whole snapshot comes back (as a restore sends it), read-only values included, one changed.
    target.write_config(ConfigSnapshot(before.schema_version, {**before.parameters, WRITABLE: changed}))
    assert bench.written == [WRITABLE]
    assert bench.device.saved_config().parameters[WRITABLE] == changed
    assert target.read_config().parameters[WRITABLE] == changed


def test_write_config_with_nothing_changed_writes_nothing(bench: ContractBench, target: Target) -> None:
    before = target.read_config()
    bench.record_parameter_writes()
    flash_ops = bench.device.flash.ops_done
    target.write_config(before)
    assert bench.written == []
    assert bench.device.flash.ops_done == flash_ops  # not even a save


def test_a_read_only_change_is_refused_before_anything_is_written(
    bench: ContractBench, target: Target
) -> None:
    before = target.read_config()
    bench.record_parameter_writes()
    request = {WRITABLE: int(before.parameters[WRITABLE]) + 1, READ_ONLY: "OTHER-SERIAL"}
    with pytest.raises(ReadOnlyParameterError, match=READ_ONLY) as refused:
        target.write_config(ConfigSnapshot(before.schema_version, request))
    assert isinstance(refused.value, ConfigValidationError)
    assert bench.written == []
    assert dict(bench.device.config().parameters) == dict(before.parameters)
    assert dict(bench.device.saved_config().parameters) == dict(before.parameters)


def test_an_unknown_parameter_is_refused_before_anything_is_written(
    bench: ContractBench, target: Target
) -> None:
    before = target.read_config()
    bench.record_parameter_writes()
    request = {WRITABLE: int(before.parameters[WRITABLE]) + 1, "no_such_parameter": 1}
    with pytest.raises(UnknownParameterError, match="no_such_parameter"):
        target.write_config(ConfigSnapshot(before.schema_version, request))
    assert bench.written == []
    assert dict(bench.device.config().parameters) == dict(before.parameters)


def test_an_out_of_range_value_is_refused(bench: ContractBench, target: Target) -> None:
    before = target.read_config()
    with pytest.raises(ConfigValidationError, match=WRITABLE):
        target.write_config(ConfigSnapshot(before.schema_version, {WRITABLE: 10_000_000}))
    assert dict(bench.device.saved_config().parameters) == dict(before.parameters)


# --- update: upload, resume, test boot, confirm, rollback ---------------------------------------------
def test_an_interrupted_transfer_resumes_where_it_stopped(bench: ContractBench, target: Target) -> None:
    image = signed_image("1.1.0", size=96 * 1024)
    pulled_at: list[int] = []

    def pull_at_40_percent(done: int, total: int) -> None:
        if not pulled_at and done > total * 0.4:
            pulled_at.append(done)
            bench.pull_cable()

    with pytest.raises(LinkLostError):
        target.upload_image(image, pull_at_40_percent, resume=NO_RESUME)
    assert pulled_at
    bench.plug()
    assert target.reconnect(10.0).firmware_version == FACTORY
    progress: list[int] = []
    target.upload_image(image, lambda done, _total: progress.append(done), resume=NO_RESUME)
    assert min(progress) >= pulled_at[0] // 2, "the transfer restarted from the beginning"
    assert progress[-1] == len(image)
    assert bench.device.image_bytes(1)[: len(image)] == image
    # The counters include the link that was pulled (only the block lost with it is missing).
    assert target.link_stats().bytes_sent > len(image) * 0.8


def test_the_resume_policy_rides_out_a_pulled_cable(bench: ContractBench, target: Target) -> None:
    image = signed_image("1.1.0", size=96 * 1024)
    pulled_at: list[int] = []
    breaks: list[BmsFlasherError] = []
    progress: list[int] = []

    def pull_once(done: int, total: int) -> None:
        progress.append(done)
        if not pulled_at and done > total // 2:
            pulled_at.append(done)
            bench.pull_cable(replug_after_s=0.3)

    target.upload_image(image, pull_once, resume=ResumePolicy(2, 10.0, breaks.append))
    assert pulled_at
    assert len(breaks) == 1
    assert isinstance(breaks[0], LinkLostError)
    cut = progress.index(pulled_at[0])
    assert min(progress[cut:]) >= pulled_at[0] // 2, "the transfer restarted from the beginning"
    assert bench.device.image_bytes(1)[: len(image)] == image


def test_a_break_beyond_the_policy_is_raised_not_retried_by_another_layer(
    bench: ContractBench, target: Target
) -> None:
    """The caller's policy is the only retry layer: no hidden loop inside the protocol survives more."""
    image = signed_image("1.1.0", size=96 * 1024)
    pulls: list[int] = []
    breaks: list[BmsFlasherError] = []

    def pull_twice(done: int, total: int) -> None:
        if len(pulls) < 2 and done > total * (0.3 + 0.4 * len(pulls)):
            pulls.append(done)
            bench.pull_cable(replug_after_s=0.3)

    with pytest.raises(LinkLostError):
        target.upload_image(image, pull_twice, resume=ResumePolicy(1, 10.0, breaks.append))
    assert len(pulls) == 2
    assert len(breaks) == 1


def _test_boot(target: Target) -> DeviceIdentity:
    target.upload_image(signed_image("1.1.0"))
    target.mark_for_test()
    target.reset()
    return target.reconnect(10.0)


def test_mark_for_test_reset_and_reconnect_report_the_new_image_on_test(target: Target) -> None:
    identity = _test_boot(target)
    assert identity.mode is DeviceMode.APPLICATION
    assert identity.firmware_version == NEW
    assert not _active(identity).confirmed  # on test: the next reset would revert it
    assert target.run_self_test().passed


def test_confirm_makes_the_running_image_permanent(target: Target) -> None:
    _test_boot(target)
    target.confirm()
    identity = target.identify()
    assert identity.firmware_version == NEW
    assert _active(identity).confirmed


def test_rollback_returns_to_the_previous_image(target: Target) -> None:
    _test_boot(target)
    target.confirm()
    target.rollback()  # asks for the other slot's image and reboots into it
    identity = target.reconnect(10.0)
    assert identity.mode is DeviceMode.APPLICATION
    assert identity.firmware_version == FACTORY


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_recovery_upload_writes_the_slot_the_bootloader_boots(tmp_path: Path, protocol: str) -> None:
    image = signed_image("1.2.0")
    with contract_bench(protocol, tmp_path, recovery=True) as rig:
        target = rig.open()
        assert target.identify().mode is DeviceMode.RECOVERY
        target.upload_image(image)
        assert rig.device.image_bytes(0)[: len(image)] == image
        target.mark_for_test()  # the primary slot boots as it is: nothing to swap
        target.reset()
        identity = target.reconnect(10.0)
        assert identity.mode is DeviceMode.APPLICATION
        assert identity.firmware_version == FirmwareVersion(1, 2, 0)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_recovery_of_a_device_whose_bootloader_holds_a_bootable_image_is_refused(
    tmp_path: Path, protocol: str
) -> None:
    """Issue 14: recovery is for a device with no bootable image, on both wires.

    A device found waiting in its bootloader with its application intact used to be "recovered":
    under MCUboot's serial recovery its primary slot was overwritten without test boot,
    preconditions or backup. It goes through the update instead, and nothing is written.
    """
    keyring = build_keyring([DEMO_PUB], folder=tmp_path / "no-user-keys")
    update = load_package(resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg"), keyring)
    with contract_bench(protocol, tmp_path) as rig:
        rig.device.enter_bootloader()
        before = rig.device.identity()
        target = rig.open()
        assert target.identify().mode is DeviceMode.BOOTLOADER
        events: list[Event] = []
        with pytest.raises(ProcedureError, match="still holds bootable firmware"):
            recover(target, update, profile_for_model("VBMS-16").reboot, events.append)
        assert not [e for e in events if isinstance(e, Progress)]
        after = rig.device.identity()
        assert after.slots == before.slots  # nothing was written to either slot


# --- a device that never comes back ---------------------------------------------------------------------
def _assert_did_not_come_back(target: Target, timeout_s: float) -> None:
    started = time.monotonic()
    with pytest.raises(ReconnectTimeoutError, match="did not come back") as failure:
        target.reconnect(timeout_s)
    assert time.monotonic() - started < timeout_s + 5.0  # bounded: one try's own timeouts at most
    assert isinstance(failure.value, LinkError)
    assert failure.value.exit_code == ReconnectTimeoutError.exit_code == 4


def test_reconnect_to_a_device_that_stays_off(bench: ContractBench, target: Target) -> None:
    target.identify()
    bench.device.power_off()
    target.reset()  # the reset's answer is lost with the power: not an error by itself
    _assert_did_not_come_back(target, 1.0)


def test_reconnect_when_the_port_never_returns(bench: ContractBench, target: Target) -> None:
    target.identify()
    bench.pull_cable()
    _assert_did_not_come_back(target, 1.0)
