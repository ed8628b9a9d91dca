"""End-to-end updates against the virtual BMS through OS links, over both protocols.

SMP: the tool's SMP client on a real pty, through the sim's paced UART. UDS: the tool's UDS client
through python-can's own slcan driver, on a pty behind which the sim emulates a USB-CAN adapter.
Real clients, real device; the slow marker only moves duplicate coverage out of the quick run.
"""

from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path

import pytest
from proc_support import BOOT_LOOP, HEALTHY, SELFTEST_FAIL, package, smp_bench, uds_bench

from bmsflasher.core.errors import PackageError
from bmsflasher.core.events import Progress
from bmsflasher.core.types import DeviceMode, FirmwareVersion
from bmsflasher.procedure import FailureKind, Journal, State
from bmsflasher.procedure.reboot import BootOutcome
from bmsflasher.sim.flash.bootloader import MAX_BOOT_ATTEMPTS

V = FirmwareVersion.parse
BENCHES = {"smp": smp_bench, "uds": uds_bench}
BOTH = [pytest.param("smp"), pytest.param("uds")]
SMP_QUICK_UDS_SLOW = [pytest.param("smp"), pytest.param("uds", marks=pytest.mark.slow)]


@pytest.mark.parametrize("protocol", BOTH)
def test_healthy_update(tmp_path: Path, protocol: str) -> None:
    with BENCHES[protocol](tmp_path) as bench:
        result = bench.flash(HEALTHY)
        identity = bench.device.identity()
        sessions = bench.db.sessions()
        backups = bench.db.list_backups(identity.serial_number)
        first_run_events = list(bench.events)
        ops_before_again = bench.device.flash.ops_done
        again = bench.flash(HEALTHY)
        ops_after_again = bench.device.flash.ops_done
        bench.events[:] = first_run_events
    assert result.outcome is State.UPDATED, result.reason
    assert result.exit_code == 0
    assert (result.from_version, result.to_version, result.running_version) == (
        V("1.0.0"),
        V("1.1.0"),
        V("1.1.0"),
    )
    assert identity.firmware_version == V("1.1.0")
    assert identity.security_counter == 2
    active = next(s for s in identity.slots if s.active)
    assert active.confirmed
    assert [step for step, ok in bench.finished_steps() if not ok] == []
    assert [s for s, _ in bench.finished_steps()] == [
        "verify_package", "identify", "preconditions", "backup", "transfer",
        "reboot", "self_test", "confirm", "config_check", "report",
    ]  # fmt: skip
    measured = bench.measurements()
    assert all(m.passed for m in measured.values()), [m for m in measured.values() if not m.passed]
    assert {
        "state_of_charge",
        "temperature",
        "voltage_calibration",
        "balancing",
        "device_firmware_integrity",
    } <= set(measured)
    progress = bench.progress()
    assert progress[-1].done == progress[-1].total == result_image_size(HEALTHY)
    assert any(p.throughput_bps > 10_000 and p.eta_s is not None for p in progress)
    assert [(s.kind, s.outcome) for s in sessions] == [("update", "updated")]
    assert len(backups) == 1
    assert Journal.load(identity.serial_number, tmp_path / "journal") is None
    assert again.outcome is State.REFUSED  # installing the running package again writes nothing
    assert "already runs firmware 1.1.0" in again.reason
    assert ops_after_again == ops_before_again


def result_image_size(name: str) -> int:
    with zipfile.ZipFile(package(name)) as archive:
        image = next(i for i in archive.infolist() if i.filename.endswith(".img"))
        return image.file_size


@pytest.mark.parametrize("protocol", SMP_QUICK_UDS_SLOW)
def test_selftest_failure_rolls_back_automatically(tmp_path: Path, protocol: str) -> None:
    with BENCHES[protocol](tmp_path) as bench:
        result = bench.flash(SELFTEST_FAIL)
        identity = bench.device.identity()
        config_after = bench.device.config()
        backup = bench.db.list_backups(identity.serial_number)[0]
    assert result.outcome is State.ROLLED_BACK, result.reason
    assert result.exit_code == 10
    assert identity.firmware_version == V("1.0.0")
    assert identity.security_counter == 1  # the failed image never raised the counter
    assert next(s for s in identity.slots if s.active).confirmed
    assert result.self_test is not None
    failed = [m.name for m in result.self_test.failed]
    assert failed == ["device_balancing_circuit"]
    assert "balancing circuit" in result.reason
    assert result.advice is not None
    assert result.advice.kind is FailureKind.SELF_TEST_FAILURE
    assert dict(config_after.parameters) == dict(backup.snapshot.parameters)


