"""Specific firmware errors, one class per reason a package or image is refused.

The base classes live in :mod:`bmsflasher.core.errors`; these subclasses exist so that tests, the
GUI and the service report can tell *why* a package was refused without parsing messages, and so
that each reason carries its own one-sentence message.
"""

from __future__ import annotations

from bmsflasher.core.errors import (
    DowngradeError,
    ExpiredPackageError,
    ImageFormatError,
    IncompatibleDeviceError,
    IntegrityError,
    KeyFileError,
    PackageError,
    PackageFormatError,
    SignatureError,
    UntrustedKeyError,
)

__all__ = [
    "DowngradeError",
    "DuplicateMemberError",
    "ExpiredPackageError",
    "FirmwareInputError",
    "ImageFormatError",
    "ImageHashMismatchError",
    "ImageSignatureError",
    "IncompatibleDeviceError",
    "IntegrityError",
    "KeyFileError",
    "ManifestMismatchError",
    "ManifestSchemaError",
    "ManifestSignatureError",
    "MissingMemberError",
    "MissingSignatureError",
    "NotAZipError",
    "PackageFormatError",
    "PackageTooLargeError",
    "SignatureError",
    "SizeMismatchError",
    "TlvLengthError",
    "UnexpectedMemberError",
    "UnsafeMemberNameError",
    "UnsupportedImageError",
    "UnsupportedZipFeatureError",
    "UntrustedKeyError",
    "WrongHardwareRevisionError",
    "WrongModelError",
    "ZipBombError",
]


# --- package container ---------------------------------------------------------------------------
class NotAZipError(PackageFormatError):
    """The file is not a readable ZIP archive (truncated, corrupted, or not a package at all)."""


class PackageTooLargeError(PackageFormatError):
    """The package or one of its members exceeds the size limits (declared or actual)."""


class ZipBombError(PackageFormatError):
    """A member decompresses far beyond what its compressed size makes plausible."""


class UnsafeMemberNameError(PackageFormatError):
    """A member name could escape an extraction folder (path traversal, absolute path, odd chars)."""


class DuplicateMemberError(PackageFormatError):
    """The same member name appears more than once; which one a reader sees is ambiguous."""


class UnexpectedMemberError(PackageFormatError):
    """The archive holds a member the format does not define."""


class MissingMemberError(PackageFormatError):
    """A required member (manifest, signature, image) is absent."""


class UnsupportedZipFeatureError(PackageFormatError):
    """A member is encrypted or uses a compression method other than stored/deflated."""


class ManifestSchemaError(PackageFormatError):
    """``manifest.json`` is not valid JSON or a field is missing, of the wrong type, or out of range."""


# --- images --------------------------------------------------------------------------------------
class TlvLengthError(ImageFormatError):
    """A TLV area or TLV entry declares a length that does not fit the image."""


class UnsupportedImageError(ImageFormatError):
    """The image uses an MCUboot feature this tool does not handle (encryption, compression, ...)."""


# --- integrity -----------------------------------------------------------------------------------
class ImageHashMismatchError(IntegrityError):
    """A SHA-256 (image TLV or manifest) does not match the bytes."""


class SizeMismatchError(IntegrityError):
    """The image size differs from the size the manifest declares."""


class ManifestMismatchError(IntegrityError):
    """The manifest and the image it carries disagree (version, security counter, behaviour)."""


# --- signatures ----------------------------------------------------------------------------------
class MissingSignatureError(SignatureError):
    """No signature is present where one is required."""


class ManifestSignatureError(SignatureError):
    """The detached manifest signature does not verify with the key that claims to have made it."""


class ImageSignatureError(SignatureError):
    """The MCUboot image signature does not verify."""


# --- policy --------------------------------------------------------------------------------------
class WrongModelError(IncompatibleDeviceError):
    """The package is for another BMS model."""


class WrongHardwareRevisionError(IncompatibleDeviceError):
    """The device's hardware revision is not among the package's compatible revisions."""


# --- inputs the manufacturer gives to `package` ---------------------------------------------------
class FirmwareInputError(PackageError):
    """The firmware file given to ``package`` cannot be used (unreadable, empty, bad Intel HEX)."""
