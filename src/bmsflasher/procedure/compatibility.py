"""The one answer to "does this package fit this device?" — used by ``verify``, the GUI and ``flash``.

Before this module the question was answered three times: ``verify`` through the firmware policy
(package minimum bootloader only), the GUI engine by hand, and ``flash`` through the precondition
gates (package *and* model-profile minimum bootloader). ``verify`` could pass a package that
``flash`` then refused. Now each front-end and the update procedure call :func:`assess`, which
returns one :class:`~bmsflasher.core.events.Measurement` per device fact, and
:meth:`CompatibilityReport.error` turns the first failure into the same project error everywhere.

A fact the caller does not know (``verify`` without ``--model``) is not checked; a fact a *connected*
device cannot give (its bootloader version) fails the gate instead, because a device that cannot
prove it is compatible must not be written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import BootloaderTooOldError, PackageError
from bmsflasher.core.events import Measurement
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity, FirmwareVersion
from bmsflasher.firmware.errors import DowngradeError, WrongHardwareRevisionError, WrongModelError
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.profiles import PreconditionLimits, profile_for_model

MODEL: Final = "model"
HARDWARE_REVISION: Final = "hardware_revision"
BOOTLOADER_VERSION: Final = "bootloader_version"
ANTI_ROLLBACK: Final = "anti_rollback"

COMPATIBILITY_GATES: Final = (MODEL, HARDWARE_REVISION, BOOTLOADER_VERSION, ANTI_ROLLBACK)
"""The gates this module owns, in the order they are checked and shown."""


@dataclass(frozen=True, slots=True)
class DeviceDescription:
    """What is known about the device a package is checked against.

    Attributes:
        model: the device's model, or None when not known (not checked).
        hardware_revision: its board revision, or None (not checked).
        security_counter: its stored anti-rollback counter, or None (not checked).
        bootloader_version: its bootloader version, or None.
        connected: True when the facts come from the device itself; then an unknown bootloader
            version fails the bootloader gate rather than skipping it.
    """

    model: str | None = None
    hardware_revision: str | None = None
    security_counter: int | None = None
    bootloader_version: FirmwareVersion | None = None
    connected: bool = False

    @classmethod
    def from_identity(cls, identity: DeviceIdentity) -> DeviceDescription:
        """The facts a connected device reported about itself."""
        return cls(
            model=identity.model,
            hardware_revision=identity.hardware_revision,
            security_counter=identity.security_counter,
            bootloader_version=identity.bootloader_version,
            connected=True,
        )


def _gate(name: str, value: str, limit: str, passed: bool, why: str) -> Measurement:
    return Measurement(name, value, limit, passed, why)


def model_gate(model: str, package: PackageFacts) -> Measurement:
    """The device is the model the package was released for (safety gate)."""
    return _gate(
        MODEL,
        model,
        f"= {package.model}",
        model == package.model,
        t("Firmware built for another model drives different hardware and can disable its protections."),
    )


def hardware_revision_gate(revision: str, package: PackageFacts) -> Measurement:
    """The board revision is one the package lists (safety gate)."""
    return _gate(
        HARDWARE_REVISION,
        revision,
        t("one of {revisions}", revisions=", ".join(package.hardware_revisions)),
        revision in package.hardware_revisions,
        t("The firmware was only released for these board revisions; others may boot-loop or mis-measure."),
    )


def required_bootloader(package: PackageFacts, limits: PreconditionLimits) -> FirmwareVersion | None:
    """The stricter of the package's and the model profile's minimum bootloader versions."""
    required = [v for v in (package.min_bootloader_version, limits.min_bootloader_version) if v is not None]
    return max(required) if required else None


def bootloader_gate(
    actual: FirmwareVersion | None, package: PackageFacts, limits: PreconditionLimits
) -> Measurement:
    """The bootloader is new enough for the package and the model's profile (safety gate)."""
    minimum = required_bootloader(package, limits)
    passed = minimum is None or (actual is not None and actual >= minimum)
    return _gate(
        BOOTLOADER_VERSION,
        str(actual) if actual is not None else t("unknown"),
        f">= {minimum}" if minimum is not None else t("any"),
        passed,
        t("An older bootloader cannot verify or swap this image and could leave the battery unbootable."),
    )