@pytest.mark.parametrize("protocol", SMP_QUICK_UDS_SLOW)
def test_boot_loop_is_reverted_by_the_bootloader(tmp_path: Path, protocol: str) -> None:
    with BENCHES[protocol](tmp_path) as bench:
        result = bench.flash(BOOT_LOOP)
        identity = bench.device.identity()
        dtcs = bench.device.dtcs()
    assert result.outcome is State.ROLLED_BACK, result.reason
    assert result.boot is not None
    assert result.boot.outcome is BootOutcome.REVERTED
    assert result.advice is not None
    assert result.advice.kind is FailureKind.BOOT_LOOP
    assert "Roll back to the last stable version" in result.advice.resolution
    assert identity.firmware_version == V("1.0.0")
    assert identity.mode is DeviceMode.APPLICATION
    assert MAX_BOOT_ATTEMPTS == 3  # the tool issued one reset; the bootloader gave up within 3 attempts
    assert any("failed to start" in d.description.lower() or "boot" in d.description.lower() for d in dtcs)


@pytest.mark.parametrize("protocol", BOTH)
@pytest.mark.parametrize(
    ("scenario", "gate"),
    [({"soc_pct": 15.0}, "state_of_charge"), ({"ambient_c": 50.0}, "temperature")],
    ids=["soc-15pct", "50C"],
)
def test_unsafe_battery_is_refused_before_anything_is_written(
    tmp_path: Path, scenario: dict[str, float], gate: str, protocol: str
) -> None:
    with BENCHES[protocol](tmp_path, **scenario) as bench:
        flash_before = bench.device.flash.snapshot()
        ops_before = bench.device.flash.ops_done
        slots_before = bench.device.slots()
        result = bench.flash(HEALTHY)
        flash_after = bench.device.flash.snapshot()
        ops_after = bench.device.flash.ops_done
        slots_after = bench.device.slots()
    assert result.outcome is State.REFUSED
    assert result.exit_code == 2
    assert [m.name for m in result.preconditions.blocking] == [gate]  # type: ignore[union-attr]
    assert ops_after == ops_before
    assert flash_after == flash_before
    assert slots_after == slots_before
    assert not bench.progress()
    assert "before anything was written" in result.reason


def test_tampered_package_is_refused_before_the_device_is_contacted(tmp_path: Path) -> None:
    original = package(HEALTHY).read_bytes()
    tampered = tmp_path / "tampered.bmspkg"
    with zipfile.ZipFile(package(HEALTHY)) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".img"):
                data = data[:1000] + bytes([data[1000] ^ 0x01]) + data[1001:]
            dst.writestr(info, data)
    assert tampered.read_bytes() != original
    with smp_bench(tmp_path) as bench:
        ops_before = bench.device.flash.ops_done
        connects: list[int] = []
        original_connect = bench.connect

        def counting_connect():  # type: ignore[no-untyped-def]
            connects.append(1)
            return original_connect()

        bench.connect = counting_connect  # type: ignore[method-assign]
        result = bench.flash(tampered)
        ops_after = bench.device.flash.ops_done
    assert result.outcome is State.FAILED
    assert result.failed_step is State.VERIFY_PACKAGE
    assert isinstance(result.error, PackageError)
    assert result.exit_code == 3
    assert connects == []
    assert ops_after == ops_before


def test_cable_pull_mid_transfer_resumes_smp(tmp_path: Path) -> None:
    with smp_bench(tmp_path) as bench:
        pulled: list[int] = []
        front_end = bench.front_end
        assert front_end is not None

        def sink(event: object) -> None:
            bench.events.append(event)  # type: ignore[arg-type]
            if isinstance(event, Progress) and not pulled and event.done > event.total // 2:
                pulled.append(event.done)
                front_end.pull_cable(replug_after_s=0.5)

        bench.sink = sink  # type: ignore[method-assign]
        result = bench.flash(HEALTHY)
        identity = bench.device.identity()
    assert result.outcome is State.UPDATED, result.reason
    assert identity.firmware_version == V("1.1.0")
    assert pulled
    dones = [p.done for p in bench.progress()]
    cut = dones.index(pulled[0])
    assert min(dones[cut:]) >= pulled[0] // 2, "the transfer restarted from the beginning"
    assert dones[-1] == bench.progress()[-1].total


def test_adapter_unplugged_mid_transfer_resumes_uds(tmp_path: Path) -> None:
    with uds_bench(tmp_path) as bench:
        adapter = bench.can.adapter  # type: ignore[attr-defined]
        pulled: list[int] = []

        def replug() -> None:
            time.sleep(0.5)
            adapter.replug()

        def sink(event: object) -> None:
            bench.events.append(event)  # type: ignore[arg-type]
            if isinstance(event, Progress) and not pulled and event.done > event.total // 2:
                pulled.append(event.done)
                adapter.unplug()
                helper.start()

        helper = threading.Thread(target=replug, name="test-replug")
        bench.sink = sink  # type: ignore[method-assign]
        try:
            result = bench.flash(HEALTHY)
        finally:
            if helper.is_alive() or pulled:
                helper.join(5)
        identity = bench.device.identity()
    assert pulled
    assert result.outcome is State.UPDATED, result.reason
    assert identity.firmware_version == V("1.1.0")
    dones = [p.done for p in bench.progress()]
    cut = dones.index(pulled[0])
    assert min(dones[cut:]) >= pulled[0] // 2, "the transfer restarted from the beginning"
