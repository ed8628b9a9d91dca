"""A pack campaign over one RS485 bus (Modbus RTU) or a Modbus TCP gateway: the same phases, one port.

The campaign's phases, journal, pack checks and all-or-nothing revert are
:class:`~bmsflasher.procedure.campaign.Campaign`'s, unchanged; what RS485 needs is here:

* **one port for the whole run** (:class:`ModbusPackOpener`): every node step gets a
  :class:`SharedPortModbusTarget` on the port the first step opened. An RS485 adapter belongs to one
  program at a time, a pty reopened at once may refuse its parity, and the nodes answer one
  question at a time anyway, so the steps run one after another (the campaign's side-by-side
  steps are for CAN only). A reboot keeps the port; a pulled adapter is reopened once for every
  node after it.
* **discovery** (:func:`modbus_pack_links`): the presence question at every unit address of the
  range over that port (:mod:`bmsflasher.discovery.pack_nodes_modbus`); the campaign reads every
  identity itself, as on CAN.
* **the broadcast transfer** (:class:`ModbusCampaign`): the nodes that take the same package (a
  pack's BMUs) receive its image once, sent to unit 0 (:func:`.rack_update.broadcast_package`,
  issue 15's broadcast: armed per node, each node's missed records repaired, verified); then the
  campaign's own per-node transfer runs as always and finds the image already held (the target's
  resume path: the same image prepared again, nothing missing, verified), so a node the broadcast
  could not arm, or a resumed run, simply transfers on its own. A package that only one node takes
  (the BCU's, a BMC's) goes per node.

The pack self-test on RS485: every node answers and reports the set's version, and the BCU's pack
voltage equals the sum of the BMUs' module voltages within ±0.5 % (:mod:`.campaign_checks`). The
rack's register map has no inter-node communication counters (the UDS nodes' DID 0xFD50 has no
Modbus twin), so that check reports "not kept by these nodes"; the BCU's own self-test still fails
when it sees a BMU version it does not accept (its trouble code), and its pack voltage, built from
the BMUs' status frames, proves it hears every BMU.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    LinkError,
    LinkTimeoutError,
    NoResponseError,
)
from bmsflasher.core.events import Event, EventSink, LogLevel, StepFinished, StepStarted
from bmsflasher.core.i18n import t
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceMode, LinkSettings
from bmsflasher.discovery.modbus_wire import GATEWAY_EXCEPTIONS
from bmsflasher.discovery.pack_nodes_modbus import DEFAULT_PACK_ADDRESSES, answering_units, unit_link
from bmsflasher.links.serial import SerialLink
from bmsflasher.procedure.campaign import Campaign
from bmsflasher.procedure.campaign_journal import Phase
from bmsflasher.procedure.campaign_plan import PlannedNode
from bmsflasher.procedure.rack_update import BROADCAST_STEP, broadcast_package
from bmsflasher.protocols.modbus.target import (
    PROBE_ATTEMPTS,
    RECONNECT_ATTEMPTS,
    ModbusTarget,
    open_link,
)

MIN_BROADCAST_NODES = 2
"""A package that fewer nodes take goes per node (a broadcast to one node only adds its arming)."""


class ModbusPackOpener:
    """Opens every node of the pack on one kept port (see the module docstring); a campaign's opener.

    Args:
        line: the RS485 line (port, baud, parity, stop bits) or the gateway (``tcp``).
        reconnect_timeout_s: each node target's reconnect wait (its reboots, a pulled adapter).
    """

    def __init__(self, line: LinkSettings, *, reconnect_timeout_s: float = 10.0) -> None:
        self.line = line
        self._reconnect_timeout_s = reconnect_timeout_s
        self._port: SerialLink | None = None
        self._lock = threading.Lock()
        self.port_opens = 0

    def port(self) -> SerialLink:
        """The kept port, opened on first use (or again after it went away)."""
        with self._lock:
            if self._port is None or not self._port.is_open:
                self._open()
            assert self._port is not None
            return self._port

    def reopen(self, broken: SerialLink) -> SerialLink:
        """A fresh port in place of ``broken`` (once: a second node that lost it gets the new one)."""
        with self._lock:
            if self._port is broken or self._port is None or not self._port.is_open:
                broken.close()
                self._open()
            assert self._port is not None
            return self._port

    def _open(self) -> None:
        self._port = open_link(self.line)
        self.port_opens += 1

    def __call__(self, link: LinkSettings) -> Target:
        """The node at ``link``'s unit address, checked to answer (a :class:`SharedPortModbusTarget`).

        Raises:
            LinkError: the port cannot be opened.
            NoResponseError: nothing answers at that unit address.
        """
        target = SharedPortModbusTarget(self, link, reconnect_timeout_s=self._reconnect_timeout_s)
        target.check_answers()
        return target

    def close(self) -> None:
        """Close the kept port (safe to call twice)."""
        with self._lock:
            if self._port is not None:
                self._port.close()
            self._port = None


class SharedPortModbusTarget(ModbusTarget):
    """A node's :class:`ModbusTarget` on the pack's kept port: closing it leaves the port open."""

    def __init__(
        self, keeper: ModbusPackOpener, settings: LinkSettings, *, reconnect_timeout_s: float
    ) -> None:
        self._keeper = keeper
        super().__init__(keeper.port(), settings, reconnect_timeout_s=reconnect_timeout_s)

    def check_answers(self) -> None:
        """What :meth:`ModbusTarget.connect` checks: the node answers at its address."""
        self._probe(PROBE_ATTEMPTS)

    def _close_link(self) -> None:
        """The port is the keeper's (the next node's step uses it)."""

    def _reopen_link(self) -> None:
        """Ask the node again on the kept port; take a fresh port from the keeper only if it went away."""
        session = self.session
        self._forget()
        if session.link.is_open:
            try:
                self._probe_again()
            except LinkTimeoutError:
                raise  # the port is there, only not draining (a peer still busy): ask again, keep it
            except LinkError:
                pass  # the port went away: the keeper reopens it below
            else:
                return
        session.replace_link(self._keeper.reopen(session.link))
        self._forget()
        self._probe_again()

    def _probe_again(self) -> None:
        """The probe after a reboot; through a gateway, "the unit did not answer" is silence, not a refusal.

        A node that is still booting leaves the gateway without an answer, which it reports as
        exception 0x0B (or 0x0A): the reconnect loop must go on asking, as it does on RS485 when
        the node is silent.
        """
        try:
            self._probe(RECONNECT_ATTEMPTS)
        except DeviceRejectedError as exc:
            if not (self._settings.tcp and exc.code in GATEWAY_EXCEPTIONS):
                raise
            raise NoResponseError(exc.message, hint=exc.hint) from exc


def modbus_pack_links(
    opener: ModbusPackOpener, addresses: Sequence[int] = DEFAULT_PACK_ADDRESSES
) -> Callable[[], Sequence[LinkSettings]]:
    """Discovers the pack on the opener's line: the answering unit addresses, as node links."""

    def discover() -> Sequence[LinkSettings]:
        line = opener.line
        return [unit_link(line, address) for address in answering_units(opener.port(), line, addresses)]

    return discover


