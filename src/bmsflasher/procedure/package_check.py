"""Verify a package file for a device: the verdict ``verify``, the GUI's package page and ``flash`` share.

The host-side checks (container, signatures, hashes, expiry) come from :mod:`bmsflasher.firmware.policy`;
the device checks from :mod:`bmsflasher.procedure.compatibility`. The verdict is a list of
measurements a technician can read (what was checked, against what, why it matters) plus the first
refusal as a project error, so a terminal prints one sentence and exits with that error's code
while the GUI shows the whole list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bmsflasher.core.errors import PackageError
from bmsflasher.core.events import Measurement
from bmsflasher.core.i18n import t
from bmsflasher.firmware.keys import Keyring
from bmsflasher.firmware.policy import VerifiedPackage, read_package_file, verify_package
from bmsflasher.procedure.compatibility import CompatibilityReport, DeviceDescription, assess
from bmsflasher.procedure.package_loading import UpdatePackage, facts_of

SIGNATURE_CHECK = "signature"
IMAGE_HASH_CHECK = "image_hash"
EXPIRY_CHECK = "expiry"


@dataclass(frozen=True, slots=True)
class PackageVerdict:
    """A package file as checked for one device (or for none).

    Attributes:
        path: the package file.
        checks: every check in the order it ran, with value, limit and why it matters.
        error: the first refusal as the project error front-ends report; None when the package fits.
        verified: the host-verified package (None when a host-side check refused it).
        package: what the update procedure takes (None when refused by a host-side check).
        compatibility: the device checks (None when the package itself was refused first).
    """

    path: Path
    checks: tuple[Measurement, ...]
    error: PackageError | None
    verified: VerifiedPackage | None = None
    package: UpdatePackage | None = None
    compatibility: CompatibilityReport | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def raise_if_refused(self) -> None:
        """Raise the first refusal (front-ends that stop at the first reason use this)."""
        if self.error is not None:
            raise self.error


def _host_checks(verified: VerifiedPackage) -> list[Measurement]:
    manifest = verified.manifest
    signer = verified.manifest_signer
    return [
        Measurement(
            SIGNATURE_CHECK,
            t("key {key_id}", key_id=signer.key_id[:16]),
            t("a key in the trusted keyring"),
            True,
            t("Only firmware signed by the manufacturer may run on a battery's protection circuits."),
        ),
        Measurement(
            IMAGE_HASH_CHECK,
            verified.file_sha256.hex()[:16] + "…",
            t("= manifest"),
            True,
            t("A corrupted or altered image would be refused by the bootloader half-way."),
        ),
        Measurement(
            EXPIRY_CHECK,
            manifest.expires.date().isoformat() if manifest.expires else t("none"),
            t("not passed"),
            True,
            t("Expired releases may carry known flaws the manufacturer has withdrawn."),
        ),
    ]


def check_package_bytes(
    data: bytes,
    keyring: Keyring,
    device: DeviceDescription | None = None,
    *,
    path: Path = Path("<memory>"),
    now: datetime | None = None,
) -> PackageVerdict:
    """Verify package bytes on the host, then their fit to ``device`` (when given)."""
    try:
        verified = verify_package(data, keyring, now=now)
    except PackageError as exc:
        refused = Measurement(
            SIGNATURE_CHECK, t("rejected"), t("signed by a trusted key"), False, exc.message
        )
        return PackageVerdict(path, (refused,), exc)
    facts = facts_of(verified, hashlib.sha256(data).hexdigest())
    package = UpdatePackage(facts, verified.image_bytes, str(path), verified.manifest.release_notes)
    checks = _host_checks(verified)
    fit = assess(facts, device) if device is not None else None
    if fit is not None:
        checks.extend(fit.checks)
    error = fit.error() if fit is not None else None
    return PackageVerdict(path, tuple(checks), error, verified, package, fit)


def check_package_file(
    path: Path, keyring: Keyring, device: DeviceDescription | None = None, *, now: datetime | None = None
) -> PackageVerdict:
    """Read ``path`` (size-capped) and check it; an unreadable file is a refusal, not a crash."""
    try:
        data = read_package_file(path)
    except PackageError as exc:
        refused = Measurement(
            SIGNATURE_CHECK, t("unreadable"), t("a readable package file"), False, exc.message
        )
        return PackageVerdict(path, (refused,), exc)
    return check_package_bytes(data, keyring, device, path=path, now=now)
