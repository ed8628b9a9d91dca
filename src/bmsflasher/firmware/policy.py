"""The host-side gate: may this package be sent to this device?

The host is the first of two gates (the device's bootloader is the second, see
docs/trust-model.md). Checks run from the cheapest and most fundamental to the device-specific,
and the first failure raises its own error class with one sentence:

1. container safety (:func:`bmsflasher.firmware.package.read_package`);
2. the detached manifest signature, by a trusted key, over the exact manifest bytes;
3. the manifest schema;
4. the image's size and SHA-256 against the manifest;
5. the MCUboot image itself: strict parse, its own SHA-256 TLV, its signature by a trusted key;
6. the image agrees with the manifest (version, security counter, sim behaviour);
7. expiry;
8. the device's facts: model, hardware revision, anti-rollback counter, bootloader version.

A device facts field left as None is not checked (``verify`` without ``--model`` etc.), so the
same function serves the manufacturer checking a build and the technician at a device.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from bmsflasher.core.errors import BootloaderTooOldError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity, FirmwareVersion
from bmsflasher.firmware.errors import (
    DowngradeError,
    ExpiredPackageError,
    ImageHashMismatchError,
    ManifestMismatchError,
    ManifestSignatureError,
    MissingSignatureError,
    PackageFormatError,
    PackageTooLargeError,
    SizeMismatchError,
    UntrustedKeyError,
    WrongHardwareRevisionError,
    WrongModelError,
)
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.keys import Keyring, TrustedKey
from bmsflasher.firmware.mcuboot import McubootImage, parse_image, verify_image
from bmsflasher.firmware.package import (
    MAX_PACKAGE_BYTES,
    Manifest,
    PackageContents,
    parse_manifest,
    peek_signing_key_id,
    read_package,
)
from bmsflasher.firmware.signers import (
    certified_image_keyring,
    check_image_role,
    package_certificates,
    release_signer,
    validation_time,
)


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the host knows about the target device; None fields are not checked."""

    model: str | None = None
    hardware_revision: str | None = None
    security_counter: int | None = None
    bootloader_version: FirmwareVersion | None = None

    @classmethod
    def from_identity(cls, identity: DeviceIdentity) -> DeviceFacts:
        """The facts a connected device reported about itself."""
        return cls(
            model=identity.model,
            hardware_revision=identity.hardware_revision,
            security_counter=identity.security_counter,
            bootloader_version=identity.bootloader_version,
        )


@dataclass(frozen=True, slots=True)
class VerifiedPackage:
    """A package that passed every host-side check; the only form the update procedure accepts."""

    manifest: Manifest
    manifest_bytes: bytes
    image_bytes: bytes
    image: McubootImage
    manifest_signer: TrustedKey
    image_signer: TrustedKey

    @property
    def version(self) -> FirmwareVersion:
        return self.manifest.version

    @property
    def security_counter(self) -> int:
        return self.manifest.security_counter

    @property
    def image_hash(self) -> bytes:
        """The MCUboot SHA-256 TLV value: what the device reports for the slot after upload."""
        return self.image.declared_sha256

    @property
    def file_sha256(self) -> bytes:
        """SHA-256 of the whole image file (manifest ``image.sha256``; SMP upload ``sha``)."""
        return self.manifest.image.sha256


