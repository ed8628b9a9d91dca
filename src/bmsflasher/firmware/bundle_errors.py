"""Why a ``.bmsbundle`` release bundle is refused: one class per reason, each a PackageError.

Every class sits under the package error it generalises (a malformed bundle is a
``PackageFormatError``, a bad bundle signature a ``SignatureError``...), so code that already
handles package refusals (exit code 3 in the CLI, the GUI's package page, the service report)
handles bundles without a new branch, and tests and the campaign can still tell the reason apart
without reading messages. Raise sites give the sentence and a hint (what to do next).
"""

from __future__ import annotations

from bmsflasher.core.errors import (
    ExpiredPackageError,
    IncompatibleDeviceError,
    IntegrityError,
    PackageError,
    PackageFormatError,
    SignatureError,
    UntrustedKeyError,
)
from bmsflasher.firmware.errors import FirmwareInputError

__all__ = [
    "BundleExpiredError",
    "BundleFormatError",
    "BundleManifestError",
    "BundleMismatchError",
    "BundlePackageError",
    "BundleSignatureError",
    "BundleSpecError",
    "BundleUntrustedKeyError",
    "DuplicateBundleEntryError",
    "MissingBundlePackageError",
    "NodeNotInBundleError",
]


class BundleFormatError(PackageFormatError):
    """The bundle file is not a well-formed bundle (not a ZIP, too large, unsafe or unexpected members)."""


class BundleManifestError(BundleFormatError):
    """``bundle.json`` is not valid JSON or a field is missing, of the wrong type or out of range."""


class MissingBundlePackageError(BundleFormatError):
    """A node type the bundle declares (an entry, a tier in its order or minimum) has no package."""


class DuplicateBundleEntryError(BundleFormatError):
    """Two entries name the same package file or serve the same model and hardware revision.

    A campaign must find exactly one package for every node; with two candidates the choice would
    depend on the order of the list, so the bundle is refused instead.
    """


class BundleSignatureError(SignatureError):
    """The bundle manifest's signature is empty or does not verify with the key it names."""


class BundleUntrustedKeyError(UntrustedKeyError):
    """The bundle manifest is signed by a key outside the keyring."""


class BundleMismatchError(IntegrityError):
    """A package member differs from what the signed bundle manifest says of it.

    Its bytes (size, SHA-256) or its own manifest (model, revisions, version, counter): a package
    swapped for another validly signed one, e.g. an older release, is caught here.
    """


class BundlePackageError(PackageError):
    """A package inside the bundle is refused by the package checks (its own signature, image...).

    Attributes:
        member: the package's file name inside the bundle.
        cause: the package refusal itself (also chained as ``__cause__``).
    """

    def __init__(self, message: str, *, member: str, cause: PackageError, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.member = member
        self.cause = cause


class BundleExpiredError(ExpiredPackageError):
    """The bundle's own expiry has passed."""


class NodeNotInBundleError(IncompatibleDeviceError):
    """A node of the pack (model, hardware revision) has no package in the bundle."""


class BundleSpecError(FirmwareInputError):
    """What was given to build a bundle cannot make one (bad order or minimum, wrong packages)."""
