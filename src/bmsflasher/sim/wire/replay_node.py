"""A replay node: sends a recorded bus log's frames onto the emulated bus with their recorded timing.

A capture from the field (``bmsflasher log``, candump, CANalyzer, PCAN-View: any format python-can's
``can.LogReader`` reads) becomes a node on the virtual bus, beside the virtual BMS or instead of it,
so the tool's monitor, DBC decoding and logger can examine it at the desk exactly as on site. The
gaps between frames are the recorded ones (measured from the log's first frame); with ``loop`` the
log starts again one mean frame gap after its last frame. Error frames in the log are skipped: the
emulated bus makes its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import can

from bmsflasher.sim.errors import SimError
from bmsflasher.sim.wire.can_bus import BusPort, CanBusTimeline

READ_SUFFIXES: Final = (".log", ".asc", ".blf", ".trc", ".csv", ".db", ".mf4")
#: Pause before a looped log starts again when it holds a single frame (no gap to learn from).
_LOOP_GAP_S: Final = 0.1


def _frames(path: Path) -> Iterator[can.Message]:
    """The log's frames as new messages (no reader state kept), error frames left out."""
    try:
        with can.LogReader(str(path)) as reader:
            for recorded in reader:
                if recorded.is_error_frame:
                    continue
                yield can.Message(
                    timestamp=recorded.timestamp,
                    arbitration_id=recorded.arbitration_id,
                    is_extended_id=recorded.is_extended_id,
                    is_remote_frame=recorded.is_remote_frame,
                    is_fd=recorded.is_fd,
                    bitrate_switch=recorded.bitrate_switch,
                    dlc=recorded.dlc,
                    data=bytes(recorded.data),
                )
    except (OSError, ValueError, can.CanError) as exc:
        raise SimError(f"the bus log {path} cannot be read: {exc}") from exc


def check_replay_file(path: Path) -> int:
    """Count the frames of ``path``; SimError with one sentence when it cannot be replayed."""
    if path.suffix.lower() not in READ_SUFFIXES:
        raise SimError(f"the bus log {path} is not in a format python-can reads ({', '.join(READ_SUFFIXES)})")
    if not path.is_file():
        raise SimError(f"the bus log {path} does not exist")
    count = sum(1 for _ in _frames(path))
    if not count:
        raise SimError(f"the bus log {path} holds no frames to replay")
    return count


class ReplayNode:
    """Replays ``path`` on ``bus`` from its own thread; :meth:`close` stops it.

    Attributes:
        frames_sent: frames put on the bus so far (over every pass of a loop).
        passes: complete passes through the log.
        finished: set when a non-looping replay has sent its last frame.
    """

    def __init__(self, bus: CanBusTimeline, path: Path, *, loop: bool = False, name: str = "replay") -> None:
        self.path = path
        self.frame_count = check_replay_file(path)
        self.loop = loop
        self.frames_sent = 0
        self.passes = 0
        self.finished = threading.Event()
        self._port: BusPort = bus.attach(f"{name}:{path.name}", self._ignore, tx_depth=256)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-can-replay", daemon=True)
        self._thread.start()

    @staticmethod
    def _ignore(_message: can.Message) -> None:
        """A replay node only talks; what others send is not its business."""

    def _run(self) -> None:
        start = time.monotonic()
        offset_s = 0.0
        while not self._stop.is_set():
            first: float | None = None
            last = 0.0
            for frame in _frames(self.path):
                if first is None:
                    first = frame.timestamp
                last = frame.timestamp - first
                delay = start + offset_s + last - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._port.send(frame, timeout_s=1.0):
                    self.frames_sent += 1
                if self._stop.is_set():
                    return
            self.passes += 1
            if not self.loop:
                self.finished.set()
                return
            gap = last / (self.frame_count - 1) if self.frame_count > 1 else _LOOP_GAP_S
            offset_s += last + max(gap, 1e-4)

    def close(self) -> None:
        """Stop replaying and leave the bus. Safe to call twice."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._port.detach()
