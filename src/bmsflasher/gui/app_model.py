"""The single object every widget talks to.

Widgets call ``AppModel`` methods (which never block: they queue work on the device thread or a
task thread) and listen to its ``sig_*`` signals (which are always delivered on the GUI thread,
because the model lives there and cross-thread emits are queued by Qt). Nothing else in the GUI
touches a device, a database or a file on its own.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, Signal, Slot

from bmsflasher.core.errors import BmsFlasherError, StorageError
from bmsflasher.core.target import LinkStats, Target
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    Dtc,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
)
from bmsflasher.gui import pyside_source_scan, qt_compat  # noqa: F401 - pyside_source_scan acts on import
from bmsflasher.gui.config_rules import check_values
from bmsflasher.gui.csv_recorder import CsvRecorder
from bmsflasher.gui.device_worker import DeviceWorker
from bmsflasher.gui.engine import (
    BackupRecord,
    BusReading,
    ConfigSchema,
    Engine,
    PackageCheck,
    RollbackBlocker,
    ScanResult,
    TrustStatus,
    UpdateOptions,
    UpdateOutcome,
    rollback_blocker,
)
from bmsflasher.gui.engine_text import later
from bmsflasher.gui.rack_worker import RackWorker
from bmsflasher.gui.task_runner import TaskRunner

SHUTDOWN_TIMEOUT_S: Final = 15.0

qt_compat.apply()  # before any widget or model emits a signal (see qt_compat)

_log = logging.getLogger(__name__)


def same_port(a: LinkSettings, b: LinkSettings) -> bool:
    """Both links need the same serial port, gateway or CAN adapter, which only one connection can hold.

    A Modbus RTU module sits on an RS485 port like an SMP serial line, so the two kinds share it;
    two modules behind one Modbus TCP gateway share the gateway's connection.
    """
    if a.kind == "can" or b.kind == "can":
        return a.kind == b.kind and (a.interface, a.channel) == (b.interface, b.channel)
    if a.tcp or b.tcp:
        return a.tcp == b.tcp
    return a.port == b.port


class AppModel(QObject):
    """Application state, device access and engine calls for the whole GUI."""

    # connection and live data
    sig_connection_changed = Signal(object)  # DeviceIdentity | None
    sig_connecting = Signal(str)  # link description
    sig_connect_failed = Signal(str)  # link description; the previous connection (if any) is kept
    sig_telemetry = Signal(object)  # PackTelemetry
    sig_link_problem = Signal(object)  # one sentence (engine text); the device did not answer a poll
    sig_recording_changed = Signal(str)  # path, "" when stopped
    # device data on request
    sig_config = Signal(object)  # ConfigSnapshot
    sig_config_schema = Signal(object)  # ConfigSchema | None (None: the device gives no schema)
    sig_config_written = Signal(object)  # ConfigSnapshot now on the device
    sig_dtcs = Signal(list)  # list[Dtc]
    sig_link_stats = Signal(object)  # LinkStats
    sig_backups = Signal(list)  # list[BackupInfo]
    sig_backup_done = Signal(object)  # BackupInfo
    sig_diff = Signal(object)  # dict name -> (a, b)
    # discovery
    sig_scan_running = Signal(bool)
    sig_scan_result = Signal(object)  # discovery ScanResult
    sig_bus_running = Signal(bool)  # a Modbus address range is being read
    sig_bus_progress = Signal(int, int)  # addresses asked, addresses to ask
    sig_bus_result = Signal(object)  # engine BusReading
    sig_rack_watching = Signal(object)  # tuple of module addresses watched, () when stopped
    sig_rack_sample = Signal(int, object)  # module address, PackTelemetry
    sig_rack_silent = Signal(int, object)  # module address, why it gave no sample (engine text)
    # update
    sig_package_checked = Signal(object)  # PackageCheck
    sig_trust = Signal(object)  # TrustStatus: the keys packages are checked against, and warnings
    sig_preconditions = Signal(list)  # list[Measurement]
    sig_update_running = Signal(bool)
    sig_update_event = Signal(object)  # core.events.Event
    sig_update_finished = Signal(object)  # UpdateOutcome
    sig_rollback_finished = Signal(object)  # DeviceIdentity after the rollback
    sig_rollback_failed = Signal(object, object)  # message, hint (engine text): nothing changed
    sig_recovery_requested = Signal(object)  # LinkSettings of a device in recovery mode
    sig_recovery_finished = Signal(object)  # DeviceIdentity after emergency recovery
    # history
    sig_history = Signal(list)  # list[SessionSummary]
    sig_report_saved = Signal(str)  # path
    sig_session_detail = Signal(object)  # records SessionDetail
    # application
    sig_error = Signal(object, object)  # message, hint: engine Text, GuiText or str (shown translated)
    sig_status = Signal(object)  # a passing sentence for the status bar (GuiText)
    sig_busy = Signal(str)  # name of the running operation, "" when idle
    sig_theme_changed = Signal(str)
    sig_language_changed = Signal(str)

    _sig_invoke = Signal(object, object)  # (callable, argument): runs the callable on the GUI thread

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.identity: DeviceIdentity | None = None
        self.link: LinkSettings | None = None
        self.latest_telemetry: PackTelemetry | None = None
        self.last_scan: ScanResult | None = None
        self.package: PackageCheck | None = None
        self.trust: TrustStatus | None = None
        self.last_outcome: UpdateOutcome | None = None
        self.theme_name = "light"
        self.language = "en"
        self.config_schema: ConfigSchema | None = None
        self._schema_known = False
        self._connecting: LinkSettings | None = None
        self._worker: DeviceWorker | None = None
        self._closing: list[DeviceWorker | RackWorker] = []
        self._rack: RackWorker | None = None
        self.rack_link: LinkSettings | None = None
        self._tasks = TaskRunner()
        self._update_running = False
        self._recording_path = ""
        self._sig_invoke.connect(self._invoke, Qt.ConnectionType.QueuedConnection)

    # --- plumbing ---------------------------------------------------------------------------------
    @Slot(object, object)
    def _invoke(self, function: Callable[[Any], None], argument: Any) -> None:
        function(argument)

    def _on_gui(self, function: Callable[[Any], None]) -> Callable[[Any], None]:
        """Wrap a GUI-thread handler so worker threads can call it safely."""

        def post(argument: Any) -> None:
            self._sig_invoke.emit(function, argument)

        return post

    def report_error(self, error: BaseException) -> None:
        """Show an error: our own as its sentence and hint, anything else as a bug with its traceback."""
        if isinstance(error, BmsFlasherError):
            self.sig_error.emit(error.message, error.hint or "")
            return
        _log.error("unexpected error: %s", "".join(traceback.format_exception(error)))
        self.sig_error.emit(
            later(
                "AppModel",
                QT_TRANSLATE_NOOP("AppModel", "Unexpected error: %1"),
                f"{type(error).__name__}: {error}",
            ),
            later(
                "AppModel",
                QT_TRANSLATE_NOOP("AppModel", "This is a bug in bmsflasher; the details are in the log."),
            ),
        )

    def _run_task(self, name: str, task: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        self._tasks.start(name, task, self._on_gui(on_done), self._on_gui(self.report_error))

    def _run_device_job(
        self,
        name: str,
        job: Callable[[Target], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> bool:
        worker = self._worker
        if worker is None:
            self._not_connected()
            return False
        self.sig_busy.emit(name)

        def done(result: Any) -> None:
            self.sig_busy.emit("")
            on_done(result)

        def failed(error: BaseException) -> None:
            self.sig_busy.emit("")
            (on_error or self.report_error)(error)

        worker.submit(name, job, self._on_gui(done), self._on_gui(failed))
        return True

    def _not_connected(self) -> None:
        self.sig_error.emit(
            later("AppModel", QT_TRANSLATE_NOOP("AppModel", "No device is connected.")),
            later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Connect a device first.")),
        )

    @property
    def connected(self) -> bool:
        return self._worker is not None

    @property
    def record_bus(self) -> bool:
        """Record the CAN adapter's frames while an update runs, kept with the session (diagnostics page)."""
        return self.engine.record_bus_during_updates

    @record_bus.setter
    def record_bus(self, value: bool) -> None:
        self.engine.record_bus_during_updates = value

    @property
    def read_only_reason(self) -> str | None:
        """Why writing pages are unavailable (a battery watched through its CAN broadcasts), or None."""
        return self.engine.read_only_reason(self._worker.target if self._worker is not None else None)

    @property
    def update_running(self) -> bool:
        return self._update_running

    # --- discovery and connection -----------------------------------------------------------------
    def scan(self, extra_ports: Sequence[str] = ()) -> None:
        """Look for adapters and devices in the background; ``sig_scan_result`` brings the answer."""
        self.sig_scan_running.emit(True)

        def done(result: Any) -> None:
            self.last_scan = result
            self.sig_scan_running.emit(False)
            self.sig_scan_result.emit(result)

        def failed(error: BaseException) -> None:
            self.sig_scan_running.emit(False)
            self.report_error(error)

        ports = tuple(extra_ports)
        self._tasks.start("scan", lambda: self.engine.scan(ports), self._on_gui(done), self._on_gui(failed))

    def read_bus(self, link: LinkSettings, addresses: Sequence[int]) -> None:
        """Ask each address on one Modbus line or gateway who it is; ``sig_bus_result`` lists who answered.

        The line is one port: a module connected on it is disconnected first (it is listed again by
        the read, and one click reconnects it).
        """
        if self._update_running:
            self.sig_error.emit(
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "An update is running.")),
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Wait until it has finished.")),
            )
            return
        if self.connected and self.link is not None and same_port(self.link, link):
            self.disconnect_device()
        self._release_rack(link)
        closing = list(self._closing)
        asked = tuple(addresses)
        self.sig_bus_running.emit(True)
        progress = self._on_gui(lambda counts: self.sig_bus_progress.emit(*counts))

        def read() -> BusReading:
            for old in closing:  # the port must be released before it can be opened again
                old.join()
            return self.engine.read_bus(link, asked, lambda done, total: progress((done, total)))

        def done(result: BusReading) -> None:
            self.sig_bus_running.emit(False)
            self.sig_bus_result.emit(result)

        def failed(error: BaseException) -> None:
            self.sig_bus_running.emit(False)
            self.report_error(error)

        self._tasks.start("read bus", read, self._on_gui(done), self._on_gui(failed))

    def connect_device(
        self, link: LinkSettings, *, restoring: bool = False, broadcast: tuple[Path, Path] | None = None
    ) -> None:
        """Open the device behind ``link`` (in a task thread), then start polling its telemetry.

        ``broadcast`` (a DBC and its signal map) watches a CAN BMS through its broadcasts instead:
        read-only, nothing is sent (:attr:`read_only_reason` says so to the pages).

        A working connection is kept until the new device has answered: a connect that fails leaves
        the battery that was connected connected (when both links share one port, which cannot be
        open twice, that battery is reopened), so the window always shows one true state.
        """
        if self._update_running:
            self.sig_error.emit(
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "An update is running.")),
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Wait until it has finished.")),
            )
            return
        if self._connecting is not None:
            self.sig_error.emit(
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "A connection is being opened already.")),
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Wait until it has answered or failed.")),
            )
            return
        previous = self.link if self.connected else None
        shares_port = previous is not None and same_port(previous, link)
        if shares_port:
            self.disconnect_device()  # one port cannot be open twice; reopened below if the new link fails
        self._release_rack(link)
        self._connecting = link
        self.sig_connecting.emit(link.describe())

        closing = list(self._closing)

        def open_and_identify() -> tuple[Target, DeviceIdentity]:
            for old in closing:  # the port must be released before it can be opened again
                old.join()
            if broadcast is not None:
                target = self.engine.open_broadcast_target(link, *broadcast)
            else:
                target = self.engine.open_target(link)
            try:
                return target, target.identify()
            except BaseException:
                target.close()
                raise

        def opened(result: tuple[Target, DeviceIdentity]) -> None:
            self._connecting = None
            target, identity = result
            self.disconnect_device(announce=False)  # the battery connected before, if any
            self._attach(target, identity)

        def failed(error: BaseException) -> None:
            self._connecting = None
            self.sig_connect_failed.emit(link.describe())
            self.report_error(error)
            if shares_port and previous is not None and not restoring:
                self.connect_device(previous, restoring=True)  # give back the connection that worked
            else:
                self.sig_connection_changed.emit(self.identity)  # whatever is connected now, or None

        self._tasks.start("connect", open_and_identify, self._on_gui(opened), self._on_gui(failed))

    @property
    def connecting(self) -> bool:
        """A connection is being opened (the previous one, if any, still works)."""
        return self._connecting is not None

    def attach_target(self, target: Target) -> None:
        """Adopt an already-open target (demo mode, tests); identification runs on the device thread."""
        self.disconnect_device()
        self._attach(target, None)

    def _attach(self, target: Target, identity: DeviceIdentity | None) -> None:
        self.link = target.link
        self._worker = DeviceWorker(
            target,
            on_telemetry=self.sig_telemetry.emit,
            on_poll_error=self._on_gui(self._poll_failed),
        )
        self.sig_telemetry.connect(self._remember_telemetry, Qt.ConnectionType.UniqueConnection)
        if identity is None:
            self._run_device_job("identify", lambda t: t.identify(), self._identified)
        else:
            self._identified(identity)

    def _identified(self, identity: DeviceIdentity) -> None:
        self.identity = identity
        if identity.mode is not DeviceMode.APPLICATION and self._worker is not None:
            self._worker.set_polling(False)  # a bootloader has no pack telemetry to poll
        self.sig_connection_changed.emit(identity)
        self.sig_status.emit(
            later(
                "AppModel",
                QT_TRANSLATE_NOOP("AppModel", "Connected to %1 (serial %2)"),
                identity.model,
                identity.serial_number,
            )
        )

    @Slot(object)
    def _remember_telemetry(self, sample: PackTelemetry) -> None:
        self.latest_telemetry = sample

    def _poll_failed(self, error: BaseException) -> None:
        if isinstance(error, BmsFlasherError):
            self.sig_link_problem.emit(error.message)
        else:
            self.report_error(error)

    def refresh_identity(self) -> None:
        """Read the identity again (after an update or rollback)."""
        self._run_device_job("identify", lambda t: t.identify(), self._identified)

    def disconnect_device(self, *, announce: bool = True) -> None:
        """Stop polling and close the device. The worker finishes its current request first.

        ``announce=False`` when another device takes its place at once (no "not connected" flash).
        """
        worker, self._worker = self._worker, None
        if worker is None:
            return
        self._set_recording_path("")
        worker.request_stop()
        self._closing = [w for w in self._closing if w.alive] + [worker]
        self.identity = None
        self.latest_telemetry = None
        self.config_schema = None
        self._schema_known = False
        if announce:
            self.sig_connection_changed.emit(None)

    # --- a rack's live data ----------------------------------------------------------------------
    def watch_rack(self, link: LinkSettings, addresses: Sequence[int]) -> None:
        """Poll every module at ``addresses`` on ``link``'s Modbus line for the live page's rack view.

        The line is one port: a single module connected on it is disconnected first, and
        connecting one module on it later stops the rack view (:meth:`connect_device`).
        """
        if self._update_running:
            self.sig_error.emit(
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "An update is running.")),
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Wait until it has finished.")),
            )
            return
        if self.connected and self.link is not None and same_port(self.link, link):
            self.disconnect_device()
        self._release_rack(link)
        closing = list(self._closing)
        watched = tuple(addresses)

        def open_rack() -> Any:
            for old in closing:
                old.join()
            return self.engine.open_rack(link, watched)

        def opened(rack: Any) -> None:
            self._release_rack(link)
            self.rack_link = link
            self._rack = RackWorker(
                rack,
                on_sample=self.sig_rack_sample.emit,
                on_silent=lambda address, error: self.sig_rack_silent.emit(address, error.message),
            )
            self.sig_rack_watching.emit(watched)

        self._tasks.start("watch rack", open_rack, self._on_gui(opened), self._on_gui(self.report_error))

    def stop_rack(self) -> None:
        """Stop the rack view's polling; the line closes after the module being asked now."""
        rack, self._rack = self._rack, None
        if rack is None:
            return
        rack.stop()
        self._closing = [w for w in self._closing if w.alive] + [rack]
        self.rack_link = None
        self.sig_rack_watching.emit(())

    @property
    def watching_rack(self) -> bool:
        return self._rack is not None

    def _release_rack(self, link: LinkSettings) -> None:
        """Stop the rack view if it holds the port ``link`` needs."""
        if self.rack_link is not None and same_port(self.rack_link, link):
            self.stop_rack()

    # --- live data -----------------------------------------------------------------------------
    def set_polling(self, enabled: bool) -> None:
        """Pause or resume the 10 Hz telemetry poll."""
        if self._worker is not None:
            self._worker.set_polling(enabled)

    def start_recording(self, path: Path) -> None:
        """Record every telemetry sample to a CSV file until :meth:`stop_recording`."""
        if self._worker is None:
            self._not_connected()
            return
        try:
            recorder = CsvRecorder(path)
        except StorageError as exc:
            self.report_error(exc)
            return
        previous = self._worker.set_recorder(recorder)
        if previous is not None:
            previous.close()
        self._set_recording_path(str(path))

    def stop_recording(self) -> None:
        """Close the CSV recording, if any."""
        if self._worker is not None:
            previous = self._worker.set_recorder(None)
            if previous is not None:
                previous.close()
        self._set_recording_path("")

    def _set_recording_path(self, path: str) -> None:
        if path != self._recording_path:
            self._recording_path = path
            self.sig_recording_changed.emit(path)

    @property
    def recording_path(self) -> str:
        return self._recording_path

    # --- configuration -------------------------------------------------------------------------
    def read_config(self) -> None:
        """Read every parameter (and, once per connection, the schema they are checked against)."""
        need_schema = not self._schema_known

        def read(target: Target) -> tuple[bool, ConfigSchema | None, ConfigSnapshot]:
            schema = self.engine.config_schema(target) if need_schema else self.config_schema
            return need_schema, schema, target.read_config()

        def done(result: tuple[bool, ConfigSchema | None, ConfigSnapshot]) -> None:
            fresh, schema, snapshot = result
            if fresh and self._worker is not None:
                self.config_schema, self._schema_known = schema, True
                self.sig_config_schema.emit(schema)
            self.sig_config.emit(snapshot)

        self._run_device_job("read_config", read, done)

    def write_config(self, changes: Mapping[str, ParameterValue]) -> None:
        """Write changed parameters and read the result back.

        Every value is checked against the device's schema first; a value outside it is refused
        here, before anything is sent (the engine then refuses unknown and read-only names).
        """
        values = dict(changes)
        schema = self.config_schema
        problems = check_values(values, dict(schema.parameters) if schema is not None else None)
        if problems:
            self.sig_error.emit(
                later(
                    "AppModel",
                    QT_TRANSLATE_NOOP(
                        "AppModel", "Nothing was written: %1 is outside what the battery accepts."
                    ),
                    ", ".join(sorted(problems)),
                ),
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Correct the values marked in red.")),
            )
            return
        self._run_device_job(
            "write_config", lambda t: self.engine.write_config(t, values), self.sig_config_written.emit
        )

    def backup_config(self) -> None:
        """Read every parameter, store it in the records database, verify it, and list backups."""
        self._run_device_job("backup", self.engine.backup_config, self._backup_done)

    def _backup_done(self, backup: BackupRecord) -> None:
        self.sig_backup_done.emit(backup)
        self.list_backups()

    def list_backups(self) -> None:
        identity = self.identity
        if identity is None:
            return
        serial = identity.serial_number
        self._run_task("backups", lambda: self.engine.list_backups(serial), self.sig_backups.emit)

    def restore_config(self, backup_id: int) -> None:
        """Write a stored backup to the device."""
        self._run_device_job(
            "restore", lambda t: self.engine.restore_config(t, backup_id), self.sig_config_written.emit
        )

    def diff_backup(self, backup_id: int) -> None:
        """Compare a stored backup with the device's configuration now."""
        self._run_device_job("diff", lambda t: self.engine.diff_with_device(t, backup_id), self.sig_diff.emit)

    # --- diagnostics ---------------------------------------------------------------------------
    def read_dtcs(self) -> None:
        self._run_device_job("read_dtcs", lambda t: t.read_dtcs(), self.sig_dtcs.emit)

    def clear_dtcs(self) -> None:
        def clear_and_read(target: Target) -> list[Dtc]:
            target.clear_dtcs()
            return target.read_dtcs()

        self._run_device_job("clear_dtcs", clear_and_read, self.sig_dtcs.emit)

    def read_link_stats(self) -> None:
        def stats(target: Target) -> LinkStats:
            target.ping()
            return target.link_stats()

        self._run_device_job("link_stats", stats, self.sig_link_stats.emit)

    # --- update --------------------------------------------------------------------------------
    def load_trust(self) -> None:
        """Read the trusted keys again (the folder may have changed) and say which are in use."""

        def loaded(status: TrustStatus) -> None:
            self.trust = status
            self.sig_trust.emit(status)

        self._run_task("trust", self.engine.trust_status, loaded)

    def check_package(self, path: Path) -> None:
        """Verify a package's signature, hash and compatibility with the connected device."""
        identity = self.identity

        def checked(result: PackageCheck) -> None:
            self.package = result
            self.sig_package_checked.emit(result)

        self._run_task("check_package", lambda: self.engine.check_package(path, identity), checked)

    def check_preconditions(self) -> None:
        """Measure every precondition gate now (nothing is written)."""
        package = self.package
        if package is None or not package.ok:
            self.sig_error.emit(
                later("AppModel", QT_TRANSLATE_NOOP("AppModel", "Choose a valid package first.")), ""
            )
            return
        self._run_device_job(
            "preconditions",
            lambda t: self.engine.check_preconditions(t, package),
            self.sig_preconditions.emit,
        )

    def start_update(self, options: UpdateOptions) -> bool:
        """Run the whole update procedure on the device thread; events stream on ``sig_update_event``."""
        package = self.package
        if package is None or not package.ok or self._update_running:
            return False
        self._update_running = True
        self.sig_update_running.emit(True)
        sink = self.sig_update_event.emit

        def finished(outcome: UpdateOutcome) -> None:
            self._update_running = False
            self.last_outcome = outcome
            if outcome.identity is not None:
                self._identified(outcome.identity)  # first: the result page reads the slots from it
            self.sig_update_running.emit(False)
            self.sig_update_finished.emit(outcome)

        def failed(error: BaseException) -> None:
            self._update_running = False
            self.sig_update_running.emit(False)
            outcome = UpdateOutcome.from_error(error)
            self.last_outcome = outcome
            self.sig_update_finished.emit(outcome)

        if self._worker is not None:
            self._worker.set_polling(False)
        started = self._run_device_job(
            "update", lambda t: self.engine.run_update(t, package, options, sink), finished, failed
        )
        if not started:
            self._update_running = False
            self.sig_update_running.emit(False)
        return started

    def resume_polling(self) -> None:
        """Resume the live view after an update (called when the wizard closes)."""
        if self.identity is not None and self.identity.mode is DeviceMode.APPLICATION:
            self.set_polling(True)

    def rollback(self) -> None:
        """Revert the device to the firmware in its other slot (manual Roll back button)."""
        if self._update_running:
            return
        self._update_running = True
        self.sig_update_running.emit(True)
        sink = self.sig_update_event.emit

        def done(identity: DeviceIdentity) -> None:
            self._update_running = False
            self.sig_update_running.emit(False)
            self._identified(identity)
            self.resume_polling()
            self.sig_rollback_finished.emit(identity)

        def failed(error: BaseException) -> None:
            self._update_running = False
            self.sig_update_running.emit(False)
            if isinstance(error, BmsFlasherError):
                self.sig_rollback_failed.emit(error.message, error.hint or "")
            else:
                self.sig_rollback_failed.emit(
                    later(
                        "AppModel",
                        QT_TRANSLATE_NOOP("AppModel", "The rollback stopped with an unexpected error."),
                    ),
                    "",
                )
            self.report_error(error)
            if self._worker is not None:
                self.refresh_identity()  # what the device runs now, whatever the refusal said
                self.resume_polling()

        if self._worker is not None:
            self._worker.set_polling(False)
        if not self._run_device_job("rollback", lambda t: self.engine.rollback(t, sink), done, failed):
            self._update_running = False
            self.sig_update_running.emit(False)

    def rollback_blocker(self) -> RollbackBlocker | None:
        """Why the connected battery cannot roll back now (read from its identity), None when it can."""
        return rollback_blocker(self.identity)

    def request_recovery(self, link: LinkSettings) -> None:
        """Ask the window to open the recovery dialog for the device behind ``link``."""
        self.sig_recovery_requested.emit(link)

    def recover(
        self,
        link: LinkSettings,
        package_path: Path,
        model: str | None = None,
        hardware_revision: str | None = None,
    ) -> None:
        """Flash a package into a device in recovery mode (opens its own link; no other device job).

        ``model`` and ``hardware_revision`` are what the technician read from the unit's label, for a
        bootloader that cannot report them.
        """
        if self._update_running:
            return
        self._update_running = True
        self.sig_update_running.emit(True)
        self.disconnect_device()
        sink = self.sig_update_event.emit

        def done(identity: DeviceIdentity) -> None:
            self._update_running = False
            self.sig_update_running.emit(False)
            self.sig_recovery_finished.emit(identity)
            self.connect_device(link)

        def failed(error: BaseException) -> None:
            self._update_running = False
            self.sig_update_running.emit(False)
            self.report_error(error)

        self._tasks.start(
            "recover",
            lambda: self.engine.recover(link, package_path, sink, model, hardware_revision),
            self._on_gui(done),
            self._on_gui(failed),
        )

    # --- history -------------------------------------------------------------------------------
    def reports_folder(self) -> Path:
        """The folder save dialogs start in (reports and recordings), created on first use."""
        return self.engine.reports_folder()

    def load_history(self) -> None:
        self._run_task("history", self.engine.sessions, self.sig_history.emit)

    def load_session_detail(self, session_id: int) -> None:
        """Read one session's steps and measurements for the history page."""
        self._run_task(
            "session", lambda: self.engine.session_detail(session_id), self.sig_session_detail.emit
        )

    def save_report(self, session_id: int, path: Path) -> None:
        """Render the service report of one session to HTML or PDF (by the file suffix)."""
        self._run_task(
            "report", lambda: self.engine.save_report(session_id, path), self.sig_report_saved.emit
        )

    # --- appearance ------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        if name != self.theme_name:
            self.theme_name = name
            self.sig_theme_changed.emit(name)

    def set_language(self, language: str) -> None:
        if language != self.language:
            self.language = language
            self.sig_language_changed.emit(language)

    # --- shutdown -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Close the device and wait for background tasks (bounded), so no thread outlives the app."""
        self.disconnect_device()
        self.stop_rack()
        for worker in self._closing:
            if not worker.join(SHUTDOWN_TIMEOUT_S):
                _log.warning("the device thread did not stop in time; it ends with the application")
        self._closing = []
        if not self._tasks.join(SHUTDOWN_TIMEOUT_S):
            _log.warning("background tasks still running at exit")
        self.engine.close()
