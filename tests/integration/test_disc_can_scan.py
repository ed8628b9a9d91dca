"""Scan emulated slcan adapters (real python-can slcan driver on ptys) with virtual BMS nodes behind them.

Bitrates and node counts are picked at random (the seed is in every failure report, added by
``tests/conftest.py``) and must come back from the scanner; the warm scan must go straight to the
remembered bitrate.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmsflasher.core.types import DeviceMode
from bmsflasher.discovery.cache import ScanCache
from bmsflasher.discovery.can_probe import CanProbeSettings
from bmsflasher.discovery.plan import DEFAULT_BITRATES
from bmsflasher.discovery.results import AdapterStatus
from bmsflasher.discovery.scanner import Scanner, ScanRequest, scan
from bmsflasher.links.serial import SerialLink
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

PATIENT = CanProbeSettings(response_window_s=1.0)
"""The simulated nodes share this process with the scanner on a loaded CI machine; this file tests
what is found, not how fast (benchmarks/bench_scan.py measures that)."""

SEED = int(os.environ.get("BMSFLASHER_TEST_SEED", str(random.SystemRandom().randrange(1 << 30))))


@dataclass
class SlcanBench:
    """One emulated adapter on its own bus with ``nodes`` virtual BMS."""

    simulation: can_frontend.CanSimulation
    device: VirtualBms
    bitrate: int
    nodes: int

    @property
    def argument(self) -> str:
        return f"slcan:{self.simulation.channel}"

    def serials(self) -> set[str]:
        return {server.device.identity().serial_number for server in self.simulation.servers}  # type: ignore[attr-defined]


def start_bench(seed: int, bitrate: int, nodes: int) -> SlcanBench:
    device = VirtualBms.create(SimOptions(seed=seed))
    simulation = can_frontend.start(device, FrontEndOptions(bitrate=bitrate, nodes=nodes), "slcan")
    return SlcanBench(simulation, device, bitrate, nodes)


@pytest.fixture
def benches() -> Iterator[list[SlcanBench]]:
    rng = random.Random(SEED)
    picked = [(rng.choice(DEFAULT_BITRATES), rng.randint(1, 3)) for _ in range(2)]
    started = [start_bench(SEED + index, bitrate, nodes) for index, (bitrate, nodes) in enumerate(picked)]
    yield started
    for bench in started:
        bench.simulation.close()
        bench.device.close()


def test_every_node_on_every_adapter_is_found_with_bitrate_and_identity(
    data_home: Path, benches: list[SlcanBench]
) -> None:
    result = scan(ScanRequest(can_channels=tuple(b.argument for b in benches), timeout_s=30.0, can=PATIENT))
    for bench, report in zip(benches, result.reports, strict=True):
        context = f"seed {SEED}: {bench.bitrate} bit/s, {bench.nodes} node(s)"
        assert report.status is AdapterStatus.FOUND, context
        assert len(report.devices) == bench.nodes, context
        assert {device.link.bitrate for device in report.devices} == {bench.bitrate}, context
        assert sorted(device.link.node for device in report.devices) == list(range(1, bench.nodes + 1)), (
            context
        )
        assert all(device.protocol == "uds" for device in report.devices)
        assert all(device.link.interface == "slcan" for device in report.devices)
        assert {device.serial_number for device in report.devices} == bench.serials(), context
        assert all(device.mode is DeviceMode.APPLICATION for device in report.devices)
        assert all(device.identify_error == "" for device in report.devices)


def test_warm_scan_asks_the_remembered_bitrate_only(tmp_path: Path, benches: list[SlcanBench]) -> None:
    scanner = Scanner(ScanCache(tmp_path / "cache.json"))
    request = ScanRequest(
        can_channels=tuple(b.argument for b in benches), timeout_s=30.0, identify=False, can=PATIENT
    )
    cold = scanner.scan(request)
    warm = Scanner(ScanCache(tmp_path / "cache.json")).scan(request)
    assert [r.status for r in cold.reports] == [AdapterStatus.FOUND] * len(benches)
    for bench, report in zip(benches, warm.reports, strict=True):
        assert report.status is AdapterStatus.FOUND, f"seed {SEED}"
        assert report.used_cache
        assert report.attempts == 1
        assert len(report.devices) == bench.nodes
    # How fast the warm scan is lives in benchmarks/bench_scan.py, not in a timed test.


def test_a_busy_slcan_adapter_is_reported_not_stolen(tmp_path: Path, benches: list[SlcanBench]) -> None:
    bench = benches[0]
    with SerialLink.open(bench.simulation.channel, 115200):
        result = Scanner(ScanCache(tmp_path / "cache.json")).scan(
            ScanRequest(can_channels=(bench.argument,), timeout_s=5.0)
        )
    report = result.reports[0]
    assert report.status is AdapterStatus.BUSY
    assert report.attempts == 0
    assert not bench.simulation.adapter.channel_open  # type: ignore[union-attr]


def test_an_adapter_whose_bus_runs_at_an_unlisted_rate_reports_no_device(tmp_path: Path) -> None:
    bench = start_bench(SEED, 50000, 1)
    try:
        result = Scanner(ScanCache(tmp_path / "cache.json")).scan(
            ScanRequest(can_channels=(bench.argument,), bitrates=(500000, 250000), timeout_s=5.0)
        )
    finally:
        bench.simulation.close()
        bench.device.close()
    report = result.reports[0]
    assert report.status is AdapterStatus.NO_DEVICE
    assert "500000, 250000" in report.message
    assert "terminated" in report.hint


def test_python_can_virtual_bus_is_found_with_one_attempt(data_home: Path) -> None:
    channel = f"disc-virtual-{SEED}"
    with (
        VirtualBms.create(SimOptions(seed=SEED)) as device,
        can_frontend.start(device, FrontEndOptions(bitrate=250000, nodes=2, channel=channel), "virtual"),
    ):
        result = scan(ScanRequest(can_channels=(f"virtual:{channel}",), timeout_s=10.0, can=PATIENT))
    report = result.reports[0]
    assert report.status is AdapterStatus.FOUND
    assert report.attempts == 1, "a software bus has no bitrate to search"
    assert [device.link.node for device in report.devices] == [1, 2]
    assert all(device.serial_number for device in report.devices)


def test_a_node_answering_non_uds_frames_on_response_ids_is_garbage(data_home: Path) -> None:
    import threading

    import can

    channel = f"disc-junk-{SEED}"
    stop = threading.Event()
    peer = can.Bus(interface="virtual", channel=channel)

    def answer_with_junk() -> None:  # a proprietary node that misuses 0x7E8
        while not stop.is_set():
            message = peer.recv(0.05)
            if message is not None and message.arbitration_id == 0x7DF:
                peer.send(
                    can.Message(arbitration_id=0x7E8, is_extended_id=False, data=bytes.fromhex("a5a5a5a5"))
                )

    thread = threading.Thread(target=answer_with_junk, name="test-junk-node")
    thread.start()
    try:
        result = scan(ScanRequest(can_channels=(f"virtual:{channel}",), timeout_s=10.0, can=PATIENT))
    finally:
        stop.set()
        thread.join(2.0)
        peer.shutdown()
    report = result.reports[0]
    assert report.status is AdapterStatus.GARBAGE
    assert "none is a valid UDS answer" in report.message
    assert not report.devices


def test_warm_scan_stops_waiting_once_the_remembered_nodes_answered_yet_hears_a_new_one(
    tmp_path: Path,
) -> None:
    """The warm path closes its answer window a short grace after the remembered node count has
    answered; a node added since still answers within that grace and is found."""
    from bmsflasher.sim.uds.server import UdsServerConfig

    bench = start_bench(SEED, 250000, 1)
    newcomer = VirtualBms.create(SimOptions(seed=SEED + 7))
    try:
        cache = ScanCache(tmp_path / "cache.json")
        request = ScanRequest(can_channels=(bench.argument,), timeout_s=30.0, identify=False, can=PATIENT)
        (cold,) = Scanner(cache).scan(request).reports
        assert [device.link.node for device in cold.devices] == [1]
        bench.simulation.add_node(newcomer, UdsServerConfig(node=2))
        (warm,) = Scanner(ScanCache(tmp_path / "cache.json")).scan(request).reports
    finally:
        bench.simulation.close()
        bench.device.close()
        newcomer.close()
    assert warm.used_cache
    assert warm.attempts == 1
    assert sorted(device.link.node for device in warm.devices) == [1, 2]
