"""The virtual BMS's serial port as a loopback TCP socket (``sim --link tcp``), for systems without ptys.

Windows has no pseudo-terminals, so there the SMP device listens on ``socket://127.0.0.1:PORT``,
which the tool opens through its ordinary serial link (pyserial's URL handler). These tests run
that path here on Linux: the tool's real SMP client in process against the TCP front-end, and the
real CLI (``info``, ``flash``, ``rollback``, ``scan``) against a ``bmsflasher sim --link tcp``
subprocess. The device must behave as on its pty: one host at a time, the connection closed at
every reset (USB re-enumeration) and accepted again once the device is back.
"""

from __future__ import annotations

import hashlib
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smp.os_management import ResetWriteRequest

from bmsflasher.core.errors import LinkLostError, NoResponseError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode, FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.smp.transport import encode_frame
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd
from bmsflasher.sim.wire.tcp_port import TcpSerialPort
from bmsflasher.sim.wire.tcp_serial import tcp_front_end
from wait_support import wait_until

BAUD = 921_600
SIM_OPTIONS = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
DEMO = resource_path("demo")
DEMO_KEY = DEMO / "demo-key.pub.pem"
START_TIMEOUT_S = 30.0


def signed_image(version: str, size: int, *, counter: int = 1) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(version.encode()).digest(size)
    return build_image(payload, version=FirmwareVersion.parse(version), security_counter=counter, key=key)


class TcpBench:
    """A device and its TCP front-end in this process."""

    def __init__(self) -> None:
        self.device = VirtualBms.create(SIM_OPTIONS)
        self.tcp = TcpSerialPort(0)
        self.front: SerialFrontEnd = tcp_front_end(self.device, FrontEndOptions(baud=BAUD), port=self.tcp)
        self.front.start()

    @property
    def url(self) -> str:
        return self.front.port

    def close(self) -> None:
        self.front.stop()
        self.device.close()


@pytest.fixture
def bench() -> Iterator[TcpBench]:
    rig = TcpBench()
    yield rig
    rig.close()


# --- in process: the tool's SMP client against the TCP front-end ----------------------------------
def test_the_port_is_a_pyserial_url_on_the_loopback_only(bench: TcpBench) -> None:
    assert bench.url == f"socket://127.0.0.1:{bench.tcp.tcp_port}"
    assert bench.tcp.tcp_port > 0  # port 0 asked the OS for a free one
    with SmpTarget.connect(bench.url, BAUD) as target:
        identity = target.identify()
        assert identity.serial_number == bench.device.serial_number
        assert identity.mode is DeviceMode.APPLICATION
        assert target.read_telemetry().cell_count == 16
    listener_host = bench.tcp._listener.getsockname()[0]
    assert listener_host == "127.0.0.1"  # a device that takes firmware is never on the network


def test_the_device_hangs_up_at_its_reset_whatever_the_host_does(bench: TcpBench) -> None:
    """A USB device re-enumerates at every reboot: over TCP the device closes the connection itself."""
    host = socket.create_connection(("127.0.0.1", bench.tcp.tcp_port), timeout=10)
    try:
        host.sendall(encode_frame(bytes(ResetWriteRequest().BYTES)))  # SMP OS group: reset
        received = b""
        while chunk := host.recv(4096):  # the answer, then end of file once the device reboots
            received += chunk
        assert received.startswith(b"\x06\x09")  # an SMP serial frame: it answered before rebooting
    finally:
        host.close()
    with _connect_when_back(bench.url) as target:  # hung up while rebooting, accepted once back
        assert target.identify().mode is DeviceMode.APPLICATION
    assert bench.tcp.connections >= 2


