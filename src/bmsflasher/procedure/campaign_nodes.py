"""One node's part of each campaign phase, built from the single-device pieces (nothing copied).

The campaign holds at most one node open at a time: a pack on one CAN bus is often reached through
one USB adapter (slcan), which only one client can own, and the per-node steps are short. Each
function here takes an open :class:`~bmsflasher.core.target.Target` and calls the same code the
single-device update calls — :mod:`.preconditions`, :mod:`.backup`, the target's own resumable
upload, :mod:`.reboot`, :mod:`.selftest`, :mod:`.rollback` — so a node in a campaign is measured,
backed up, tested and reverted exactly like a battery updated alone.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast

from bmsflasher.core.errors import DeviceRejectedError, ProcedureError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import ProgressCallback, ResumePolicy, Target
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    Dtc,
    FirmwareVersion,
    LinkSettings,
    PackTelemetry,
)
from bmsflasher.procedure import preconditions, selftest
from bmsflasher.procedure.backup import RestoreResult, restore_snapshot, take_backup
from bmsflasher.procedure.campaign_checks import PackLinkCounters, check_node_fault
from bmsflasher.procedure.campaign_plan import FoundNode
from bmsflasher.procedure.idle_work import Job
from bmsflasher.procedure.package_loading import UpdatePackage
from bmsflasher.procedure.preconditions import PreconditionReport
from bmsflasher.procedure.profiles import DeviceProfile
from bmsflasher.procedure.reboot import (
    BootReport,
    reboot_and_classify,
    reset_device,
    running_confirmed,
    runs_package,
    wait_for_application,
)
from bmsflasher.procedure.rollback import RollbackReport, current_identity, ensure_running
from bmsflasher.procedure.selftest import SelfTestReport
from bmsflasher.records import BackupRecord, RecordsDb

NodeOpener = Callable[[LinkSettings], Target]
"""Opens the node a link names (``procedure.open_target`` in the CLI; tests may pass their own)."""


@contextlib.contextmanager
def opened(opener: NodeOpener, link: LinkSettings) -> Iterator[Target]:
    """One node open for one step, closed afterwards whatever happens."""
    target = opener(link)
    try:
        yield target
    finally:
        target.close()


def identify_all(opener: NodeOpener, links: Sequence[LinkSettings]) -> list[FoundNode]:
    """Identify every node (read-only); a node that does not answer raises its link error."""
    found: list[FoundNode] = []
    for link in links:
        with opened(opener, link) as target:
            found.append(FoundNode(link, target.identify()))
    return found


@dataclass(frozen=True, slots=True)
class NodeGates:
    """A node's gates before the campaign writes anything."""

    report: PreconditionReport
    dtcs: tuple[Dtc, ...]
    last_sample: PackTelemetry | None


def measure_gates(
    target: Target,
    package: UpdatePackage,
    profile: DeviceProfile,
    overrides: Mapping[str, str],
    background: Sequence[Job] = (),
    *,
    identity: DeviceIdentity | None = None,
) -> NodeGates:
    """The single-device gates for this node's package, plus "no node in fault" (read-only).

    ``background``: read-only jobs run in the gaps of the stability window, as the single update
    runs its backup's reads there (:class:`~.backup_prefetch.ConfigPrefetch`). ``identity``: the
    node's identity when the caller has just read it (else it is read here).
    """
    if identity is None:
        identity = target.identify()
    inputs = preconditions.measure(target, identity, profile.preconditions, background)
    report = preconditions.evaluate(inputs, package.facts, profile.preconditions, overrides)
    fault = check_node_fault(identity, inputs.samples)
    report = PreconditionReport((*report.results, fault), report.overrides)
    return NodeGates(report, inputs.dtcs, inputs.samples[-1] if inputs.samples else None)


ConfigReads = tuple[ConfigSnapshot, ConfigSnapshot]
"""The two configuration reads a backup compares (taken in the gaps of the node's gates)."""


def backup(target: Target, db: RecordsDb, serial: str, session_id: int | None) -> BackupRecord:
    """The node's configuration, stored and read back (:func:`.backup.take_backup`)."""
    return take_backup(target, db, serial, session_id)


def store_backup(db: RecordsDb, serial: str, session_id: int | None, reads: ConfigReads) -> BackupRecord:
    """:func:`backup` from two reads taken earlier, while the node was open for its gates.

    The same checks as :func:`backup` (the stored copy equals the first read, the two reads agree);
    the node is not asked again, so it need not be open (``take_backup`` reads no device when it is
    given the reads).
    """
    return take_backup(cast(Target, None), db, serial, session_id, reads)


def transfer(
    target: Target, package: UpdatePackage, profile: DeviceProfile, on_progress: ProgressCallback
) -> DeviceIdentity:
    """Upload into the secondary slot (resuming at the node's offset), then restart the old application.

    Nothing is marked for a test boot here: until the test-boot phase every node runs its confirmed
    old image, so a failure, a kill or a power cut during the transfers leaves the whole pack on
    its old set. The reset ends the node's programming session at once (rather than after its
    session timeout), so the node protects its cells again while the next node receives its image.
    """
    upload(target, package, profile, on_progress)
    return restart(target, profile)


