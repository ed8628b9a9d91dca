"""Scan time: 4 serial ports x 8 bauds and 2 CAN adapters x 4 bitrates, cold and warm cache.

Every port hosts a virtual BMS (SMP over a pty at line-rate pacing with baud-mismatch garbling),
every slcan adapter a bus with 1-3 UDS nodes. Rates are spread over the probe table so the cold
scan has to walk it: one serial device sits at the *last* baud tried (9600) and one CAN bus at the
last bitrate (125 kbit/s). Targets from issue 6: under 5 s cold, under 1 s warm.

The Modbus rows scan an 8-module virtual rack (``bmsflasher sim --protocol modbus --link pty``, a
subprocess) at 57600 8O1 — 14th of the 15 framings a pty needs — at addresses 5-12, found without
``--addresses`` in the default range 1-16 (searched address by address over every framing; issue
15: under 20 s cold, under 2 s warm).

Run: ``python -m benchmarks.bench_scan`` (or ``python -m benchmarks --only bench_scan``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bmsflasher.discovery import DEFAULT_BAUDS, DEFAULT_BITRATES, ScanCache, ScanRequest, scan
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

SERIAL_BAUDS = (9600, 460800, 115200, 38400)  # positions 8, 3, 1, 6 of the default table
CAN_SETUPS = ((125000, 3), (250000, 1))  # (bitrate, nodes): positions 4 and 2 of the table
COLD_TARGET_S = 5.0
WARM_TARGET_S = 1.0
RACK_MODULES = 8
RACK_LINE = ("--baud", "57600", "--parity", "O", "--stopbits", "1", "--first-address", "5")
RACK_COLD_TARGET_S = 20.0
RACK_WARM_TARGET_S = 2.0


def _bench(stack: ExitStack) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    ports: list[str] = []
    channels: list[str] = []
    nodes = 0
    for index, baud in enumerate(SERIAL_BAUDS):
        device = stack.enter_context(VirtualBms.create(SimOptions(seed=100 + index)))
        front = stack.enter_context(SerialFrontEnd(device, FrontEndOptions(baud=baud)).start())
        ports.append(front.port)
    for index, (bitrate, count) in enumerate(CAN_SETUPS):
        device = stack.enter_context(VirtualBms.create(SimOptions(seed=200 + index)))
        simulation = stack.enter_context(
            can_frontend.start(device, FrontEndOptions(bitrate=bitrate, nodes=count), "slcan")
        )
        channels.append(f"slcan:{simulation.channel}")
        nodes += count
    return tuple(ports), tuple(channels), nodes + len(SERIAL_BAUDS)


def _timed(request: ScanRequest, cache_path: Path) -> tuple[float, int]:
    started = time.monotonic()
    result = scan(request, cache=ScanCache(cache_path))
    return time.monotonic() - started, len(result.devices)


def run() -> list[dict[str, object]]:
    """Measure cold and warm scans, with and without reading identities."""
    rows: list[dict[str, object]] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-scan-") as folder:
        ports, channels, expected = _bench(stack)
        shape = (
            f"{len(ports)} serial x {len(DEFAULT_BAUDS)} bauds + "
            f"{len(channels)} CAN x {len(DEFAULT_BITRATES)} bitrates"
        )
        for identify in (True, False):
            cache_path = Path(folder) / f"cache-{identify}.json"
            request = ScanRequest(ports=ports, can_channels=channels, timeout_s=30.0, identify=identify)
            what = "with identity" if identify else "handshake only"
            for phase, target in (("cold", COLD_TARGET_S), ("warm", WARM_TARGET_S)):
                elapsed, found = _timed(request, cache_path)
                rows.append(
                    {
                        "benchmark": "scan",
                        "case": f"{phase} cache, {what}: {shape}",
                        "value": round(elapsed, 3),
                        "unit": "s",
                        "ratio": round(elapsed / target, 2),
                        "reference": f"target < {target:g} s; found {found}/{expected} devices",
                    }
                )
    return [*rows, *run_rack()]


def run_rack() -> list[dict[str, object]]:
    """Measure a cold and a warm scan of the virtual rack (identities read through the client)."""
    command = [sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "modbus", "--link", "pty"]
    command += ["--modules", str(RACK_MODULES), *RACK_LINE, "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    rows: list[dict[str, object]] = []
    try:
        assert process.stdout is not None
        port = next(
            str(event["port"])
            for event in map(json.loads, process.stdout)
            if event.get("event") == "listening"
        )
        with tempfile.TemporaryDirectory(prefix="bench-scan-rack-") as folder:
            request = ScanRequest(ports=(port,), timeout_s=60.0)
            for phase, target in (("cold", RACK_COLD_TARGET_S), ("warm", RACK_WARM_TARGET_S)):
                elapsed, found = _timed(request, Path(folder) / "cache.json")
                rows.append(
                    {
                        "benchmark": "scan",
                        "case": (
                            f"{phase} cache, with identity: Modbus rack of {RACK_MODULES} at 57600 8O1, "
                            "addresses 5-12"
                        ),
                        "value": round(elapsed, 3),
                        "unit": "s",
                        "ratio": round(elapsed / target, 2),
                        "reference": f"target < {target:g} s; found {found}/{RACK_MODULES} modules",
                    }
                )
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']}: {row['value']} {row['unit']} ({row['reference']}, ratio {row['ratio']})")
