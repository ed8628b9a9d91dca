"""One decision says whether a manual rollback can work: the GUI button and `rollback` share it.

The GUI used to carry its own copy of the procedure's checks to grey out Roll back; now both call
``procedure.rollback.rollback_blocker``, so what the button says beforehand is what pressing it
would say afterwards.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion, SlotState
from bmsflasher.gui import engine as gui_engine
from bmsflasher.procedure.rollback import rollback_blocker

V = FirmwareVersion.parse


def slot(index: int, version: str | None, *, active: bool = False, bootable: bool = True) -> SlotState:
    return SlotState(
        slot=index,
        version=V(version) if version else None,
        image_hash=b"\x01" * 32 if version else b"",
        bootable=bootable and version is not None,
        pending=False,
        confirmed=active,
        active=active,
        permanent=False,
    )


def device(
    *slots: SlotState, mode: DeviceMode = DeviceMode.APPLICATION, running: str = "1.1.0"
) -> DeviceIdentity:
    return DeviceIdentity("VBMS-16", "VB1", "C", V(running), V("2.1.0"), mode, tuple(slots), 1)


@pytest.mark.parametrize(
    ("identity", "kind"),
    [
        (device(slot(0, "1.1.0", active=True), slot(1, "1.0.0")), None),
        (device(slot(0, "1.1.0", active=True), slot(1, None)), "no_image"),
        (device(slot(0, "1.1.0", active=True)), "no_image"),
        (device(slot(0, "1.1.0", active=True), slot(1, "1.0.0", bootable=False)), "refused_by_bootloader"),
        (device(slot(0, "1.1.0", active=True), slot(1, "1.2.0")), "newer"),
        (device(slot(0, None), mode=DeviceMode.RECOVERY), "not_running"),
    ],
)
def test_rollback_blocker_names_the_reason(identity: DeviceIdentity, kind: str | None) -> None:
    blocker = rollback_blocker(identity)
    assert (blocker.kind if blocker else None) == kind


def test_the_gui_uses_the_procedures_decision() -> None:
    assert gui_engine.rollback_blocker is rollback_blocker


def test_no_identity_means_not_running() -> None:
    blocker = rollback_blocker(None)
    assert blocker is not None
    assert blocker.kind == "not_running"


def test_the_blocker_carries_the_versions_the_message_names() -> None:
    identity = replace(device(slot(0, "1.1.0", active=True), slot(1, "1.2.0")), security_counter=3)
    blocker = rollback_blocker(identity)
    assert blocker is not None
    assert (blocker.other_version, blocker.running_version, blocker.device_counter) == (
        V("1.2.0"),
        V("1.1.0"),
        3,
    )
