"""May this package be flashed into this device in recovery? The update's gates, on what it can tell.

``recover`` once wrote a package built for VBMS-32 into a VBMS-16 and said "Recovered": the
bootloader-only identity of a bricked unit names no model, so nothing was compared. Now the
package is checked against every fact the recovery device reports (model, hardware revision,
security counter, bootloader) exactly like an update, and a fact it cannot report must be named
by the technician from the unit's label (``--model``, ``--hw-rev``; recorded in the session) —
otherwise the recovery is refused before the first write.

Recovery is also only for a device with *no* bootable image: a device waiting in its bootloader
with a valid application goes through the update (test boot, preconditions, backup), not through
a recovery that overwrites the image it would boot.
"""

from __future__ import annotations

from dataclasses import dataclass

from bmsflasher.core.errors import IncompatibleDeviceError, PackageError, ProcedureError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity, DeviceMode
from bmsflasher.firmware.errors import WrongHardwareRevisionError, WrongModelError
from bmsflasher.procedure.compatibility import CompatibilityReport, DeviceDescription, assess
from bmsflasher.procedure.package_facts import PackageFacts

UNKNOWN_MODEL_PREFIX = "unknown"
"""How a bootloader-only identity names its model (MCUboot's serial recovery cannot tell it)."""


@dataclass(frozen=True, slots=True)
class DeclaredIdentity:
    """What the technician read from the unit's label, for facts the device cannot report.

    Attributes:
        model: the model printed on the unit, or None.
        hardware_revision: its hardware revision, or None.
    """

    model: str | None = None
    hardware_revision: str | None = None

    def as_details(self) -> dict[str, str]:
        """The declaration as recorded in the service session."""
        details: dict[str, str] = {}
        if self.model:
            details["declared_model"] = self.model
        if self.hardware_revision:
            details["declared_hardware_revision"] = self.hardware_revision
        return details


def reported_model(identity: DeviceIdentity) -> str | None:
    """The model the device reports, or None when it cannot tell (bootloader-only identity)."""
    model = identity.model.strip()
    if not model or model.lower().startswith(UNKNOWN_MODEL_PREFIX):
        return None
    return model


def _pick(
    reported: str | None, declared: str | None, what: object, flag: str, mismatch: type[PackageError]
) -> str:
    if reported is not None and declared is not None and reported != declared:
        raise mismatch(
            t(
                "The device reports {what} {reported}, but {declared} was named; check the unit's label",
                what=what,
                reported=reported,
                declared=declared,
            )
        )
    chosen = reported if reported is not None else declared
    if chosen is None:
        raise IncompatibleDeviceError(
            t(
                "The device in recovery mode does not report its {what}, so the package cannot be "
                "proven to fit it; name the {what} printed on the unit with {flag} (it is recorded)",
                what=what,
                flag=flag,
            )
        )
    return chosen


def check_recovery(
    before: DeviceIdentity, package: PackageFacts, declared: DeclaredIdentity | None = None
) -> CompatibilityReport:
    """Refuse a recovery that is not one, or a package that cannot be proven to fit the device.

    Raises:
        ProcedureError: the device runs an application or still holds a bootable image.
        PackageError: a compatibility gate failed, or a fact is neither reported nor declared.
    """
    declared = declared or DeclaredIdentity()
    if before.mode is DeviceMode.BOOTLOADER:
        raise ProcedureError(
            t(
                "the device's bootloader still holds bootable firmware {version}; recovery is only "
                "for a device with no bootable image",
                version=before.firmware_version or t("(unknown version)"),
            ),
            hint=t(
                "Reset the device into its firmware and update it instead: the update checks the "
                "battery, backs up the configuration and test-boots the new image."
            ),
        )
    model = _pick(reported_model(before), declared.model, t("model"), "--model", WrongModelError)
    reported_hardware = before.hardware_revision.strip() or None
    hardware = _pick(
        reported_hardware,
        declared.hardware_revision,
        t("hardware revision"),
        "--hw-rev",
        WrongHardwareRevisionError,
    )
    counter_known = reported_model(before) is not None  # a bootloader-only identity carries no counter
    device = DeviceDescription(
        model=model,
        hardware_revision=hardware,
        security_counter=before.security_counter if counter_known else None,
        bootloader_version=before.bootloader_version,
    )
    report = assess(package, device)
    report.raise_if_incompatible()
    return report
