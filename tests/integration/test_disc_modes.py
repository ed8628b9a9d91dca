"""The scan reports what runs on each device: application, or recovery when no valid image is left."""

from __future__ import annotations

from pathlib import Path

from bmsflasher.core.types import DeviceMode
from bmsflasher.discovery import (
    AdapterStatus,
    CanProbeSettings,
    ScanCache,
    ScanRequest,
    SerialProbeSettings,
    scan,
)
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd


def test_recovery_and_application_devices_are_told_apart_on_both_protocols(tmp_path: Path) -> None:
    with (
        VirtualBms.create(SimOptions(seed=71, recovery=True)) as smp_recovery,
        VirtualBms.create(SimOptions(seed=72)) as smp_application,
        VirtualBms.create(SimOptions(seed=73, recovery=True)) as uds_recovery,
        SerialFrontEnd(smp_recovery, FrontEndOptions(baud=57600)) as recovery_port,
        SerialFrontEnd(smp_application, FrontEndOptions(baud=230400)) as application_port,
        can_frontend.start(uds_recovery, FrontEndOptions(bitrate=250000), "slcan") as bus,
    ):
        recovery_port.start()
        application_port.start()
        expected_application = smp_application.identity().serial_number
        expected_node = uds_recovery.identity().serial_number
        result = scan(
            ScanRequest(
                ports=(recovery_port.port, application_port.port),
                can_channels=(f"slcan:{bus.channel}",),
                timeout_s=30.0,
                # Three simulated devices share this process (and its GIL) with the scanner on a
                # 2-core CI machine: give answers time, this test is about modes, not speed.
                serial=SerialProbeSettings(attempt_timeout_s=1.0),
                can=CanProbeSettings(response_window_s=1.0),
            ),
            cache=ScanCache(tmp_path / "cache.json"),
        )
    by_label = {report.label: report for report in result.reports}
    missed = [
        f"{report.label}: {report.status.value} after {report.attempts} attempts: {report.message}"
        for report in result.reports
        if report.status is not AdapterStatus.FOUND
    ]
    assert not missed, "\n".join(missed)
    (recovered,) = by_label[recovery_port.port].devices
    assert recovered.mode is DeviceMode.RECOVERY
    assert recovered.link.baud == 57600
    (running,) = by_label[application_port.port].devices
    assert running.mode is DeviceMode.APPLICATION
    assert running.serial_number == expected_application
    assert running.link.baud == 230400
    (node,) = by_label[f"slcan:{bus.channel}"].devices
    assert node.mode is DeviceMode.RECOVERY
    assert node.serial_number == expected_node
    assert node.link.bitrate == 250000
