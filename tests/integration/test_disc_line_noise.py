"""Junk left in the device's line buffer (by probes at other rates, or console output) must not cost
the scan its one echo at the right rate.

Zephyr's MCUmgr serial receiver (and the virtual BMS's) drops a line that grows past 127 bytes
without a newline; junk plus the echo frame did, and the scan missed a device that was there.
"""

from __future__ import annotations

import time

import pytest

from bmsflasher.discovery.smp_handshake import smp_echo_handshake
from bmsflasher.links.serial import SerialLink
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd


@pytest.mark.parametrize("junk_bytes", [60, 100, 120])
def test_a_partial_junk_line_in_the_device_does_not_swallow_the_echo(junk_bytes: int) -> None:
    with (
        VirtualBms.create(SimOptions(seed=91)) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=115200)) as front,
    ):
        front.start()
        with SerialLink.open(front.port, 115200) as link:
            link.write(b"x" * junk_bytes)  # the start of a line that never ends
            deadline = time.monotonic() + 5
            while front.wire.stats.rx_bytes < junk_bytes and time.monotonic() < deadline:
                time.sleep(0.01)
            assert front.wire.stats.rx_bytes >= junk_bytes  # the junk sits in the device's receiver
            result = smp_echo_handshake(link, 1.0)
        assert result.confirmed
        assert front.receiver.stats.frames == 1
