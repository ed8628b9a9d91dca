"""The pack's own traffic on its CAN bus: every node's cyclic status frame, every BMU's cells.

Each node is attached to the bus timeline with a port of its own, so its frames arbitrate, take
their air time and reach the adapter (a tool sniffing the bus sees them) exactly like UDS frames.
One thread drives the periods: every :data:`STATUS_PERIOD_S` each node whose application runs
sends its status, and the BCU re-evaluates the versions it hears; every :data:`CELL_PERIOD_S`
(10 Hz) each BMU whose application runs sends its cell voltages (``status_frames.cell_frames``).

Cell frames are the bulk of a pack's traffic (32 BMUs of 16 cells: 1280 frames a second, about
35 % of 500 kbit/s). While any node of the pack runs its bootloader or recovery (it is being
updated) the BMUs hold them, as a pack's BCU orders when it sees a node leave its application
(here the link reads the nodes' modes directly): a campaign's transfers get the bus, and the cells
are back one period after the last node returned to its application.

A node hears frames only while its application runs (the flag is sampled once per period: the
bus thread that delivers frames never waits for a device's lock).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Final

import can

from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.topology.pack_node import PackNodeBms
from bmsflasher.sim.topology.status_frames import cell_frames, sender_of, status_frame
from bmsflasher.sim.wire.can_bus import BusPort, CanBusTimeline

STATUS_PERIOD_S: Final = 0.25
CELL_PERIOD_S: Final = 0.1
"""The BMUs' cell frames: 10 Hz, the rate a pack's live cell view needs."""
_TX_DEPTH: Final = 32


class _NodePort:
    """One node's attachment: sends its status, feeds what it hears into its peer table."""

    def __init__(self, bus: CanBusTimeline, node: PackNodeBms) -> None:
        self.node = node
        self.listening = False
        self.sends_cells = node.role.tier is Tier.BMU
        self.cell_frames_sent = 0
        self.port: BusPort = bus.attach(f"pack:{node.role.address:02X}", self._on_frame, tx_depth=_TX_DEPTH)

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

    def send_cells(self) -> None:
        """This BMU's cell frames, one per group of four cells (nothing while its application is off)."""
        if not self.sends_cells or not self.node.application_running:
            return
        try:
            cells = self.node.telemetry().cell_voltages_mv
        except SimError:  # powered off or rebooting between the flag and the read
            return
        frames = cell_frames(self.node.role.address, cells)
        self.cell_frames_sent += self.port.send_many(frames, timeout_s=0.0)


class PackLink:
    """The status traffic of a pack's nodes on ``bus`` until :meth:`close`."""

    def __init__(
        self,
        bus: CanBusTimeline,
        nodes: list[PackNodeBms],
        period_s: float = STATUS_PERIOD_S,
        cell_period_s: float = CELL_PERIOD_S,
    ) -> None:
        self._ports = [_NodePort(bus, node) for node in nodes]
        self._period_s = period_s
        self._cell_period_s = cell_period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-pack-link", daemon=True)
        self._thread.start()

    @property
    def in_service(self) -> bool:
        """A node of the pack runs its bootloader or recovery: the BMUs hold their cell frames."""
        return any(port.node.powered and not port.node.application_running for port in self._ports)

    @property
    def cell_frames_sent(self) -> int:
        return sum(port.cell_frames_sent for port in self._ports)

    def mute_cells(self, address: int) -> None:
        """Node ``address`` sends no cell frames from now on (a BMU whose firmware has none: tests)."""
        for port in self._ports:
            if port.node.role.address == address:
                port.sends_cells = False

    def _run(self) -> None:
        # Deadlines are kept relative to the thread's start: absolute monotonic times are large on a
        # machine that has been up for days, and their float sums drift.
        start = time.monotonic()
        next_status = next_cells = 0.0
        while True:
            now = time.monotonic() - start
            if now >= next_status:
                for port in self._ports:
                    port.tick()
                next_status = max(next_status + self._period_s, now)
            if self._cell_period_s > 0 and now >= next_cells:
                if not self.in_service:
                    for port in self._ports:
                        port.send_cells()
                next_cells = max(next_cells + self._cell_period_s, now)
            wait = min(next_status, next_cells if self._cell_period_s > 0 else next_status)
            if self._stop.wait(max(0.0, wait - (time.monotonic() - start))):
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        for port in self._ports:
            port.port.detach()
