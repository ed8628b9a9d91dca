"""A pack campaign: every node of a battery updated to one release set, all or nothing.

Phases, in order (each written to the campaign journal before it acts, see :mod:`.campaign_journal`):

1. **plan** — discover the nodes, identify each, match each to the set's entry for its model and
   hardware revision, order by tier (:func:`.campaign_plan.plan_campaign`). A node without an
   entry, or a tier with fewer nodes than the set's minimum: refused, nothing written.
2. **prepare** — every node's single-device gates for its own package plus "no node in fault"
   (a refusal on any node refuses the pack), the operator's approval, then every node's
   configuration backup.
3. **transfer** — each node's image into its secondary slot, in tier order (resumable; nothing is
   marked yet, so a failure here leaves every node on its confirmed old image).
4. **test_boot** — each node marked for a test boot and reset; each must come back on its new image.
5. **self_test** — each node's single-device self-test, then the pack self-test
   (:mod:`.campaign_checks`).
6. **confirm** — only when every node passed: each node confirmed, its configuration checked, and
   the whole pack verified on the set.

Any failure in phases 4–5 (or an error in 3 that resuming cannot cure) reverts the pack: every node,
last-updated first, is brought back to its confirmed previous image (MCUboot reverts an unconfirmed
test image at reset) and verified, and its configuration checked. The pack ends on the new set or
on the old set, never on a mix.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from bmsflasher.core.errors import BmsFlasherError, JournalError, LinkError, ProtocolError
from bmsflasher.core.events import (
    EventSink,
    LogLevel,
    LogLine,
    Measurement,
    Progress,
    StepFinished,
    StepStarted,
    ThroughputMeter,
    discard,
)
from bmsflasher.core.i18n import joined, t
from bmsflasher.core.serialise import dtc_from_json, dtc_to_record_json, link_from_json, link_to_json
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion, LinkSettings
from bmsflasher.procedure import campaign_nodes as nodes
from bmsflasher.procedure.backup import RestoreResult
from bmsflasher.procedure.backup_prefetch import ConfigPrefetch
from bmsflasher.procedure.campaign_bus import SharedBusOpener, shared
from bmsflasher.procedure.campaign_checks import PACK_TIER, NodeObservation, evaluate_pack, failed_names
from bmsflasher.procedure.campaign_journal import (
    RESUME_ACTIONS,
    CampaignJournal,
    CampaignState,
    NodeEntry,
    Phase,
    ResumeAction,
    pack_id,
)
from bmsflasher.procedure.campaign_plan import (
    CampaignPlan,
    CampaignRefusedError,
    FoundNode,
    PlannedNode,
    ReleaseSet,
    plan_campaign,
)
from bmsflasher.procedure.campaign_result import CampaignResult, NodeOutcome
from bmsflasher.procedure.journal_binding import history_identity
from bmsflasher.procedure.profiles import DeviceProfile, profile_for_model
from bmsflasher.procedure.reboot import (
    BootOutcome,
    BootReport,
    package_pending,
    reset_device,
    running_confirmed,
    runs_package,
    wait_for_application,
)
from bmsflasher.procedure.selftest import SelfTestReport
from bmsflasher.procedure.states import State
from bmsflasher.records import PARENT_SESSION_DETAIL, BackupRecord, RecordsDb

SESSION_KIND = "campaign"
NODE_SESSION_KIND = "update"
PARENT_KEY = PARENT_SESSION_DETAIL
"""The child session's detail naming its campaign session (see records: a campaign's children)."""

Approval = Callable[[CampaignPlan], bool]
SinkFor = Callable[[str], EventSink]
_MAX_NODES_AT_ONCE: Final = 16
"""Node steps running side by side on one shared bus (a 1 + 2 + 12 pack: all of them)."""
_BUSY_NODES_AT_ONCE: Final = 2
"""Nodes that exchange requests back to back at once (no wait of their own between them), as a
configuration check does (the schema's long answer, then some twenty parameters). The host, not the
bus, sets their pace (one node alone already takes about 2 ms a request), so more at once buy no
speed: fifteen, or even four, at once had the long answers time out together and retry together
under load."""
_TURN_POLL_S: Final = 0.05
"""How often the campaign's thread looks whether a node's thread failed before its confirm."""
_Checked = tuple[RestoreResult | None, NodeObservation | BmsFlasherError]
"""A node's confirm-phase checks: its configuration check and its final pack reading (or failure)."""
_Item = TypeVar("_Item")
_R = TypeVar("_R")
_T = TypeVar("_T")


def _link_of(node: PlannedNode) -> LinkSettings:
    return node.link


@dataclass(frozen=True, slots=True)
class CampaignOptions:
    """How to run one campaign.

    Attributes:
        operator: who runs it (recorded).
        overrides: gate → reason, for the overridable gates only, on every node.
        journal_dir: where journals live (default: the user state folder).
        profile_for: the device profile of a node model (default: the shipped and user profiles).
        approve: asked once every node passed its gates, before the first write; None goes ahead.
        details: extra JSON-able facts recorded with the campaign session.
        share_adapter: open each CAN adapter once for the whole run (:mod:`.campaign_bus`); False
            opens it for every node step (slower; kept to measure the difference).
    """

    operator: str = ""
    overrides: Mapping[str, str] = field(default_factory=dict)
    journal_dir: Path | None = None
    profile_for: Callable[[str], DeviceProfile] = profile_for_model
    approve: Approval | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    share_adapter: bool = True


class _RevertSignalError(Exception):
    """Raised inside a phase when the pack must go back to its old set (carries why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TurnStoppedError(Exception):
    """A node's confirm thread told to stop before its turn (the campaign ended without it)."""


class _StopSignalError(Exception):
    """Ends the run with an outcome decided inside a phase (refused, cancelled)."""

    def __init__(self, outcome: State, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class Campaign:
    """Runs one campaign on one pack.

    Args:
        load_release: verifies the bundle and returns its release set (first; nothing else runs if
            it fails).
        discover: the links of the pack's nodes (one bus scan).
        opener: opens one node from its link (each CAN adapter is opened through it once per run,
            see :mod:`.campaign_bus`, unless ``options.share_adapter`` is False).
        records: the service history (one campaign session, one child session per node).
        sink: campaign-level events (phases, pack checks, log lines).
        sink_for: each node's events by serial (its steps and transfer progress).
    """

    def __init__(
        self,
        load_release: Callable[[], ReleaseSet],
        discover: Callable[[], Sequence[LinkSettings]],
        opener: nodes.NodeOpener,
        records: RecordsDb,
        *,
        sink: EventSink = discard,
        sink_for: SinkFor = lambda _serial: discard,
        options: CampaignOptions | None = None,
    ) -> None:
        self._load_release = load_release
        self._discover = discover
        self._db = records
        self._sink = sink
        self._sink_for = sink_for
        self._options = options or CampaignOptions()
        self._bus: SharedBusOpener | None = shared(opener) if self._options.share_adapter else None
        self._opener: nodes.NodeOpener = self._bus or opener
        self._plan: CampaignPlan | None = None
        self._journal: CampaignJournal | None = None
        self._pack_checks: tuple[Measurement, ...] = ()
        self._refusals: list[Measurement] = []
        self._node_detail: dict[str, str] = {}
        self._resumed = False
        self._failed_phase: Phase | None = None
        self._found: dict[str, LinkSettings] = {}
        self._config_reads: dict[str, ConfigPrefetch] = {}
        self._last_seen: dict[str, DeviceIdentity] = {}
        """Each node's identity as the last pack self-test read it."""
        self._read_back: dict[str, DeviceIdentity] = {}
        """Each node's identity read after the last write to it (the final pack check's): not asked again."""

    # --- the run -------------------------------------------------------------------------------
    @property
    def adapter_opens(self) -> int | None:
        """How many times this campaign opened a CAN adapter (None when each step opens its own)."""
        return self._bus.adapter_opens if self._bus is not None else None

    def run(self) -> CampaignResult:
        """Run the campaign to an end and return the result (errors become results too)."""
        try:
            return self._run()
        finally:
            if self._bus is not None:
                self._bus.close()

    def _run(self) -> CampaignResult:
        try:
            release = self._load_release()
            found = self._identify_all(self._discover())
            plan = plan_campaign(release, found)
        except CampaignRefusedError as exc:
            self._log(LogLevel.ERROR, exc.message)
            return CampaignResult(State.REFUSED, exc.message, None, None, error=exc)
        except BmsFlasherError as exc:
            self._log(LogLevel.ERROR, exc.message)
            return CampaignResult(State.FAILED, exc.message, None, None, error=exc)
        self._plan = plan
        done = all(
            runs_package(n.identity, n.release.package.facts) and running_confirmed(n.identity)
            for n in plan.nodes
        )
        if done and CampaignJournal.load(pack_id(plan.serials), self._options.journal_dir) is None:
            reason = t(
                "Every node already runs release set {release}, confirmed; nothing was written.",
                release=plan.release_set.name,
            )
            return CampaignResult(State.REFUSED, reason, pack_id(plan.serials), plan.release_set.name)
        try:
            journal = self._open_journal(plan)
        except BmsFlasherError as exc:
            return self._end(State.FAILED, exc.message, exc)
        self._journal = journal
        action = RESUME_ACTIONS[journal.state.phase] if self._resumed else ResumeAction.START_OVER
        try:
            phase = journal.state.phase
            if action is ResumeAction.REVERT:
                return self._revert(journal.state.reason or t("the previous run stopped before the confirm"))
            if action is ResumeAction.RESUME and phase is Phase.CONFIRM:
                return self._confirm_all()
            if action is ResumeAction.RESUME and phase is Phase.TRANSFER:
                self._regate()
            elif action is ResumeAction.START_OVER:
                self._prepare()
            else:
                raise JournalError(
                    t("the campaign journal cannot go on from phase '{phase}'", phase=phase.value)
                )
            self._transfer_all()
            self._test_boot_all()
            self._self_test_all()
            return self._confirm_all()
        except _StopSignalError as stop:
            return self._end(stop.outcome, stop.reason, None)
        except _RevertSignalError as revert:
            return self._revert(revert.reason)
        except BmsFlasherError as exc:
            return self._on_error(exc)

    def revert_unfinished(self, journal: CampaignJournal, found: Sequence[FoundNode] = ()) -> CampaignResult:
        """Return a pack with an unfinished campaign to its old set (``rollback --all``); no bundle needed.

        A campaign whose confirm phase began cannot be reverted this way (confirmed nodes raised
        their security counter): it is refused, and running the campaign again finishes it.
        """
        self._journal = journal
        self._resumed = True
        self._found = {node.identity.serial_number: node.link for node in found}
        if journal.state.phase is Phase.CONFIRM:
            return CampaignResult(
                State.REFUSED,
                t(
                    "The campaign on pack {pack} has begun confirming the new set; run the campaign again "
                    "to finish it.",
                    pack=journal.state.pack,
                ),
                journal.state.pack,
                None,
            )
        return self._revert(journal.state.reason or t("the operator asked to return the pack to its old set"))

    def _identify_all(self, links: Sequence[LinkSettings]) -> list[FoundNode]:
        """Every node's identity (read-only; side by side on a shared bus); a silent node raises."""
        return [
            FoundNode(link, identity)
            for link, identity in self._each(
                links, lambda link: link, lambda _link, target: target.identify()
            )
        ]

    def _on_error(self, exc: BmsFlasherError) -> CampaignResult:
        phase = self._state.phase
        self._failed_phase = self._failed_phase or phase
        self._log(LogLevel.ERROR, t("{step} failed: {error}", step=phase.value, error=exc.message))
        if phase is Phase.PREPARE:
            return self._end(State.FAILED, exc.message, exc)
        if phase is Phase.TRANSFER and isinstance(exc, LinkError | ProtocolError):
            # Nothing is marked yet: the old set runs everywhere, and the next run resumes the uploads.
            return self._end(State.FAILED, exc.message, exc, keep_journal=True)
        if phase is Phase.CONFIRM:
            return self._end(State.FAILED, exc.message, exc, keep_journal=True)
        return self._revert(t("the phase '{phase}' failed: {error}", phase=phase.value, error=exc.message))

    # --- journal and records ---------------------------------------------------------------------
    @property
    def _state(self) -> CampaignState:
        if self._journal is None:
            raise JournalError(t("no journal"))
        return self._journal.state

    @property
    def _j(self) -> CampaignJournal:
        if self._journal is None:
            raise JournalError(t("no journal"))
        return self._journal

    @property
    def _p(self) -> CampaignPlan:
        if self._plan is None:
            raise JournalError(t("no plan"))
        return self._plan

    def _open_journal(self, plan: CampaignPlan) -> CampaignJournal:
        pack = pack_id(plan.serials)
        folder = self._options.journal_dir
        existing = CampaignJournal.load(pack, folder)
        release = plan.release_set
        if existing is not None and existing.state.phase is not Phase.PREPARE:
            if existing.state.bundle_sha256 != release.sha256:
                raise JournalError(
                    t(
                        "an unfinished campaign of another release set is journalled for pack {pack}",
                        pack=pack,
                    ),
                    hint=t(
                        "Run that bundle again to finish it, or 'bmsflasher rollback --all' to return "
                        "the pack."
                    ),
                )
            if existing.state.history_db and existing.state.history_db != history_identity(self._db):
                raise JournalError(
                    t(
                        "the campaign journal of pack {pack} was written with another service history",
                        pack=pack,
                    ),
                    hint=t("Resume with --db {history}.", history=existing.state.history_db),
                )
            self._resumed = True
            self._log(
                LogLevel.WARNING,
                t(
                    "Pack {pack}: an interrupted campaign stopped in phase '{phase}'; the run goes on "
                    "from there.",
                    pack=pack,
                    phase=existing.state.phase.value,
                ),
            )
            return existing
        session = self._db.start_session(
            pack,
            SESSION_KIND,
            self._options.operator,
            release.sha256,
            {**self._options.details, "release": release.name, "nodes": list(plan.serials)},
        )
        entries = []
        for node in plan.nodes:
            self._db.upsert_device(node.identity)
            child = self._db.start_session(
                node.serial,
                NODE_SESSION_KIND,
                self._options.operator,
                node.release.package.facts.package_sha256,
                {PARENT_KEY: session, "pack": pack, "tier": node.tier, "link": node.link.describe()},
            )
            entries.append(
                NodeEntry(
                    serial=node.serial,
                    tier=node.tier,
                    link=link_to_json(node.link),
                    from_version=str(node.identity.firmware_version)
                    if node.identity.firmware_version
                    else None,
                    to_version=str(node.release.version),
                    package_sha256=node.release.package.facts.package_sha256,
                    session_id=child,
                )
            )
        state = CampaignState(
            pack=pack,
            bundle_sha256=release.sha256,
            phase=Phase.PREPARE,
            session_id=session,
            history_db=history_identity(self._db),
            nodes=tuple(entries),
        )
        return CampaignJournal.create(state, folder)

    def _node_step(self, serial: str, step: str, ok: bool | None, detail: str = "") -> None:
        entry = self._state.node(serial)
        if entry.session_id is not None:
            self._db.log_step(entry.session_id, step, ok, detail)
        sink = self._sink_for(serial)
        sink(StepStarted(step, step) if ok is None else StepFinished(step, ok, detail))

    def _node_measured(self, serial: str, measurement: Measurement) -> None:
        entry = self._state.node(serial)
        if entry.session_id is not None:
            self._db.log_measurement(entry.session_id, measurement)
        self._sink_for(serial)(measurement)

    def _log(self, level: LogLevel, message: str) -> None:
        self._sink(LogLine(level, message))

    def _begin_phase(self, phase: Phase, reason: str = "") -> None:
        self._j.enter(phase, reason)
        if self._state.session_id is not None:
            self._db.log_step(self._state.session_id, phase.value, None, reason)
        self._sink(StepStarted(phase.value, phase.value))

    def _end_phase(self, phase: Phase, ok: bool, detail: str = "") -> None:
        self._j.phase_finished(phase, ok, detail)
        if self._state.session_id is not None:
            self._db.log_step(self._state.session_id, phase.value, ok, detail)
        self._sink(StepFinished(phase.value, ok, detail))
        if not ok:
            self._failed_phase = self._failed_phase or phase

    def _profile(self, node: PlannedNode) -> DeviceProfile:
        return self._options.profile_for(node.identity.model)

    def _link(self, serial: str) -> LinkSettings:
        """How to reach a node now: as this run discovered it, else as the journal recorded it.

        A power cut or a re-plugged adapter re-enumerates its port (``/dev/ttyACM0`` becomes
        ``/dev/ttyACM1``): the journal's link is only a last resort.
        """
        if self._plan is not None:
            return self._plan.node(serial).link
        if serial in self._found:
            return self._found[serial]
        return link_from_json(self._state.node(serial).link)

    # --- side by side --------------------------------------------------------------------------
    def _side_by_side(self, links: Sequence[LinkSettings]) -> bool:
        """Whether node steps may run at once: every node on a CAN bus the campaign keeps open."""
        return self._bus is not None and len(links) > 1 and all(link.kind == "can" for link in links)

    def _each(
        self,
        items: Sequence[_Item],
        link_of: Callable[[_Item], LinkSettings],
        work: Callable[[_Item, Target], _R],
    ) -> Iterator[tuple[_Item, _R]]:
        """``work`` on each item's node (opened for it, closed after), results in the items' order.

        On a shared CAN bus every node's work runs at once, each in its own thread with its own
        target (a node's stability samples, reboot or balancing wait is its own time, not the bus's);
        otherwise one after another. Only the node work runs in the threads: the journal, the
        service history and the events stay in the caller's thread, which takes the results in
        order — the first failure (in that order) is raised where the sequential run would raise
        it, once every started node is done.
        """

        def job(item: _Item) -> _R:
            with nodes.opened(self._opener, link_of(item)) as target:
                return work(item, target)

        return self._run_each(items, [link_of(item) for item in items], job)

    def _each_or_error(
        self,
        items: Sequence[_Item],
        link_of: Callable[[_Item], LinkSettings],
        work: Callable[[_Item, Target], _R],
    ) -> Iterator[tuple[_Item, _R | BmsFlasherError]]:
        """:meth:`_each`, with a node's failure (opening it included) returned in its place."""

        def job(item: _Item) -> _R | BmsFlasherError:
            try:
                with nodes.opened(self._opener, link_of(item)) as target:
                    return work(item, target)
            except BmsFlasherError as exc:
                return exc

        return self._run_each(items, [link_of(item) for item in items], job)

    def _run_each(
        self, items: Sequence[_Item], links: Sequence[LinkSettings], job: Callable[[_Item], _T]
    ) -> Iterator[tuple[_Item, _T]]:
        if not self._side_by_side(links):
            for item in items:
                yield item, job(item)
            return
        workers = min(len(items), _MAX_NODES_AT_ONCE)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="campaign-node") as pool:
            futures = [(item, pool.submit(job, item)) for item in items]
            for item, future in futures:
                yield item, future.result()

    # --- phases --------------------------------------------------------------------------------
    def _gates(self) -> None:
        """Every node's gates; any refusal refuses the pack (nothing has been written).

        A node without a backup yet also has its configuration read twice in the gaps of its
        stability window (:class:`~.backup_prefetch.ConfigPrefetch`, as the single update does); the
        backup stores and compares those reads after the operator's approval, or reads again when
        they are stale or failed.
        """
        refusals: list[str] = []
        needs_backup = {n.serial for n in self._p.nodes if self._state.node(n.serial).backup_id is None}
        for node in self._p.nodes:
            self._node_step(node.serial, Phase.PREPARE.value, None)
        overrides = self._options.overrides

        def work(node: PlannedNode, target: Target) -> tuple[nodes.NodeGates, ConfigPrefetch | None]:
            profile = self._profile(node)
            identity = self._leave_bootloader(target, profile)
            prefetch = ConfigPrefetch(target) if node.serial in needs_backup else None
            background = prefetch.jobs() if prefetch is not None else ()
            package = node.release.package
            gates = nodes.measure_gates(target, package, profile, overrides, background, identity=identity)
            return gates, prefetch

        for node, (gates, prefetch) in self._each(self._p.nodes, _link_of, work):
            if prefetch is not None:
                self._config_reads[node.serial] = prefetch
            for measurement in gates.report.results:
                self._node_measured(node.serial, measurement)
            if not self._state.node(node.serial).dtcs_before:
                self._j.update_node(node.serial, dtcs_before=tuple(dtc_to_record_json(d) for d in gates.dtcs))
            ok = gates.report.passed
            self._node_step(node.serial, Phase.PREPARE.value, ok, "" if ok else gates.report.summary())
            if not ok:
                self._refusals.extend(gates.report.blocking)
                refusals.append(t("{serial}: {detail}", serial=node.serial, detail=gates.report.summary()))
                self._node_detail[node.serial] = gates.report.summary()
        if refusals:
            raise _StopSignalError(
                State.REFUSED, t("Refused before anything was written: {gates}.", gates=joined(refusals))
            )

    def _leave_bootloader(self, target: Target, profile: DeviceProfile) -> DeviceIdentity:
        """A node a killed run left in its programming session goes back to its application.

        Returns the node's identity now (its gates start from it rather than asking again).
        """
        identity = target.identify()
        if identity.mode is DeviceMode.BOOTLOADER:
            reset_device(target)
            identity = wait_for_application(target, profile.reboot)
        return identity

    def _prepare(self) -> None:
        self._begin_phase(Phase.PREPARE)
        self._gates()
        approve = self._options.approve
        if approve is not None and not approve(self._p):
            raise _StopSignalError(
                State.CANCELLED, t("The operator cancelled the campaign before anything was written.")
            )
        for node in self._p.nodes:
            if self._state.node(node.serial).backup_id is not None:
                continue
            self._node_step(node.serial, "backup", None)
            session = self._state.node(node.serial).session_id
            prefetch = self._config_reads.pop(node.serial, None)
            reads = prefetch.take() if prefetch is not None else None
            if reads is not None:
                record = nodes.store_backup(self._db, node.serial, session, reads)
            else:
                with nodes.opened(self._opener, node.link) as target:
                    record = nodes.backup(target, self._db, node.serial, session)
            self._j.update_node(node.serial, backup_id=record.id, backup_sha256=record.sha256)
            self._node_step(node.serial, "backup", True, t("backup {backup_id}", backup_id=record.id))
        self._end_phase(Phase.PREPARE, True)

    def _regate(self) -> None:
        """Resuming the transfer: the battery may have changed, so every gate is measured again."""
        self._gates()

    def _transfer_all(self) -> None:
        """Each node's image in tier order; a node's restart runs while the next one receives its image.

        The uploads share the bus, so they go one after another; the reset into the old application
        and the wait for it are the node's own time. On a shared CAN bus they run beside the next
        upload, and a node's transfer is journalled done once its restart finished (in tier order).
        """
        if self._state.phase is not Phase.TRANSFER:
            self._begin_phase(Phase.TRANSFER)
        todo = [node for node in self._p.nodes if "transfer" not in self._state.node(node.serial).done]
        overlap = self._side_by_side([node.link for node in todo])
        restarting: list[tuple[PlannedNode, Target, Future[DeviceIdentity]]] = []
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="campaign-restart") as pool:
            try:
                for node in todo:
                    self._node_step(node.serial, "transfer", None)
                    target = self._opener(node.link)
                    try:
                        self._upload(node, target)
                    except BaseException:
                        target.close()
                        raise
                    restarting.append((node, target, pool.submit(self._restart, node, target)))
                    if not overlap:
                        restarting[-1][2].result()
                    while restarting and restarting[0][2].done():
                        self._transfer_done(*restarting.pop(0))
                while restarting:
                    self._transfer_done(*restarting.pop(0))
            finally:
                for _node, waiting, future in restarting:
                    if future.cancel():  # never started: its node stays open otherwise
                        waiting.close()
        self._end_phase(Phase.TRANSFER, True)

    def _upload(self, node: PlannedNode, target: Target) -> None:
        sink = self._sink_for(node.serial)
        meter = ThroughputMeter()

        def on_progress(done: int, total: int) -> None:
            rate, eta = meter.update(done, total)
            sink(Progress("transfer", done, total, rate, eta))

        nodes.upload(target, node.release.package, self._profile(node), on_progress)

    def _restart(self, node: PlannedNode, target: Target) -> DeviceIdentity:
        with contextlib.closing(target):
            return nodes.restart(target, self._profile(node))

    def _transfer_done(self, node: PlannedNode, _target: Target, restart: Future[DeviceIdentity]) -> None:
        restart.result()  # raises the restart's error here, in the campaign's thread
        self._j.node_done(node.serial, "transfer")
        self._node_step(node.serial, "transfer", True)

    def _from_version(self, serial: str) -> FirmwareVersion | None:
        text = self._state.node(serial).from_version
        return FirmwareVersion.parse(text) if text else None

    def _test_boot_all(self) -> None:
        self._begin_phase(Phase.TEST_BOOT)
        for node in self._p.nodes:
            self._node_step(node.serial, "test_boot", None)
        before = {node.serial: self._from_version(node.serial) for node in self._p.nodes}

        def work(node: PlannedNode, target: Target) -> BootReport:
            return nodes.mark_and_boot(target, node.release.package, before[node.serial], self._profile(node))

        for node, report in self._each(self._p.nodes, _link_of, work):
            ok = report.outcome is BootOutcome.NEW_IMAGE
            self._node_step(node.serial, "test_boot", ok, report.describe())
            if not ok:
                self._node_detail[node.serial] = report.describe()
                self._end_phase(Phase.TEST_BOOT, False, report.describe())
                raise _RevertSignalError(
                    t("node {serial}: {boot}", serial=node.serial, boot=report.describe())
                )
            self._j.node_done(node.serial, "test_boot")
        self._end_phase(Phase.TEST_BOOT, True)

    def _self_test_all(self) -> None:
        self._begin_phase(Phase.SELF_TEST)
        failed: list[str] = []
        for node in self._p.nodes:
            self._node_step(node.serial, "self_test", None)
        before = {
            node.serial: tuple(dtc_from_json(d) for d in self._state.node(node.serial).dtcs_before)
            for node in self._p.nodes
        }

        def work(node: PlannedNode, target: Target) -> SelfTestReport:
            return nodes.node_self_test(
                target, self._profile(node), before[node.serial], pack_controller=node.tier == PACK_TIER
            )

        for node, report in self._each(self._p.nodes, _link_of, work):
            for measurement in report.results:
                self._node_measured(node.serial, measurement)
            self._node_step(
                node.serial, "self_test", report.passed, "" if report.passed else report.summary()
            )
            if not report.passed:
                self._node_detail[node.serial] = report.summary()
                failed.append(t("{serial}: {detail}", serial=node.serial, detail=report.summary()))
        if failed:
            self._end_phase(Phase.SELF_TEST, False, joined(failed))
            raise _RevertSignalError(t("the self-test failed on {nodes}", nodes=joined(failed)))
        checks = self._pack_self_test()
        if any(not m.passed for m in checks):
            detail = failed_names(checks)
            self._end_phase(Phase.SELF_TEST, False, detail)
            raise _RevertSignalError(t("the pack self-test failed: {checks}", checks=detail))
        self._end_phase(Phase.SELF_TEST, True)

    def _observe(
        self, node: PlannedNode, target: Target, identity: DeviceIdentity | None = None
    ) -> NodeObservation:
        """What the pack self-test needs of a node (its identity, telemetry and link counters).

        ``identity``: one read since the node's last write to its slots (the confirm's proof), else
        it is read now.
        """
        identity = identity or target.identify()
        telemetry = target.read_telemetry()
        counters = nodes.read_pack_link(target)
        return NodeObservation(node.serial, node.tier, node.release.version, identity, telemetry, counters)

    def _observe_or_error(
        self, node: PlannedNode, target: Target, identity: DeviceIdentity
    ) -> NodeObservation | BmsFlasherError:
        """:meth:`_observe`, with the node's failure returned in its place (as :meth:`_each_or_error`)."""
        try:
            return self._observe(node, target, identity)
        except BmsFlasherError as exc:
            return exc

    def _pack_self_test(
        self, seen: Mapping[str, NodeObservation | BmsFlasherError] | None = None
    ) -> tuple[Measurement, ...]:
        """The pack self-test over every node's reading: those in ``seen`` (just made), the rest read now."""
        given = dict(seen or {})
        unread = [node for node in self._p.nodes if node.serial not in given]
        for node, found in self._each_or_error(unread, _link_of, self._observe):
            given[node.serial] = found
        observations = []
        self._last_seen = {}
        for node in self._p.nodes:
            reading = given[node.serial]
            if isinstance(reading, NodeObservation):
                observations.append(reading)
                if reading.identity is not None:
                    self._last_seen[node.serial] = reading.identity
                continue
            if not isinstance(reading, LinkError | ProtocolError):
                raise reading
            self._log(LogLevel.ERROR, t("node {serial}: {error}", serial=node.serial, error=reading.message))
            observations.append(NodeObservation(node.serial, node.tier, node.release.version, None, None))
        checks = evaluate_pack(observations)
        self._pack_checks = checks
        session = self._state.session_id
        for measurement in checks:
            if session is not None:
                self._db.log_measurement(session, measurement)
            self._sink(measurement)
        return checks

    def _confirm_all(self) -> CampaignResult:
        """Each node confirmed, one after another in tier order; then every configuration checked.

        The confirms stay one at a time (each is journalled before the next node is touched, so a
        cut here leaves a clear line between confirmed and not-yet-confirmed nodes); the
        configuration checks, read-only unless a parameter differs, run side by side, and so do
        the final pack check's reads of each node.
        """
        if self._state.phase is not Phase.CONFIRM:
            self._begin_phase(Phase.CONFIRM)
        todo = [node for node in self._p.nodes if "confirm" not in self._state.node(node.serial).done]
        seen: dict[str, NodeObservation | BmsFlasherError] = {}
        if self._side_by_side([node.link for node in todo]):
            checked = {node.serial for node in todo}
            self._check_configs([node.serial for node in self._p.nodes if node.serial not in checked])
            seen = self._confirm_in_turn(todo)
        else:
            for node in todo:
                self._node_step(node.serial, "confirm", None)
                with nodes.opened(self._opener, node.link) as target:
                    identity, rearmed = self._rearm_if_reverted(target, node, self._profile(node))
                    self._log_rearmed(node, rearmed)
                    identity = nodes.confirm_from(target, node.release.package, identity)
                self._confirmed(node, identity)
            self._check_configs([node.serial for node in self._p.nodes])
        checks = self._pack_self_test(seen)
        self._read_back = dict(self._last_seen)  # each node read after its last write: its final state
        if any(not m.passed for m in checks):
            detail = failed_names(checks)
            self._end_phase(Phase.CONFIRM, False, detail)
            return self._end(
                State.FAILED,
                t("The pack was confirmed but its final check failed: {checks}.", checks=detail),
                None,
                keep_journal=True,
            )
        self._end_phase(Phase.CONFIRM, True)
        return self._end(
            State.UPDATED,
            t(
                "Every node of pack {pack} runs release set {release}, confirmed.",
                pack=self._state.pack,
                release=self._p.release_set.name,
            ),
            None,
        )

    def _confirm_in_turn(self, todo: Sequence[PlannedNode]) -> dict[str, NodeObservation | BmsFlasherError]:
        """The confirms on a shared bus: every node made ready at once, then confirmed in its turn.

        Each node's thread opens it, reads its identity (re-arming a node a power cut reverted)
        and then waits for its turn; the campaign's thread gives the turns in tier order and
        journals each confirm before giving the next, so the line between confirmed and unconfirmed
        nodes is exactly where a cut finds it. After its confirm a node's thread checks its
        configuration against its backup while the next nodes are confirmed, and once every node is
        confirmed it reads what the final pack check needs (telemetry, link counters; its identity
        is the one its confirm was proven with); both :data:`_BUSY_NODES_AT_ONCE` nodes at a time,
        so the turns keep most of the host. A stop (a failure, a kill) ends every waiting thread without
        confirming its node. Returns each node's final reading (or why it failed).
        """
        records = {node.serial: self._backup_of(node.serial) for node in todo}
        before = {node.serial: self._from_version(node.serial) for node in todo}  # the journal stays here
        turns = {node.serial: threading.Event() for node in todo}
        confirmed: dict[str, tuple[DeviceIdentity, FirmwareVersion | None]] = {}
        done = {node.serial: threading.Event() for node in todo}
        every_node_confirmed = threading.Event()
        stop = threading.Event()
        busy = threading.BoundedSemaphore(_BUSY_NODES_AT_ONCE)

        def work(node: PlannedNode, target: Target) -> _Checked:
            identity, rearmed = self._rearm_if_reverted(
                target, node, self._profile(node), before[node.serial]
            )
            turns[node.serial].wait()
            if stop.is_set():
                raise _TurnStoppedError  # only ever raised after the campaign's thread stopped reading
            proof = nodes.confirm_from(target, node.release.package, identity)
            confirmed[node.serial] = (proof, rearmed)
            done[node.serial].set()
            record = records[node.serial]
            with busy:
                result = nodes.check_config(target, record) if record is not None else None
            every_node_confirmed.wait()
            if stop.is_set():
                raise _TurnStoppedError
            with busy:
                return result, self._observe_or_error(node, target, proof)

        def job(node: PlannedNode) -> _Checked:
            with nodes.opened(self._opener, node.link) as target:
                return work(node, target)

        with ThreadPoolExecutor(max_workers=min(len(todo), _MAX_NODES_AT_ONCE)) as pool:
            futures = [(node, pool.submit(job, node)) for node in todo]
            try:
                for node, future in futures:
                    self._node_step(node.serial, "confirm", None)
                    turns[node.serial].set()
                    while not done[node.serial].wait(_TURN_POLL_S):
                        if future.done():
                            future.result()  # failed before its confirm: raised here
                    identity, rearmed = confirmed[node.serial]
                    self._log_rearmed(node, rearmed)
                    self._confirmed(node, identity)
            except BaseException:
                stop.set()
                raise
            finally:
                for turn in turns.values():
                    turn.set()
                every_node_confirmed.set()
            seen: dict[str, NodeObservation | BmsFlasherError] = {}
            for node, future in futures:
                result, seen[node.serial] = future.result()
                if result is not None:
                    self._config_checked(node.serial, result)
        return seen

    def _confirmed(self, node: PlannedNode, identity: DeviceIdentity) -> None:
        self._j.node_done(node.serial, "confirm")
        self._node_step(node.serial, "confirm", True, str(identity.firmware_version))

    def _log_rearmed(self, node: PlannedNode, came_back_on: FirmwareVersion | None) -> None:
        if came_back_on is not None:
            self._log(
                LogLevel.WARNING,
                t(
                    "Node {serial} came back on {version}; booting the release's image again.",
                    serial=node.serial,
                    version=came_back_on,
                ),
            )

    def _rearm_if_reverted(
        self,
        target: Target,
        node: PlannedNode,
        profile: DeviceProfile,
        from_version: FirmwareVersion | None = None,
    ) -> tuple[DeviceIdentity, FirmwareVersion | None]:
        """A power cut in the confirm phase reverted the nodes not yet confirmed: boot the new image again.

        The image still sits in the secondary slot (the upload resumes to its end at once); the
        decision to confirm was taken when every node and the pack had passed. Returns the node's
        identity now, and the version it had come back on when it was re-armed (else None).
        """
        identity = target.identify()
        package = node.release.package
        if identity.firmware_version == package.facts.version:
            return identity, None
        came_back_on = identity.firmware_version
        before = from_version if from_version is not None else self._from_version(node.serial)
        if package_pending(identity, package.facts):
            report = nodes.test_boot(target, package, before, profile)
        else:
            nodes.transfer(target, package, profile, lambda _done, _total: None)
            report = nodes.mark_and_boot(target, package, before, profile)
        if report.outcome is not BootOutcome.NEW_IMAGE:
            raise BmsFlasherError(t("node {serial}: {boot}", serial=node.serial, boot=report.describe()))
        return report.identity, came_back_on

    def _backup_of(self, serial: str) -> BackupRecord | None:
        """The backup the campaign took of ``serial`` (checked against the journal), None without one."""
        entry = self._state.node(serial)
        if entry.backup_id is None:
            return None
        record = self._db.get_backup(entry.backup_id)
        if record.sha256 != entry.backup_sha256 or record.serial != serial:
            raise JournalError(
                t("the backup of node {serial} differs from the one the campaign took", serial=serial)
            )
        return record

    def _config_checked(self, serial: str, result: RestoreResult) -> None:
        detail = ", ".join(result.written) if result.written else t("matches the backup")
        self._node_step(serial, "config_check", True, detail)

    def _check_config(self, target: Target, serial: str) -> None:
        record = self._backup_of(serial)
        if record is not None:
            self._config_checked(serial, nodes.check_config(target, record))

    def _check_configs(self, serials: Sequence[str]) -> None:
        """Each node's configuration against its backup (side by side on a shared bus)."""
        records = {serial: record for serial in serials if (record := self._backup_of(serial)) is not None}
        checked = [node for node in self._p.nodes if node.serial in records]

        def work(node: PlannedNode, target: Target) -> RestoreResult:
            return nodes.check_config(target, records[node.serial])

        for node, result in self._each(checked, _link_of, work):
            self._config_checked(node.serial, result)

    # --- revert ----------------------------------------------------------------------------------
    def _revert(self, reason: str) -> CampaignResult:
        """Every node back on its confirmed old image, last-updated first, and verified."""
        self._failed_phase = self._failed_phase or self._state.phase
        self._log(
            LogLevel.WARNING, t("Reverting pack {pack}: {reason}.", pack=self._state.pack, reason=reason)
        )
        self._begin_phase(Phase.REVERT, reason)
        try:
            for node in reversed(self._state.nodes):
                self._revert_node(node)
        except BmsFlasherError as exc:
            self._end_phase(Phase.REVERT, False, exc.message)
            return self._end(
                State.FAILED,
                t(
                    "The pack could not be reverted: {error}. Run the campaign or 'rollback --all' again.",
                    error=exc.message,
                ),
                exc,
                keep_journal=True,
            )
        self._end_phase(Phase.REVERT, True)
        return self._end(
            State.ROLLED_BACK,
            t(
                "Every node of pack {pack} runs its previous firmware again: {reason}.",
                pack=self._state.pack,
                reason=reason,
            ),
            None,
        )

    def _revert_node(self, entry: NodeEntry) -> None:
        if "revert" in entry.done:
            return
        self._node_step(entry.serial, "revert", None)
        if entry.from_version is None:
            raise JournalError(
                t("the firmware of node {serial} before the campaign is unknown", serial=entry.serial)
            )
        expected = FirmwareVersion.parse(entry.from_version)
        with nodes.opened(self._opener, self._link(entry.serial)) as target:
            identity = target.identify()
            profile = self._options.profile_for(identity.model)
            if any(slot.pending and not slot.active for slot in identity.slots):
                # Marked but not yet booted: boot it once so the bootloader forgets it (reverts at reset).
                reset_device(target)
                wait_for_application(target, profile.reboot)
            report = nodes.revert(target, expected, profile)
            if not running_confirmed(report.identity):
                raise JournalError(t("node {serial} is not confirmed after the revert", serial=entry.serial))
            for action in report.actions:
                self._log(LogLevel.INFO, t("{serial}: {detail}", serial=entry.serial, detail=action))
            self._j.node_done(entry.serial, "revert")
            self._node_step(entry.serial, "revert", True, " ".join(report.actions))
            self._check_config(target, entry.serial)

    # --- the end ---------------------------------------------------------------------------------
    def _end(
        self, outcome: State, reason: str, error: BmsFlasherError | None, *, keep_journal: bool = False
    ) -> CampaignResult:
        journal = self._journal
        outcomes = self._node_outcomes(outcome) if journal is not None else ()
        if journal is not None:
            state = journal.state
            for node in outcomes:
                if node.session_id is not None:
                    self._db.finish_session(
                        node.session_id, node.state, node.from_version, node.running_version
                    )
            if state.session_id is not None:
                self._db.finish_session(state.session_id, outcome.value, None, self._release_name())
            if keep_journal:
                self._log(
                    LogLevel.WARNING,
                    t("The journal {path} is kept: run the campaign again.", path=journal.path),
                )
            else:
                journal.remove()
        self._log(LogLevel.INFO if outcome is State.UPDATED else LogLevel.ERROR, reason)
        return CampaignResult(
            outcome=outcome,
            reason=reason,
            pack=journal.state.pack if journal else None,
            release=self._release_name() if journal else None,
            nodes=outcomes,
            failed_phase=self._failed_phase,
            pack_checks=self._pack_checks,
            refusals=tuple(self._refusals),
            session_id=journal.state.session_id if journal else None,
            resumed=self._resumed,
            error=error,
        )

    def _release_name(self) -> str:
        """The set's name; a revert without the bundle (``rollback --all``) names it by its hash."""
        return self._plan.release_set.name if self._plan else self._state.bundle_sha256[:12]

    def _node_outcomes(self, outcome: State) -> tuple[NodeOutcome, ...]:
        """Each node as it is now (read back, side by side on a shared bus), named after the outcome."""
        result = []

        def read(entry: NodeEntry) -> LinkSettings:
            return self._link(entry.serial)

        unread = [entry for entry in self._state.nodes if entry.serial not in self._read_back]
        now: dict[str, DeviceIdentity | BmsFlasherError] = {
            entry.serial: seen
            for entry, seen in self._each_or_error(unread, read, lambda _entry, target: target.identify())
        }
        for entry in self._state.nodes:
            seen = self._read_back.get(entry.serial) or now[entry.serial]
            running: str | None = None
            confirmed: bool | None = None
            model = ""
            if isinstance(seen, BmsFlasherError):
                self._node_detail.setdefault(entry.serial, seen.message)
            else:
                model = seen.model
                running = str(seen.firmware_version) if seen.firmware_version else None
                confirmed = running_confirmed(seen)
            if outcome in (State.UPDATED, State.ROLLED_BACK):
                state = outcome.value
            elif outcome in (State.REFUSED, State.CANCELLED):
                state = "untouched" if outcome is State.CANCELLED else outcome.value
            else:
                state = State.FAILED.value
            result.append(
                NodeOutcome(
                    serial=entry.serial,
                    tier=entry.tier,
                    model=model,
                    from_version=entry.from_version,
                    to_version=entry.to_version,
                    running_version=running,
                    confirmed=confirmed,
                    state=state,
                    detail=self._node_detail.get(entry.serial, ""),
                    session_id=entry.session_id,
                )
            )
        return tuple(result)


def run_campaign(
    load_release: Callable[[], ReleaseSet],
    discover: Callable[[], Sequence[LinkSettings]],
    opener: nodes.NodeOpener,
    records: RecordsDb,
    *,
    sink: EventSink = discard,
    sink_for: SinkFor = lambda _serial: discard,
    options: CampaignOptions | None = None,
) -> CampaignResult:
    """Run one campaign (convenience wrapper over :class:`Campaign`)."""
    return Campaign(
        load_release, discover, opener, records, sink=sink, sink_for=sink_for, options=options
    ).run()
