"""CAN FD across processes: python-can's real slcan driver in the tool, ``bmsflasher sim --fd`` in another.

Nominal 500 kbit/s, data phase 2 Mbit/s with the bit-rate switch, ISO-TP with TX_DL 64. The sim's
bus counts every frame it carried (``bus`` event at exit), which is how these tests prove the
transfer really ran on 64-byte FD frames with BRS rather than quietly falling back to classic CAN.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import can
import pytest
from uds_support import REPO, SimProcess, signed_image

from bmsflasher.cli.target_args import add_target_arguments, link_from_args
from bmsflasher.core.errors import ConfigValidationError, LinkError
from bmsflasher.core.resources import resource_path
from bmsflasher.links.can import CanLink, CanLinkConfig, open_can_bus
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget
from bmsflasher.sim.wire.can_bus import CanBusTimeline
from bmsflasher.sim.wire.slcan_adapter import SlcanAdapter

NOMINAL = 500_000
DATA = 2_000_000
FD_ARGS = ("--fd", "--data-bitrate", str(DATA))


class FdSim(SimProcess):
    """The sim process, plus the bus statistics it prints when it stops."""

    def stop_with_bus_stats(self) -> dict[str, object]:
        """Stop the sim (SIGINT) and return its ``bus`` event."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        lines = self.process.stdout.read().splitlines()  # the process has exited: read returns at EOF
        self.stop()
        events = [json.loads(line) for line in lines if line.startswith("{")]
        bus = [event for event in events if event.get("event") == "bus"]
        assert bus, f"the sim printed no bus statistics: {lines}"
        return dict(bus[0])


def count(bus: dict[str, object], key: str) -> int:
    value = bus[key]
    assert isinstance(value, int)
    return value


def fd_lengths(bus: dict[str, object]) -> dict[int, int]:
    """FD frames by data length (JSON keys are strings)."""
    lengths = bus["fd_lengths"]
    assert isinstance(lengths, dict)
    return {int(length): int(number) for length, number in lengths.items()}


def fd_config(channel: str, data_bitrate: int = DATA) -> CanLinkConfig:
    return CanLinkConfig(
        interface="slcan", channel=channel, bitrate=NOMINAL, fd=True, data_bitrate=data_bitrate
    )


def test_fd_update_runs_on_64_byte_brs_frames(tmp_path: Path) -> None:
    image = signed_image("1.1.0", size=64 * 1024, counter=2)
    sim = FdSim(*FD_ARGS, bitrate=NOMINAL, state=tmp_path / "bms.state")
    try:
        assert sim.info["fd"] is True
        assert sim.info["data_bitrate"] == DATA
        target = UdsTarget.open(fd_config(sim.channel), options=UdsOptions(compression=False))
        try:
            assert target.uses_fd  # DID 0xFD03 offered FD and the link is FD
            assert target.link.fd
            assert target.link.data_bitrate == DATA
            target.upload_image(image)  # RoutineControl 0x0202 inside: the device verified the image
            report = target.options.reports[-1]
            assert report.erased
            assert report.resyncs == 0
            assert report.wire_bytes == len(image)
            target.mark_for_test()
            target.reset()
            identity = target.reconnect(10.0)
            assert str(identity.firmware_version) == "1.1.0"
            assert target.uses_fd  # renegotiated after the reboot
            assert target.run_self_test().passed
            target.confirm()
            assert target.identify().security_counter == 2
        finally:
            target.close()
        bus = sim.stop_with_bus_stats()
    finally:
        sim.stop()
    frames, fd_frames, brs = count(bus, "frames"), count(bus, "fd_frames"), count(bus, "brs_frames")
    lengths = fd_lengths(bus)
    # Every FD frame switched to the data rate; the only classic ones precede the FD negotiation.
    assert brs == fd_frames
    assert frames - fd_frames <= 4
    # The image went in full 64-byte frames: 63 payload bytes per consecutive frame (62 in a first
    # frame), so at least len/63 of them minus one short last frame per block.
    assert lengths[64] >= len(image) // 63 - report.blocks
    # Every FD frame has a valid CAN FD length, and short ones were padded to at least 8 bytes.
    assert set(lengths) <= {8, 12, 16, 20, 24, 32, 48, 64}
    assert count(bus, "error_frames") == 0


