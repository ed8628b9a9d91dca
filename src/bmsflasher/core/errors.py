"""The project's exception tree.

Every failure a user can cause or meet (bad package, wrong key, pulled cable, device that answers
garbage, full disk) is one of these, carrying a sentence a technician can act on. Vendor exceptions
(pyserial, python-can, udsoncan, smp, cryptography, zipfile, sqlite3) are translated into these at
the boundary where they occur, chaining the original with ``raise ... from exc``.
"""

from __future__ import annotations


class BmsFlasherError(Exception):
    """Base of every error bmsflasher raises on purpose.

    Attributes:
        hint: optional advice on what to do next, shown under the message.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


# --- firmware packages and images -------------------------------------------------------------
class PackageError(BmsFlasherError):
    """A firmware package or image must not be used."""

    exit_code = 3


class PackageFormatError(PackageError):
    """The package container or manifest is malformed (truncated, bad ZIP, bad JSON, unsafe entries)."""


class ImageFormatError(PackageError):
    """The MCUboot image is malformed (bad magic, header, or TLV area that lies about lengths)."""


class IntegrityError(PackageError):
    """A hash or size does not match what was declared."""


class SignatureError(PackageError):
    """A signature is missing or does not verify."""


class UntrustedKeyError(SignatureError):
    """The package is signed by a key that is not in the trusted keyring."""


class KeyFileError(PackageError):
    """A key file cannot be read or is of an unsupported type."""


class PolicyError(PackageError):
    """The package is valid but not allowed on this device (model, hardware, downgrade, expiry)."""


class IncompatibleDeviceError(PolicyError):
    """Model or hardware revision does not match the package."""


class DowngradeError(PolicyError):
    """The image's security counter is below the device's stored counter (anti-rollback)."""


class ExpiredPackageError(PolicyError):
    """The manifest's expiry date has passed."""


class BootloaderTooOldError(PolicyError):
    """The device's bootloader is older than the package requires."""


# --- links (serial ports, CAN adapters) -------------------------------------------------------
class LinkError(BmsFlasherError):
    """The physical link to the device failed."""

    exit_code = 4


class PortNotFoundError(LinkError):
    """The port or adapter does not exist (or vanished: cable pulled, USB re-enumerated)."""


class PortBusyError(LinkError):
    """Another program holds the port; we never steal it."""


class PortPermissionError(LinkError):
    """The OS refused access; on Linux the udev rules in drivers/ fix this."""


class LinkLostError(LinkError):
    """The link went away during an operation (cable pull, adapter unplugged)."""


class LinkTimeoutError(LinkError):
    """Nothing arrived within the allowed time."""


class ReconnectTimeoutError(LinkTimeoutError):
    """The device did not come back within the reconnect deadline (after a reboot or a cable pull).

    The one error every protocol's ``Target.reconnect`` raises, so "the device did not come back"
    is the same failure, with the same exit code, over CAN and over serial.
    """


# --- protocols -------------------------------------------------------------------------------
class ProtocolError(BmsFlasherError):
    """The device's answer broke the protocol or refused the request."""

    exit_code = 5


class NoResponseError(ProtocolError):
    """The device did not answer in time (wrong baud/bitrate, wrong address, unpowered)."""


class MalformedResponseError(ProtocolError):
    """The device answered with bytes that do not decode."""


class DeviceRejectedError(ProtocolError):
    """The device answered with a negative response / error code.

    Attributes:
        code: the protocol-specific code (UDS NRC or SMP rc) for logs and tests.
    """

    def __init__(self, message: str, *, code: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class SecurityAccessDeniedError(DeviceRejectedError):
    """Authentication with the device failed (wrong key, locked out)."""


class TechnicianAuthenticationError(SecurityAccessDeniedError):
    """The device admits only an authenticated technician (UDS 0x29, the SMP signed challenge) and did not.

    Its own class because the cure is the technician's certificate, not the package or its signer:
    advice chosen for "authentication rejection" sent technicians to re-download good firmware.
    """


class UnsupportedOperationError(ProtocolError):
    """The device (or its current mode, e.g. recovery) does not offer this operation."""


# --- the update procedure -----------------------------------------------------------------------
class ProcedureError(BmsFlasherError):
    """The update procedure stopped."""

    exit_code = 6


class PreconditionError(ProcedureError):
    """A precondition gate refused the update before anything was written."""

    exit_code = 2


class SelfTestError(ProcedureError):
    """The post-update self-test failed (the procedure rolls back)."""


class RollbackError(ProcedureError):
    """A rollback could not be completed."""


class JournalError(ProcedureError):
    """The resume journal is unreadable or belongs to another device or package."""


# --- storage ---------------------------------------------------------------------------------
class StorageError(BmsFlasherError):
    """Local storage failed (disk full, read-only, corrupt database)."""

    exit_code = 7


class RecordsTamperedError(StorageError):
    """The hash-chained audit trail does not verify."""


class ConfigValidationError(BmsFlasherError):
    """A configuration value is out of range or of the wrong type."""

    exit_code = 8


class UnknownParameterError(ConfigValidationError):
    """A configuration write names a parameter the device does not have (nothing was written)."""


class ReadOnlyParameterError(ConfigValidationError):
    """A configuration write would change a read-only parameter (nothing was written)."""
