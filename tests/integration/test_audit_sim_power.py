"""Audit regression: a power cut during the reboot the SMP front-end performs must not kill it.

``SerialFrontEnd._reboot`` called ``device.reset()`` unguarded; a power cut during the swap raised
SimPoweredOffError in the server thread (a PytestUnhandledThreadExceptionWarning in the power-cut
suite) and the virtual BMS never answered again, even after power came back.
"""

from __future__ import annotations

import time
from pathlib import Path

from proc_support import smp_bench

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.sim.device.scenarios import make_image, upload


def test_a_power_cut_during_an_smp_reset_leaves_a_device_that_answers_after_power_on(
    tmp_path: Path,
) -> None:
    with smp_bench(tmp_path) as bench:
        device = bench.device
        upload(device, make_image("1.1.0", security_counter=2))
        device.mark_pending()  # the reset below swaps: plenty of flash operations to cut
        target = bench.connect()
        device.flash.faults.cut_before_op = device.flash.ops_done + 3
        target.reset()
        end = time.monotonic() + 5.0
        while device.powered and time.monotonic() < end:
            time.sleep(0.01)
        assert not device.powered
        device.flash.faults.cut_before_op = None
        device.power_on()
        identity = target.reconnect(10.0)
    assert identity.mode.value == "application"
    assert identity.firmware_version in (FirmwareVersion(1, 0, 0), FirmwareVersion(1, 1, 0))
