"""The update procedure engine: runs the state machine of :mod:`bmsflasher.procedure.states`.

One run: verify package → identify → preconditions → config backup → transfer (resumable) →
reboot and reconnect → self-test → confirm → config check, or on failure after the test boot:
rollback → config restore. Each step is a handler returning the next state; the engine checks the
transition against the table, writes the journal before and after every step (durably), logs the
step to the service records, and emits typed events (steps, progress with throughput and ETA, log
lines, measurements) for the CLI and the GUI.

The engine is synchronous and runs in the caller's thread (the GUI runs it in a worker). Every
device wait inside is bounded by the device profile. A process killed at any point leaves a
journal; running the same package on the same device again resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    JournalError,
    ProcedureError,
    RollbackError,
    SignatureError,
)
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
from bmsflasher.core.i18n import t
from bmsflasher.core.names import mode_name
from bmsflasher.core.serialise import dtc_from_json, dtc_to_record_json
from bmsflasher.core.target import ResumePolicy, SecurityUnlock, Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion
from bmsflasher.procedure import preconditions, selftest
from bmsflasher.procedure.backup import restore_snapshot, take_backup
from bmsflasher.procedure.backup_prefetch import ConfigPrefetch
from bmsflasher.procedure.compatibility import ANTI_ROLLBACK
from bmsflasher.procedure.journal import Journal, JournalState
from bmsflasher.procedure.journal_binding import binding_data, check_backup, check_binding, record_backup
from bmsflasher.procedure.package_loading import PackageLoader, UpdatePackage
from bmsflasher.procedure.preconditions import PreconditionReport
from bmsflasher.procedure.profiles import DeviceProfile, profile_for_model
from bmsflasher.procedure.reboot import (
    BootOutcome,
    BootReport,
    package_pending,
    reboot_and_classify,
    reset_device,
    running_confirmed,
    runs_package,
    wait_for_application,
)
from bmsflasher.procedure.results import UpdateResult
from bmsflasher.procedure.rollback import RollbackReport, ensure_running
from bmsflasher.procedure.selftest import SelfTestReport
from bmsflasher.procedure.states import (
    ON_ERROR,
    RESUME_FROM_START,
    SUCCESS,
    WRITES_DEVICE,
    State,
    check_transition,
)
from bmsflasher.procedure.troubleshooting import Advice, FailureKind, advice, kind_for_error
from bmsflasher.procedure.unlock_records import UNLOCK_STEP
from bmsflasher.records import RecordsDb

COMPATIBILITY_GATES: Final = frozenset(
    {"model", "hardware_revision", "device_mode", "bootloader_version", "anti_rollback", "signing_key"}
)
"""Gates about the package and the device, not the battery's state: waiting or charging never helps."""


class ImageRefusedByDeviceError(SignatureError):
    """The device's bootloader refused the uploaded image (untrusted signer, below its counter).

    Nothing ran: the device keeps its firmware, and resuming would only be refused again, so the
    journal does not outlive this failure.
    """


TargetFactory = Callable[[], Target]
"""Opens (or hands over) the connected device; called once, after the package is verified."""

Approval = Callable[[PreconditionReport], bool]
"""Asked after the preconditions pass and before anything is written; False cancels."""

SESSION_KIND: Final = "update"
REPORT_STEP: Final = "report"


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    """How to run one update.

    Attributes:
        operator: who runs it (recorded in the service history).
        overrides: precondition name → reason, for overridable gates only.
        reference_mv: pack voltage the technician measured, for the self-test's reference check.
        journal_dir: where journals live (default: the user state folder).
        profile: force a device profile (default: the one matching the device's model).
        approve: asked before the first write; None means go ahead (``flash --yes``).
        details: extra JSON-able facts recorded with the session (link, package file name).
    """

    operator: str = ""
    overrides: Mapping[str, str] = field(default_factory=dict)
    reference_mv: int | None = None
    journal_dir: Path | None = None
    profile: DeviceProfile | None = None
    approve: Approval | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Run:
    """What one run has learned so far (plain data; the state lives in ``State``)."""

    package: UpdatePackage | None = None
    target: Target | None = None
    identity: DeviceIdentity | None = None
    profile: DeviceProfile | None = None
    journal: Journal | None = None
    session_id: int | None = None
    from_version: FirmwareVersion | None = None
    running_version: FirmwareVersion | None = None
    resumed: bool = False
    preconditions: PreconditionReport | None = None
    self_test: SelfTestReport | None = None
    boot: BootReport | None = None
    rollback: RollbackReport | None = None
    rollback_reason: str = ""
    rollback_kind: FailureKind | None = None
    end_reason: str = ""
    failed_step: State | None = None
    error: BmsFlasherError | None = None
    pending_steps: list[tuple[str, bool | None, str]] = field(default_factory=list)
    config_prefetch: ConfigPrefetch | None = None


