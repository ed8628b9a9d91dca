"""Exceptions the virtual BMS raises at its API.

They subclass the project's tree (``core.errors``) so a protocol front-end can map each to the
answer a real device would give (a UDS negative response code, an SMP ``rc``) without string
matching, and so a CLI user sees one clear sentence.
"""

from __future__ import annotations

from bmsflasher.core.errors import (
    BmsFlasherError,
    ConfigValidationError,
    DowngradeError,
    SignatureError,
    UnsupportedOperationError,
)


class SimError(BmsFlasherError):
    """Base of every error the virtual BMS raises on purpose."""


class SimParameterError(SimError, ConfigValidationError):
    """A configuration parameter is unknown, read-only, of the wrong type or out of range.

    Attributes:
        parameter: the offending parameter name (front-ends report it back).
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class SimUploadError(SimError):
    """An image upload was refused (wrong offset, no upload in progress, too large, hash mismatch)."""


class SimImageRejectedError(SimError, SignatureError):
    """The bootloader refuses an image (bad magic, hash, signature or untrusted key)."""


class SimDowngradeError(SimImageRejectedError, DowngradeError):
    """The image's security counter is below the device's stored counter (anti-rollback)."""


class SimModeError(SimError, UnsupportedOperationError):
    """The operation is not available in the device's current mode (e.g. telemetry in recovery)."""


class SimStateError(SimError):
    """The operation is not allowed in the current update state (e.g. upload over an unconfirmed image)."""


class SimPoweredOffError(SimError):
    """The device has no power (a simulated power cut happened); nothing answers until power returns."""


class SimStateFileError(SimError):
    """The state file cannot be used (unreadable, another geometry, not a virtual BMS flash file)."""
