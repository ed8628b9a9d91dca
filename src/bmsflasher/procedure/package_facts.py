"""What the procedure needs to know about a verified package, independent of the package format.

The precondition gates and the reboot check compare the package with the device; keeping the few
facts they use in one small immutable type lets them be tested with plain values, and keeps the
procedure stable if the package container evolves.
"""

from __future__ import annotations

from dataclasses import dataclass

from bmsflasher.core.types import FirmwareVersion


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """The verified facts of one firmware package.

    Attributes:
        model: device model the package was released for.
        hardware_revisions: hardware revisions it is compatible with.
        version: firmware version inside the image.
        security_counter: the image's anti-rollback counter.
        min_bootloader_version: oldest bootloader able to boot it, if the package says.
        package_sha256: hex SHA-256 of the package file (identity of the update for the journal).
        image_sha256: hex SHA-256 of the MCUboot image bytes sent to the device.
        image_size: size of the image in bytes.
        image_hash: the SHA-256 the MCUboot image declares in its hash TLV, which is what a device
            reports for a slot; empty when unknown.
        image_key_hashes: the SHA-256 key hashes the image's signatures name (MCUboot KEYHASH),
            compared with the keys a device's bootloader trusts; empty when unknown.
        signers: the manifest's and the image's signer (key id, certificate subject and
            fingerprint when trusted through a chain), as the service record keeps them.
    """

    model: str
    hardware_revisions: tuple[str, ...]
    version: FirmwareVersion
    security_counter: int
    min_bootloader_version: FirmwareVersion | None
    package_sha256: str
    image_sha256: str
    image_size: int
    image_hash: bytes = b""
    image_key_hashes: tuple[bytes, ...] = ()
    signers: tuple[dict[str, str | None], ...] = ()
    """Who signed the manifest and the image (``records.signers.RecordedSigner`` JSON), for the record."""