class UpdateProcedure:
    """Runs one firmware update from a package to an end state.

    Args:
        load_package: verifies and returns the package (first step; nothing else runs if it fails).
        connect: opens the device, called once the package is verified.
        records: the service history (sessions, steps, measurements, backups).
        sink: receives every event.
        options: operator, overrides, reference voltage, approval prompt, journal folder.
    """

    def __init__(
        self,
        load_package: PackageLoader,
        connect: TargetFactory,
        records: RecordsDb,
        sink: EventSink = discard,
        options: UpdateOptions | None = None,
    ) -> None:
        self._load_package = load_package
        self._connect = connect
        self._records = records
        self._sink = sink
        self._options = options or UpdateOptions()
        self._run = _Run()
        self._handlers: dict[State, Callable[[], State]] = {
            State.VERIFY_PACKAGE: self._verify_package,
            State.IDENTIFY: self._identify,
            State.PRECONDITIONS: self._check_preconditions,
            State.BACKUP: self._backup,
            State.TRANSFER: self._transfer,
            State.REBOOT: self._reboot,
            State.SELF_TEST: self._self_test,
            State.CONFIRM: self._confirm,
            State.CONFIG_CHECK: self._config_check,
            State.ROLLBACK: self._rollback,
            State.CONFIG_RESTORE: self._config_restore,
        }

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> UpdateResult:
        """Run the procedure to an end state and return the result (errors become FAILED results)."""
        preconditions.validate_overrides(self._options.overrides)
        state = State.VERIFY_PACKAGE
        while not state.terminal:
            state = self._step(state)
        return self._finish(state)

    def _step(self, state: State) -> State:
        self._begin(state)
        try:
            following = self._handlers[state]()
            ok = following in SUCCESS.get(state, frozenset())
            detail = "" if ok else (self._run.end_reason if following.terminal else self._run.rollback_reason)
        except BmsFlasherError as exc:
            following = ON_ERROR[state]
            ok = False
            detail = exc.message
            self._on_error(state, exc)
        check_transition(state, following)
        if not ok and self._run.failed_step is None:
            self._run.failed_step = state
        self._end(state, ok, detail, following)
        return following

    def _on_error(self, state: State, exc: BmsFlasherError) -> None:
        self._log(LogLevel.ERROR, t("{step} failed: {error}", step=state.title, error=exc.message))
        if exc.hint:
            self._log(LogLevel.INFO, exc.hint)
        if ON_ERROR[state] is State.ROLLBACK:
            self._run.rollback_reason = t(
                "the step '{step}' failed: {error}", step=state.title, error=exc.message
            )
            self._run.rollback_kind = kind_for_error(exc) or FailureKind.SELF_TEST_FAILURE
        else:
            self._run.error = exc
            self._run.end_reason = exc.message

    def _begin(self, state: State) -> None:
        journal = self._run.journal
        if journal is not None:
            journal.step_started(state.value, state.value)
        self._record_step(state.value, None, "")
        self._sink(StepStarted(state.value, state.title))

    def _end(self, state: State, ok: bool, detail: str, following: State) -> None:
        journal = self._run.journal
        if journal is not None:
            journal.step_finished(state.value, ok, detail, following.value)
        self._record_step(state.value, ok, detail)
        self._sink(StepFinished(state.value, ok, detail))

    def _record_step(self, step: str, ok: bool | None, detail: str) -> None:
        if self._run.session_id is None:
            self._run.pending_steps.append((step, ok, detail))
            return
        self._records.log_step(self._run.session_id, step, ok, detail)

    def _log(self, level: LogLevel, message: str) -> None:
        self._sink(LogLine(level, message))

    def _on_unlock(self, unlock: SecurityUnlock) -> None:
        """Record a security-access unlock in the service history (or once the session starts) and the log."""
        sentence = unlock.sentence()
        self._log(LogLevel.INFO, sentence)
        self._record_step(UNLOCK_STEP, True, sentence)

    def _measured(self, measurement: Measurement) -> None:
        self._sink(measurement)
        if self._run.session_id is not None:
            self._records.log_measurement(self._run.session_id, measurement)

    # --- accessors that make "not yet known" an error instead of a None crash --------------------
    @property
    def _target(self) -> Target:
        if self._run.target is None:
            raise ProcedureError(t("no device is connected"))
        return self._run.target

    @property
    def _package(self) -> UpdatePackage:
        if self._run.package is None:
            raise ProcedureError(t("no verified package"))
        return self._run.package

    @property
    def _profile(self) -> DeviceProfile:
        if self._run.profile is None:
            raise ProcedureError(t("no device profile"))
        return self._run.profile

    @property
    def _journal(self) -> Journal:
        if self._run.journal is None:
            raise ProcedureError(t("no journal"))
        return self._run.journal

    # --- steps ---------------------------------------------------------------------------------
    def _verify_package(self) -> State:
        package = self._load_package()
        self._run.package = package
        facts = package.facts
        self._log(
            LogLevel.INFO,
            t(
                "Package {source} verified: {model} firmware {version}, security counter "
                "{security_counter}, {image_size} bytes.",
                source=package.source,
                model=facts.model,
                version=facts.version,
                security_counter=facts.security_counter,
                image_size=facts.image_size,
            ),
        )
        return State.IDENTIFY

    def _identify(self) -> State:
        target = self._connect()
        self._run.target = target
        target.add_unlock_listener(self._on_unlock)
        identity = target.identify()
        self._run.identity = identity
        self._run.running_version = identity.firmware_version
        self._run.profile = self._options.profile or profile_for_model(identity.model)
        self._log(
            LogLevel.INFO,
            t(
                "Device {model} serial {serial_number} (hardware {hardware_revision}) runs "
                "{version} in {mode} mode over {link}; profile '{profile}'.",
                model=identity.model,
                serial_number=identity.serial_number,
                hardware_revision=identity.hardware_revision,
                version=identity.firmware_version or t("no firmware"),
                mode=mode_name(identity.mode.value),
                link=target.link.describe(),
                profile=self._run.profile.name,
            ),
        )
        if identity.mode is DeviceMode.BOOTLOADER:
            identity = self._restart_application(target, self._run.profile)
        if identity.mode is DeviceMode.RECOVERY:
            self._run.end_reason = t(
                "The device is in recovery mode with no bootable firmware, so the battery cannot be "
                "measured; bring it back with 'bmsflasher recover PKG' first."
            )
            return State.REFUSED
        self._records.upsert_device(identity)
        journal = self._open_journal(identity)
        self._run.journal = journal
        self._start_session(journal, identity)
        if self._run.resumed:
            return self._resume_state(journal.state, identity)
        if runs_package(identity, self._package.facts) and running_confirmed(identity):
            self._run.end_reason = t(
                "The device already runs firmware {version} from this package, confirmed; nothing was "
                "written.",
                version=identity.firmware_version,
            )
            return State.REFUSED
        return State.PRECONDITIONS

    def _restart_application(self, target: Target, profile: DeviceProfile) -> DeviceIdentity:
        """Leave a bootloader/programming session (e.g. one a killed run left) so the pack can be measured.

        The application image is intact in this mode, so a reset brings it back; an upload in
        progress survives in the secondary slot and resumes later.
        """
        self._log(LogLevel.WARNING, t("The device waits in its bootloader; restarting its application."))
        reset_device(target)
        identity = wait_for_application(target, profile.reboot)
        self._run.identity = identity
        self._run.running_version = identity.firmware_version
        self._log(
            LogLevel.INFO,
            t(
                "The device runs {version} in {mode} mode.",
                version=identity.firmware_version,
                mode=mode_name(identity.mode.value),
            ),
        )
        return identity

    def _open_journal(self, identity: DeviceIdentity) -> Journal:
        facts = self._package.facts
        folder = self._options.journal_dir
        existing = Journal.load(identity.serial_number, folder)
        if existing is not None and existing.state.package_sha256 == facts.package_sha256:
            self._run.resumed = True
            recorded = existing.state.from_version
            self._run.from_version = FirmwareVersion.parse(recorded) if recorded else None
            self._log(
                LogLevel.WARNING,
                t(
                    "Resuming the update interrupted during '{step}' (journal {path}).",
                    step=existing.state.last_started() or t("start"),
                    path=existing.path,
                ),
            )
            check_binding(existing.state, self._records, identity, facts.package_sha256)
            return existing
        if existing is not None:
            last = existing.state.last_started()
            if last is not None and State(last) not in RESUME_FROM_START:
                raise JournalError(
                    t(
                        "an unfinished update with another package (SHA-256 {package_sha256}…) stopped "
                        "during '{step}' on this device",
                        package_sha256=existing.state.package_sha256[:12],
                        step=last,
                    ),
                    hint=t(
                        "Run the update again with that package to finish it, or run 'bmsflasher rollback'."
                    ),
                )
            self._log(
                LogLevel.WARNING,
                t("Discarding the journal of an earlier, unfinished update with another package."),
            )
        self._run.from_version = identity.firmware_version
        state = JournalState(
            serial=identity.serial_number,
            package_sha256=facts.package_sha256,
            state=State.IDENTIFY.value,
            from_version=str(identity.firmware_version) if identity.firmware_version else None,
            to_version=str(facts.version),
            data=binding_data(self._records, identity),
        )
        return Journal.create(state, folder)

    def _start_session(self, journal: Journal, identity: DeviceIdentity) -> None:
        session_id = journal.state.session_id
        if session_id is None:
            details = {
                "link": self._target.link.describe(),
                "protocol": self._target.protocol,
                "package": self._package.source,
                "to_version": str(self._package.facts.version),
                "package_signers": list(self._package.facts.signers),  # records/signers.py
                "overrides": dict(self._options.overrides),
                **dict(self._options.details),
            }
            session_id = self._records.start_session(
                identity.serial_number,
                SESSION_KIND,
                self._options.operator,
                self._package.facts.package_sha256,
                details,
            )
            journal.set_session(session_id)
        self._run.session_id = session_id
        for step, ok, detail in self._run.pending_steps:
            self._records.log_step(session_id, step, ok, detail)
        self._run.pending_steps.clear()

    def _resume_state(self, state: JournalState, identity: DeviceIdentity) -> State:
        """Where a resumed run continues, from the last step started and what the device shows."""
        last_text = state.last_started()
        last = State(last_text) if last_text else State.IDENTIFY
        facts = self._package.facts
        on_new = runs_package(identity, facts)
        self._run.rollback_reason = str(state.data.get("rollback_reason", ""))
        kind = state.data.get("rollback_kind")
        self._run.rollback_kind = FailureKind(kind) if kind else None
        if last in (State.ROLLBACK, State.CONFIG_RESTORE):
            return State.ROLLBACK
        if on_new:
            # The test boot happened (perhaps a battery reset did it): judge the image that runs.
            return State.CONFIG_CHECK if running_confirmed(identity) else State.SELF_TEST
        pending = package_pending(identity, facts)
        if last is State.REBOOT or (last in RESUME_FROM_START and state.finished(State.TRANSFER.value)):
            if pending:
                return State.REBOOT
            if last is State.REBOOT:
                self._note_rollback(
                    t("the device came back on the previous firmware after the interruption"),
                    FailureKind.BOOT_LOOP,
                )
                return State.ROLLBACK
        if last in RESUME_FROM_START:
            return State.PRECONDITIONS
        self._note_rollback(
            t("the device no longer runs the new firmware after the interruption"), FailureKind.BOOT_LOOP
        )
        return State.ROLLBACK

    def _check_preconditions(self) -> State:
        profile = self._profile
        identity = self._target.identify()
        self._run.identity = identity
        # the backup's reads wait in the stability window's gaps (none when resuming with a backup)
        prefetch = ConfigPrefetch(self._target) if self._journal.state.backup_id is None else None
        self._run.config_prefetch = prefetch
        background = prefetch.jobs() if prefetch is not None else ()
        inputs = preconditions.measure(self._target, identity, profile.preconditions, background)
        report = preconditions.evaluate(
            inputs, self._package.facts, profile.preconditions, self._options.overrides
        )
        self._run.preconditions = report
        for measurement in report.results:
            self._measured(measurement)
        if inputs.samples and self._run.session_id is not None:
            self._records.log_telemetry(self._run.session_id, "before", inputs.samples[-1])
        if not self._run.resumed or "dtcs_before" not in self._journal.state.data:
            self._journal.set_data("dtcs_before", [dtc_to_record_json(d) for d in inputs.dtcs])
        if not report.passed:
            self._run.end_reason = t("Refused before anything was written: {gates}.", gates=report.summary())
            self._log(LogLevel.ERROR, self._run.end_reason)
            return State.REFUSED
        for name, reason in report.overrides.items():
            self._log(
                LogLevel.WARNING,
                t(
                    "Precondition '{name}' overridden by the operator: {reason}",
                    name=name,
                    reason=reason,
                ),
            )
        approve = self._options.approve
        if approve is not None and not approve(report):
            self._run.end_reason = t("The operator cancelled the update before anything was written.")
            return State.CANCELLED
        return State.BACKUP

    def _backup(self) -> State:
        journal = self._journal
        identity = self._run.identity
        serial = identity.serial_number if identity else journal.state.serial
        if journal.state.backup_id is not None:
            record = check_backup(journal.state, self._records, serial)
            self._log(
                LogLevel.INFO,
                t(
                    "Using configuration backup {backup_id} taken before the interruption.",
                    backup_id=record.id,
                ),
            )
            return State.TRANSFER
        prefetch, self._run.config_prefetch = self._run.config_prefetch, None
        reads = prefetch.take() if prefetch is not None else None
        record = take_backup(self._target, self._records, serial, self._run.session_id, reads)
        record_backup(journal, record)
        self._log(
            LogLevel.INFO,
            t(
                "Configuration backed up: {count} parameters, schema {schema_version}, backup {backup_id}, "
                "SHA-256 {sha256}…",
                count=len(record.snapshot.parameters),
                schema_version=record.snapshot.schema_version,
                backup_id=record.id,
                sha256=record.sha256[:16],
            ),
        )
        return State.TRANSFER

    def _transfer(self) -> State:
        package = self._package
        limits = self._profile.transfer
        meter = ThroughputMeter()
        history = self._journal.state.history
        resuming = sum(1 for e in history if e.step == State.TRANSFER.value and e.ok is None) > 1
        first = True

        def on_progress(done: int, total: int) -> None:
            nonlocal first
            if first and resuming:
                self._log(
                    LogLevel.INFO,
                    t(
                        "Resuming the transfer: the device holds {done} of {total} bytes.",
                        done=done,
                        total=total,
                    ),
                )
            first = False
            rate, eta = meter.update(done, total)
            self._sink(Progress(State.TRANSFER.value, done, total, rate, eta))

        def on_break(exc: BmsFlasherError) -> None:
            nonlocal resuming, first
            message = t(
                "The link broke during the transfer ({error}); reconnecting to resume.", error=exc.message
            )
            self._log(LogLevel.WARNING, message)
            resuming = first = True

        # The target is the one retry layer (it reconnects and resumes); the profile sets its limits.
        resume = ResumePolicy(limits.max_resume_attempts, limits.reconnect_timeout_s, on_break)
        self._target.upload_image(package.image, on_progress, resume=resume)
        try:
            self._target.mark_for_test()
        except DeviceRejectedError as exc:
            raise ImageRefusedByDeviceError(
                t(
                    "The device's bootloader refused to test-boot the new image; it keeps running "
                    "{from_version}. {error}",
                    error=exc.message,
                    from_version=self._run.from_version,
                ),
                hint=advice(FailureKind.AUTHENTICATION_REJECTION).hint(),
            ) from exc
        self._log(
            LogLevel.INFO,
            t(
                "Firmware {version} transferred and marked for a test boot.",
                version=package.facts.version,
            ),
        )
        return State.REBOOT

    def _note_rollback(self, reason: str, kind: FailureKind) -> None:
        self._run.rollback_reason = reason
        self._run.rollback_kind = kind
        journal = self._run.journal
        if journal is not None:
            journal.set_data("rollback_reason", reason)
            journal.set_data("rollback_kind", kind.value)

    def _reboot(self) -> State:
        report = reboot_and_classify(
            self._target, self._package.facts, self._run.from_version, self._profile.reboot
        )
        self._run.boot = report
        self._run.identity = report.identity
        self._run.running_version = report.identity.firmware_version
        level = LogLevel.INFO if report.outcome is BootOutcome.NEW_IMAGE else LogLevel.ERROR
        self._log(level, report.sentence())
        if report.outcome is BootOutcome.NEW_IMAGE:
            return State.SELF_TEST
        self._note_rollback(report.describe(), FailureKind.BOOT_LOOP)
        return State.ROLLBACK

    def _self_test(self) -> State:
        profile = self._profile
        before_raw = self._journal.state.data.get("dtcs_before", [])
        dtcs_before = tuple(dtc_from_json(raw) for raw in before_raw)
        inputs = selftest.measure(self._target, profile.self_test, dtcs_before, self._options.reference_mv)
        report = selftest.evaluate(inputs, profile.self_test)
        self._run.self_test = report
        for measurement in report.results:
            self._measured(measurement)
        if self._run.session_id is not None:
            self._records.log_telemetry(self._run.session_id, "after", inputs.telemetry)
        if report.passed:
            return State.CONFIRM
        self._note_rollback(
            t("the self-test failed: {checks}", checks=report.summary()), FailureKind.SELF_TEST_FAILURE
        )
        self._log(LogLevel.ERROR, t("Self-test failed: {checks}.", checks=report.summary()))
        return State.ROLLBACK

    def _confirm(self) -> State:
        self._target.confirm()
        identity = self._target.identify()
        self._run.identity = identity
        self._run.running_version = identity.firmware_version
        if not runs_package(identity, self._package.facts) or not running_confirmed(identity):
            raise ProcedureError(
                t(
                    "the device did not confirm firmware {version}",
                    version=self._package.facts.version,
                )
            )
        self._log(
            LogLevel.INFO,
            t(
                "Firmware {version} confirmed as permanent.",
                version=identity.firmware_version,
            ),
        )
        return State.CONFIG_CHECK

    def _restore_from_backup(self) -> None:
        backup_id = self._journal.state.backup_id
        if backup_id is None:
            raise ProcedureError(
                t("no configuration backup was taken, so the configuration cannot be checked")
            )
        record = check_backup(self._journal.state, self._records, self._journal.state.serial)
        result = restore_snapshot(self._target, record.snapshot, t("backup {backup_id}", backup_id=record.id))
        if result.written:
            self._log(
                LogLevel.WARNING,
                t(
                    "Restored {count} parameters: {written}.",
                    count=len(result.written),
                    written=", ".join(result.written),
                ),
            )
        else:
            self._log(LogLevel.INFO, t("The configuration matches backup {backup_id}.", backup_id=record.id))
        if result.skipped:
            self._log(
                LogLevel.WARNING,
                t(
                    "The running firmware no longer has these backed-up parameters: {skipped}.",
                    skipped=", ".join(result.skipped),
                ),
            )

    def _config_check(self) -> State:
        self._restore_from_backup()
        return State.UPDATED

    def _rollback(self) -> State:
        expected = self._run.from_version
        if expected is None:
            raise RollbackError(
                t("the firmware version from before the update is unknown; roll back manually")
            )
        self._log(
            LogLevel.WARNING,
            t(
                "Rolling back to {expected}: {rollback_reason}.",
                expected=expected,
                rollback_reason=self._run.rollback_reason or t("requested"),
            ),
        )
        report = ensure_running(self._target, expected, self._profile.reboot)
        self._run.rollback = report
        self._run.identity = report.identity
        self._run.running_version = report.identity.firmware_version
        for action in report.actions:
            self._log(LogLevel.INFO, action)
        return State.CONFIG_RESTORE

    def _config_restore(self) -> State:
        self._restore_from_backup()
        return State.ROLLED_BACK

    # --- the end ---------------------------------------------------------------------------------
    def _advice(self, outcome: State) -> Advice | None:
        """The troubleshooting row for how the run ended, chosen by cause.

        The error's class or the failed gates decide; the step only when there is no error to go by.
        """
        run = self._run
        if outcome is State.ROLLED_BACK and run.rollback_kind is not None:
            return advice(run.rollback_kind)
        if outcome is State.REFUSED:
            if run.failed_step is State.IDENTIFY:
                recovery = run.identity is not None and run.identity.mode is DeviceMode.RECOVERY
                return advice(FailureKind.STUCK_IN_RECOVERY) if recovery else None
            report = run.preconditions
            blocking = {m.name for m in report.blocking} if report is not None else set()
            if not blocking:
                kind = kind_for_error(run.error) if run.error is not None else None
                return advice(kind) if kind is not None else None
            if blocking == {ANTI_ROLLBACK}:
                return advice(FailureKind.DOWNGRADE_REFUSED)
            if blocking == {preconditions.SIGNING_KEY}:
                return advice(FailureKind.AUTHENTICATION_REJECTION)  # the device's bootloader would refuse it
            if blocking <= COMPATIBILITY_GATES:
                # the battery is fine: "bring it into range" would send the technician astray
                return advice(FailureKind.INCOMPATIBLE_PACKAGE)
            return advice(FailureKind.PRECONDITION_REFUSED)
        if outcome is State.FAILED:
            kind = kind_for_error(run.error) if run.error is not None else None
            if run.failed_step is State.REBOOT and kind in (None, FailureKind.TRANSFER_TIMEOUT):
                kind = FailureKind.BOOT_LOOP  # the device did not come back up on the new image
            if kind is None and run.failed_step is State.TRANSFER:
                kind = FailureKind.TRANSFER_TIMEOUT
            return advice(kind) if kind is not None else None
        return None

    def _reason(self, outcome: State) -> str:
        run = self._run
        facts = run.package.facts if run.package else None
        if outcome is State.UPDATED and facts is not None:
            return t(
                "The device was updated from {from_version} to {to_version} and passed its self-test.",
                from_version=run.from_version,
                to_version=facts.version,
            )
        if outcome is State.ROLLED_BACK:
            return t(
                "The update was rolled back to {version}: {reason}.",
                version=run.running_version,
                reason=run.rollback_reason,
            )
        return run.end_reason or outcome.title

    def _journal_may_go(self, outcome: State) -> bool:
        if outcome is not State.FAILED or isinstance(self._run.error, ImageRefusedByDeviceError):
            return True
        journal = self._run.journal
        if journal is None:
            return False
        started = {State(e.step) for e in journal.state.history if e.ok is None}
        return not started & WRITES_DEVICE

    def _finish(self, outcome: State) -> UpdateResult:
        run = self._run
        if run.target is not None:
            run.target.remove_unlock_listener(self._on_unlock)
        self._sink(StepStarted(REPORT_STEP, t("Report")))
        reason = self._reason(outcome)
        if run.session_id is not None:
            self._records.finish_session(
                run.session_id,
                outcome.value,
                str(run.from_version) if run.from_version else None,
                str(run.running_version) if run.running_version else None,
            )
        if run.journal is not None and self._journal_may_go(outcome):
            run.journal.remove()
        elif run.journal is not None:
            self._log(
                LogLevel.WARNING,
                t(
                    "The journal {path} is kept: run the update again to resume.",
                    path=run.journal.path,
                ),
            )
        result = UpdateResult(
            outcome=outcome,
            reason=reason,
            serial=run.identity.serial_number if run.identity else None,
            from_version=run.from_version,
            to_version=run.package.facts.version if run.package else None,
            running_version=run.running_version,
            failed_step=run.failed_step,
            preconditions=run.preconditions,
            self_test=run.self_test,
            boot=run.boot,
            rollback=run.rollback,
            backup_id=run.journal.state.backup_id if run.journal else None,
            session_id=run.session_id,
            advice=self._advice(outcome),
            error=run.error,
            resumed=run.resumed,
        )
        level = LogLevel.INFO if outcome is State.UPDATED else LogLevel.ERROR
        self._log(level, reason)
        self._sink(StepFinished(REPORT_STEP, outcome is State.UPDATED, reason))
        return result


def run_update(
    load_package: PackageLoader,
    connect: TargetFactory,
    records: RecordsDb,
    sink: EventSink = discard,
    options: UpdateOptions | None = None,
) -> UpdateResult:
    """Run one update (convenience wrapper over :class:`UpdateProcedure`)."""
    return UpdateProcedure(load_package, connect, records, sink, options).run()