def _connect_when_back(url: str, timeout_s: float = 10.0) -> SmpTarget:
    """Open the device as the tool's reconnect does: a port that is not there yet is tried again."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return SmpTarget.connect(url, BAUD)
        except (LinkLostError, NoResponseError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_reset_closes_the_connection_and_the_tool_reconnects(bench: TcpBench) -> None:
    with SmpTarget.connect(bench.url, BAUD, reconnect_timeout_s=0.0) as target:
        target.ping()
        assert bench.tcp.connections == 1
        target.reset()
        wait_until(lambda: not bench.tcp.connected, 10.0, "the device hung up at its reset")
        with pytest.raises((LinkLostError, NoResponseError)):
            target.ping()
        identity = target.reconnect(10.0)
        assert identity.mode is DeviceMode.APPLICATION
        assert bench.tcp.connections >= 2  # a new connection after the reboot
        assert target.ping() < 0.5


def test_an_update_with_its_test_boot_confirm_and_rollback(bench: TcpBench) -> None:
    image = signed_image("1.1.0", 40_000)
    with SmpTarget.connect(bench.url, BAUD) as target:
        assert target.upload(image).match is True
        assert bench.device.image_bytes(1) == image
        target.mark_for_test()
        target.reset()
        identity = target.reconnect(10.0)
        assert identity.firmware_version == FirmwareVersion(1, 1, 0)
        assert identity.slots[0].confirmed is False  # test boot
        target.confirm()
        target.rollback()
        assert target.reconnect(10.0).firmware_version == FirmwareVersion(1, 0, 0)


def test_a_cable_pull_mid_upload_is_survived_automatically(bench: TcpBench) -> None:
    image = signed_image("1.1.0", 80_000)
    pulled = threading.Event()

    def pull_once(done: int, total: int) -> None:
        if not pulled.is_set() and done > total // 2:
            pulled.set()
            bench.front.pull_cable(replug_after_s=0.3)

    with SmpTarget.connect(bench.url, BAUD, reconnect_timeout_s=10.0) as client:
        result = client.upload(image, pull_once)
        assert pulled.is_set()
        assert result.resumed_from >= len(image) // 2 - 4096  # resumed, not restarted
    assert bench.device.image_bytes(1) == image


def test_one_host_at_a_time_and_none_while_unplugged(bench: TcpBench) -> None:
    request = bytes.fromhex("0a")  # anything: only who gets served matters here
    first = socket.create_connection(("127.0.0.1", bench.tcp.tcp_port), timeout=5)
    try:
        wait_until(lambda: bench.tcp.connected, 10.0, "the first host was accepted")
        second = socket.create_connection(("127.0.0.1", bench.tcp.tcp_port), timeout=5)
        try:
            second.sendall(request)
            time.sleep(0.2)
            assert bench.tcp.connections == 1  # the second waits, as a serial port opens once
            first.close()
            wait_until(lambda: bench.tcp.connections == 2, 10.0, "the waiting host was served next")
        finally:
            second.close()
    finally:
        first.close()
    bench.front.pull_cable()  # unplugged: a host that connects is hung up at once
    late = socket.create_connection(("127.0.0.1", bench.tcp.tcp_port), timeout=5)
    try:
        assert late.recv(16) == b""  # end of file: the port is not there
    finally:
        late.close()
    bench.front.plug_cable()
    with SmpTarget.connect(bench.url, BAUD) as target:
        assert target.ping() < 0.5


def test_a_busy_tcp_port_is_one_sentence() -> None:
    holder = TcpSerialPort(0)
    try:
        with pytest.raises(Exception, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            TcpSerialPort(holder.tcp_port)
    finally:
        holder.close()


# --- across processes: the CLI against `bmsflasher sim --link tcp` ----------------------------------
class SimProcess:
    """``bmsflasher sim --link tcp --json`` with its JSON lines collected by a reader thread."""

    def __init__(self, state: Path) -> None:
        command = [
            sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "smp", "--link", "tcp",
            "--baud", str(BAUD), "--erase-ms", "0", "--soc", "60", "--state", str(state), "--json",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        self._reader = threading.Thread(target=self._read, name="test-sim-tcp-reader")
        self._reader.start()
        self.listening = self.wait_for("listening")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, event: str) -> dict[str, object]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(message)
            if message.get("event") == event:
                return message
        stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
        raise AssertionError(f"no {event!r} line from the sim: {self.seen} {stderr[-2000:]}")

    def drain(self) -> list[dict[str, object]]:
        while True:
            try:
                self.seen.append(self.events.get_nowait())
            except queue.Empty:
                return self.seen

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self._reader.join(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = SimProcess(tmp_path / "vbms.state")
    try:
        yield process
    finally:
        process.stop()


def _cli(*arguments: str, timeout_s: float = 240.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_the_listening_line_names_the_url_host_and_tcp_port(sim: SimProcess) -> None:
    listening = sim.listening
    tcp_port = listening["tcp_port"]
    assert isinstance(tcp_port, int)
    assert tcp_port > 0
    assert (listening["protocol"], listening["link"], listening["host"]) == ("smp", "tcp", "127.0.0.1")
    assert listening["port"] == f"socket://127.0.0.1:{tcp_port}"
    assert listening["baud"] == BAUD
    assert sim.stop() == 0
    with pytest.raises(OSError):  # the port went away with the device
        socket.create_connection(("127.0.0.1", tcp_port), timeout=2).close()


def test_info_flash_and_rollback_through_the_socket_url(sim: SimProcess, data_home: Path) -> None:
    port = str(sim.listening["port"])
    db = str(data_home / "history.sqlite3")
    info = _cli("info", "--port", port, "--baud", str(BAUD), "--json")
    assert info.returncode == 0, info.stderr[-2000:]
    identity = json.loads(info.stdout)
    assert identity["firmware_version"] == "1.0.0"
    assert identity["mode"] == "application"

    package = DEMO / "packages" / "VBMS-16-1.0.1.bmspkg"  # keeps the counter: rollback allowed
    flash = _cli(
        "flash", str(package), "--port", port, "--baud", str(BAUD), "--trust", str(DEMO_KEY),
        "--db", db, "--yes", "--json",
    )  # fmt: skip
    assert flash.returncode == 0, flash.stderr[-3000:]
    result = json.loads(flash.stdout)
    assert result["outcome"] == "updated"
    assert "came back running 1.0.1" in flash.stderr  # the test boot: the device hung up and came back
    generations = {e["generation"] for e in sim.drain() if e.get("event") == "answering"}
    assert len(generations) >= 3  # info, then the update's connections before and after the reboot

    rollback = _cli("rollback", "--port", port, "--baud", str(BAUD), "--db", db, "--yes", "--json")
    assert rollback.returncode == 0, rollback.stderr[-3000:]
    after = json.loads(_cli("info", "--port", port, "--baud", str(BAUD), "--json").stdout)
    assert after["firmware_version"] == "1.0.0"


def test_scan_of_the_socket_url_finds_the_device(sim: SimProcess, data_home: Path) -> None:
    port = str(sim.listening["port"])
    completed = _cli("scan", "--port", port, "--json", "--timeout-s", "30", "--answer-timeout-s", "1")
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    devices = [device for adapter in report["adapters"] for device in adapter["devices"]]
    assert [(d["model"], d["protocol"], d["link"]["port"]) for d in devices] == [("VBMS-16", "smp", port)]


def test_a_child_device_stops_when_its_parent_goes_away(tmp_path: Path) -> None:
    """The demo's child device on Windows (no parent-death signal): its stdin closing stops it."""
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--link", "tcp", "--stop-on-stdin-eof", "--json",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        lines = iter(process.stdout.readline, "")
        assert any(json.loads(line).get("event") == "listening" for line in lines)
        process.stdin.close()  # what the OS does to the pipe when the parent dies
        assert process.wait(timeout=15) == 0
        assert json.loads(process.stdout.read().strip().splitlines()[-1])["event"] == "stopped"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
