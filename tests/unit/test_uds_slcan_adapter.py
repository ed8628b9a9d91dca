"""The emulated slcan adapter, driven by python-can's real slcan driver over a real pty."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import can
import pytest

from bmsflasher.core.errors import LinkError, LinkLostError, PortNotFoundError
from bmsflasher.links.can import CanLink, CanLinkConfig, open_can_bus
from bmsflasher.sim.wire.can_bus import CanBusTimeline
from bmsflasher.sim.wire.slcan_adapter import (
    SlcanAdapter,
    SlcanProtocolError,
    bitrate_from_btr,
    format_frame,
    parse_frame,
)


@pytest.mark.parametrize(
    "line",
    [
        "t7E08DEADBEEF01020304",
        "T18DA00F12AABB",
        "r1233",
        "R18DA00F18",
        "d7E0F" + "11" * 64,
        "B18DA00F1C" + "22" * 24,
    ],
)
def test_frame_lines_round_trip(line: str) -> None:
    assert format_frame(parse_frame(line)) == (line + "\r").encode()


@pytest.mark.parametrize(
    "line", ["t7E09" + "00" * 9, "tXYZ100", "t7E0800", "t8008" + "00" * 8, "T2000000010"]
)
def test_malformed_frame_lines_are_refused(line: str) -> None:
    with pytest.raises(SlcanProtocolError):
        parse_frame(line)


def test_btr_registers_give_the_bit_rate() -> None:
    assert bitrate_from_btr("011C") == 125_000  # SJA1000 at 8 MHz
    assert bitrate_from_btr("001C") == 250_000


def test_python_can_slcan_driver_talks_to_the_adapter(tmp_path: Path) -> None:
    with CanBusTimeline(500_000) as bus:
        received: list[can.Message] = []
        node = bus.attach("node", received.append)
        adapter = SlcanAdapter(bus, link_path=tmp_path / "canable", serial_number="A123")
        try:
            host = can.Bus(interface="slcan", channel=adapter.path, bitrate=500_000, sleep_after_open=0.05)
            try:
                assert host.get_version(1.0) == (10, 13)  # type: ignore[attr-defined]
                assert host.get_serial_number(1.0) == "A123"  # type: ignore[attr-defined]
                host.send(can.Message(arbitration_id=0x7E0, data=b"\x02\x3e\x00", is_extended_id=False))
                host.send(can.Message(arbitration_id=0x18DA00F1, data=b"\x01", is_extended_id=True))
                deadline = time.monotonic() + 2
                while len(received) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert [(m.arbitration_id, bytes(m.data)) for m in received] == [
                    (0x7E0, b"\x02\x3e\x00"),
                    (0x18DA00F1, b"\x01"),
                ]
                node.send(can.Message(arbitration_id=0x7E8, data=b"\x02\x7e\x00", is_extended_id=False))
                answer = host.recv(2.0)
                assert answer is not None
                assert answer.arbitration_id == 0x7E8
                assert bytes(answer.data) == b"\x02\x7e\x00"
            finally:
                host.shutdown()
        finally:
            adapter.close()


def test_bitrate_mismatch_hears_nothing() -> None:
    with CanBusTimeline(500_000) as bus:
        received: list[can.Message] = []
        node = bus.attach("node", received.append)
        adapter = SlcanAdapter(bus)
        try:
            host = can.Bus(interface="slcan", channel=adapter.path, bitrate=250_000, sleep_after_open=0.05)
            try:
                host.send(can.Message(arbitration_id=0x7E0, data=b"\x01", is_extended_id=False))
                node.send(can.Message(arbitration_id=0x7E8, data=b"\x01", is_extended_id=False))
                assert host.recv(0.3) is None
                assert received == []
            finally:
                host.shutdown()
        finally:
            adapter.close()


def test_unplug_is_link_lost_and_replug_reopens_behind_the_same_path(tmp_path: Path) -> None:
    with CanBusTimeline(1_000_000) as bus:
        echo_done = threading.Event()

        def echo(msg: can.Message) -> None:
            port.send(can.Message(arbitration_id=0x7E8, data=bytes(msg.data), is_extended_id=False))
            echo_done.set()

        port = bus.attach("node", echo)
        adapter = SlcanAdapter(bus, link_path=tmp_path / "slcan0")
        config = CanLinkConfig(interface="slcan", channel=adapter.path, bitrate=1_000_000)
        first_tty = adapter.tty_path
        link = CanLink.open(config)
        try:
            adapter.unplug()
            with pytest.raises(LinkLostError, match="stopped responding"):
                _read_until_error(link)
            with pytest.raises(PortNotFoundError):
                CanLink.open(config)  # the symlink is gone while unplugged
            adapter.replug()
            assert adapter.tty_path != first_tty or adapter.plug_count == 2
        finally:
            link.close()
        with CanLink.open(config) as again:
            again.send(can.Message(arbitration_id=0x7E0, data=b"\x05", is_extended_id=False))
            answer = again.recv(2.0)
            assert answer is not None
            assert bytes(answer.data) == b"\x05"
        adapter.close()


def _read_until_error(link: CanLink) -> None:
    for _ in range(50):
        link.recv(0.05)


def test_open_errors_are_translated() -> None:
    with pytest.raises(PortNotFoundError, match="not found"):
        open_can_bus(CanLinkConfig(interface="slcan", channel="/dev/does-not-exist-42", bitrate=500_000))
    with pytest.raises(LinkError, match="not available"):
        open_can_bus(CanLinkConfig(interface="no-such-backend", channel="x"))
    bus = open_can_bus(CanLinkConfig(interface="virtual", channel="uds-unit-open"))
    bus.shutdown()
