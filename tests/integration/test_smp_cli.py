"""Cross-process: `bmsflasher sim --protocol smp --link pty --json` is a separate device process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.core.errors import LinkLostError, NoResponseError
from bmsflasher.core.types import DeviceMode
from bmsflasher.protocols.smp.target import SmpTarget
from wait_support import wait_until

BAUD = 921_600


def _read_event(process: subprocess.Popen[str], event: str, timeout_s: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the sim exited early: {process.stderr.read() if process.stderr else ''}")
        data = json.loads(line)
        if data.get("event") == event:
            return data
    raise AssertionError(f"no {event} event")


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "smp", "--link", "pty",
        "--baud", str(BAUD), "--json", "--erase-ms", "0", "--state", str(tmp_path / "bms.flash"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listening = _read_event(process, "listening")
        yield process, listening
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_sim_process_serves_smp_and_stops_cleanly(sim_process) -> None:
    process, listening = sim_process
    assert listening["protocol"] == "smp"
    assert listening["baud"] == BAUD
    port = str(listening["port"])
    with SmpTarget.connect(port, BAUD) as target:
        identity = target.identify()
        assert identity.mode is DeviceMode.APPLICATION
        assert identity.serial_number.startswith("VB")
        assert target.read_telemetry().cell_count == 16
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert not os.path.exists(port)  # the port went away with the device


def test_sigusr1_pulls_the_cable_and_the_port_comes_back(sim_process) -> None:
    process, listening = sim_process
    port = str(listening["port"])
    with SmpTarget.connect(port, BAUD, reconnect_timeout_s=0.0) as target:
        target.ping()
        process.send_signal(signal.SIGUSR1)
        wait_until(lambda: not os.path.exists(port), 10.0, "SIGUSR1 pulled the cable (the port vanished)")
        with pytest.raises((LinkLostError, NoResponseError)):
            target.ping()
        identity = target.reconnect(10.0)
        assert identity.mode is DeviceMode.APPLICATION
        assert target.ping() < 0.5
