"""The virtual BMS's UART: pacing in both directions, baud-mismatch junk, seeded faults, cable pulls."""

from __future__ import annotations

import fcntl
import os
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from bmsflasher.sim.smp.transport import FrameBufferPool, SmpSerialReceiver, encode_frame
from bmsflasher.sim.wire.pty_link import PtyPort, baud_of_fd
from bmsflasher.sim.wire.serial_port import FaultInjector, SerialWire, WireFaults, WireStats, uart_resample
from wait_support import wait_until


class _Collector:
    def __init__(self) -> None:
        self.data = bytearray()
        self.last_at = 0.0

    def __call__(self, fifo: bytearray) -> None:
        self.data.extend(fifo)
        fifo.clear()
        self.last_at = time.monotonic()


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    pty = PtyPort(tmp_path / "ttyBMS")
    pty.plug()
    yield pty
    pty.close()


def _pending_bytes(fd: int) -> int:
    """Bytes waiting to be read on ``fd`` (FIONREAD)."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, bytes(4)), sys.byteorder)


def _wire(port: PtyPort, consumer, baud: int = 115_200, **kwargs) -> SerialWire:
    wire = SerialWire(port, device_baud=baud, consumer=consumer, **kwargs)
    wire.start()
    return wire


def test_host_baud_is_read_from_the_pty(port: PtyPort) -> None:
    with serial.Serial(port.path, 57600) as host:
        assert port.host_baud() == 57600
        host.baudrate = 921600
        assert port.host_baud() == 921600
        host.baudrate = 250000  # not a Bxxx constant: BOTHER on Linux
        assert baud_of_fd(port.master_fd) in (250000, None)


def test_receive_is_paced_at_the_hosts_line_rate(port: PtyPort) -> None:
    collector = _Collector()
    wire = _wire(port, collector)
    try:
        with serial.Serial(port.path, 115_200) as host:
            payload = bytes(range(256)) * 9  # 2304 bytes = 0.2 s at 115200 8N1
            started = time.monotonic()
            host.write(payload)
            deadline = started + 3
            while len(collector.data) < len(payload) and time.monotonic() < deadline:
                time.sleep(0.005)
            elapsed = collector.last_at - started
        assert bytes(collector.data) == payload
        assert 0.19 < elapsed < 2.0  # never faster than the wire; how close to it: benchmarks/bench_smp
    finally:
        wire.stop()


def test_transmit_is_paced_at_the_devices_line_rate(port: PtyPort) -> None:
    wire = _wire(port, _Collector(), baud=921_600)
    try:
        with serial.Serial(port.path, 921_600, timeout=0.05) as host:
            started = time.monotonic()
            wire.send(b"z" * 18432)  # 0.2 s at 921600
            received = bytearray()
            while len(received) < 18432 and time.monotonic() - started < 3:
                received.extend(host.read(4096))
            elapsed = time.monotonic() - started
        assert received == b"z" * 18432
        assert 0.19 < elapsed < 2.0  # never faster than the wire; how close to it: benchmarks/bench_smp
    finally:
        wire.stop()


def test_baud_mismatch_gives_junk_not_silence(port: PtyPort) -> None:
    collector = _Collector()
    wire = _wire(port, collector, baud=115_200)
    try:
        with serial.Serial(port.path, 9600, timeout=1) as host:
            frame = encode_frame(b"\x02\x00\x00\x00\x00\x00\x01\x00")
            host.write(frame)
            # a 9600-baud frame read at 115200 comes out as more (junk) bytes than were sent
            wait_until(lambda: len(collector.data) >= len(frame), 10.0, "the device heard the frame's time")
            wire.send(frame)
            wire.wait_tx_drained(1)
            received = host.read(4096)
        assert collector.data  # the device heard something...
        assert bytes(collector.data) != frame  # ...but not the frame
        assert received != frame
    finally:
        wire.stop()


def test_uart_resample_models_a_receiver() -> None:
    data = b"\x06\x09AAAAhello\n"
    assert uart_resample(data, 115_200, 115_200) == data
    slow_to_fast = uart_resample(data, 9600, 115_200)
    fast_to_slow = uart_resample(data, 115_200, 9600)
    assert len(slow_to_fast) > len(data)  # each slow bit spans many fast bit times
    assert len(fast_to_slow) < len(data)  # several fast bytes merge into one slow byte
    assert slow_to_fast != data
    assert fast_to_slow


def test_fault_injection_is_seeded_and_at_the_requested_rate() -> None:
    data = bytes(100_000)
    first = FaultInjector(WireFaults(bit_error_rate=1e-3, seed=9), WireStats()).apply(data)
    again = FaultInjector(WireFaults(bit_error_rate=1e-3, seed=9), WireStats()).apply(data)
    assert first == again
    flipped = sum(bin(b).count("1") for b in first)
    assert 650 < flipped < 950  # 800 expected
    stats = WireStats()
    dropped = FaultInjector(WireFaults(drop_rate=0.01, seed=1), stats).apply(data)
    assert 800 < len(data) - len(dropped) < 1200
    assert stats.bytes_dropped == len(data) - len(dropped)


def test_cable_pull_removes_the_port_and_replug_gives_a_new_pty(port: PtyPort) -> None:
    first = port.slave_name
    host = serial.Serial(port.path, 115200, timeout=0.2)
    port.unplug()
    assert not os.path.exists(port.path)
    with pytest.raises(serial.SerialException):
        host.read(1)
    host.close()
    port.plug()
    assert os.path.realpath(port.path) == port.slave_name
    assert port.generation == 2
    assert first  # the old name is not reused while our new pty holds another one
    with serial.Serial(port.path, 115200):
        pass


def test_receiver_stalls_without_free_buffers_and_fifo_overruns(port: PtyPort) -> None:
    pool = FrameBufferPool(1)
    delivered: list[bytes] = []
    receiver = SmpSerialReceiver(pool, 512, delivered.append)
    wire = _wire(port, receiver, baud=921_600, rx_fifo_bytes=512)
    try:
        with serial.Serial(port.path, 921_600) as host:
            for index in range(4):
                host.write(encode_frame(bytes([index]) * 300))
            wait_until(
                lambda: delivered and receiver.stats.stalls > 0 and wire.stats.rx_overrun_bytes > 0,
                10.0,
                "one frame delivered, the receiver stalled and the FIFO overran",
            )
        assert delivered == [bytes([0]) * 300]  # one buffer: the others could not start
        assert receiver.stats.stalls > 0
        assert wire.stats.rx_overrun_bytes > 0  # and the FIFO overflowed: bytes lost
    finally:
        wire.stop()


def test_bytes_are_judged_at_the_rate_in_force_when_they_were_read_not_a_stale_one(port: PtyPort) -> None:
    """A scan reopens the port at a new baud and writes at once; if the wire thread sampled the old
    rate just before, the request must still arrive intact (it was sent at the new, matching rate)."""
    collector = _Collector()
    wire = SerialWire(port, device_baud=230_400, consumer=collector)  # not started: driven by hand
    assert port.master_fd is not None
    os.set_blocking(port.master_fd, False)
    with serial.Serial(port.path, 230_400) as host:
        request = encode_frame(b"\x02\x00\x00\x07\x00\x00\x2a\x00\xa1\x61\x64\x63abc")
        host.write(request)
        host.flush()
        master = port.master_fd
        wait_until(lambda: _pending_bytes(master) >= len(request), 10.0, "the request reached the pty")
        stale_baud = 460_800  # what the thread read before the host reopened at 230400
        started = time.monotonic() - 1.0  # a second of line time: every byte has arrived
        wire._receive(stale_baud, time.monotonic(), started)
    assert bytes(collector.data) == request
    assert wire.stats.garbled_chunks == 0
