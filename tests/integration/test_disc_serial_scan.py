"""``bmsflasher scan`` against virtual BMS processes on ptys at bauds picked at random.

The sims are real subprocesses (``bmsflasher sim --protocol smp --json``) pacing bytes at their own
baud rate and garbling them on a mismatch, exactly like a UART; the scan is the real CLI. The seed
is in every failure report (``tests/conftest.py`` adds it for any module with a ``SEED``), so a
failure can be replayed with BMSFLASHER_TEST_SEED.
"""

from __future__ import annotations

import json
import os
import queue
import random
import select
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmsflasher.discovery import AdapterStatus, ScanRequest, SerialProbeSettings, scan
from bmsflasher.discovery.plan import DEFAULT_BAUDS
from bmsflasher.links.serial import SerialLink

SEED = int(os.environ.get("BMSFLASHER_TEST_SEED", str(random.SystemRandom().randrange(1 << 30))))
START_TIMEOUT_S = 20.0


@dataclass
class SimProcess:
    process: subprocess.Popen[str]
    port: str
    baud: int
    serial: str


class SimRunner:
    """A ``bmsflasher sim`` subprocess whose JSON lines a reader thread collects."""

    def __init__(self, baud: int, serial: str, seed: int) -> None:
        self.baud = baud
        self.serial = serial
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bmsflasher.cli.main",
                "sim",
                "--protocol",
                "smp",
                "--baud",
                str(baud),
                "--serial",
                serial,
                "--seed",
                str(seed),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="test-sim-reader")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def wait_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            if event.get("event") == "listening":
                return str(event["port"])
        raise AssertionError("the virtual BMS did not start listening in time")

    def stop(self) -> None:
        self.process.terminate()  # idempotent: the fixture signals every sim first, then waits
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def sims() -> Iterator[list[SimProcess]]:
    rng = random.Random(SEED)
    bauds = rng.sample(DEFAULT_BAUDS, 3)
    runners = [
        SimRunner(baud, f"DISC{SEED % 10000:04d}{index}", SEED + index) for index, baud in enumerate(bauds)
    ]
    try:
        yield [
            SimProcess(runner.process, runner.wait_listening(), runner.baud, runner.serial)
            for runner in runners
        ]
    finally:
        for runner in runners:
            runner.process.terminate()
        for runner in runners:
            runner.stop()


def _scan_cli(*arguments: str) -> tuple[int, dict[str, object]]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bmsflasher.cli.main",
            "scan",
            "--json",
            "--timeout-s",
            "30",
            "--answer-timeout-s",
            "1",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.returncode, json.loads(completed.stdout)


def _by_port(document: dict[str, object]) -> dict[str, dict[str, object]]:
    adapters = document["adapters"]
    assert isinstance(adapters, list)
    return {str(report["adapter"]): report for report in adapters}


def test_scan_finds_each_sim_with_its_baud_and_serial_then_warm_scan_uses_the_cache(
    data_home: Path, sims: list[SimProcess]
) -> None:
    arguments = [item for sim in sims for item in ("--port", sim.port)]
    code, cold = _scan_cli(*arguments)
    assert code == 0
    reports = _by_port(cold)
    for sim in sims:
        context = f"seed {SEED}: {sim.port} at {sim.baud}"
        report = reports[sim.port]
        assert report["status"] == "found", context
        (device,) = report["devices"]  # type: ignore[misc]
        assert device["link"] == {"kind": "serial", "port": sim.port, "baud": sim.baud}, context
        assert device["serial_number"] == sim.serial, context
        assert device["protocol"] == "smp"
        assert device["mode"] == "application"
        assert device["model"]

    warm = scan(ScanRequest(ports=tuple(sim.port for sim in sims), timeout_s=20.0))  # same user cache
    for sim in sims:
        report = next(r for r in warm.reports if r.label == sim.port)
        assert report.used_cache
        assert report.attempts == 1, f"seed {SEED}: warm scan of {sim.port} walked the table"
        assert report.devices[0].serial_number == sim.serial
        assert report.devices[0].link.baud == sim.baud
    # How fast the warm scan is lives in benchmarks/bench_scan.py, not in a timed test.


class Babbler:
    """A pty that answers everything with junk: a device speaking another protocol."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-babbler")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    os.read(self.master, 4096)
                    os.write(self.master, b"\x01\x03\x02\x00\x19\x79\x8e ERR?\r\n")  # Modbus-ish junk
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        os.close(self.master)
        os.close(self.slave)


def test_busy_and_babbling_ports_are_reported_next_to_a_found_device(
    data_home: Path, sims: list[SimProcess]
) -> None:
    babbler = Babbler()
    free, busy = sims[0], sims[1]
    try:
        with SerialLink.open(busy.port, busy.baud):  # another program holds this BMS's port
            result = scan(
                ScanRequest(
                    ports=(free.port, busy.port, babbler.path),
                    timeout_s=30.0,
                    use_cache=False,
                    serial=SerialProbeSettings(attempt_timeout_s=1.0),
                )
            )
    finally:
        babbler.close()
    reports = {report.label: report for report in result.reports}
    assert reports[free.port].status is AdapterStatus.FOUND
    assert reports[free.port].devices[0].serial_number == free.serial
    assert reports[busy.port].status is AdapterStatus.BUSY
    assert reports[busy.port].attempts == 1
    assert reports[babbler.path].status is AdapterStatus.GARBAGE
    assert "never a valid SMP answer" in reports[babbler.path].message
    assert all(report.elapsed_s < 30.0 for report in result.reports)  # the budget bounds every probe
