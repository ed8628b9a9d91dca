"""The pack's live cells at 10 Hz: every BMU's cell frames heard through the emulated slcan adapter.

The virtual pack's BMUs send their cells cyclically (``sim/topology/pack_link.py``); the tool's
:class:`~bmsflasher.discovery.pack_cell_stream.PackCellStream` listens on the adapter's pty with
python-can's slcan driver and asks over UDS only a BMU that sends none. Cross-process for the
rates (the pack in its own interpreter, as a real pack is on its own hardware); in-process only
where a test must reach into the pack (a BMU made mute, a node sent to its bootloader).
"""

from __future__ import annotations

import collections
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pack_support import PACK_15, PackProcess

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import PackTelemetry
from bmsflasher.discovery.pack_cell_stream import PackCellStream
from bmsflasher.discovery.pack_nodes import pack_node_target
from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.topology.can_pack import CanPack, start
from bmsflasher.sim.topology.spec import parse_topology
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

TARGET_HZ = 10.0
BMU_CELLS = 16


class Samples:
    """What a stream handed out, per BMU, counted from a moment on (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: dict[int, PackTelemetry] = {}
        self.counts: collections.Counter[int] = collections.Counter()
        self.silent: dict[int, str] = {}

    def on_sample(self, address: int, sample: PackTelemetry) -> None:
        with self._lock:
            self.latest[address] = sample
            self.counts[address] += 1

    def on_silent(self, address: int, error: BmsFlasherError) -> None:
        with self._lock:
            self.silent[address] = error.message

    def rates(self, addresses: list[int], window_s: float) -> dict[int, float]:
        """Samples a second of every BMU over the next ``window_s``."""
        with self._lock:
            self.counts.clear()
        started = time.monotonic()
        time.sleep(window_s)
        elapsed = time.monotonic() - started
        with self._lock:
            return {address: self.counts[address] / elapsed for address in addresses}


def _bmus(pack: PackProcess) -> list[int]:
    return [int(str(node["address"])) for node in pack.nodes if node["tier"] == "bmu"]


def _watch(config: CanLinkConfig, addresses: list[int], samples: Samples) -> PackCellStream:
    return PackCellStream(CanLink.open(config), addresses, samples.on_sample, samples.on_silent)


def test_every_bmu_of_a_15_node_pack_is_current_ten_times_a_second() -> None:
    with PackProcess(PACK_15) as pack:
        bmus = _bmus(pack)
        assert len(bmus) == 12
        samples = Samples()
        stream = _watch(pack.link_config(), bmus, samples)
        try:
            time.sleep(0.5)
            rates = samples.rates(bmus, 2.0)
        finally:
            stream.stop()
            assert stream.join()
        # every row, not the mean: a BMU left behind would show a stale row
        assert min(rates.values()) >= 0.85 * TARGET_HZ, rates
        assert stream.polled_samples == 0  # all of it from the frames, no UDS round trip
        assert not samples.silent
        for address in bmus:
            sample = samples.latest[address]
            assert sample.cell_count == BMU_CELLS
            assert all(2500 < cell < 4500 for cell in sample.cell_voltages_mv)
            # the module voltage comes from the status frame (10 mV steps), the cells from theirs
            assert abs(sample.pack_voltage_mv - sample.cell_sum_mv) < 200

        # the frames say what the node's own UDS record says (its cells move slowly)
        with CanLink.open(pack.link_config()) as link:
            target = pack_node_target(link, bmus[0])
            try:
                read = target.read_telemetry()
            finally:
                target.client.close()
        heard = samples.latest[bmus[0]].cell_voltages_mv
        assert max(abs(a - b) for a, b in zip(heard, read.cell_voltages_mv, strict=True)) < 30


@pytest.mark.slow
def test_512_cells_of_32_bmus_at_ten_sweeps_a_second() -> None:
    with PackProcess("bcu=1,bmc=2,bmu=32") as pack:
        bmus = _bmus(pack)
        samples = Samples()
        stream = _watch(pack.link_config(), bmus, samples)
        try:
            time.sleep(0.5)
            rates = samples.rates(bmus, 3.0)
        finally:
            stream.stop()
            assert stream.join()
        assert sum(sample.cell_count for sample in samples.latest.values()) == 512
        assert min(rates.values()) >= 0.85 * TARGET_HZ, rates


@pytest.fixture
def small_pack() -> Iterator[CanPack]:
    """A 1 + 0 + 3 pack in this process behind the emulated slcan adapter (the test reaches into it)."""
    with tempfile.TemporaryDirectory() as folder:
        base = SimOptions(state_file=Path(folder), erase_time_s_per_sector=0.0, boot_time_s=0.0)
        pack = start(parse_topology("bcu=1,bmu=3"), base, FrontEndOptions(bitrate=500_000), "slcan")
        try:
            yield pack
        finally:
            pack.close()


def _config(pack: CanPack) -> CanLinkConfig:
    return CanLinkConfig(interface="slcan", channel=str(pack.connection()["channel"]), bitrate=500_000)


def test_a_bmu_that_sends_no_cell_frames_is_read_over_uds(small_pack: CanPack) -> None:
    small_pack.link.mute_cells(0x41)
    samples = Samples()
    stream = _watch(_config(small_pack), [0x40, 0x41, 0x42], samples)
    try:
        time.sleep(0.8)  # past the quiet time: 0x41 is asked over UDS from now on
        rates = samples.rates([0x40, 0x41, 0x42], 1.5)
    finally:
        stream.stop()
        assert stream.join()
    assert stream.polled_samples > 0
    assert rates[0x41] > 0, rates  # its row is current too, at the rate UDS allows
    assert samples.latest[0x41].cell_count == BMU_CELLS
    assert samples.latest[0x41].temperatures_c  # a UDS sample has what the frames do not carry
    assert min(rates[0x40], rates[0x42]) >= 0.8 * TARGET_HZ, rates  # the others still from their frames
    assert not samples.silent


def test_the_bmus_hold_their_cell_frames_while_a_node_runs_its_bootloader(small_pack: CanPack) -> None:
    time.sleep(0.3)
    before = small_pack.link.cell_frames_sent
    assert before > 0
    small_pack.nodes[0].enter_bootloader()  # the BCU is being updated: the bus is the transfer's
    try:
        time.sleep(0.15)
        held = small_pack.link.cell_frames_sent
        time.sleep(0.5)
        assert small_pack.link.cell_frames_sent == held
    finally:
        small_pack.nodes[0].reset()
    time.sleep(0.5)
    assert small_pack.link.cell_frames_sent > held
