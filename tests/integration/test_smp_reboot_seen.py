"""After a reset the SMP tool sees the device soon after it answers again, on either kind of port.

A USB CDC device's port vanishes while it reboots and re-enumerates when the application is up:
the reconnect sees the port come back. A UART behind its own USB adapter keeps its port: the tool
sends its handshake into a device that is still at the negotiated rate until its reset, then
booting, and loses what it is sent. The handshake after a reopen asks about every 0.09 s at
115200 baud (``REOPEN_PROBE_WAIT_S``) instead of every 0.65 s, so the device is seen within a try
of its boot, not up to 0.65 s later. The tool negotiates a faster rate as an update does (and
again after the reconnect, inside the measured time).
"""

from __future__ import annotations

import time

from bmsflasher.core.types import DeviceMode
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import RESET_DELAY_S, SerialDeviceSettings, SerialFrontEnd

BAUD = 115_200
BOOT_S = 0.5
"""Long enough that the boot ends between two of the old 0.65 s tries (reset delay 0.25 + 0.5)."""


def _seen_after_boot(reenumerate: bool) -> float:
    """Seconds from the device's boot completing to the tool's reconnect returning its identity."""
    options = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=BOOT_S)
    settings = SerialDeviceSettings(reenumerate_on_reset=reenumerate)
    with (
        VirtualBms.create(options) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=BAUD), settings) as sim,
    ):
        booted: list[float] = []
        device.add_reset_listener(lambda: booted.append(time.monotonic()))
        with SmpTarget.connect(sim.port, BAUD) as target:
            assert target.session.link.baud > BAUD  # switched, as an update does
            reset_at = time.monotonic()
            target.reset()
            identity = target.reconnect(10.0)
            seen = time.monotonic()
        assert identity.mode is DeviceMode.APPLICATION
        assert len(booted) == 1
        assert booted[0] - reset_at >= RESET_DELAY_S + BOOT_S  # the device really rebooted meanwhile
        return seen - booted[0]


def test_a_uart_adapter_port_that_stays_sees_the_device_within_a_short_try() -> None:
    lag = _seen_after_boot(reenumerate=False)
    # Asked every 0.65 s, the device was seen about 0.6 s after it booted here.
    assert lag < 0.35, f"the device was seen {lag:.2f} s after it booted"


def test_a_re_enumerating_usb_port_is_seen_soon_after_it_comes_back() -> None:
    lag = _seen_after_boot(reenumerate=True)
    assert lag < 0.35 + 0.3, f"the device was seen {lag:.2f} s after it booted"  # + its re-enumeration