def test_cli_flash_over_fd_slcan(tmp_path: Path) -> None:
    """``bmsflasher flash ... --interface slcan --fd``: the whole procedure over CAN FD, from the CLI."""
    sim = FdSim(*FD_ARGS, bitrate=NOMINAL)
    try:
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[var] = str(tmp_path / var.lower())  # a journal from another run must not interfere
        command = [
            sys.executable, "-m", "bmsflasher.cli.main", "flash",
            str(resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")),
            "--interface", "slcan", "--channel", sim.channel, "--fd",
            "--yes", "--json", "--trust", str(resource_path("demo", "demo-key.pub.pem")),
            "--db", str(tmp_path / "history.sqlite3"),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        outcome = json.loads(result.stdout)
        assert outcome["outcome"] == "updated"
        assert outcome["running_version"] == "1.1.0"
        assert "FD data 2000000" in result.stderr  # the link the technician sees named
        bus = sim.stop_with_bus_stats()
    finally:
        sim.stop()
    assert count(bus, "brs_frames") == count(bus, "fd_frames") > 1000
    assert fd_lengths(bus)[64] > 1000


def test_sim_refuses_a_data_rate_slcan_cannot_set() -> None:
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "uds", "--link", "slcan",
        "--fd", "--data-bitrate", "4000000",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=30, check=False)
    assert result.returncode != 0
    assert "cannot run its CAN-FD data phase at 4000000 bit/s" in result.stderr
    assert "Traceback" not in result.stderr


def test_tool_refuses_a_data_rate_slcan_cannot_set() -> None:
    # Refused before the port is touched: the channel does not even need to exist.
    with pytest.raises(LinkError, match="cannot run the CAN-FD data phase at 4000000 bit/s"):
        open_can_bus(fd_config("/nonexistent/slcan", data_bitrate=4_000_000))


def _target_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    return parser.parse_args(list(argv))


def test_target_options_ask_for_fd() -> None:
    base = ("--interface", "slcan", "--channel", "/dev/ttyACM0")
    link = link_from_args(_target_args(*base, "--fd"))
    assert (link.fd, link.data_bitrate) == (True, 2_000_000)
    link = link_from_args(_target_args(*base, "--fd", "--data-bitrate", "5000000"))
    assert (link.fd, link.data_bitrate) == (True, 5_000_000)
    classic = link_from_args(_target_args(*base))
    assert (classic.fd, classic.data_bitrate) == (False, 0)
    with pytest.raises(ConfigValidationError, match="--data-bitrate needs --fd"):
        link_from_args(_target_args(*base, "--data-bitrate", "2000000"))
    with pytest.raises(ConfigValidationError, match="--data-bitrate must be between"):
        link_from_args(_target_args(*base, "--fd", "--data-bitrate", "500"))


def _read_frames(bus: can.BusABC, duration_s: float, *, expect: int | None = None) -> list[can.Message]:
    """Frames heard within ``duration_s`` (returns early once ``expect`` frames arrived)."""
    frames = []
    deadline = time.monotonic() + duration_s
    while time.monotonic() < deadline and (expect is None or len(frames) < expect):
        message = bus.recv(timeout=0.05)
        if message is not None:
            frames.append(message)
    return frames


def _wait_open(*adapters: SlcanAdapter) -> None:
    """python-can's slcan driver returns before the adapter has handled 'O': wait for the channel."""
    deadline = time.monotonic() + 5.0
    while not all(adapter.channel_open for adapter in adapters):
        assert time.monotonic() < deadline, "the emulated adapters never opened their channel"
        time.sleep(0.01)


def test_adapter_at_another_data_rate_neither_sends_nor_hears_brs_frames() -> None:
    """A CANable set to 5 Mbit/s on a 2 Mbit/s bus cannot sample the data phase, like real hardware."""
    timeline = CanBusTimeline(NOMINAL, DATA)
    right = SlcanAdapter(timeline, serial_number="OK")
    wrong = SlcanAdapter(timeline, serial_number="BAD")
    good = CanLink.open(fd_config(right.path))
    bad = CanLink.open(fd_config(wrong.path, data_bitrate=5_000_000))
    good_bus, bad_bus = good.bus, bad.bus
    try:
        _wait_open(right, wrong)
        brs = can.Message(
            arbitration_id=0x123, data=bytes(64), is_fd=True, bitrate_switch=True, is_extended_id=False
        )
        no_brs = can.Message(arbitration_id=0x124, data=bytes(12), is_fd=True, is_extended_id=False)
        good_bus.send(brs)
        good_bus.send(no_brs)
        heard = _read_frames(bad_bus, 1.0)
        assert [m.arbitration_id for m in heard] == [0x124]  # only the frame without a data phase
        bad_bus.send(brs)
        assert _read_frames(good_bus, 0.3) == []  # its BRS frame never reached the bus
        assert timeline.stats.fd_frames == 2
        assert timeline.stats.brs_frames == 1
        assert timeline.stats.fd_lengths == {64: 1, 12: 1}
    finally:
        good.close()
        bad.close()
        right.close()
        wrong.close()
        timeline.close()


def test_fd_frames_of_every_length_class_cross_the_emulated_adapter() -> None:
    """The slcan 'b' frame carries DLC codes 9..F for 12..64 bytes, both ways through the ptys."""
    timeline = CanBusTimeline(NOMINAL, DATA)
    first = SlcanAdapter(timeline, serial_number="A")
    second = SlcanAdapter(timeline, serial_number="B")
    sending = CanLink.open(fd_config(first.path))
    receiving = CanLink.open(fd_config(second.path))
    sender, receiver = sending.bus, receiving.bus
    try:
        _wait_open(first, second)
        for length in (12, 20, 48, 64):
            sender.send(
                can.Message(
                    arbitration_id=0x7E0,
                    data=bytes(range(length)),
                    is_fd=True,
                    bitrate_switch=True,
                    is_extended_id=False,
                )
            )
        frames = _read_frames(receiver, 5.0, expect=4)
        assert [(len(m.data), m.is_fd, m.bitrate_switch) for m in frames] == [
            (12, True, True),
            (20, True, True),
            (48, True, True),
            (64, True, True),
        ]
        assert bytes(frames[-1].data) == bytes(range(64))
    finally:
        sending.close()
        receiving.close()
        first.close()
        second.close()
        timeline.close()
