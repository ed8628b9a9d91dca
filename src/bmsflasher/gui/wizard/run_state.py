"""What one running update has reported so far, for the wizard's pages to render.

The procedure emits typed events (step started/finished, progress, log lines, measurements); this
object folds them into state (which steps ran and how they ended, the newest progress, the log,
measurements per step) and re-announces the parts each page cares about. Pages never parse events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from PySide6.QtCore import QObject, Signal, Slot

from bmsflasher.core.events import Event, LogLine, Measurement, Progress, StepFinished, StepStarted

PRE_RUN_STEPS: Final = ("verify_package", "identify", "preconditions")
"""Steps the procedure repeats at its start (the wizard did them as a preview already)."""


@dataclass(slots=True)
class StepStatus:
    """One step as seen so far: started, and if finished, how."""

    step: str
    title: str
    finished: bool = False
    ok: bool = False
    detail: str = ""


@dataclass(slots=True)
class RunRecord:
    """The folded events of one run."""

    steps: dict[str, StepStatus] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    log: list[LogLine] = field(default_factory=list)
    measurements: dict[str, list[Measurement]] = field(default_factory=dict)
    progress: Progress | None = None
    current_step: str = ""


class UpdateRunState(QObject):
    """Folds procedure events into a :class:`RunRecord` and signals changes."""

    sig_step_started = Signal(str)  # step
    sig_step_finished = Signal(str, bool, str)  # step, ok, detail
    sig_progress = Signal(object)  # Progress
    sig_log = Signal(object)  # LogLine
    sig_measurement = Signal(str, object)  # step, Measurement

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.record = RunRecord()

    def reset(self) -> None:
        """Forget the previous run (a new update or a rollback starts)."""
        self.record = RunRecord()

    @Slot(object)
    def on_event(self, event: Event) -> None:
        """Fold one event (connected to ``AppModel.sig_update_event``)."""
        record = self.record
        if isinstance(event, StepStarted):
            record.current_step = event.step
            if event.step not in record.steps:
                record.order.append(event.step)
            record.steps[event.step] = StepStatus(event.step, event.title)
            self.sig_step_started.emit(event.step)
        elif isinstance(event, StepFinished):
            status = record.steps.setdefault(event.step, StepStatus(event.step, event.step))
            status.finished, status.ok, status.detail = True, event.ok, event.detail
            self.sig_step_finished.emit(event.step, event.ok, event.detail)
        elif isinstance(event, Progress):
            record.progress = event
            self.sig_progress.emit(event)
        elif isinstance(event, LogLine):
            record.log.append(event)
            self.sig_log.emit(event)
        elif isinstance(event, Measurement):
            step = record.current_step
            record.measurements.setdefault(step, []).append(event)
            self.sig_measurement.emit(step, event)

    def measurements(self, *steps: str) -> list[Measurement]:
        """Measurements taken during the given steps, in order."""
        found: list[Measurement] = []
        for step in steps:
            found.extend(self.record.measurements.get(step, []))
        return found

    def status(self, step: str) -> StepStatus | None:
        return self.record.steps.get(step)
