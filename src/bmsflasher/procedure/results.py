"""The result of an update run, and the exit codes the CLI derives from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.events import Measurement
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.procedure.preconditions import PreconditionReport
from bmsflasher.procedure.reboot import BootReport
from bmsflasher.procedure.rollback import RollbackReport
from bmsflasher.procedure.selftest import SelfTestReport
from bmsflasher.procedure.states import State
from bmsflasher.procedure.troubleshooting import Advice

EXIT_UPDATED: Final = 0
EXIT_FAILED: Final = 1
EXIT_REFUSED: Final = 2
EXIT_ROLLED_BACK: Final = 10

_EXIT_CODES: Final = {
    State.UPDATED: EXIT_UPDATED,
    State.REFUSED: EXIT_REFUSED,
    State.ROLLED_BACK: EXIT_ROLLED_BACK,
    State.CANCELLED: EXIT_FAILED,
}


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """How an update ended and the evidence for it.

    Attributes:
        outcome: the terminal state (UPDATED, ROLLED_BACK, REFUSED, CANCELLED, FAILED).
        reason: one English sentence saying why it ended this way.
        serial: the device's serial number, once identified.
        from_version: firmware before the update.
        to_version: the package's version.
        running_version: what the device runs at the end (None if unknown).
        failed_step: the step that failed or refused, if any.
        advice: the troubleshooting row that applies, if any.
        error: the error that stopped the procedure, if any.
        resumed: True when this run continued an interrupted one from its journal.
    """

    outcome: State
    reason: str
    serial: str | None = None
    from_version: FirmwareVersion | None = None
    to_version: FirmwareVersion | None = None
    running_version: FirmwareVersion | None = None
    failed_step: State | None = None
    preconditions: PreconditionReport | None = None
    self_test: SelfTestReport | None = None
    boot: BootReport | None = None
    rollback: RollbackReport | None = None
    backup_id: int | None = None
    session_id: int | None = None
    advice: Advice | None = None
    error: BmsFlasherError | None = None
    resumed: bool = False

    @property
    def exit_code(self) -> int:
        """0 updated, 2 refused by a precondition, 10 rolled back, else the error's own code (or 1)."""
        if self.outcome in _EXIT_CODES:
            return _EXIT_CODES[self.outcome]
        if self.error is not None and self.error.exit_code not in (EXIT_UPDATED, EXIT_ROLLED_BACK):
            return self.error.exit_code
        return EXIT_FAILED

    def to_json(self) -> dict[str, object]:
        """A JSON-able summary for ``--json`` and the GUI."""

        def text(value: object | None) -> str | None:
            return None if value is None else str(value)

        return {
            "outcome": self.outcome.value,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "serial_number": self.serial,
            "from_version": text(self.from_version),
            "to_version": text(self.to_version),
            "running_version": text(self.running_version),
            "failed_step": self.failed_step.value if self.failed_step else None,
            "resumed": self.resumed,
            "backup_id": self.backup_id,
            "session_id": self.session_id,
            "preconditions": measurements_json(self.preconditions.results if self.preconditions else ()),
            "overrides": dict(self.preconditions.overrides) if self.preconditions else {},
            "self_test": measurements_json(self.self_test.results if self.self_test else ()),
            "boot": self.boot.describe() if self.boot else None,
            "rollback_actions": list(self.rollback.actions) if self.rollback else [],
            "advice": (
                {
                    "kind": self.advice.kind.value,
                    "pattern": self.advice.pattern,
                    "diagnostic": self.advice.diagnostic,
                    "resolution": self.advice.resolution,
                }
                if self.advice
                else None
            ),
        }


def measurements_json(measurements: Sequence[Measurement]) -> list[dict[str, object]]:
    """Measurements as JSON objects (same keys as the event's fields)."""
    return [_measurement(m) for m in measurements]


def _measurement(m: Measurement) -> dict[str, object]:
    return {
        "name": m.name,
        "value": m.value,
        "limit": m.limit,
        "passed": m.passed,
        "why": m.why,
        "overridable": m.overridable,
    }
