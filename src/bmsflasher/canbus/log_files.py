"""Bus log files through python-can's own writers and readers (``can.Logger``, ``can.LogReader``).

The format follows the file's suffix, as python-can decides it: candump ``.log``, Vector ``.asc``
and ``.blf``, PEAK ``.trc`` and ``.csv`` are what technicians exchange. Only the suffix is checked
here, before the adapter is opened, so a typo costs nothing; python-can writes the bytes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import can

from bmsflasher.canbus.errors import CanLogFileError, CanLogFormatError
from bmsflasher.core.i18n import t
from bmsflasher.links.can import CanLink

#: Suffixes ``bmsflasher log`` writes (the exchange formats python-can writes without extras).
WRITE_SUFFIXES: Final = (".log", ".asc", ".blf", ".trc", ".csv")
#: Suffixes a replay reads: python-can's readers (``.mf4`` needs asammdf, ``.db`` is its SQLite).
READ_SUFFIXES: Final = (".log", ".asc", ".blf", ".trc", ".csv", ".db", ".mf4")
#: How long one receive waits, so a stop request or the duration is noticed promptly.
RECEIVE_SLICE_S: Final = 0.1


def checked_log_path(path: Path, *, for_writing: bool) -> Path:
    """``path`` if python-can can write (or read) its format; one sentence naming the formats if not."""
    suffixes = WRITE_SUFFIXES if for_writing else READ_SUFFIXES
    if path.suffix.lower() not in suffixes:
        raise CanLogFormatError(
            t(
                "{path} is not a bus log format python-can can {action}",
                path=path,
                action=t("write") if for_writing else t("read"),
            ),
            hint=t("Name the file with one of {suffixes}.", suffixes=", ".join(suffixes)),
        )
    if not for_writing and not path.is_file():
        raise CanLogFileError(
            t("the bus log {path} does not exist", path=path),
            hint=t("Check the file name, or record one with 'bmsflasher log --out FILE'."),
        )
    return path


def open_writer(path: Path) -> can.Listener:
    """A python-can writer for ``path`` (format by suffix); a clear error if the file cannot be made."""
    checked_log_path(path, for_writing=True)
    try:
        writer: can.Listener = can.Logger(str(path))
    except OSError as exc:
        raise CanLogFileError(
            t("cannot create the bus log {path}: {error}", path=path, error=exc.strerror or exc),
            hint=t("Choose a folder you can write to."),
        ) from exc
    return writer


def read_frames(path: Path) -> Iterator[can.Message]:
    """Every frame of a log python-can reads, in file order, with its recorded timestamp."""
    checked_log_path(path, for_writing=False)
    try:
        reader = can.LogReader(str(path))
        with reader:
            yield from reader
    except (OSError, ValueError, can.CanError) as exc:
        raise CanLogFileError(
            t("cannot read the bus log {path}: {error}", path=path, error=exc),
            hint=t("Check that the file is a complete log in the format its name says."),
        ) from exc


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What one recording wrote."""

    path: Path
    frames: int
    duration_s: float

    def to_json(self) -> dict[str, object]:
        return {"path": str(self.path), "frames": self.frames, "duration_s": round(self.duration_s, 3)}


FrameCount = Callable[[int], None]


def record_link(
    link: CanLink,
    path: Path,
    *,
    stop: threading.Event,
    duration_s: float | None = None,
    on_count: FrameCount | None = None,
) -> RecordSummary:
    """Write every frame ``link`` receives to ``path`` until ``stop`` is set or ``duration_s`` passes.

    Nothing is sent. The writer is stopped (its buffers flushed, a BLF's header completed) however
    the recording ends, Ctrl-C included, so the file is always complete and readable.

    Args:
        link: the open adapter (only received from).
        path: the log file; its suffix picks python-can's writer.
        stop: set to end the recording (Ctrl-C, the GUI's stop button).
        duration_s: end after this long (None: only ``stop`` ends it).
        on_count: called with the running frame count about every :data:`RECEIVE_SLICE_S`.
    """
    writer = open_writer(path)
    frames = 0
    started = time.monotonic()
    deadline = None if duration_s is None else started + duration_s
    try:
        while not stop.is_set():
            wait_s = RECEIVE_SLICE_S
            if deadline is not None:
                wait_s = min(wait_s, deadline - time.monotonic())
                if wait_s <= 0:
                    break
            message = link.recv(wait_s)
            if message is not None:
                writer.on_message_received(message)
                frames += 1
            if on_count is not None:
                on_count(frames)
    finally:
        writer.stop()
    return RecordSummary(path, frames, time.monotonic() - started)
