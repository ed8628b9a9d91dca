"""The campaign journal: one file per pack, written before and after every phase and node step.

It extends the single-device journal's rules (:mod:`bmsflasher.procedure.journal`: atomic writes
with ``fsync``, kept in the user state folder, named by identity, never by port) to a whole pack.
The pack is named by the serials of its nodes, so the next run — after a killed tool, a pulled
cable or a power cut of the pack — finds the journal again by discovering the same nodes.

What the next run does depends on the phase the journal names (:data:`RESUME_ACTIONS`):

=============  ==========================================================================  ===========
phase          what the pack holds                                                         next run
=============  ==========================================================================  ===========
``prepare``    nothing written (preconditions, backups)                                    start over
``transfer``   old set running; new images partly in the secondary slots                   resume
``test_boot``  some nodes run an unconfirmed test image (a power cut already reverted it)  revert
``self_test``  every node runs an unconfirmed test image, not yet judged                   revert
``confirm``    the whole set passed; some nodes confirmed (the decision is taken)          resume
``revert``     some nodes back on their confirmed old image                                revert
=============  ==========================================================================  ===========

A test image that was never judged is never confirmed by a later run: its self-test evidence
died with the tool, and a power cut has already reverted it (MCUboot reverts an unconfirmed image
at the next reset). Once every node has passed and the confirm phase is written, going back is no
longer possible for confirmed nodes (their security counter rose), so the only safe direction is
forward.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from bmsflasher.core.errors import JournalError
from bmsflasher.core.i18n import t
from bmsflasher.procedure.journal import JournalEntry, journal_path, read_journal_json, write_atomically
from bmsflasher.procedure.journal import _fsync_dir as fsync_dir

CAMPAIGN_FORMAT: Final = 1
CAMPAIGN_PREFIX: Final = "campaign-"


class Phase(enum.Enum):
    """Where a campaign is; the order of the members is the order of a healthy run."""

    PREPARE = "prepare"
    TRANSFER = "transfer"
    TEST_BOOT = "test_boot"
    SELF_TEST = "self_test"
    CONFIRM = "confirm"
    REVERT = "revert"


class ResumeAction(enum.Enum):
    """What a run that finds a journal does with the pack."""

    START_OVER = "start_over"
    RESUME = "resume"
    REVERT = "revert"


RESUME_ACTIONS: Final[Mapping[Phase, ResumeAction]] = {
    Phase.PREPARE: ResumeAction.START_OVER,
    Phase.TRANSFER: ResumeAction.RESUME,
    Phase.TEST_BOOT: ResumeAction.REVERT,
    Phase.SELF_TEST: ResumeAction.REVERT,
    Phase.CONFIRM: ResumeAction.RESUME,
    Phase.REVERT: ResumeAction.REVERT,
}
"""The documented decision per phase (module docstring, docs/update-procedure.md)."""


def pack_id(serials: Sequence[str]) -> str:
    """A stable name for a pack: its nodes' serials, in any order, digested."""
    digest = hashlib.sha256("\n".join(sorted(serials)).encode("utf-8")).hexdigest()[:12].upper()
    return f"PACK-{digest}"


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """What the campaign must remember about one node.

    Attributes:
        serial: the node's serial number.
        tier: its tier in the release set.
        link: its link settings as JSON (``core.serialise.link_to_json``).
        from_version: the confirmed version it ran before the campaign.
        to_version: the version the set gives it.
        package_sha256: the package it gets.
        backup_id / backup_sha256: its configuration backup in the service history.
        session_id: its child session in the service history.
        dtcs_before: its trouble codes before the campaign (record JSON).
        done: node steps that ended well (``backup``, ``transfer``, ``test_boot``, ``self_test``,
            ``confirm``, ``revert``).
    """

    serial: str
    tier: str
    link: Mapping[str, Any]
    from_version: str | None
    to_version: str
    package_sha256: str
    backup_id: int | None = None
    backup_sha256: str | None = None
    session_id: int | None = None
    dtcs_before: tuple[Mapping[str, Any], ...] = ()
    done: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "tier": self.tier,
            "link": dict(self.link),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "package_sha256": self.package_sha256,
            "backup_id": self.backup_id,
            "backup_sha256": self.backup_sha256,
            "session_id": self.session_id,
            "dtcs_before": [dict(d) for d in self.dtcs_before],
            "done": list(self.done),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> NodeEntry:
        return cls(
            serial=str(raw["serial"]),
            tier=str(raw["tier"]),
            link=dict(raw["link"]),
            from_version=raw.get("from_version"),
            to_version=str(raw["to_version"]),
            package_sha256=str(raw["package_sha256"]),
            backup_id=raw.get("backup_id"),
            backup_sha256=raw.get("backup_sha256"),
            session_id=raw.get("session_id"),
            dtcs_before=tuple(dict(d) for d in raw.get("dtcs_before", ())),
            done=tuple(str(s) for s in raw.get("done", ())),
        )


