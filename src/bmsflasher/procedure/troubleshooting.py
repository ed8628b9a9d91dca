"""The troubleshooting table, as data: what to check and what to do for each kind of failure.

The seeds' table (authentication rejection → verify the certificate chain → re-download from a
trusted source; boot loop → check hardware compatibility → roll back to the last stable version;
transfer timeout → test baud alignment → replace cables) lives in ``resources/troubleshooting.json``
so the CLI, the GUI's failure pages and the service report quote the same words, and a
manufacturer can extend it without touching code.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from functools import cache

from bmsflasher.core.errors import (
    BmsFlasherError,
    BootloaderTooOldError,
    ConfigValidationError,
    DowngradeError,
    IncompatibleDeviceError,
    KeyFileError,
    LinkError,
    LinkLostError,
    LinkTimeoutError,
    NoResponseError,
    PackageError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
    PreconditionError,
    ProtocolError,
    SecurityAccessDeniedError,
    SelfTestError,
    SignatureError,
    StorageError,
    TechnicianAuthenticationError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path


class FailureKind(enum.StrEnum):
    """Rows of the troubleshooting table."""

    AUTHENTICATION_REJECTION = "authentication_rejection"
    TECHNICIAN_NOT_AUTHENTICATED = "technician_not_authenticated"
    BOOT_LOOP = "boot_loop"
    TRANSFER_TIMEOUT = "transfer_timeout"
    SELF_TEST_FAILURE = "self_test_failure"
    STUCK_IN_RECOVERY = "stuck_in_recovery"
    PRECONDITION_REFUSED = "precondition_refused"
    PORT_NOT_FOUND = "port_not_found"
    PORT_BUSY = "port_busy"
    PORT_PERMISSION = "port_permission"
    ADAPTER_UNUSABLE = "adapter_unusable"
    INVALID_SETTINGS = "invalid_settings"
    LINK_LOST = "link_lost"
    PACKAGE_REJECTED = "package_rejected"
    INCOMPATIBLE_PACKAGE = "incompatible_package"
    DOWNGRADE_REFUSED = "downgrade_refused"
    DEVICE_ERROR = "device_error"
    STORAGE_PROBLEM = "storage_problem"


@dataclass(frozen=True, slots=True)
class Advice:
    """One row: the failure pattern, what to check, and how to resolve it."""

    kind: FailureKind
    pattern: str
    diagnostic: str
    resolution: str

    def hint(self) -> str:
        """The row as one line for an error's hint."""
        return t("{diagnostic} {resolution}", diagnostic=self.diagnostic, resolution=self.resolution)


@cache
def _table() -> dict[FailureKind, Advice]:
    path = resource_path("troubleshooting.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        table = {
            # The rows' sentences are catalogue templates like any t("...") in the code (the
            # catalogue test reads them from this file), so every front-end can show them translated.
            FailureKind(entry["id"]): Advice(
                FailureKind(entry["id"]), t(entry["pattern"]), t(entry["diagnostic"]), t(entry["resolution"])
            )
            for entry in entries
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BmsFlasherError(
            t("the troubleshooting table {path} is unreadable; reinstall bmsflasher", path=path)
        ) from exc
    missing = [kind.value for kind in FailureKind if kind not in table]
    if missing:
        raise BmsFlasherError(
            t(
                "the troubleshooting table {path} lacks rows: {missing}",
                path=path,
                missing=", ".join(missing),
            )
        )
    return table


def advice(kind: FailureKind) -> Advice:
    """The troubleshooting row for one kind of failure."""
    return _table()[kind]


def all_advice() -> list[Advice]:
    """Every row, in table order (for documentation and the GUI's help page)."""
    return list(_table().values())


_BY_ERROR_CLASS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], FailureKind], ...] = (
    # Most specific first: the first class that matches decides the row.
    (TechnicianAuthenticationError, FailureKind.TECHNICIAN_NOT_AUTHENTICATED),
    ((SignatureError, KeyFileError, SecurityAccessDeniedError), FailureKind.AUTHENTICATION_REJECTION),
    (DowngradeError, FailureKind.DOWNGRADE_REFUSED),
    ((IncompatibleDeviceError, BootloaderTooOldError), FailureKind.INCOMPATIBLE_PACKAGE),
    (PackageError, FailureKind.PACKAGE_REJECTED),
    (PreconditionError, FailureKind.PRECONDITION_REFUSED),
    (SelfTestError, FailureKind.SELF_TEST_FAILURE),
    (PortNotFoundError, FailureKind.PORT_NOT_FOUND),
    (PortBusyError, FailureKind.PORT_BUSY),
    (PortPermissionError, FailureKind.PORT_PERMISSION),
    (LinkLostError, FailureKind.LINK_LOST),
    ((LinkTimeoutError, NoResponseError), FailureKind.TRANSFER_TIMEOUT),
    (ConfigValidationError, FailureKind.INVALID_SETTINGS),
    (LinkError, FailureKind.ADAPTER_UNUSABLE),
    (ProtocolError, FailureKind.DEVICE_ERROR),
    (StorageError, FailureKind.STORAGE_PROBLEM),
)
"""Advice follows the error's class, never the step it happened in: a typo'd port during the
transfer step is still a typo'd port, not a worn cable."""


def kind_for_error(error: BaseException) -> FailureKind | None:
    """Which row applies to an error (None for errors that are not the project's own)."""
    for classes, kind in _BY_ERROR_CLASS:
        if isinstance(error, classes):
            return kind
    return None
