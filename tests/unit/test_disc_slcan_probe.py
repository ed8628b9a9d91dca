"""The slcan question an unknown serial port is asked: only an slcan adapter's answer counts.

``scan`` asks a port the adapter table does not know for an slcan version before probing it with
SMP (issue 14: ``scan --port`` on a CAN adapter said "nothing answered"). Mistaking a device for an
adapter would hide it behind a CAN probe, so everything received must be slcan grammar: answers
(CR, BEL), the version and received frames. An echo of the query, a console, binary junk, an SMP
device that stays silent: none is an adapter. The emulated adapter and a real pty are asked too.
"""

from __future__ import annotations

import os
import tty

import pytest

from bmsflasher.discovery.slcan_probe import SLCAN_QUERY, probe_slcan, slcan_version
from bmsflasher.sim.wire.can_bus import CanBusTimeline
from bmsflasher.sim.wire.slcan_adapter import SlcanAdapter


@pytest.mark.parametrize(
    ("received", "version"),
    [
        (b"\r\r\r\rV1013\r", "V1013"),  # CR per line, then the version (the emulated CANable)
        (b"\a\a\a\rV1013\r", "V1013"),  # a Lawicel refusing the empty lines with BEL
        (b"t1238112233445566778\r\r\rV0A0B\r", "V0A0B"),  # a channel left open: frames first
        (SLCAN_QUERY, None),  # an echo (loopback plug, a modem): not an answer
        (b"VBMS16 ready\r\n", None),  # a device console
        (b"\x01\x03\x02\x00\x19\x79\x8e ERR?\r\n", None),  # Modbus-ish junk
        (b"\r\r\r\r", None),  # answers, but no version: not enough
        (b"", None),  # silence (an SMP device ignores the query)
    ],
)
def test_only_an_slcan_answer_makes_a_port_an_adapter(received: bytes, version: str | None) -> None:
    assert slcan_version(received) == version


def test_the_emulated_adapter_answers_and_a_silent_pty_does_not() -> None:
    bus = CanBusTimeline(bitrate=500_000)
    adapter = SlcanAdapter(bus)
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        assert probe_slcan(adapter.path, 1.0) == "V1013"
        assert probe_slcan(os.ttyname(slave), 0.2) is None
        assert probe_slcan("/nonexistent/ttyNOPE", 0.2) is None  # the SMP probe says why it cannot open
    finally:
        adapter.close()
        os.close(master)
        os.close(slave)
        bus.close()
