"""Pack-level gates and checks of a campaign, on plain values (the per-node ones are reused as they are).

Every node goes through the single-device gates (:func:`bmsflasher.procedure.preconditions.evaluate`)
and the single-device self-test (:func:`bmsflasher.procedure.selftest.evaluate`) with its own
package and profile. What only a pack has is here:

* before anything is written, no node in fault (a protection alarm in its telemetry, or not
  running its application) — a node in fault measures its neighbours wrongly;
* after every node runs its test image, the pack self-test: every node answers, every node reports
  the set's version for its entry, the BCU's pack voltage equals the sum of its modules' voltages
  within the calibration tolerance (±0.5 %), and the link counters of every node stayed clean while
  the pack was tested (lost or failed requests mean the nodes' bus is unhealthy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.events import Measurement
from bmsflasher.core.i18n import joined, t
from bmsflasher.core.names import check_name, mode_name
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion, PackTelemetry
from bmsflasher.procedure.selftest import deviation_pct

NODE_FAULT: Final = "node_fault"
PACK_NODES_ANSWER: Final = "pack_nodes_answer"
PACK_VERSIONS: Final = "pack_versions"
PACK_VOLTAGE: Final = "pack_voltage_sum"
PACK_COMMUNICATION: Final = "pack_communication"
PACK_TIER: Final = "bcu"
MODULE_TIER: Final = "bmu"
DEFAULT_PACK_TOLERANCE_PCT: Final = 0.5


def check_node_fault(identity: DeviceIdentity, samples: Sequence[PackTelemetry]) -> Measurement:
    """A node in fault: protection alarms in any sample, or no application running."""
    alarms = sorted({alarm.value for sample in samples for alarm in sample.alarms})
    running = identity.mode is DeviceMode.APPLICATION
    value = ", ".join(alarms) if alarms else (t("none") if running else mode_name(identity.mode.value))
    return Measurement(
        NODE_FAULT,
        value,
        t("no alarm, application running"),
        running and not alarms,
        t(
            "A node in fault measures and protects its part of the pack wrongly; fix it before "
            "updating the pack."
        ),
    )


@dataclass(frozen=True, slots=True)
class PackLinkCounters:
    """A node's own inter-node communication counters (what it heard from its peers on the bus)."""

    frames_from_peers: int
    frame_errors: int
    frames_sent: int
    peers_heard: int
    peers_expected: int

    @property
    def healthy(self) -> bool:
        """Every peer heard, no frame that failed to decode."""
        return self.frame_errors == 0 and self.peers_heard >= self.peers_expected


@dataclass(frozen=True, slots=True)
class NodeObservation:
    """One node as the pack self-test saw it (None fields: it did not answer)."""

    serial: str
    tier: str
    expected: FirmwareVersion
    identity: DeviceIdentity | None
    telemetry: PackTelemetry | None
    counters: PackLinkCounters | None = None


def check_nodes_answer(nodes: Sequence[NodeObservation]) -> Measurement:
    """Every node answered its identity and telemetry reads after the test boot."""
    silent = [n.serial for n in nodes if n.identity is None or n.telemetry is None]
    return Measurement(
        PACK_NODES_ANSWER,
        t(
            "{answered} of {total} ({silent})",
            answered=len(nodes) - len(silent),
            total=len(nodes),
            silent=", ".join(silent),
        )
        if silent
        else t("{answered} of {total}", answered=len(nodes), total=len(nodes)),
        t("all {total}", total=len(nodes)),
        not silent,
        t("A node that does not answer after its update cannot protect its cells."),
    )


def check_versions(nodes: Sequence[NodeObservation]) -> Measurement:
    """Every node reports the version the set gives its entry (not merely "a new one")."""
    wrong = [
        f"{n.serial} {n.identity.firmware_version if n.identity else '?'}"
        for n in nodes
        if n.identity is None or n.identity.firmware_version != n.expected
    ]
    return Measurement(
        PACK_VERSIONS,
        ", ".join(wrong) if wrong else t("all on the set"),
        t("every node on the set's version"),
        not wrong,
        t("Only versions released together are known to work together."),
    )


def check_pack_voltage(nodes: Sequence[NodeObservation], tolerance_pct: float) -> Measurement | None:
    """The BCU's pack voltage against the sum of the BMUs' module voltages; None without both tiers."""
    packs = [n.telemetry for n in nodes if n.tier == PACK_TIER and n.telemetry is not None]
    modules = [n for n in nodes if n.tier == MODULE_TIER]
    if not packs or not modules:
        return None
    pack_mv = packs[0].pack_voltage_mv
    complete = all(n.telemetry is not None for n in modules)
    module_sum_mv = sum(n.telemetry.pack_voltage_mv for n in modules if n.telemetry is not None)
    deviation = deviation_pct(module_sum_mv, pack_mv)
    return Measurement(
        PACK_VOLTAGE,
        t(
            "pack {pack_mv} mV vs modules {module_sum_mv} mV ({deviation:.2f} %)",
            pack_mv=pack_mv,
            module_sum_mv=module_sum_mv,
            deviation=deviation,
        ),
        f"<= {tolerance_pct:g} %",
        complete and deviation <= tolerance_pct,
        t("A pack controller that adds its modules up wrongly protects the pack at the wrong voltage."),
    )


def check_communication(nodes: Sequence[NodeObservation]) -> Measurement:
    """The nodes' own inter-node counters: every peer heard, no frame error (where nodes keep them)."""
    reporting = [n for n in nodes if n.counters is not None]
    noisy = [
        f"{n.serial} ({n.counters.peers_heard}/{n.counters.peers_expected}, {n.counters.frame_errors})"
        for n in reporting
        if n.counters is not None and not n.counters.healthy
    ]
    value: str
    if not reporting:
        value = t("not kept by these nodes")
    elif noisy:
        value = ", ".join(noisy)
    else:
        value = t("{count} nodes hear every peer, no frame error", count=len(reporting))
    return Measurement(
        PACK_COMMUNICATION,
        value,
        t("every peer heard, no frame error"),
        not noisy,
        t("A node that no longer hears its peers, or garbles their frames, breaks the pack's protection."),
    )


def evaluate_pack(
    nodes: Sequence[NodeObservation], tolerance_pct: float = DEFAULT_PACK_TOLERANCE_PCT
) -> tuple[Measurement, ...]:
    """Every pack-level check on what was observed; pure."""
    results = [check_nodes_answer(nodes), check_versions(nodes)]
    voltage = check_pack_voltage(nodes, tolerance_pct)
    if voltage is not None:
        results.append(voltage)
    results.append(check_communication(nodes))
    return tuple(results)


def failed_names(results: Sequence[Measurement]) -> str:
    """The failed checks with their values, for one sentence."""
    return joined(
        (t("{check} ({value})", check=check_name(m.name), value=m.value) for m in results if not m.passed),
        ", ",
    )
