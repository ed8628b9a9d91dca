"""Record an adapter's frames beside a running session, into a size-capped, rotated candump log.

The GUI's diagnostics page asks for it while an update runs: every frame the tool's own link sends
or receives on that adapter (:func:`bmsflasher.links.can.add_frame_tap`, which survives the update's
reconnects) goes to ``bus.log`` in candump format, which every CAN tool reads and whose size is
known as it is written. When the file reaches ``max_bytes`` it becomes ``bus.1.log`` (older parts
move up, the oldest beyond ``keep`` is deleted) and a new ``bus.log`` starts, so a long session
cannot fill the disk. What was recorded is always complete: each part is closed before it rotates.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

import can

from bmsflasher.canbus.errors import CanLogFileError
from bmsflasher.core.i18n import t
from bmsflasher.links.can import add_frame_tap

#: How often (in frames) the current part's size is checked.
_SIZE_CHECK_EVERY: Final = 64


class RotatingBusLog:
    """A candump writer for ``folder/bus.log`` that rotates at ``max_bytes``, keeping ``keep`` parts."""

    def __init__(self, folder: Path, *, max_bytes: int, keep: int, name: str = "bus") -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.keep = keep
        self.name = name
        self.frames = 0
        self.rotations = 0
        self._lock = threading.Lock()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CanLogFileError(
                t("cannot create the bus log {path}: {error}", path=folder, error=exc.strerror or exc),
                hint=t("Choose a folder you can write to."),
            ) from exc
        self._writer = can.Logger(str(self.path))

    @property
    def path(self) -> Path:
        """The part being written (the newest frames)."""
        return self.folder / f"{self.name}.log"

    def part(self, index: int) -> Path:
        """Older part ``index`` (1: the most recent one)."""
        return self.folder / f"{self.name}.{index}.log"

    def write(self, message: can.Message) -> None:
        with self._lock:
            self._writer.on_message_received(message)
            self.frames += 1
            if self.frames % _SIZE_CHECK_EVERY == 0 and self._writer.file.tell() >= self.max_bytes:  # type: ignore[attr-defined]
                self._rotate()

    def _rotate(self) -> None:
        self._writer.stop()
        oldest = self.part(self.keep)
        oldest.unlink(missing_ok=True)
        for index in range(self.keep - 1, 0, -1):
            if self.part(index).exists():
                self.part(index).replace(self.part(index + 1))
        self.path.replace(self.part(1))
        self._writer = can.Logger(str(self.path))
        self.rotations += 1

    def close(self) -> None:
        """Flush and close the current part. Safe to call twice."""
        with self._lock:
            self._writer.stop()


class BusRecording:
    """Records every frame of one adapter until :meth:`stop` (see the module docstring)."""

    def __init__(self, interface: str, channel: str, log: RotatingBusLog) -> None:
        self.log = log
        self._remove = add_frame_tap(interface, channel, log.write)
        self._stopped = False

    def stop(self) -> RotatingBusLog:
        """Stop recording; the log is flushed and closed. Safe to call twice."""
        if not self._stopped:
            self._stopped = True
            self._remove()
            self.log.close()
        return self.log
