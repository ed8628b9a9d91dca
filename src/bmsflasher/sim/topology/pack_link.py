"""The pack's own traffic on its CAN bus: every node's cyclic status frame, heard by the others.

Each node is attached to the bus timeline with a port of its own, so its frames arbitrate, take
their air time and reach the adapter (a tool sniffing the bus sees them) exactly like UDS frames.
One thread drives the period: every :data:`STATUS_PERIOD_S` each node whose application runs
sends its status, and the BCU re-evaluates the versions it hears.

A node hears frames only while its application runs (the flag is sampled once per period: the
bus thread that delivers frames never waits for a device's lock).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Final

import can

from bmsflasher.sim.errors import SimError
from bmsflasher.sim.topology.pack_node import PackNodeBms
from bmsflasher.sim.topology.status_frames import sender_of, status_frame
from bmsflasher.sim.wire.can_bus import BusPort, CanBusTimeline

STATUS_PERIOD_S: Final = 0.25


class _NodePort:
    """One node's attachment: sends its status, feeds what it hears into its peer table."""

    def __init__(self, bus: CanBusTimeline, node: PackNodeBms) -> None:
        self.node = node
        self.listening = False
        self.port: BusPort = bus.attach(f"pack:{node.role.address:02X}", self._on_frame, tx_depth=8)

    def _on_frame(self, message: can.Message) -> None:
        sender = sender_of(message)
        if sender is not None and self.listening:
            self.node.role.peers.on_status(sender, bytes(message.data))

    def tick(self) -> None:
        self.listening = self.node.application_running
        try:
            status = self.node.status()
        except SimError:  # powered off or rebooting between the flag and the read
            return
        if status is None:
            return
        if self.port.send(status_frame(self.node.role.address, status), timeout_s=0.0):
            self.node.role.peers.count_sent()
        with contextlib.suppress(SimError):
            self.node.evaluate_pack()


class PackLink:
    """The status traffic of a pack's nodes on ``bus`` until :meth:`close`."""

    def __init__(
        self, bus: CanBusTimeline, nodes: list[PackNodeBms], period_s: float = STATUS_PERIOD_S
    ) -> None:
        self._ports = [_NodePort(bus, node) for node in nodes]
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-pack-link", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            for port in self._ports:
                port.tick()
            if self._stop.wait(self._period_s):
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        for port in self._ports:
            port.port.detach()
