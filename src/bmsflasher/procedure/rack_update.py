"""Updating the modules of an energy-storage rack together: one broadcast, then each module on its own.

The image crosses the RS485 pair once for the whole rack (``protocols.modbus.broadcast``): every
module that passes the identity gates (model, board revision, mode, anti-rollback) is armed, the
records go to unit 0, and each module's gaps are repaired from its own missing-records report.
Then every module goes through the ordinary :class:`~bmsflasher.procedure.engine.UpdateProcedure`
— its full preconditions, backup, journal and service session; its transfer step finds the image
already held (the target's resume path: PREPARE of the same image, nothing missing, VERIFY), then
test boot, self-test and confirm, or the automatic rollback of that module alone. Nothing here
copies the procedure: a rack update is N single-module updates whose transfers were shared.

Order, and why it is safe: the identity gates run before anything is written; the measured gates
(charge, temperature, load, trouble codes) and the configuration backup run in each module's
procedure after the broadcast. A broadcast only fills the secondary slot, which the running
application never reads; a module refused by its procedure afterwards keeps running its firmware
and the unused image is overwritten by the next upload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.events import EventSink, Progress, StepFinished, StepStarted, discard
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceMode, LinkSettings
from bmsflasher.procedure import preconditions
from bmsflasher.procedure.engine import UpdateOptions, UpdateProcedure
from bmsflasher.procedure.package_loading import PackageLoader, UpdatePackage
from bmsflasher.procedure.results import UpdateResult
from bmsflasher.protocols.modbus.broadcast import BroadcastReport, BroadcastTransfer
from bmsflasher.protocols.modbus.session import ModbusSession, character_bits
from bmsflasher.protocols.modbus.target import TCP_NOMINAL_BAUD, ModbusTarget, open_link
from bmsflasher.records import RecordsDb

BESIDE_APPLICATION_SLOT: Final = 1
BROADCAST_STEP: Final = "broadcast"

_T = TypeVar("_T")
SinkFor = Callable[[int], EventSink]
"""The event sink of the module at a unit address (progress and steps per module)."""


@dataclass(frozen=True, slots=True)
class ModuleOutcome:
    """One module's part of a rack update."""

    address: int
    result: UpdateResult | None
    """The module's own update result; None when it could not even be reached."""
    error: BmsFlasherError | None = None
    """Why the module was left out of the broadcast (it then transfers on its own, or fails)."""
    repaired_records: int = 0
    """Records re-sent to this module after the broadcast (those it had missed)."""


@dataclass(frozen=True, slots=True)
class RackUpdateResult:
    """Every module's outcome and the shared broadcast."""

    modules: tuple[ModuleOutcome, ...]
    broadcast: BroadcastReport | None


class RackUpdate:
    """Updates the modules at ``addresses`` on one RS485 line with one package.

    Args:
        load_package: verifies and returns the package (once for the rack).
        link: the line (port, baud, parity, stop bits); its ``address`` is ignored.
        addresses: the modules' unit addresses, in the order they are updated.
        records: the service history (one session per module, as for a single device).
        sink_for: each module's event sink.
        options: the update options every module's procedure runs with.
    """

    def __init__(
        self,
        load_package: PackageLoader,
        link: LinkSettings,
        addresses: Sequence[int],
        records: RecordsDb,
        *,
        sink_for: SinkFor = lambda _address: discard,
        options: UpdateOptions | None = None,
    ) -> None:
        self._load_package = load_package
        self._link = link
        self._addresses = tuple(dict.fromkeys(addresses))
        self._records = records
        self._sink_for = sink_for
        self._options = options or UpdateOptions()

    def run(self) -> RackUpdateResult:
        """Broadcast, then update each module; one module's failure never stops the others."""
        package = self._load_package()
        port = open_link(self._link)
        try:
            targets = {
                address: ModbusTarget(
                    port, dataclasses.replace(self._link, address=address), reconnect_timeout_s=10.0
                )
                for address in self._addresses
            }
            left_out: dict[int, BmsFlasherError] = {}
            armed = [a for a in self._addresses if self._fits(targets[a], package, a, left_out)]
            report = self._broadcast([targets[a] for a in armed], package) if armed else None
            if report is not None:
                left_out.update(report.failures)
            outcomes = []
            for address in self._addresses:
                target = targets[address]
                options = dataclasses.replace(
                    self._options, details={**self._options.details, "rack_broadcast": address in armed}
                )
                result = UpdateProcedure(
                    _fixed(package), _fixed(target), self._records, self._sink_for(address), options
                ).run()
                repair = report.repairs.get(address) if report is not None else None
                outcomes.append(
                    ModuleOutcome(
                        address, result, left_out.get(address), repair.records_sent if repair else 0
                    )
                )
            return RackUpdateResult(tuple(outcomes), report)
        finally:
            port.close()

    def _fits(
        self, target: ModbusTarget, package: UpdatePackage, address: int, left_out: dict[int, BmsFlasherError]
    ) -> bool:
        """The identity gates, read-only: a module that fails one is not armed (its procedure refuses it)."""
        try:
            identity = target.identify()
        except BmsFlasherError as exc:
            left_out[address] = exc
            return False
        facts = package.facts
        gates = (
            preconditions.check_model(identity, facts),
            preconditions.check_hardware_revision(identity, facts),
            preconditions.check_device_mode(identity),
            preconditions.check_anti_rollback(identity, facts),
        )
        return identity.mode is DeviceMode.APPLICATION and all(gate.passed for gate in gates)

    def _broadcast(self, targets: list[ModbusTarget], package: UpdatePackage) -> BroadcastReport:
        return broadcast_package(self._link, targets, package, self._sink_for)


def broadcast_package(
    link: LinkSettings, targets: Sequence[ModbusTarget], package: UpdatePackage, sink_for: SinkFor
) -> BroadcastReport:
    """``package``'s image into every module of ``targets`` at once (one line, their sessions' port).

    Each module's sink gets the ``broadcast`` step (started, progress, finished with the records it
    had missed, or its failure). The targets must have been identified (their record size). A pack
    campaign over RS485 uses it too (``procedure.campaign_modbus``).
    """
    bits = character_bits(link.parity, link.stopbits)
    # Over a TCP gateway the broadcast goes to unit 0 in MBAP framing; the gateway's own RS485
    # side sets the pace (the transfer waits for it), the nominal rate only spaces the writes.
    baud = TCP_NOMINAL_BAUD if link.tcp else max(link.baud, 1)
    session = ModbusSession(
        targets[0].session.link, address=0, tcp=bool(link.tcp), char_bits=bits, where=link.describe()
    )
    sinks = {target.link.address: sink_for(target.link.address) for target in targets}
    for sink in sinks.values():
        sink(StepStarted(BROADCAST_STEP, t("Broadcast to {count} modules", count=len(targets))))

    def on_progress(address: int, done: int, total: int) -> None:
        sinks[address](Progress(BROADCAST_STEP, done, total, 0.0, None))

    transfer = BroadcastTransfer(session, [target.access for target in targets])
    report = transfer.run(BESIDE_APPLICATION_SLOT, package.image, on_progress, char_s=bits / baud)
    for address, sink in sinks.items():
        failure = report.failures.get(address)
        repair = report.repairs.get(address)
        detail = (
            failure.message
            if failure is not None
            else t("{count} missed records re-sent", count=repair.records_sent if repair else 0)
        )
        sink(StepFinished(BROADCAST_STEP, failure is None, str(detail)))
    return report


def _fixed(value: _T) -> Callable[[], _T]:
    """A factory that returns ``value`` (the package is verified once, the line is opened once)."""
    return lambda: value