@dataclass(frozen=True, slots=True)
class CampaignState:
    """The content of one campaign journal.

    Attributes:
        pack: the pack's name (:func:`pack_id`).
        bundle_sha256: the release set being installed (the resume key, with the pack).
        phase: the current phase.
        session_id: the campaign's service session.
        history_db: the service history it writes to (a resume with another one is refused).
        nodes: every node, in update order.
        reason: why the campaign is reverting, once it is.
        history: phase starts and ends, oldest first.
    """

    pack: str
    bundle_sha256: str
    phase: Phase
    session_id: int | None = None
    history_db: str = ""
    nodes: tuple[NodeEntry, ...] = ()
    reason: str = ""
    history: tuple[JournalEntry, ...] = ()
    created_s: float = field(default_factory=time.time)

    def node(self, serial: str) -> NodeEntry:
        found = next((n for n in self.nodes if n.serial == serial), None)
        if found is None:
            raise JournalError(t("the campaign journal names no node {serial}", serial=serial))
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CAMPAIGN_FORMAT,
            "kind": "campaign",
            "pack": self.pack,
            "bundle_sha256": self.bundle_sha256,
            "phase": self.phase.value,
            "session_id": self.session_id,
            "history_db": self.history_db,
            "nodes": [n.to_json() for n in self.nodes],
            "reason": self.reason,
            "history": [
                {"step": e.step, "ok": e.ok, "detail": e.detail, "at_s": e.at_s} for e in self.history
            ],
            "created_s": self.created_s,
        }

    @classmethod
    def from_json(cls, raw: Any, where: str) -> CampaignState:
        if not isinstance(raw, dict) or raw.get("format") != CAMPAIGN_FORMAT or raw.get("kind") != "campaign":
            raise JournalError(t("the journal {where} is not a bmsflasher campaign journal", where=where))
        try:
            return cls(
                pack=str(raw["pack"]),
                bundle_sha256=str(raw["bundle_sha256"]),
                phase=Phase(raw["phase"]),
                session_id=raw.get("session_id"),
                history_db=str(raw.get("history_db", "")),
                nodes=tuple(NodeEntry.from_json(n) for n in raw["nodes"]),
                reason=str(raw.get("reason", "")),
                history=tuple(
                    JournalEntry(str(e["step"]), e["ok"], str(e["detail"]), float(e["at_s"]))
                    for e in raw["history"]
                ),
                created_s=float(raw.get("created_s", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalError(
                t("the journal {where} is damaged ({error}); delete it to start over", where=where, error=exc)
            ) from exc


def campaign_journal_path(pack: str, folder: Path | None = None) -> Path:
    """Where the journal of a pack lives (beside the single-device journals)."""
    return journal_path(CAMPAIGN_PREFIX + pack, folder)


class CampaignJournal:
    """The journal of one pack's campaign; every change is on disk before the method returns."""

    def __init__(self, path: Path, state: CampaignState) -> None:
        self._path = path
        self._state = state

    @property
    def path(self) -> Path:
        return self._path

    @property
    def state(self) -> CampaignState:
        return self._state

    @classmethod
    def load(cls, pack: str, folder: Path | None = None) -> CampaignJournal | None:
        """The pack's journal, None when there is none; JournalError when it is damaged."""
        path = campaign_journal_path(pack, folder)
        raw = read_journal_json(path)
        if raw is None:
            return None
        state = CampaignState.from_json(raw, str(path))
        if state.pack != pack:
            raise JournalError(
                t(
                    "the journal {path} belongs to pack {owner}, not {serial}",
                    path=path,
                    owner=state.pack,
                    serial=pack,
                )
            )
        return cls(path, state)

    @classmethod
    def create(cls, state: CampaignState, folder: Path | None = None) -> CampaignJournal:
        journal = cls(campaign_journal_path(state.pack, folder), state)
        journal._flush()
        return journal

    def _flush(self) -> None:
        payload = json.dumps(self._state.to_json(), indent=1, sort_keys=True).encode("utf-8")
        write_atomically(self._path, payload)

    def _replace(self, state: CampaignState) -> None:
        self._state = state
        self._flush()

    def set_session(self, session_id: int) -> None:
        self._replace(replace(self._state, session_id=session_id))

    def set_nodes(self, nodes: Sequence[NodeEntry]) -> None:
        self._replace(replace(self._state, nodes=tuple(nodes)))

    def update_node(self, serial: str, **changes: Any) -> None:
        """Change one node's entry (e.g. its backup, its session) and write durably."""
        nodes = tuple(replace(n, **changes) if n.serial == serial else n for n in self._state.nodes)
        self._replace(replace(self._state, nodes=nodes))

    def node_done(self, serial: str, step: str) -> None:
        """Record that ``step`` ended well on one node (written after the node acted)."""
        entry = self._state.node(serial)
        if step not in entry.done:
            self.update_node(serial, done=(*entry.done, step))

    def enter(self, phase: Phase, reason: str = "") -> None:
        """Record the phase the campaign is about to run (written before it acts)."""
        entry = JournalEntry(phase.value, None, reason, time.time())
        self._replace(
            replace(
                self._state,
                phase=phase,
                reason=reason or self._state.reason,
                history=(*self._state.history, entry),
            )
        )

    def phase_finished(self, phase: Phase, ok: bool, detail: str) -> None:
        entry = JournalEntry(phase.value, ok, detail, time.time())
        self._replace(replace(self._state, history=(*self._state.history, entry)))

    def remove(self) -> None:
        """Delete the journal (the campaign reached an end); a missing file is fine."""
        try:
            self._path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise JournalError(
                t("cannot remove the journal {path}: {reason}", path=self._path, reason=exc.strerror or exc)
            ) from exc
        fsync_dir(self._path.parent)
