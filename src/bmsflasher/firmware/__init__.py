"""Firmware images, release packages, keys and the host-side trust policy.

Pure code: no Qt, no ports, no sockets. Parsing and verification work on bytes; the few helpers
that touch files take explicit paths (``read_package_file``, ``load_*_key_file``,
``Keyring.from_paths``, ``read_firmware_file``).

Typical use::

    keyring = Keyring.from_paths([Path("vendor.pub.pem")])
    package = verify_package(read_package_file(path), keyring, DeviceFacts.from_identity(identity))
    package.image_bytes  # what goes to the device
"""

from __future__ import annotations

from bmsflasher.firmware.behaviour import parse_sim_behaviour, voltage_offset_pct
from bmsflasher.firmware.inputs import firmware_from_bytes, read_firmware_file
from bmsflasher.firmware.keys import (
    Keyring,
    KeyType,
    PrivateKey,
    PublicKey,
    TrustedKey,
    generate_key,
    key_id,
    load_private_key_file,
    load_private_key_pem,
    load_public_key_file,
    load_public_key_pem,
    private_key_pem,
    public_key_pem,
)
from bmsflasher.firmware.mcuboot import (
    IMAGE_MAGIC,
    ImageHeader,
    ImageVerification,
    McubootImage,
    Tlv,
    TlvType,
    build_image,
    is_mcuboot_image,
    parse_image,
    verify_image,
)
from bmsflasher.firmware.package import (
    PACKAGE_SUFFIX,
    Manifest,
    PackageContents,
    PackageSpec,
    build_package,
    parse_manifest,
    read_package,
)
from bmsflasher.firmware.policy import (
    DeviceFacts,
    VerifiedPackage,
    check_device,
    check_expiry,
    read_package_file,
    verify_package,
)

__all__ = [
    "IMAGE_MAGIC",
    "PACKAGE_SUFFIX",
    "DeviceFacts",
    "ImageHeader",
    "ImageVerification",
    "KeyType",
    "Keyring",
    "Manifest",
    "McubootImage",
    "PackageContents",
    "PackageSpec",
    "PrivateKey",
    "PublicKey",
    "Tlv",
    "TlvType",
    "TrustedKey",
    "VerifiedPackage",
    "build_image",
    "build_package",
    "check_device",
    "check_expiry",
    "firmware_from_bytes",
    "generate_key",
    "is_mcuboot_image",
    "key_id",
    "load_private_key_file",
    "load_private_key_pem",
    "load_public_key_file",
    "load_public_key_pem",
    "parse_image",
    "parse_manifest",
    "parse_sim_behaviour",
    "private_key_pem",
    "public_key_pem",
    "read_firmware_file",
    "read_package",
    "read_package_file",
    "verify_image",
    "verify_package",
    "voltage_offset_pct",
]