def verify_manifest_signature(
    contents: PackageContents, keyring: Keyring, *, now: datetime | None = None
) -> TrustedKey:
    """Find the trusted key whose signature over the exact manifest bytes verifies.

    The key is a plain keyring key, or one the package's certificates vouch for through a chain to
    a keyring root (:mod:`bmsflasher.firmware.signers`); it must hold the release role and be the
    key the manifest declares.

    Raises:
        MissingSignatureError: the signature member is empty.
        UntrustedKeyError: the manifest names a signer outside the keyring (or none verifies).
        ManifestSignatureError: the named signer is trusted but the signature does not verify.
        CertificateError: the signer's certificate chain is refused (a subclass says why).
        SignerMismatchError, SignerRoleError: another key than declared, or one without the role.
    """
    if not contents.signature:
        raise MissingSignatureError(t("The package's manifest signature is empty."))
    claimed = peek_signing_key_id(contents.manifest_bytes)
    # --- signers: plain keys, certificate chains, roles, declared signer (firmware/signers.py) ---
    signer = release_signer(
        contents.manifest_bytes,
        contents.signature,
        keyring,
        certificates=contents.certificates,
        declared=claimed,  # None when unreadable or missing: the schema check that follows says so
        signed_at=lambda: parse_manifest(contents.manifest_bytes).created,
        now=now,
    )
    if signer is not None:
        return signer
    # --- end signers ---
    if claimed is not None and claimed in keyring:
        raise ManifestSignatureError(
            t(
                "The manifest signature does not verify with trusted key {claimed}: the manifest was "
                "altered.",
                claimed=claimed[:16],
            )
        )
    if claimed is not None:
        raise UntrustedKeyError(
            t(
                "The package is signed by key {claimed}, which is not a trusted key.",
                claimed=claimed[:16],
            )
        )
    raise UntrustedKeyError(t("The package's manifest signature does not verify with any trusted key."))


def check_image_against_manifest(
    manifest: Manifest,
    image_bytes: bytes,
    keyring: Keyring,
    certificates: Sequence[x509.Certificate] = (),
    now: datetime | None = None,
) -> tuple[McubootImage, TrustedKey]:
    """Size, hash, MCUboot structure and signature of the image, and its agreement with the manifest."""
    if len(image_bytes) != manifest.image.size:
        raise SizeMismatchError(
            t(
                "The image is {count} bytes but the manifest declares {size}.",
                count=len(image_bytes),
                size=manifest.image.size,
            )
        )
    if hashlib.sha256(image_bytes).digest() != manifest.image.sha256:
        raise ImageHashMismatchError(
            t("The image's SHA-256 differs from the manifest's: the image was altered.")
        )
    image = parse_image(image_bytes)
    image_ring = certified_image_keyring(  # signers.py: the package's certificates for the image key
        keyring, certificates, image.signing_key_hashes, validation_time(manifest.created, now)
    )
    signer = verify_image(image, image_ring).signer
    check_image_role(signer)
    if image.version != manifest.version:
        raise ManifestMismatchError(
            t(
                "The image header says version {version} but the manifest says {manifest_version}.",
                version=image.version,
                manifest_version=manifest.version,
            )
        )
    if image.security_counter is None:
        raise ManifestMismatchError(
            t("The image has no security counter TLV, so anti-rollback cannot protect it.")
        )
    if image.security_counter != manifest.security_counter:
        raise ManifestMismatchError(
            t(
                "The image's security counter is {security_counter} but the manifest says "
                "{manifest_counter}.",
                security_counter=image.security_counter,
                manifest_counter=manifest.security_counter,
            )
        )
    image_behaviour = image.sim_behaviour or "healthy"
    if manifest.sim_behaviour is not None and manifest.sim_behaviour != image_behaviour:
        raise ManifestMismatchError(
            t(
                "The manifest says sim behaviour '{sim_behaviour}' but the image carries "
                "'{image_behaviour}'.",
                sim_behaviour=manifest.sim_behaviour,
                image_behaviour=image_behaviour,
            )
        )
    return image, signer


def check_expiry(manifest: Manifest, now: datetime | None = None) -> None:
    """Raise ExpiredPackageError once the manifest's expiry has passed."""
    moment = now or datetime.now(UTC)
    if manifest.expires is not None and moment >= manifest.expires:
        raise ExpiredPackageError(
            t(
                "The package expired on {expires:%Y-%m-%d %H:%M} UTC and may no longer be installed.",
                expires=manifest.expires,
            )
        )


