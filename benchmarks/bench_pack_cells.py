"""Pack live cells: whole sweeps of every BMU a second, against issue 16's 10 Hz for up to 512 cells.

The pack is ``bmsflasher sim --protocol uds --link slcan --topology bcu=1,bmc=2,bmu=N --bitrate
500000`` in its own process, behind its emulated USB-CAN adapter; the tool's side is what the GUI's
Pack page runs (``discovery/pack_cell_stream.PackCellStream`` on python-can's slcan driver). A
BMU's row is current when a new sample of it arrived; the figure is the *slowest* BMU's samples a
second over a 3 s window, from its first to its last sample in it (a sweep is complete only when
every row is new), the ratio that over the 10 Hz target (>= 1 meets it). The bus load is the
sim's own bus time (bit-exact frame lengths, stuff bits included) over the time it served. The
"before" row is the previous design on the same pack: every BMU asked over UDS in turn (four
live-data reads and the node's ISO-TP session), no pause between sweeps, whole sweeps counted.
The host is shared: each figure is the best of two, with the load.

Run: ``python -m benchmarks --only bench_pack_cells`` (or ``python -m benchmarks.bench_pack_cells``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import PackTelemetry
from bmsflasher.discovery.pack_cell_stream import PackCellStream
from bmsflasher.discovery.pack_nodes import pack_node_target
from bmsflasher.links.can import CanLink, CanLinkConfig

BITRATE = 500_000
TARGET_HZ = 10.0
WINDOW_S = 3.0
SETTLE_S = 0.7
RUNS = 2
START_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Served:
    """A running pack process: its adapter, its BMUs; ``bus`` is filled when it stopped."""

    config: CanLinkConfig
    bmus: list[int]
    bus: dict[str, object]


@contextlib.contextmanager
def pack_process(bmus: int) -> Iterator[Served]:
    """The virtual pack in its own interpreter; on the way out its ``bus`` line (bus time served)."""
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "uds", "--link", "slcan",
        "--topology", f"bcu=1,bmc=2,bmu={bmus}", "--bitrate", str(BITRATE), "--erase-ms", "0",
        "--stop-on-stdin-eof", "--json",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert process.stdout is not None
    assert process.stdin is not None
    listening: dict[str, object] = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    for line in process.stdout:
        event = json.loads(line)
        if event.get("event") == "listening":
            listening = event
            break
        if time.monotonic() > deadline:
            break
    if not listening:
        process.kill()
        raise RuntimeError("the virtual pack did not start")
    nodes = listening["nodes"]
    assert isinstance(nodes, list)
    served = Served(
        CanLinkConfig(interface="slcan", channel=str(listening["channel"]), bitrate=BITRATE),
        [int(node["address"]) for node in nodes if node["tier"] == "bmu"],
        {},
    )
    started = time.monotonic()
    try:
        yield served
    finally:
        process.stdin.close()  # --stop-on-stdin-eof: the pack stops and reports its bus
        for line in process.stdout:
            event = json.loads(line)
            if event.get("event") == "bus":
                served.bus = {**event, "served_s": time.monotonic() - started}
        process.wait(timeout=30)


def _load() -> float:
    return os.getloadavg()[0]


def _bus_load(served: Served) -> float:
    busy = float(str(served.bus.get("busy_s", 0.0)))
    seconds = float(str(served.bus.get("served_s", 1.0)))
    return busy / seconds


def stream_rates(bmus: int, *, mute: int = 0) -> tuple[float, float, float, int, int]:
    """(slowest BMU's Hz, mean Hz, bus load, cells, UDS samples) of the frame listener on a fresh pack."""
    arrivals: dict[int, list[float]] = collections.defaultdict(list)
    cells: dict[int, int] = {}
    lock = threading.Lock()

    def on_sample(address: int, sample: PackTelemetry) -> None:
        with lock:
            arrivals[address].append(time.perf_counter())
            cells[address] = sample.cell_count

    def on_silent(_address: int, _error: BmsFlasherError) -> None:
        return

    with pack_process(bmus) as served:
        stream = PackCellStream(CanLink.open(served.config), served.bmus, on_sample, on_silent)
        try:
            time.sleep(SETTLE_S)
            with lock:
                arrivals.clear()
            time.sleep(WINDOW_S)
            with lock:
                rates = [_rate(arrivals[address]) for address in served.bmus]
        finally:
            stream.stop()
            stream.join()
    return min(rates), sum(rates) / len(rates), _bus_load(served), sum(cells.values()), stream.polled_samples


def _rate(times: list[float]) -> float:
    """Samples a second between a BMU's first and last sample in the window (no window-edge rounding)."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def poll_rate(bmus: int) -> tuple[float, float]:
    """(sweeps a second, bus load) of the previous design: each BMU asked over UDS in turn."""
    with pack_process(bmus) as served, CanLink.open(served.config) as link:
        sweeps = 0
        started = time.monotonic()
        while time.monotonic() - started < WINDOW_S:
            for address in served.bmus:
                target = pack_node_target(link, address)
                try:
                    target.read_telemetry()
                finally:
                    target.client.close()
            sweeps += 1
        rate = sweeps / (time.monotonic() - started)
    return rate, _bus_load(served)


def _best_stream(bmus: int) -> tuple[tuple[float, float, float, int, int], str]:
    runs = []
    for _ in range(RUNS):
        load = _load()
        runs.append((stream_rates(bmus), load))
    best = max(runs, key=lambda run: run[0][0])
    every = ", ".join(f"{measured[0]:.2f} Hz at load {load:.1f}" for measured, load in runs)
    return best[0], every


def run() -> list[dict[str, object]]:
    """One row per pack size with the frame listener, then the UDS poll it replaced."""
    rows: list[dict[str, object]] = []
    for bmus in (12, 32):
        (slowest, mean, bus, cells, polled), every = _best_stream(bmus)
        rows.append(
            {
                "benchmark": "pack live cells",
                "case": (
                    f"1 + 2 + {bmus} pack ({cells} cells), 500 kbit/s slcan, cell frames heard: slowest "
                    f"BMU's samples a second (mean {mean:.2f}; {polled} UDS samples; bus load "
                    f"{bus * 100:.0f} %; best of {RUNS}: {every})"
                ),
                "value": round(slowest, 2),
                "unit": "sweeps/s",
                "ratio": round(slowest / TARGET_HZ, 3),
                "reference": f"target {TARGET_HZ:g} Hz for up to 512 cells",
            }
        )
    polls = [(poll_rate(12), _load()) for _ in range(RUNS)]
    (rate, bus), _load_at = max(polls, key=lambda run: run[0][0])
    every = ", ".join(f"{measured[0]:.2f} at load {load:.1f}" for measured, load in polls)
    rows.append(
        {
            "benchmark": "pack live cells",
            "case": (
                f"before: 1 + 2 + 12 pack, every BMU asked over UDS in turn, no pause (bus load "
                f"{bus * 100:.0f} %; best of {RUNS}: {every})"
            ),
            "value": round(rate, 2),
            "unit": "sweeps/s",
            "ratio": round(rate / TARGET_HZ, 3),
            "reference": f"target {TARGET_HZ:g} Hz",
        }
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
