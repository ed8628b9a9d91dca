"""The GUI's one doorway into the engine (discovery, procedure, firmware, records).

Every engine call the GUI makes goes through :class:`Engine`, always from a worker thread. Keeping
them in one small module means the AppModel and the pages depend on a handful of GUI-shaped results
(:class:`PackageCheck`, :class:`UpdateOutcome`) rather than on every engine module's details.
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from bmsflasher.canbus.broadcast_target import PROTOCOL as BROADCAST_PROTOCOL
from bmsflasher.canbus.broadcast_target import BroadcastTarget, read_only_reason
from bmsflasher.canbus.bus_recorder import BusRecording, RotatingBusLog
from bmsflasher.core.config_schema import ConfigSchema, ParameterSpec
from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    MalformedResponseError,
    PackageError,
    ProtocolError,
    UnsupportedOperationError,
)
from bmsflasher.core.events import EventSink, Measurement
from bmsflasher.core.target import Target
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceSelfTest,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
)
from bmsflasher.discovery.can_probe import CanProbeSettings
from bmsflasher.discovery.driver_guidance import DriverGuidance
from bmsflasher.discovery.pack_cell_stream import PackCellStream
from bmsflasher.discovery.pack_nodes import discover_pack_nodes, require_nodes
from bmsflasher.discovery.results import ScanResult
from bmsflasher.discovery.scanner import ScanRequest, scan
from bmsflasher.discovery.serial_probe import SerialProbeSettings
from bmsflasher.firmware.keys import Keyring
from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.procedure import config_service, preconditions
from bmsflasher.procedure.campaign import Campaign, CampaignOptions
from bmsflasher.procedure.campaign_bundle import node_link, pack_links, release_loader
from bmsflasher.procedure.campaign_plan import CampaignPlan
from bmsflasher.procedure.campaign_result import CampaignResult, NodeOutcome
from bmsflasher.procedure.campaign_rollback import rollback_pack
from bmsflasher.procedure.compatibility import DeviceDescription
from bmsflasher.procedure.connect import open_target
from bmsflasher.procedure.engine import UpdateOptions as ProcedureOptions
from bmsflasher.procedure.engine import UpdateProcedure
from bmsflasher.procedure.package_check import PackageVerdict, check_package_file
from bmsflasher.procedure.package_loading import UpdatePackage, build_keyring, load_package
from bmsflasher.procedure.recovery import recover_recorded
from bmsflasher.procedure.recovery_checks import DeclaredIdentity
from bmsflasher.procedure.results import UpdateResult
from bmsflasher.procedure.rollback import (
    RollbackBlocker,
    manual_rollback_recorded,
    rollback_blocker,
)
from bmsflasher.procedure.troubleshooting import Advice, FailureKind, advice, kind_for_error
from bmsflasher.records import BackupRecord, RecordsDb, SessionDetail, SessionRecord
from bmsflasher.records.report_files import (
    BUS_LOG_KEEP,
    BUS_LOG_MAX_BYTES,
    default_reports_dir,
    report_format_for,
    session_bus_logs,
    session_files_dir,
)

__all__ = [
    "Advice",
    "BackupRecord",
    "BusModule",
    "BusReading",
    "CampaignApproval",
    "CampaignOutcome",
    "ConfigSchema",
    "DriverGuidance",
    "Engine",
    "FailureKind",
    "NodeOutcome",
    "PackCellStream",
    "PackCellsLink",
    "PackNodeInfo",
    "PackageCheck",
    "ParameterRule",
    "RackLink",
    "RollbackBlocker",
    "ScanResult",
    "SessionDetail",
    "SessionRecord",
    "TrustStatus",
    "UpdateOptions",
    "UpdateOutcome",
    "rollback_blocker",
    "troubleshooting_advice",
]
"""Types the pages may use: they reach the lower layers only through this module (an import contract)."""

FRONT_END: Final = "gui"
"""Recorded in every service session the GUI starts, so History tells the front-ends apart."""

BUS_ANSWER_TIMEOUT_S: Final = 0.3
"""How long one Modbus address may stay silent while the bus is read: a module answers in milliseconds."""
BUS_READ_DEADLINE_S: Final = 60.0
"""The whole read of an address range ends by then, whatever the line does."""


@dataclass(frozen=True, slots=True)
class BusModule:
    """One module that answered at its address: the link that reaches it again, and who it is."""

    address: int
    link: LinkSettings
    identity: DeviceIdentity


@dataclass(frozen=True, slots=True)
class BusReading:
    """What a read of an address range found; ``complete`` is False when the deadline cut it short."""

    modules: tuple[BusModule, ...]
    asked: int
    complete: bool
    elapsed_s: float


def read_bus(
    link: LinkSettings,
    addresses: Sequence[int],
    on_progress: Callable[[int, int], None] | None = None,
    *,
    answer_timeout_s: float = BUS_ANSWER_TIMEOUT_S,
    deadline_s: float = BUS_READ_DEADLINE_S,
) -> BusReading:
    """Ask every address on one Modbus line or gateway who it is, one after another.

    A silent, refusing or garbled address is simply not listed (a multi-drop bus has gaps); a line
    that cannot be opened at all ends the read with its own error. ``on_progress(done, total)`` is
    called after each address, so a long range shows how far it got.
    """
    started = time.monotonic()
    found: list[BusModule] = []
    asked = 0
    for address in addresses:
        if time.monotonic() - started > deadline_s:
            break
        module_link = dataclasses.replace(link, address=address)
        asked += 1
        try:
            target = open_target(module_link, timeout_s=answer_timeout_s)
            try:
                found.append(BusModule(address, module_link, target.identify()))
            finally:
                target.close()
        except ProtocolError:
            pass  # nobody, or nobody sane, at this address
        if on_progress is not None:
            on_progress(asked, len(addresses))
    return BusReading(tuple(found), asked, asked == len(addresses), time.monotonic() - started)


class RackLink:
    """One open Modbus line (RS485 port or gateway socket) and one target per module on it.

    The modules of a rack share one pair of wires, so they share one open port: each module's
    target talks over it in turn, from the one thread that owns this object (the rack worker).
    Nothing is reopened or retried beyond the client's own tries, so a silent module costs one
    bounded wait per sweep and the others keep coming.
    """

    def __init__(self, link: LinkSettings, addresses: Sequence[int]) -> None:
        module = importlib.import_module("bmsflasher.protocols.modbus.target")
        self.link = link
        self.addresses = tuple(addresses)
        self._port = module.open_link(link)
        self._targets: dict[int, Target] = {
            address: module.ModbusTarget(
                self._port, dataclasses.replace(link, address=address), reconnect_timeout_s=0
            )
            for address in self.addresses
        }

    def telemetry(self, address: int) -> PackTelemetry:
        """One live sample of the module at ``address``; the client's errors say why there is none."""
        return self._targets[address].read_telemetry()

    def close(self) -> None:
        self._port.close()