def shared_packages(todo: Sequence[PlannedNode]) -> list[list[PlannedNode]]:
    """The nodes grouped by the package they take, groups of :data:`MIN_BROADCAST_NODES` or more only."""
    groups: dict[str, list[PlannedNode]] = defaultdict(list)
    for node in todo:
        groups[node.release.package.facts.package_sha256].append(node)
    return [group for group in groups.values() if len(group) >= MIN_BROADCAST_NODES]


class ModbusCampaign(Campaign):
    """:class:`Campaign` whose transfer phase broadcasts each shared package first (module docstring).

    Give it a :class:`ModbusPackOpener` as the opener and :func:`modbus_pack_links` as discovery.
    """

    def _transfer_all(self) -> None:
        if self._state.phase is not Phase.TRANSFER:
            self._begin_phase(Phase.TRANSFER)
        todo = [node for node in self._p.nodes if "transfer" not in self._state.node(node.serial).done]
        for group in shared_packages(todo):
            self._broadcast(group)
        super()._transfer_all()

    def _broadcast(self, group: Sequence[PlannedNode]) -> None:
        """The group's package to every node of it at once; a node it misses transfers on its own.

        The broadcast only saves line time: a node it could not arm or repair, or a broadcast that
        stopped on a link error (an adapter that stopped draining), leaves the nodes to their own
        transfers. A node that went silent meanwhile — still taking the records queued for it — is
        waited for (its reboot wait) before its own transfer asks it anything.
        """
        opened: list[Target] = []
        armed: dict[int, tuple[ModbusTarget, PlannedNode]] = {}
        try:
            for node in group:
                target = self._opener(node.link)
                opened.append(target)
                # identified: the broadcast needs each node's record size; only a running node is armed
                if isinstance(target, ModbusTarget) and target.identify().mode is DeviceMode.APPLICATION:
                    armed[target.link.address] = (target, node)
            if len(armed) < MIN_BROADCAST_NODES:
                return
            targets = [target for target, _node in armed.values()]
            missed: dict[int, BmsFlasherError]
            try:
                missed = broadcast_package(
                    targets[0].link,
                    targets,
                    group[0].release.package,
                    lambda address: self._node_sink(armed[address][1].serial),
                ).failures
            except LinkError as exc:
                missed = dict.fromkeys(armed, exc)
                for _target, node in armed.values():
                    self._node_step(node.serial, BROADCAST_STEP, False, exc.message)
            for address, failure in missed.items():
                target, node = armed[address]
                self._log(
                    LogLevel.WARNING,
                    t(
                        "node {serial} missed the broadcast ({error}); it receives its image on its own",
                        serial=node.serial,
                        error=failure.message,
                    ),
                )
                if isinstance(failure, LinkError | NoResponseError):
                    target.reconnect(self._profile(node).reboot.reconnect_timeout_s)
        finally:
            for target in opened:
                target.close()

    def _node_sink(self, serial: str) -> EventSink:
        """A node's sink for the broadcast: its steps recorded in its session too, progress shown."""

        def sink(event: Event) -> None:
            if isinstance(event, StepStarted):
                self._node_step(serial, BROADCAST_STEP, None)
            elif isinstance(event, StepFinished):
                self._node_step(serial, BROADCAST_STEP, event.ok, event.detail)
            else:
                self._sink_for(serial)(event)

        return sink