def anti_rollback_gate(device_counter: int, package: PackageFacts) -> Measurement:
    """The image's security counter is not below the device's (safety gate)."""
    return _gate(
        ANTI_ROLLBACK,
        t(
            "image {security_counter}, device {device_counter}",
            security_counter=package.security_counter,
            device_counter=device_counter,
        ),
        t("image counter >= device counter"),
        package.security_counter >= device_counter,
        t("The device refuses images below its security counter; older firmware may carry fixed flaws."),
    )


@dataclass(frozen=True, slots=True)
class CompatibilityReport:
    """One measurement per known device fact, and the sentence a refusal gives."""

    package: PackageFacts
    device: DeviceDescription
    checks: tuple[Measurement, ...]
    required_bootloader: FirmwareVersion | None

    @property
    def ok(self) -> bool:
        return all(m.passed for m in self.checks)

    @property
    def failures(self) -> tuple[Measurement, ...]:
        return tuple(m for m in self.checks if not m.passed)

    def error(self) -> PackageError | None:
        """The first failed gate as the project error every front-end reports (None when it fits)."""
        package, device = self.package, self.device
        for failed in self.failures:
            if failed.name == MODEL:
                return WrongModelError(
                    t(
                        "The package is for model {package_model}, not {device_model}.",
                        package_model=package.model,
                        device_model=device.model,
                    )
                )
            if failed.name == HARDWARE_REVISION:
                return WrongHardwareRevisionError(
                    t(
                        "The package supports hardware revisions {hardware_revisions}, not revision "
                        "{hardware_revision}.",
                        hardware_revisions=", ".join(package.hardware_revisions),
                        hardware_revision=device.hardware_revision,
                    )
                )
            if failed.name == BOOTLOADER_VERSION:
                actual = device.bootloader_version
                has = (
                    t("the device has {version}", version=actual)
                    if actual is not None
                    else t("the device does not report one")
                )
                whose = (
                    t("The package")
                    if package.min_bootloader_version is not None
                    and package.min_bootloader_version == self.required_bootloader
                    else t("Model {model}'s profile", model=package.model)
                )
                return BootloaderTooOldError(
                    t(
                        "{whose} needs bootloader {required} or newer; {has}.",
                        whose=whose,
                        required=self.required_bootloader,
                        has=has,
                    )
                )
            if failed.name == ANTI_ROLLBACK:
                return DowngradeError(
                    t(
                        "The package's security counter {security_counter} is below the device's "
                        "{device_counter}; anti-rollback forbids this downgrade.",
                        security_counter=package.security_counter,
                        device_counter=device.security_counter,
                    )
                )
        return None

    def raise_if_incompatible(self) -> None:
        """Raise :meth:`error` when a gate failed."""
        error = self.error()
        if error is not None:
            raise error


def assess(
    package: PackageFacts, device: DeviceDescription, limits: PreconditionLimits | None = None
) -> CompatibilityReport:
    """Check every known device fact against the package.

    Args:
        package: the verified package's facts.
        device: what is known of the device; unknown facts are skipped (see :class:`DeviceDescription`).
        limits: the device model's precondition limits; None looks up the profile of the device's model
            (or of the package's model when the device's is not known).
    """
    if limits is None:
        limits = profile_for_model(device.model or package.model).preconditions
    checks: list[Measurement] = []
    if device.model is not None:
        checks.append(model_gate(device.model, package))
    if device.hardware_revision is not None:
        checks.append(hardware_revision_gate(device.hardware_revision, package))
    if device.bootloader_version is not None or device.connected:
        checks.append(bootloader_gate(device.bootloader_version, package, limits))
    if device.security_counter is not None:
        checks.append(anti_rollback_gate(device.security_counter, package))
    return CompatibilityReport(package, device, tuple(checks), required_bootloader(package, limits))
