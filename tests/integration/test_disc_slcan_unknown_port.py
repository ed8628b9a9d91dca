"""Issue 14: ``scan --port`` on a CAN adapter said "nothing answered".

An slcan adapter whose USB ID the adapter table does not know (a clone, a network serial server,
the emulated adapter ``bmsflasher sim --protocol uds`` prints) looked like any serial port: it was
probed with SMP at every baud rate and reported "nothing answered", with a battery behind it. The
scanner now asks an unknown port for an slcan version first and, when one answers, scans the CAN
bus behind it. The sim is a real subprocess; the scan is the real CLI with python-can's slcan
driver on the sim's pty.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.cli.main import main

START_TIMEOUT_S = 20.0
SERIAL = "SLCAN0042"


class SlcanSim:
    """``bmsflasher sim --protocol uds --link slcan --json``: one virtual BMS behind an emulated adapter."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "uds", "--link", "slcan",
                "--bitrate", "250000", "--serial", SERIAL, "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="test-slcan-sim-reader")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def channel(self) -> str:
        """The adapter's serial port, from the sim's "listening" line."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            if event.get("event") == "listening":
                return str(event["channel"])
        raise AssertionError("the virtual BMS did not start listening in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def slcan_port() -> Iterator[str]:
    sim = SlcanSim()
    try:
        yield sim.channel()
    finally:
        sim.stop()


def _scan(*arguments: str) -> tuple[int, dict[str, object], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["scan", *arguments, "--json"])
    return code, json.loads(out.getvalue()), err.getvalue()


def test_scan_port_finds_the_can_bus_behind_an_slcan_adapter(data_home: Path, slcan_port: str) -> None:
    code, result, err = _scan("--port", slcan_port, "--timeout-s", "30", "--answer-timeout-s", "1")
    assert code == 0, (result, err)
    devices = result["devices"]
    assert isinstance(devices, list)
    assert [device["serial_number"] for device in devices] == [SERIAL]
    (device,) = devices
    assert device["protocol"] == "uds"
    assert device["link"]["kind"] == "can"
    assert device["link"]["interface"] == "slcan"
    assert device["link"]["channel"] == slcan_port
    assert device["link"]["bitrate"] == 250_000
    (adapter,) = result["adapters"]  # type: ignore[misc]
    assert adapter["status"] == "found"
    assert adapter["adapter"] == f"slcan:{slcan_port}"  # reported as the CAN adapter it is