@dataclass(frozen=True, slots=True)
class PackNodeInfo:
    """One node of a multi-node pack as the pack view lists it (its tier, then who it is)."""

    tier: str
    address: int
    model: str
    serial: str
    version: str
    hardware_revision: str
    mode: str
    link: LinkSettings


@dataclass(frozen=True, slots=True)
class CampaignApproval:
    """What the campaign wizard shows once every node passed its gates, before the first write."""

    release: str
    nodes: tuple[tuple[str, str, str, str, str], ...]
    """(serial, tier, model, from version, to version) in update order."""


@dataclass(frozen=True, slots=True)
class CampaignOutcome:
    """How a pack campaign (or a pack rollback) ended, for the campaign wizard's rows.

    ``result`` is the campaign's own end (``updated``, ``rolled_back``, ``refused``, ``cancelled``,
    ``failed``); ``nodes`` holds each node as read back at the end.
    """

    result: str
    message: str
    hint: str = ""
    pack: str = ""
    release: str = ""
    session_id: int | None = None
    nodes: tuple[NodeOutcome, ...] = ()
    pack_checks: tuple[Measurement, ...] = ()
    refusals: tuple[Measurement, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result == "updated"

    @classmethod
    def of(cls, result: CampaignResult) -> CampaignOutcome:
        error = result.error
        return cls(
            result=result.outcome.value,
            message=result.reason,
            hint=(error.hint or "") if error is not None else "",
            pack=result.pack or "",
            release=result.release or "",
            session_id=result.session_id,
            nodes=result.nodes,
            pack_checks=result.pack_checks,
            refusals=result.refusals,
        )


class PackCellsLink:
    """One open CAN adapter for the pack's live cells, and the BMUs to watch on it.

    :meth:`watch` listens for the cell frames the BMUs send on their own (10 Hz for any pack
    size: :mod:`bmsflasher.discovery.pack_cell_stream`) and asks over UDS only a BMU that sends
    none, one node's client at a time (each client's transport reads the shared adapter).
    """

    def __init__(self, bus: LinkSettings, addresses: Sequence[int]) -> None:
        self.addresses = tuple(addresses)
        self._tester = bus.tester_address
        self._link = CanLink.open(CanLinkConfig.from_settings(bus))

    def watch(
        self,
        on_sample: Callable[[int, PackTelemetry], None],
        on_silent: Callable[[int, BmsFlasherError], None],
    ) -> PackCellStream:
        """Start listening; the stream owns the adapter from now on and closes it when stopped."""
        return PackCellStream(self._link, self.addresses, on_sample, on_silent, tester_address=self._tester)

    def close(self) -> None:
        """Release the adapter when :meth:`watch` was never called (the stream closes it otherwise)."""
        self._link.close()


OutcomeKind = Literal["updated", "rolled_back", "refused", "cancelled", "failed"]


def troubleshooting_advice(kind: FailureKind | str) -> Advice | None:
    """The troubleshooting row for a failure kind, in English (the GUI translates it); None if unknown."""
    try:
        return advice(FailureKind(kind))
    except (ValueError, BmsFlasherError):
        return None


@dataclass(frozen=True, slots=True)
class PackageCheck:
    """A package as verified for the connected device: the wizard's second page shows this.

    Attributes:
        path: the package file.
        ok: True when signature, hash and compatibility all passed.
        checks: each check with its value, limit and pass/fail (signature, hash, model, ...).
        version: firmware version inside, when the package could be read.
        model: model it was released for.
        signer: which trusted key signed it.
        release_notes: the manufacturer's notes.
        message: why a package that could not be read or verified was refused (one sentence); ""
            when it was verified (the failed ``checks`` say why it does not fit this device).
        hint: what to do about it.
        failure_kind: the troubleshooting row that applies, None if none.
        package: the verified package, handed back to the procedure (None when refused on the host).
    """

    path: Path
    ok: bool
    checks: tuple[Measurement, ...] = ()
    version: str = ""
    model: str = ""
    hardware_revisions: tuple[str, ...] = ()
    security_counter: int = 0
    signer: str = ""
    release_notes: str = ""
    message: str = ""
    hint: str = ""
    failure_kind: FailureKind | None = None
    package: UpdatePackage | None = None


def package_check_of(verdict: PackageVerdict) -> PackageCheck:
    """The wizard's view of the shared package verdict."""
    error = verdict.error
    verified = verdict.verified
    if verified is None:
        return PackageCheck(
            verdict.path,
            ok=False,
            checks=verdict.checks,
            message=error.message if error is not None else "",
            hint=(error.hint or "") if error is not None else "",
            failure_kind=kind_for_error(error) if error is not None else None,
        )
    manifest = verified.manifest
    signer = verified.manifest_signer
    return PackageCheck(
        verdict.path,
        ok=verdict.ok,
        checks=verdict.checks,
        version=str(manifest.version),
        model=manifest.model,
        hardware_revisions=tuple(manifest.hardware_revisions),
        security_counter=manifest.security_counter,
        signer=f"{signer.key_id[:16]} ({Path(signer.source).name})",
        release_notes=manifest.release_notes,
        message="",  # the failed checks say why, each in the technician's language (verify page)
        failure_kind=kind_for_error(error) if error is not None else None,
        package=verdict.package,
    )


@dataclass(frozen=True, slots=True)
class TrustStatus:
    """The keys packages are checked against, as the update wizard's package page shows them.

    Attributes:
        keys: one line per trusted key in use (id prefix, type, file), engine sentences.
        warnings: what the technician must know about them (a public demo key trusted outside a
            demo), engine sentences.
        problem: why no keyring could be built (no key at all, a private key, an unsafe folder);
            "" when it was.
        hint: what to do about ``problem``.
    """

    keys: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    problem: str = ""
    hint: str = ""


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    """What the technician decided in the wizard before the transfer starts."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    """Overridable gate name → the reason the technician typed (recorded in the history)."""
    operator: str = ""
    reference_pack_voltage_mv: int | None = None


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """How an update (or rollback) ended, for the wizard's result and failure pages."""

    result: OutcomeKind
    message: str = ""
    hint: str = ""
    failure_kind: FailureKind | None = None
    failed_step: str = ""
    identity: DeviceIdentity | None = None
    session_id: int | None = None
    backup_id: int | None = None
    from_version: str = ""
    to_version: str = ""
    self_test: tuple[Measurement, ...] = ()
    preconditions: tuple[Measurement, ...] = ()
    device_self_test: DeviceSelfTest | None = None

    @property
    def ok(self) -> bool:
        return self.result == "updated"

    @classmethod
    def from_error(cls, error: BaseException) -> UpdateOutcome:
        """An outcome for a procedure that stopped with an exception."""
        if isinstance(error, BmsFlasherError):
            return cls(result="failed", message=error.message, hint=error.hint or "")
        return cls(result="failed", message=f"{type(error).__name__}: {error}")


ParameterRule = ParameterSpec
"""What the device says one configuration parameter accepts (the pages' name for a schema entry)."""


class Engine:
    """Engine calls with the GUI's defaults (records database, trusted keys, journal, operator).

    Args:
        db_path: the service history; None for the user's default one.
        trusted_keys: public key files trusted for packages on top of the user's keyring.
        keys_dir: the user's keyring folder; None for the default (``<config>/trusted-keys``).
        journal_dir: where update journals live; None for the default.
        demo: the GUI runs a demo (``gui --demo``): trusting the public demo key is expected and
            not warned about; anywhere else it is.
    """

    def __init__(
        self,
        db_path: Path | None = None,
        trusted_keys: Sequence[Path] = (),
        *,
        keys_dir: Path | None = None,
        journal_dir: Path | None = None,
        demo: bool = False,
    ) -> None:
        self.db_path = db_path
        self.demo = demo
        self.trusted_keys = tuple(trusted_keys)
        self.keys_dir = keys_dir
        self.journal_dir = journal_dir
        self.report_language = "en"
        self.operator = ""
        """The technician's name, recorded in every session the GUI starts."""
        self.scan_timeout_s = 10.0
        self.scan_answer_timeout_s = SerialProbeSettings().attempt_timeout_s
        self.record_bus_during_updates = False
        """Record the CAN adapter's frames while an update runs (diagnostics page), kept with the session."""
        self.bus_logs_dir: Path | None = None
        """Where session bus logs go (None: the reports folder)."""
        self._db: RecordsDb | None = None
        self._db_lock = threading.Lock()

    def records(self) -> RecordsDb:
        """The history database, opened on first use and shared (it is thread-safe)."""
        with self._db_lock:
            if self._db is None:
                self._db = RecordsDb.open(self.db_path)
            return self._db

    def close(self) -> None:
        with self._db_lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # --- discovery and connection ---------------------------------------------------------------
    def scan(self, extra_ports: Sequence[str]) -> ScanResult:
        """Scan every adapter (and the ports the technician typed), bounded by ``scan_timeout_s``."""
        request = ScanRequest(
            ports=tuple(extra_ports),
            enumerate=True,
            timeout_s=self.scan_timeout_s,
            serial=SerialProbeSettings(attempt_timeout_s=self.scan_answer_timeout_s),
            can=CanProbeSettings(response_window_s=self.scan_answer_timeout_s),
        )
        return scan(request.validated())

    def open_target(self, link: LinkSettings) -> Target:
        return open_target(link)

    def open_broadcast_target(self, link: LinkSettings, dbc: Path, signal_map: Path) -> Target:
        """A CAN BMS watched through its broadcasts, decoded with ``dbc`` and ``signal_map`` (read-only)."""
        return BroadcastTarget.open(link, dbc, signal_map)

    @staticmethod
    def read_only_reason(target: Target | None) -> str | None:
        """Why pages that write or ask the device are unavailable for ``target`` (None: they are not)."""
        return read_only_reason() if target is not None and target.protocol == BROADCAST_PROTOCOL else None

    def open_rack(self, link: LinkSettings, addresses: Sequence[int]) -> RackLink:
        """Open ``link``'s Modbus line once for live data of every module at ``addresses``."""
        return RackLink(link, addresses)

    def read_bus(
        self,
        link: LinkSettings,
        addresses: Sequence[int],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> BusReading:
        """The modules answering on ``link``'s Modbus line or gateway (see :func:`read_bus`)."""
        return read_bus(link, addresses, on_progress)

    # --- a multi-node pack (BCU, BMCs, BMUs on one CAN bus) ---------------------------------------
    def read_pack(self, bus: LinkSettings) -> tuple[PackNodeInfo, ...]:
        """Every node of the pack on ``bus`` (one functional TesterPresent, then each identity).

        Raises:
            NoResponseError: no pack node answered (the sentence ``info --all`` prints too).
        """
        found = require_nodes(
            discover_pack_nodes(CanLinkConfig.from_settings(bus), tester_address=bus.tester_address),
            bus.describe(),
        )
        return tuple(
            PackNodeInfo(
                tier=str(node.tier),
                address=node.address,
                model=node.model,
                serial=node.serial,
                version=str(node.version) if node.version else "",
                hardware_revision=node.hardware_revision,
                mode=node.mode.value,
                link=node_link(bus, node),
            )
            for node in found
        )

    def open_pack_cells(self, bus: LinkSettings, addresses: Sequence[int]) -> PackCellsLink:
        """Open ``bus`` once for live data of the pack nodes at ``addresses``."""
        return PackCellsLink(bus, addresses)

    def _campaign_options(
        self, approve: Callable[[CampaignApproval], bool] | None, bus: LinkSettings, bundle: str
    ) -> CampaignOptions:
        def asked(plan: CampaignPlan) -> bool:
            assert approve is not None
            rows = tuple(
                (
                    node.serial,
                    node.tier,
                    node.identity.model,
                    str(node.identity.firmware_version or ""),
                    str(node.release.version),
                )
                for node in plan.nodes
            )
            return approve(CampaignApproval(plan.release_set.name, rows))

        return CampaignOptions(
            operator=self.operator,
            journal_dir=self.journal_dir,
            approve=asked if approve is not None else None,
            details={"bundle_file": bundle, "link": bus.describe(), "front_end": FRONT_END},
        )

    def run_campaign(
        self,
        bus: LinkSettings,
        bundle_path: Path,
        sink: EventSink,
        sink_for: Callable[[str], EventSink],
        approve: Callable[[CampaignApproval], bool] | None,
    ) -> CampaignOutcome:
        """The pack campaign of ``bmsflasher campaign`` (same procedure, records and journal).

        ``approve`` is asked (from this worker thread) once every node passed its gates, before the
        first write; False cancels with nothing written.
        """
        campaign = Campaign(
            release_loader(bundle_path, self.keyring()),
            pack_links(bus),
            open_target,
            self.records(),
            sink=sink,
            sink_for=sink_for,
            options=self._campaign_options(approve, bus, bundle_path.name),
        )
        return CampaignOutcome.of(campaign.run())

    def rollback_pack(
        self, bus: LinkSettings, sink: EventSink, sink_for: Callable[[str], EventSink]
    ) -> CampaignOutcome:
        """``rollback --all``: every node back on its previous firmware, or none touched."""
        result = rollback_pack(
            pack_links(bus),
            open_target,
            self.records(),
            sink=sink,
            sink_for=sink_for,
            options=CampaignOptions(operator=self.operator, journal_dir=self.journal_dir),
        )
        return CampaignOutcome.of(result)

    # --- configuration (recorded as service sessions, as the CLI's) -------------------------------
    def config_schema(self, target: Target) -> ConfigSchema | None:
        """The device's parameter schema (kinds, units, ranges, allowed values), over any protocol.

        None when the device cannot describe its parameters (it lacks the query, refuses it or
        describes them implausibly): the GUI then checks only each value's type and says so. A link
        that fails is raised, so the next read asks again.
        """
        try:
            return target.read_config_schema()
        except (UnsupportedOperationError, DeviceRejectedError, MalformedResponseError):
            return None

    def write_config(self, target: Target, values: Mapping[str, ParameterValue]) -> ConfigSnapshot:
        """Write the changed parameters (a recorded session) and return what the device holds after."""
        outcome = config_service.write_parameters_recorded(
            target, self.records(), values, operator=self.operator, front_end=FRONT_END
        )
        return outcome.after

    def backup_config(self, target: Target) -> BackupRecord:
        """Store every parameter as a recorded backup session (verified on read-back)."""
        outcome = config_service.backup_recorded(
            target, self.records(), operator=self.operator, front_end=FRONT_END
        )
        return outcome.record

    def list_backups(self, serial: str) -> list[BackupRecord]:
        return self.records().list_backups(serial)

    def restore_config(self, target: Target, backup_id: int) -> ConfigSnapshot:
        """Write a backup of *this* device back (a recorded session) and return the device's configuration.

        A backup of another serial number is refused before anything is written.
        """
        db = self.records()
        plan = config_service.plan_restore(target, db, backup_id)
        config_service.restore_recorded(target, db, plan, operator=self.operator, front_end=FRONT_END)
        return target.read_config()

    def diff_with_device(
        self, target: Target, backup_id: int
    ) -> dict[str, tuple[ParameterValue | None, ParameterValue | None]]:
        backup = self.records().get_backup(backup_id)
        return backup.snapshot.diff(target.read_config())

    # --- update ---------------------------------------------------------------------------------
    def keyring(self) -> Keyring:
        """The trusted keys (the user's keyring folder and ``--trust``), declared demo or not.

        Raises:
            KeyFileError: no key at all, a private key, several keys in one file or an unsafe folder.
        """
        return build_keyring(self.trusted_keys, folder=self.keys_dir, demo=self.demo)

    def trust_status(self) -> TrustStatus:
        """Which keys packages are checked against now, and any warning about them."""
        try:
            keyring = self.keyring()
        except PackageError as exc:
            return TrustStatus(problem=exc.message, hint=exc.hint or "")
        return TrustStatus(keys=tuple(keyring.describe()), warnings=tuple(keyring.warnings))

    def check_package(self, path: Path, identity: DeviceIdentity | None) -> PackageCheck:
        """Verify signature, hashes and expiry, then compatibility with ``identity`` (if connected).

        The same verdict as ``bmsflasher verify`` and ``flash``'s precondition gates
        (:mod:`bmsflasher.procedure.package_check`).
        """
        try:
            keyring = self.keyring()
        except PackageError as exc:
            verdict = PackageVerdict(
                path,
                (Measurement("signature", "no trusted keys", "a trusted key", False, exc.message),),
                exc,
            )
        else:
            device = DeviceDescription.from_identity(identity) if identity is not None else None
            verdict = check_package_file(path, keyring, device)
        return package_check_of(verdict)

    def check_preconditions(self, target: Target, package: PackageCheck) -> list[Measurement]:
        """Measure every precondition gate now (read-only), exactly as the procedure will."""
        if package.package is None:
            raise PackageError("choose and verify a package first")
        return list(preconditions.preview(target, package.package.facts).results)

    def run_update(
        self, target: Target, package: PackageCheck, options: UpdateOptions, sink: EventSink
    ) -> UpdateOutcome:
        """Run the whole procedure on ``target`` (already open; the procedure reconnects it as needed)."""
        native = package.package
        if native is None:
            raise PackageError("choose and verify a package first")
        procedure_options = ProcedureOptions(
            operator=options.operator or self.operator,
            overrides=dict(options.overrides),
            reference_mv=options.reference_pack_voltage_mv,
            journal_dir=self.journal_dir,
            details={"package": package.path.name, "link": target.link.describe(), "front_end": "gui"},
        )
        recording = self._start_bus_recording(target.link)
        try:
            result = UpdateProcedure(
                lambda: native, lambda: target, self.records(), sink, procedure_options
            ).run()
        finally:
            log = recording.stop() if recording is not None else None
        identity: DeviceIdentity | None
        try:
            identity = target.identify()
        except BmsFlasherError:
            identity = None
        outcome = outcome_of(result, identity)
        if log is not None and outcome.session_id is not None:
            self._keep_bus_log(log, outcome.session_id)
        return outcome

    def _start_bus_recording(self, link: LinkSettings) -> BusRecording | None:
        """A recording of the update's CAN adapter when the diagnostics page asked for one."""
        if not self.record_bus_during_updates or link.kind != "can":
            return None
        folder = (self.bus_logs_dir or default_reports_dir()) / f"recording-{time.strftime('%Y%m%d-%H%M%S')}"
        log = RotatingBusLog(folder, max_bytes=BUS_LOG_MAX_BYTES, keep=BUS_LOG_KEEP)
        return BusRecording(link.interface, link.channel, log)

    def _keep_bus_log(self, log: RotatingBusLog, session_id: int) -> None:
        """Move a finished recording to its session's folder beside the reports."""
        target = session_files_dir(self.bus_logs_dir or default_reports_dir(), session_id)
        if not target.exists():
            log.folder.replace(target)

    def session_bus_logs(self, session_id: int) -> list[Path]:
        """The bus log parts kept with a session (newest first); empty when none was recorded."""
        return session_bus_logs(self.bus_logs_dir or default_reports_dir(), session_id)

    def rollback(self, target: Target, sink: EventSink) -> DeviceIdentity:
        """Manual rollback to the other slot, recorded as its own session (as ``bmsflasher rollback``)."""
        report = manual_rollback_recorded(
            target, self.records(), sink, operator=self.operator, journal_folder=self.journal_dir
        )
        return report.identity

    def recover(
        self,
        link: LinkSettings,
        package_path: Path,
        sink: EventSink,
        model: str | None = None,
        hardware_revision: str | None = None,
    ) -> DeviceIdentity:
        """Emergency recovery: flash a verified package into a device that has no bootable image.

        The package is verified before the device is opened; the recovery itself, its compatibility
        checks (with the ``model`` and ``hardware_revision`` read from the unit's label when the
        bootloader cannot tell them) and its service record are the procedure's, as ``bmsflasher recover``.
        """
        package = load_package(package_path, self.keyring())
        target = open_target(link)
        try:
            report = recover_recorded(
                target,
                package,
                self.records(),
                sink,
                details={"package": package_path.name, "front_end": "gui"},
                declared=DeclaredIdentity(model, hardware_revision),
            )
        finally:
            target.close()
        return report.after

    # --- history --------------------------------------------------------------------------------
    def sessions(self) -> list[SessionRecord]:
        return self.records().sessions()

    def session_detail(self, session_id: int) -> SessionDetail:
        return self.records().session_detail(session_id)

    def save_report(self, session_id: int, path: Path) -> str:
        """Render a session's service report; the format follows the file suffix (.pdf or .html)."""
        # imported here: the PDF renderer (fpdf, fontTools) costs ~20 MiB and most sessions never export
        from bmsflasher.records.reports import render_report

        fmt = report_format_for(path)  # "x.docx" is refused, not silently written as HTML
        written = str(render_report(self.records(), session_id, fmt, path, self.report_language))
        for part in self.session_bus_logs(session_id):  # the session's bus log goes with its report
            shutil.copyfile(part, path.with_name(f"{path.stem}-{part.name}"))
        return written

    def reports_folder(self) -> Path:
        """Where the save dialogs propose reports and recordings (the user's documents, not the cwd)."""
        return default_reports_dir()


_OUTCOMES: Final[dict[str, OutcomeKind]] = {
    "updated": "updated",
    "rolled_back": "rolled_back",
    "refused": "refused",
    "cancelled": "cancelled",
    "failed": "failed",
}


def outcome_of(result: UpdateResult, identity: DeviceIdentity | None) -> UpdateOutcome:
    """The GUI's view of the procedure's result."""
    error = result.error
    kind: OutcomeKind = _OUTCOMES.get(result.outcome.value, "failed")
    return UpdateOutcome(
        result=kind,
        message=result.reason,
        hint=(error.hint or "") if error is not None else "",
        failure_kind=result.advice.kind if result.advice is not None else None,
        failed_step=result.failed_step.value if result.failed_step is not None else "",
        identity=identity,
        session_id=result.session_id,
        backup_id=result.backup_id,
        from_version=str(result.from_version) if result.from_version else "",
        to_version=str(result.to_version) if result.to_version else "",
        self_test=tuple(result.self_test.results) if result.self_test else (),
        preconditions=tuple(result.preconditions.results) if result.preconditions else (),
    )
