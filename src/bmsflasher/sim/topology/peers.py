"""What one pack node heard from the others: the latest status of each peer and the link counters.

Each node keeps its own table, filled from the status frames it receives on the bus while its
application runs, so a node that was rebooting misses frames exactly like real firmware would. A
peer is *heard* while its last frame is younger than :data:`FRESH_S` (a few status periods).

The counters are what a pack self-test reads (UDS DID 0xFD50 on every node): frames received from
peers, frames that did not decode, status frames sent, peers heard now and peers expected.
"""

from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass
from typing import Final

from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.sim.topology.status_frames import NodeStatus, decode_status

FRESH_S: Final = 1.5
"""A peer whose last status frame is older than this is no longer heard."""
_COUNTERS: Final = struct.Struct(">IIIHH")


@dataclass(frozen=True, slots=True)
class PeerReport:
    """The latest status of one peer and when it arrived (``time.monotonic``)."""

    address: int
    tier: Tier
    status: NodeStatus
    received_at: float


@dataclass(frozen=True, slots=True)
class LinkCounters:
    """One node's inter-node communication counters (DID 0xFD50, five big-endian fields).

    Attributes:
        frames_from_peers: status frames received from other nodes since power-on of the process.
        frame_errors: status frames that did not decode (wrong length).
        frames_sent: status frames this node sent.
        peers_heard: peers heard within the last :data:`FRESH_S`.
        peers_expected: the other nodes of the pack.
    """

    frames_from_peers: int
    frame_errors: int
    frames_sent: int
    peers_heard: int
    peers_expected: int

    def encode(self) -> bytes:
        """u32 frames from peers, u32 frame errors, u32 frames sent, u16 heard, u16 expected."""
        return _COUNTERS.pack(
            self.frames_from_peers & 0xFFFFFFFF,
            self.frame_errors & 0xFFFFFFFF,
            self.frames_sent & 0xFFFFFFFF,
            self.peers_heard,
            self.peers_expected,
        )


class PeerTable:
    """The peers one node has heard (thread-safe: the bus thread writes, UDS requests read)."""

    def __init__(self, own_address: int, peers: dict[int, Tier]) -> None:
        self._own = own_address
        self._expected = {address: tier for address, tier in peers.items() if address != own_address}
        self._lock = threading.Lock()
        self._latest: dict[int, PeerReport] = {}
        self._frames = 0
        self._errors = 0
        self._sent = 0

    def on_status(self, address: int, data: bytes, now: float | None = None) -> None:
        """A status frame from ``address`` reached this node."""
        if address == self._own:
            return
        tier = self._expected.get(address)
        with self._lock:
            try:
                status = decode_status(data)
            except ValueError:
                self._errors += 1
                return
            self._frames += 1
            if tier is not None:
                at = time.monotonic() if now is None else now
                self._latest[address] = PeerReport(address, tier, status, at)

    def count_sent(self) -> None:
        with self._lock:
            self._sent += 1

    def heard(self, now: float | None = None) -> list[PeerReport]:
        """The peers heard within :data:`FRESH_S`, by address."""
        at = time.monotonic() if now is None else now
        with self._lock:
            reports = [r for r in self._latest.values() if at - r.received_at <= FRESH_S]
        return sorted(reports, key=lambda report: report.address)

    def expected(self, tier: Tier) -> list[int]:
        """Addresses of the peers of ``tier`` the pack has."""
        return sorted(address for address, kind in self._expected.items() if kind is tier)

    def counters(self) -> LinkCounters:
        heard = len(self.heard())
        with self._lock:
            return LinkCounters(self._frames, self._errors, self._sent, heard, len(self._expected))