def upload(
    target: Target, package: UpdatePackage, profile: DeviceProfile, on_progress: ProgressCallback
) -> None:
    """The first half of :func:`transfer`: the image into the secondary slot, resumable, nothing marked."""
    limits = profile.transfer
    resume = ResumePolicy(limits.max_resume_attempts, limits.reconnect_timeout_s)
    target.upload_image(package.image, on_progress, resume=resume)


def restart(target: Target, profile: DeviceProfile) -> DeviceIdentity:
    """The second half of :func:`transfer`: reset into the old application and wait until it runs.

    On a shared bus the campaign runs it while the next node receives its image (the reset and the
    boot are the node's own time, not the bus's).
    """
    reset_device(target)
    return wait_for_application(target, profile.reboot)


def mark_and_boot(
    target: Target, package: UpdatePackage, from_version: FirmwareVersion | None, profile: DeviceProfile
) -> BootReport:
    """Mark the uploaded image for a test boot, reset, and say what came back."""
    try:
        target.mark_for_test()
    except DeviceRejectedError as exc:
        raise ProcedureError(
            t("the node's bootloader refused to test-boot the new image: {error}", error=exc.message)
        ) from exc
    return test_boot(target, package, from_version, profile)


def test_boot(
    target: Target, package: UpdatePackage, from_version: FirmwareVersion | None, profile: DeviceProfile
) -> BootReport:
    """Reset into the test image and say what came back (:func:`.reboot.reboot_and_classify`)."""
    return reboot_and_classify(target, package.facts, from_version, profile.reboot)


def node_self_test(
    target: Target, profile: DeviceProfile, dtcs_before: Sequence[Dtc], *, pack_controller: bool = False
) -> SelfTestReport:
    """The single-device self-test on this node (host checks plus the node's own).

    A pack controller (BCU) reports the pack's voltage, which its own few cells do not add up to:
    its calibration is checked by the pack self-test instead (pack voltage against the sum of the
    modules, same ±0.5 %), so the single-device "cells vs pack" check is left out for it.
    """
    inputs = selftest.measure(target, profile.self_test, dtcs_before)
    report = selftest.evaluate(inputs, profile.self_test)
    if not pack_controller:
        return report
    return SelfTestReport(tuple(m for m in report.results if m.name != selftest.CALIBRATION))


def confirm(target: Target, package: UpdatePackage, profile: DeviceProfile) -> DeviceIdentity:
    """Confirm the running test image and prove it is the package's, confirmed.

    A node that already runs the package confirmed (a resumed confirm phase) is left as it is.
    """
    return confirm_from(target, package, current_identity(target, profile.reboot))


def confirm_from(target: Target, package: UpdatePackage, identity: DeviceIdentity) -> DeviceIdentity:
    """:func:`confirm` from an identity just read (the campaign reads it before the node's turn)."""
    if not (runs_package(identity, package.facts) and running_confirmed(identity)):
        target.confirm()
        identity = target.identify()
    if not runs_package(identity, package.facts) or not running_confirmed(identity):
        raise ProcedureError(t("the node did not confirm firmware {version}", version=package.facts.version))
    return identity


def revert(target: Target, from_version: FirmwareVersion, profile: DeviceProfile) -> RollbackReport:
    """Bring the node back to its confirmed old image and verify it (:func:`.rollback.ensure_running`)."""
    return ensure_running(target, from_version, profile.reboot)


def check_config(target: Target, record: BackupRecord) -> RestoreResult:
    """Compare with the backup and write back what changed (the single update's config check)."""
    return restore_snapshot(target, record.snapshot, t("backup {backup_id}", backup_id=record.id))


PACK_LINK_DID: Final = 0xFD50
"""The pack nodes' inter-node communication counters (docs/virtual-bms.md; ``sim/topology/peers``)."""
_PACK_LINK: Final = struct.Struct(">IIIHH")
_NRC_REQUEST_OUT_OF_RANGE: Final = 0x31


def read_pack_link(target: Target) -> PackLinkCounters | None:
    """The node's own inter-node counters (UDS DID 0xFD50), or None when it does not keep them.

    Only UDS pack nodes answer this record; any other target, or a node answering
    requestOutOfRange, reports nothing (the pack check then says so instead of failing).
    """
    from bmsflasher.protocols.uds.target import UdsTarget

    if not isinstance(target, UdsTarget):
        return None
    try:
        raw = target.client.read_did(PACK_LINK_DID, t("the pack link counters"), response_bytes=16)
    except DeviceRejectedError as exc:
        if exc.code == _NRC_REQUEST_OUT_OF_RANGE:
            return None
        raise
    if len(raw) != _PACK_LINK.size:
        return None
    return PackLinkCounters(*_PACK_LINK.unpack(raw))