def check_device(manifest: Manifest, device: DeviceFacts) -> None:
    """Model, hardware revision, anti-rollback and bootloader checks against one device."""
    if device.model is not None and device.model != manifest.model:
        raise WrongModelError(
            t(
                "The package is for model {package_model}, not {device_model}.",
                package_model=manifest.model,
                device_model=device.model,
            )
        )
    if device.hardware_revision is not None and device.hardware_revision not in manifest.hardware_revisions:
        raise WrongHardwareRevisionError(
            t(
                "The package supports hardware revisions {hardware_revisions}, not revision "
                "{hardware_revision}.",
                hardware_revisions=", ".join(manifest.hardware_revisions),
                hardware_revision=device.hardware_revision,
            )
        )
    if device.security_counter is not None and manifest.security_counter < device.security_counter:
        raise DowngradeError(
            t(
                "The package's security counter {security_counter} is below the device's "
                "{device_counter}; anti-rollback forbids this downgrade.",
                security_counter=manifest.security_counter,
                device_counter=device.security_counter,
            )
        )
    if device.bootloader_version is not None and device.bootloader_version < manifest.min_bootloader_version:
        raise BootloaderTooOldError(
            t(
                "The package needs bootloader {required} or newer; the device has {actual}.",
                required=manifest.min_bootloader_version,
                actual=device.bootloader_version,
            )
        )


def verify_package(
    data: bytes,
    keyring: Keyring,
    device: DeviceFacts | None = None,
    *,
    now: datetime | None = None,
) -> VerifiedPackage:
    """Run every host-side check on package bytes; returns the verified package or raises.

    Args:
        data: the ``.bmspkg`` file's bytes (read with :func:`read_package_file` or received).
        keyring: the trusted public keys (manifest and image signers must both be in it).
        device: the target's facts; None (or None fields) skips those device checks.
        now: the current time (tests pin it); defaults to the system clock in UTC.

    Raises:
        PackageError: a subclass naming the first reason the package must not be used.
    """
    contents = read_package(data)
    manifest_signer = verify_manifest_signature(contents, keyring, now=now)
    manifest = parse_manifest(contents.manifest_bytes)
    if manifest.image.file != contents.image_name:
        raise ManifestMismatchError(t("The manifest names a different image file than the package holds."))
    certificates = package_certificates(contents.certificates)
    image, image_signer = check_image_against_manifest(
        manifest, contents.image_bytes, keyring, certificates, now
    )
    check_expiry(manifest, now)
    if device is not None:
        check_device(manifest, device)
    return VerifiedPackage(
        manifest, contents.manifest_bytes, contents.image_bytes, image, manifest_signer, image_signer
    )


def package_file_missing(path: Path) -> PackageFormatError:
    """The error for a package path that does not exist (the reader's and the command line's one wording)."""
    return PackageFormatError(t("The package file {path} does not exist.", path=path))


def read_package_file(path: Path) -> bytes:
    """Read a package file with the size cap applied before reading (thin I/O helper)."""
    try:
        size = path.stat().st_size
        data = None if size > MAX_PACKAGE_BYTES else read_capped(path, MAX_PACKAGE_BYTES)
        if data is None:
            raise PackageTooLargeError(
                t(
                    "{path} is {size} bytes or more, over the {limit}-byte package limit.",
                    path=path,
                    size=max(size, MAX_PACKAGE_BYTES + 1),
                    limit=MAX_PACKAGE_BYTES,
                )
            )
        return data
    except FileNotFoundError as exc:
        raise package_file_missing(path) from exc
    except IsADirectoryError as exc:
        raise PackageFormatError(t("{path} is a folder, not a package file.", path=path)) from exc
    except OSError as exc:
        raise PackageFormatError(
            t(
                "The package file {path} cannot be read: {reason}.",
                path=path,
                reason=exc.strerror or exc,
            )
        ) from exc
