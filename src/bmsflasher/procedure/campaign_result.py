"""How a campaign ended, per pack and per node, and the exit code the CLI derives from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.events import Measurement
from bmsflasher.procedure.campaign_journal import Phase
from bmsflasher.procedure.results import (
    EXIT_FAILED,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    EXIT_UPDATED,
    measurements_json,
)
from bmsflasher.procedure.states import State

_EXIT_CODES: Final = {
    State.UPDATED: EXIT_UPDATED,
    State.REFUSED: EXIT_REFUSED,
    State.ROLLED_BACK: EXIT_ROLLED_BACK,
    State.CANCELLED: EXIT_FAILED,
}


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """One node at the end of a campaign.

    Attributes:
        state: ``updated``, ``rolled_back``, ``untouched`` (nothing written to it), ``failed``.
    """

    serial: str
    tier: str
    model: str
    from_version: str | None
    to_version: str | None
    running_version: str | None
    confirmed: bool | None
    state: str
    detail: str = ""
    session_id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "serial_number": self.serial,
            "tier": self.tier,
            "model": self.model,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "running_version": self.running_version,
            "confirmed": self.confirmed,
            "state": self.state,
            "detail": self.detail,
            "session_id": self.session_id,
        }


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """The pack's end state: all nodes on the new set (UPDATED) or all on the old one (ROLLED_BACK).

    REFUSED and CANCELLED wrote nothing; FAILED means the campaign could not finish and its journal
    is kept for the next run (or for ``rollback --all``).
    """

    outcome: State
    reason: str
    pack: str | None
    release: str | None
    nodes: tuple[NodeOutcome, ...] = ()
    failed_phase: Phase | None = None
    pack_checks: tuple[Measurement, ...] = ()
    refusals: tuple[Measurement, ...] = ()
    session_id: int | None = None
    resumed: bool = False
    error: BmsFlasherError | None = None

    @property
    def exit_code(self) -> int:
        """0 every node updated and confirmed, 2 refused, 10 the whole pack rolled back, else the error's."""
        if self.outcome in _EXIT_CODES:
            return _EXIT_CODES[self.outcome]
        if self.error is not None and self.error.exit_code not in (EXIT_UPDATED, EXIT_ROLLED_BACK):
            return self.error.exit_code
        return EXIT_FAILED

    def to_json(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "pack": self.pack,
            "release": self.release,
            "failed_phase": self.failed_phase.value if self.failed_phase else None,
            "resumed": self.resumed,
            "session_id": self.session_id,
            "nodes": [node.to_json() for node in self.nodes],
            "pack_checks": measurements_json(self.pack_checks),
            "refusals": measurements_json(self.refusals),
        }
