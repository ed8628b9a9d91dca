"""Typed events emitted by long operations.

The engine is synchronous; long operations report through an :data:`EventSink` callback. The CLI
renders these with rich, the GUI's ``AppModel`` re-emits them as Qt signals, tests collect them in
a list. One event model keeps all three in step.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class LogLevel(enum.Enum):
    """Severity of a log line shown to the technician."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A procedure step began."""

    step: str
    title: str
    at_s: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class StepFinished:
    """A procedure step ended; ``ok`` False means it failed or was refused."""

    step: str
    ok: bool
    detail: str = ""
    at_s: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Progress:
    """Progress of a transfer or other measurable operation."""

    step: str
    done: int
    total: int
    throughput_bps: float = 0.0
    eta_s: float | None = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class LogLine:
    """A line for the live log."""

    level: LogLevel
    message: str
    at_s: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measured value checked against a limit (preconditions, self-test)."""

    name: str
    value: str
    limit: str
    passed: bool
    why: str = ""
    overridable: bool = False


Event = StepStarted | StepFinished | Progress | LogLine | Measurement
EventSink = Callable[[Event], None]


def discard(_event: Event) -> None:
    """An event sink that drops everything (for callers that do not care)."""


class ThroughputMeter:
    """Turns (done, total) samples into throughput and ETA over a sliding window.

    A sliding window rather than a total average, so the ETA reacts when a link degrades
    mid-transfer (a technician deciding whether to wait needs the current rate, not the mean).
    """

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._samples: list[tuple[float, int]] = []

    def update(self, done: int, total: int) -> tuple[float, float | None]:
        """Record a sample; return (bytes per second, seconds remaining or None if unknown)."""
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window_s:
            self._samples.pop(0)
        t0, d0 = self._samples[0]
        elapsed = now - t0
        rate = (done - d0) / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        return rate, eta
