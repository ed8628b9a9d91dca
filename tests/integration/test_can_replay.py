"""Replay (``sim --replay``): a log recorded by ``bmsflasher log`` replays identically from any format.

The log is a real recording: ``bmsflasher log`` (this process) through python-can's slcan driver
from ``bmsflasher sim --broadcast`` (another process). It is converted to the other formats with
python-can, and each file is replayed by a :class:`ReplayNode` onto its own emulated bus: every
format must put the same frames on the bus, in the same order, with the recorded gaps.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import can
import pytest
from can_tools_support import cli, key, read_log
from uds_support import SimProcess

from bmsflasher.sim.errors import SimError
from bmsflasher.sim.wire.can_bus import CanBusTimeline
from bmsflasher.sim.wire.replay_node import ReplayNode

FORMATS = (".blf", ".asc", ".log", ".trc", ".csv")
GAP_TOLERANCE_S = 0.05
"""Worst lateness of one frame against the others: five replays at once share a loaded 2-core host."""
MEAN_GAP_ERROR_S = 0.01
"""Mean error over a replay: the recorded timing is kept, not merely approached by one frame in a while."""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("field") / "field.blf"
    with SimProcess("--broadcast", bitrate=500_000) as sim:
        result = cli(
            "log",
            "--can",
            f"slcan:{sim.channel}",
            "--bitrate",
            "500000",
            "--out",
            str(out),
            "--duration",
            "1.1",
        )
    assert result.returncode == 0, result.stderr
    return out


def _convert(source: Path, target: Path) -> Path:
    with can.Logger(str(target)) as writer:
        for message in read_log(source):
            writer.on_message_received(message)
    return target


class _Collector:
    """A node that notes every frame it hears and when."""

    def __init__(self, bus: CanBusTimeline) -> None:
        self.heard: list[tuple[tuple[int, bool, bytes], float]] = []
        self._lock = threading.Lock()
        bus.attach("collector", self._on_frame)

    def _on_frame(self, message: can.Message) -> None:
        with self._lock:
            self.heard.append((key(message), time.monotonic()))


def _replay_all(paths: list[Path], *, loop: bool = False, seconds: float | None = None) -> list[_Collector]:
    """Replay every file at once, each on its own bus; the frames each bus carried."""
    buses = [CanBusTimeline(500_000) for _ in paths]
    collectors = [_Collector(bus) for bus in buses]
    nodes = [ReplayNode(bus, path, loop=loop) for bus, path in zip(buses, paths, strict=True)]
    try:
        if seconds is not None:
            time.sleep(seconds)
        for node in nodes:
            assert seconds is not None or node.finished.wait(10)
        time.sleep(0.05)  # the last frame's air time
    finally:
        for node in nodes:
            node.close()
        for bus in buses:
            bus.close()
    return collectors


def test_every_format_replays_the_same_frames_with_the_recorded_timing(
    recorded: Path, tmp_path: Path
) -> None:
    source = read_log(recorded)
    assert len(source) >= 20  # 1.1 s of the virtual BMS's broadcasts
    paths = [recorded] + [_convert(recorded, tmp_path / f"field{suffix}") for suffix in FORMATS[1:]]
    collectors = _replay_all(paths)
    expected_gaps = [later.timestamp - source[0].timestamp for later in source]
    for path, collector in zip(paths, collectors, strict=True):
        assert [frame for frame, _ in collector.heard] == [key(message) for message in source], path.suffix
        started = collector.heard[0][1]
        heard = zip(collector.heard, expected_gaps, strict=True)
        offsets = [(at - started) - expected for (_, at), expected in heard]
        typical = statistics.median(offsets)  # a first frame heard late shifts every offset alike
        errors = [abs(offset - typical) for offset in offsets]
        assert max(errors) < GAP_TOLERANCE_S, path.suffix
        assert statistics.fmean(errors) < MEAN_GAP_ERROR_S, path.suffix


def test_loop_starts_the_log_again(tmp_path: Path) -> None:
    frames = [
        can.Message(timestamp=i * 0.01, arbitration_id=0x100 + i, is_extended_id=False, data=[i])
        for i in range(5)
    ]
    path = tmp_path / "short.asc"
    with can.Logger(str(path)) as writer:
        for frame in frames:
            writer.on_message_received(frame)
    (collector,) = _replay_all([path], loop=True, seconds=0.3)
    ids = [frame[0] for frame, _ in collector.heard]
    assert len(ids) > 2 * len(frames)
    assert ids[: 2 * len(frames)] == [0x100 + i for i in range(5)] * 2


def test_a_log_that_cannot_be_replayed_is_one_sentence(tmp_path: Path) -> None:
    with CanBusTimeline(0) as bus:
        with pytest.raises(SimError, match="does not exist"):
            ReplayNode(bus, tmp_path / "missing.blf")
        with pytest.raises(SimError, match="not in a format python-can reads"):
            ReplayNode(bus, tmp_path / "notes.txt")
    code = cli("sim", "--protocol", "uds", "--loop")
    assert code.returncode != 0
    assert "--replay FILE" in code.stderr
