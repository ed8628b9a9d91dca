"""``bmsflasher sim --protocol modbus``: the virtual rack as a separate process, on a pty and behind TCP.

The JSON lines name everything a script needs (port or host and TCP port, framing, addresses);
each address reaches its own module (the SunSpec common model's serial number read over the bus
is the one the module's ``device`` line announced); ``kill -9`` and a restart on the same
``--state`` folder is a power cycle of every module.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.pdu import ExceptionResponse

from rs485_support import crc_ok, open_port, read_request, transact

START_TIMEOUT_S = 30.0
SUNSPEC_BASE = 40000
SERIAL_REGISTER = SUNSPEC_BASE + 52
"""SunSpec model 1: marker (2), ID and L (2), Mn (16), Md (16), Opt (8), Vr (8), then SN (16)."""


class RackProcess:
    """``bmsflasher sim --protocol modbus ... --json`` with its JSON lines collected by a reader thread."""

    def __init__(self, *options: str) -> None:
        command = [
            sys.executable,
            "-m",
            "bmsflasher.cli.main",
            "sim",
            "--protocol",
            "modbus",
            "--json",
            *options,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        self._reader = threading.Thread(target=self._read, name="test-rack-reader")
        self._reader.start()
        self.listening = self.wait_for("listening")
        self.devices = [event for event in self.seen if event.get("event") == "device"]

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
        raise AssertionError(f"no {event!r} line from the rack: {self.seen} {stderr[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
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


@contextmanager
def rack(*options: str) -> Iterator[RackProcess]:
    process = RackProcess(*options)
    try:
        yield process
    finally:
        process.stop()


def serial_of(answer: bytes) -> str:
    assert crc_ok(answer), answer.hex()
    return answer[3:35].rstrip(b"\x00").decode()


def serials_over_pty(port: str, addresses: Sequence[int], baud: int, parity: str, stopbits: int) -> list[str]:
    with open_port(port, baud, parity, stopbits) as serial_port:
        return [serial_of(transact(serial_port, read_request(a, SERIAL_REGISTER, 16))) for a in addresses]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs ptys")
def test_the_pty_rack_announces_its_framing_and_every_address_reaches_its_module() -> None:
    options = (
        "--modules",
        "3",
        "--first-address",
        "5",
        "--baud",
        "38400",
        "--parity",
        "O",
        "--stopbits",
        "2",
    )
    with rack(*options) as process:
        listening = process.listening
        assert listening["protocol"] == "modbus"
        assert listening["link"] == "pty"
        assert (listening["baud"], listening["parity"], listening["stopbits"]) == (38_400, "O", 2)
        assert listening["addresses"] == [5, 6, 7]
        assert [device["address"] for device in process.devices] == [5, 6, 7]
        serials = [str(device["serial"]) for device in process.devices]
        assert len(set(serials)) == 3  # each module its own identity
        port = str(listening["port"])
        assert serials_over_pty(port, [5, 6, 7], 38_400, "O", 2) == serials
        with open_port(port, 38_400, "E", 2) as wrong:  # even parity against an odd rack: garbled
            assert not crc_ok(transact(wrong, read_request(5, SERIAL_REGISTER, 16), timeout_s=0.3))


def test_the_tcp_gateway_rack_announces_host_and_port_and_maps_unknown_units() -> None:
    with rack("--link", "tcp", "--addresses", "3,8", "--gateway-timeout-ms", "300") as process:
        listening = process.listening
        assert listening["link"] == "tcp"
        assert listening["host"] == "127.0.0.1"
        assert (listening["baud"], listening["parity"], listening["stopbits"]) == (19_200, "E", 1)
        assert listening["addresses"] == [3, 8]
        assert "port" not in listening
        client = ModbusTcpClient("127.0.0.1", port=int(str(listening["tcp_port"])), timeout=3, retries=0)
        assert client.connect()
        try:
            for address, device in zip((3, 8), process.devices, strict=True):
                result = client.read_holding_registers(SERIAL_REGISTER, count=16, device_id=address)
                assert not result.isError(), result
                raw = b"".join(value.to_bytes(2, "big") for value in result.registers)
                assert raw.rstrip(b"\x00").decode() == device["serial"]
            unknown = client.read_holding_registers(SERIAL_REGISTER, count=16, device_id=4)
            assert isinstance(unknown, ExceptionResponse)
            assert unknown.exception_code == 0x0A
        finally:
            client.close()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs ptys")
def test_kill_and_restart_on_the_same_state_folder_is_a_power_cycle_of_every_module(tmp_path: Path) -> None:
    state = tmp_path / "rack"
    state.mkdir()
    first = RackProcess("--modules", "3", "--serial", "RACK-A", "--state", str(state))
    try:
        assert [device["serial"] for device in first.devices] == ["RACK-A", "RACK-A-2", "RACK-A-3"]
    finally:
        assert first.stop(signal.SIGKILL) != 0
    assert sorted(path.name for path in state.iterdir()) == [
        "module1.state",
        "module2.state",
        "module3.state",
    ]
    # No --serial, another seed: a new device would get VB24...; restored modules keep their own.
    with rack("--modules", "3", "--seed", "99", "--state", str(state)) as second:
        serials = [str(device["serial"]) for device in second.devices]
        assert serials == ["RACK-A", "RACK-A-2", "RACK-A-3"]
        assert serials_over_pty(str(second.listening["port"]), [1, 2, 3], 19_200, "E", 1) == serials
