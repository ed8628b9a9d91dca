"""Serial probing against real ptys that are busy, silent, missing or babbling: reported, never hung on."""

from __future__ import annotations

import os
import random
import select
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.discovery.cache import ScanCache
from bmsflasher.discovery.results import AdapterStatus
from bmsflasher.discovery.scanner import Scanner, ScanRequest
from bmsflasher.links.serial import SerialLink

FAST_BAUDS = (115200, 57600, 9600)


class Pty:
    """A pty whose master side optionally answers every chunk it receives with random bytes."""

    def __init__(self, *, babble: bool) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(babble,), name="test-pty-peer")
        self._thread.start()

    def _serve(self, babble: bool) -> None:
        rng = random.Random(7)
        while not self._stop.is_set():
            readable, _, _ = select.select([self.master], [], [], 0.05)
            if not readable:
                continue
            try:
                os.read(self.master, 4096)
            except OSError:
                return
            if babble:  # a device speaking something else (or at another rate) answers with junk
                junk = bytes(rng.randrange(256) for _ in range(40)).replace(b"\n", b"")
                os.write(self.master, junk + b"\r\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def babbling_pty() -> Iterator[Pty]:
    pty = Pty(babble=True)
    yield pty
    pty.close()


@pytest.fixture
def silent_pty() -> Iterator[Pty]:
    pty = Pty(babble=False)
    yield pty
    pty.close()


def _scan(tmp_path: Path, *ports: str, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    scanner = Scanner(ScanCache(tmp_path / "cache.json"))
    return scanner.scan(ScanRequest(ports=ports, bauds=FAST_BAUDS, timeout_s=timeout_s, identify=False))


def test_garbage_is_reported_as_garbage_not_as_a_device(tmp_path: Path, babbling_pty: Pty) -> None:
    result = _scan(tmp_path, babbling_pty.path)
    report = result.reports[0]
    assert report.status is AdapterStatus.GARBAGE
    assert "never a valid SMP answer" in report.message
    assert report.attempts == len(FAST_BAUDS)
    assert not result.devices
    assert "wiring" in report.hint


def test_silence_is_no_device(tmp_path: Path, silent_pty: Pty) -> None:
    # A silent line is also searched for a Modbus rack at addresses 1-16 over every framing (about
    # 10 s: discovery/modbus_probe.py); the budget here covers that search, which then ends it.
    started = time.monotonic()
    result = _scan(tmp_path, silent_pty.path, timeout_s=30.0)
    report = result.reports[0]
    assert report.status is AdapterStatus.NO_DEVICE
    assert "115200, 57600, 9600" in report.message
    assert time.monotonic() - started < 20.0  # the rates' and addresses' answer windows, not the budget


def test_busy_port_is_reported_and_not_touched(tmp_path: Path, silent_pty: Pty) -> None:
    with SerialLink.open(silent_pty.path, 115200):  # another program holds the port
        started = time.monotonic()
        result = _scan(tmp_path, silent_pty.path)
    report = result.reports[0]
    assert report.status is AdapterStatus.BUSY
    assert report.attempts == 1, "a busy port must not be retried at other rates"
    assert "in use" in report.message
    assert time.monotonic() - started < 5.0  # at once, not the 10 s budget


def test_missing_port_is_not_found(tmp_path: Path) -> None:
    result = _scan(tmp_path, str(tmp_path / "ttyNOPE"))
    assert result.reports[0].status is AdapterStatus.NOT_FOUND
    assert result.reports[0].message.endswith(".")


def _denied_path(pty: Pty) -> str:
    """A path the OS refuses to open read-write: the pty with mode 000, or (as root) a procfs file."""
    if os.geteuid() != 0:
        os.chmod(pty.path, 0o000)
        return pty.path
    try:  # root bypasses file modes, but procfs still refuses writing another process's environment
        os.close(os.open("/proc/1/environ", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
    except PermissionError:
        return "/proc/1/environ"
    except OSError:
        pass
    pytest.skip("no path here makes the OS answer 'permission denied'")


def test_permission_denied_points_to_the_udev_rules(tmp_path: Path, silent_pty: Pty) -> None:
    result = _scan(tmp_path, _denied_path(silent_pty))
    report = result.reports[0]
    assert report.status is AdapterStatus.PERMISSION
    assert report.attempts == 1
    assert "drivers/linux/README.md" in report.hint


def test_all_faulty_ports_are_scanned_in_parallel_within_budget(
    tmp_path: Path, babbling_pty: Pty, silent_pty: Pty
) -> None:
    second_silent = Pty(babble=False)  # two long searches: one after another would take twice as long
    try:
        started = time.monotonic()
        ports = (babbling_pty.path, silent_pty.path, second_silent.path, str(tmp_path / "gone"))
        result = _scan(tmp_path, *ports, timeout_s=30.0)
        elapsed = time.monotonic() - started
    finally:
        second_silent.close()
    statuses = [report.status for report in result.reports]
    assert statuses == [
        AdapterStatus.GARBAGE, AdapterStatus.NO_DEVICE, AdapterStatus.NO_DEVICE, AdapterStatus.NOT_FOUND,
    ]  # fmt: skip
    one_after_another_s = sum(report.elapsed_s for report in result.reports)
    assert elapsed < 0.8 * one_after_another_s, (
        f"four ports took {elapsed:.2f} s against {one_after_another_s:.2f} s one after another: "
        "probes are not parallel"
    )


def test_a_tiny_budget_times_out_cleanly(tmp_path: Path, silent_pty: Pty) -> None:
    scanner = Scanner(ScanCache(tmp_path / "cache.json"))
    started = time.monotonic()
    result = scanner.scan(
        ScanRequest(ports=(silent_pty.path,), bauds=(115200, 57600, 38400, 19200, 9600), timeout_s=0.5)
    )
    assert time.monotonic() - started < 5.0
    assert result.reports[0].status is AdapterStatus.TIMED_OUT  # the budget, not the rates, ended it
    assert "--timeout-s" in result.reports[0].hint


def test_url_port_with_nothing_listening_is_reported(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a free TCP port nobody listens on
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    result = _scan(tmp_path, f"socket://127.0.0.1:{free_port}")
    report = result.reports[0]
    assert report.status is AdapterStatus.NOT_FOUND
    assert report.key == f"serial:socket://127.0.0.1:{free_port}"
    assert report.attempts == 1
