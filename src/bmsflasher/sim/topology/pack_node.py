"""One node of a virtual pack: a whole virtual BMS that also knows its place in the pack.

Every node reports its model (``VBCU-1``, ``VBMC-4``, ``VBMU-16``), sends its status on the bus
(``pack_link``), and serves its inter-node counters as DID 0xFD50. The BCU does more, as a pack's
control unit does:

* its pack values (DID 0xFD10 and the telemetry) come from its BMUs' status frames: the pack
  voltage is the sum of the module voltages heard, the current and SoC their mean;
* it checks the firmware of the BMCs and BMUs it hears: a series (major.minor) its own firmware
  does not accept raises DTC 0xD30101 and fails its self-test's ``pack_node_versions`` check; its
  ``pack_nodes_heard`` check fails while a BMC or BMU of the pack is silent.

Which series a BCU accepts is part of its firmware: the demo table's (1.0 and 1.1) unless the
running image's behaviour TLV says ``bcu-accepts:1.0,1.1,…`` (see ``firmware/behaviour.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from bmsflasher.core.types import (
    DeviceIdentity,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    PackTelemetry,
    SelfTestCheck,
)
from bmsflasher.firmware.demo_pack_models import BCU_ACCEPTED_SERIES, Tier
from bmsflasher.sim.device.dtcs import ACTIVE_STATUS, STORED_STATUS
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.topology.peers import PeerReport, PeerTable
from bmsflasher.sim.topology.status_frames import NodeStatus

DID_PACK_LINK: Final = 0xFD50
"""Inter-node counters of every pack node (``peers.LinkCounters.encode``)."""
INCOMPATIBLE_NODE_DTC: Final = 0xD30101
ACCEPTS_PREFIX: Final = "bcu-accepts:"
_NODE_TIERS: Final = (Tier.BMC, Tier.BMU)


@dataclass(frozen=True, slots=True)
class PackRole:
    """Where a node sits: its tier, model name, address and what it hears.

    ``span_cells`` is how many series cells the node's reported values cover (the BCU's pack
    voltage spans every BMU's cells): a front-end that sizes its fields from the cell count (the
    Modbus module's SunSpec scale factors) then fits the pack's values.
    """

    tier: Tier
    model: str
    address: int
    peers: PeerTable
    span_cells: int = 0


def accepted_series(behaviour: str) -> frozenset[tuple[int, int]]:
    """The BMC/BMU firmware series a BCU running an image with ``behaviour`` works with."""
    text = behaviour.strip().lower()
    if not text.startswith(ACCEPTS_PREFIX):
        return BCU_ACCEPTED_SERIES
    series: set[tuple[int, int]] = set()
    for item in text[len(ACCEPTS_PREFIX) :].split(","):
        major, _, minor = item.strip().partition(".")
        if major.isdigit() and minor.isdigit():
            series.add((int(major), int(minor)))
    return frozenset(series)


class PackNodeBms(VirtualBms):
    """A :class:`VirtualBms` with a pack role (set by :meth:`join_pack` before it is served)."""

    _role: PackRole | None = None
    _pack_dtc: tuple[int, str] | None = None  # (status byte, description) of INCOMPATIBLE_NODE_DTC
    _pack_lock: threading.Lock | None = None

    def join_pack(self, role: PackRole) -> None:
        self._role = role
        self._pack_lock = threading.Lock()

    @property
    def role(self) -> PackRole:
        if self._role is None:
            raise RuntimeError("the node has not joined a pack")
        return self._role

    # --- what every node does ----------------------------------------------------------------
    @property
    def options(self) -> SimOptions:
        """The device's options, with ``cells`` widened to what its reported values span."""
        options = super().options
        if self._role is None or self._role.span_cells <= options.cells:
            return options
        return replace(options, cells=self._role.span_cells)

    def identity(self) -> DeviceIdentity:
        identity = super().identity()
        return replace(identity, model=self.role.model) if self._role else identity

    def extra_dids(self) -> Mapping[int, Callable[[], bytes]]:
        """Records this node serves beside the standard ones (read by the UDS server's 0x22)."""
        return {DID_PACK_LINK: lambda: self.role.peers.counters().encode()}

    def status(self) -> NodeStatus | None:
        """What this node's next status frame says; None when its application does not run."""
        if not self.application_running:
            return None
        sample = self.telemetry()
        version = self.identity().firmware_version or FirmwareVersion(0, 0, 0)
        return NodeStatus(sample.pack_voltage_mv, sample.current_ma, sample.soc_pct, version)

    # --- what the BCU does -------------------------------------------------------------------
    @property
    def is_bcu(self) -> bool:
        return self._role is not None and self._role.tier is Tier.BCU

    def rejected_nodes(self) -> list[PeerReport]:
        """BMCs and BMUs heard now whose firmware series this BCU's firmware does not accept."""
        accepted = accepted_series(self.behaviour)
        return [
            report
            for report in self.role.peers.heard()
            if report.tier in _NODE_TIERS
            and (report.status.version.major, report.status.version.minor) not in accepted
        ]

    def evaluate_pack(self) -> None:
        """The BCU's cyclic check: latch, or age, the incompatible-node DTC (other tiers: nothing)."""
        if not self.is_bcu or not self.application_running or self._pack_lock is None:
            return
        rejected = self.rejected_nodes()
        with self._pack_lock:
            if rejected:
                names = ", ".join(f"0x{r.address:02X} on {r.status.version}" for r in rejected)
                self._pack_dtc = (ACTIVE_STATUS, f"Pack node firmware not accepted: {names}")
            elif self._pack_dtc is not None:
                self._pack_dtc = (STORED_STATUS, self._pack_dtc[1])

    def telemetry(self) -> PackTelemetry:
        sample = super().telemetry()
        if not self.is_bcu:
            return sample
        modules = [r.status for r in self.role.peers.heard() if r.tier is Tier.BMU]
        if not modules:
            return sample
        return replace(
            sample,
            pack_voltage_mv=sum(m.voltage_mv for m in modules),
            current_ma=round(sum(m.current_ma for m in modules) / len(modules)),
            soc_pct=sum(m.soc_pct for m in modules) / len(modules),
        )

    def dtcs(self) -> list[Dtc]:
        codes = super().dtcs()
        self.evaluate_pack()
        if self._pack_dtc is None:
            return codes
        status, text = self._pack_dtc
        own = Dtc(INCOMPATIBLE_NODE_DTC, status, DtcSeverity.CRITICAL, text)
        return [*(dtc for dtc in codes if dtc.code != INCOMPATIBLE_NODE_DTC), own]

    def clear_dtcs(self) -> None:
        super().clear_dtcs()
        if self._pack_lock is not None:
            with self._pack_lock:
                self._pack_dtc = None
        self.evaluate_pack()  # a node still rejected raises the code again at once

    def self_test(self) -> DeviceSelfTest:
        result = super().self_test()
        if not self.is_bcu:
            return result
        self.evaluate_pack()
        rejected = self.rejected_nodes()
        heard = {r.address for r in self.role.peers.heard() if r.tier in _NODE_TIERS}
        expected = [a for tier in _NODE_TIERS for a in self.role.peers.expected(tier)]
        silent = [a for a in expected if a not in heard]
        accepted = ", ".join(f"{major}.{minor}" for major, minor in sorted(accepted_series(self.behaviour)))
        checks = (
            SelfTestCheck(
                "pack_node_versions",
                not rejected,
                ", ".join(f"0x{r.address:02X}={r.status.version}" for r in rejected) or "all accepted",
                f"series {accepted}",
            ),
            SelfTestCheck(
                "pack_nodes_heard",
                not silent,
                f"{len(expected) - len(silent)} of {len(expected)}",
                f"{len(expected)} of {len(expected)}",
                ", ".join(f"0x{a:02X} silent" for a in silent),
            ),
        )
        return DeviceSelfTest((*result.checks, *checks))
