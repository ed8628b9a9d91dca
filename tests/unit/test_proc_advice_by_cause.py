"""Troubleshooting advice follows the error's class, not the step it happened in (issue 14).

A typo'd port, a busy port, ``/dev/null`` and an unknown CAN interface all used to get "replace the
communication cables… it resumes where it stopped"; the anti-rollback refusal was told to roll back.
Every project error class is pinned here to its row, and every row is reachable and translated.
"""

from __future__ import annotations

import inspect
import json

import pytest

from bmsflasher.core import errors as ce
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware import errors as fe
from bmsflasher.links.can import CanSettingsError
from bmsflasher.procedure.troubleshooting import FailureKind, advice, all_advice, kind_for_error

K = FailureKind
EXPECTED: dict[type[BaseException], FailureKind | None] = {
    ce.BmsFlasherError: None,
    ce.PackageError: K.PACKAGE_REJECTED,
    ce.PackageFormatError: K.PACKAGE_REJECTED,
    ce.ImageFormatError: K.PACKAGE_REJECTED,
    ce.IntegrityError: K.PACKAGE_REJECTED,
    ce.SignatureError: K.AUTHENTICATION_REJECTION,
    ce.UntrustedKeyError: K.AUTHENTICATION_REJECTION,
    ce.KeyFileError: K.AUTHENTICATION_REJECTION,
    ce.PolicyError: K.PACKAGE_REJECTED,
    ce.IncompatibleDeviceError: K.INCOMPATIBLE_PACKAGE,
    ce.DowngradeError: K.DOWNGRADE_REFUSED,
    ce.ExpiredPackageError: K.PACKAGE_REJECTED,
    ce.BootloaderTooOldError: K.INCOMPATIBLE_PACKAGE,
    ce.LinkError: K.ADAPTER_UNUSABLE,
    ce.PortNotFoundError: K.PORT_NOT_FOUND,
    ce.PortBusyError: K.PORT_BUSY,
    ce.PortPermissionError: K.PORT_PERMISSION,
    ce.LinkLostError: K.LINK_LOST,
    ce.LinkTimeoutError: K.TRANSFER_TIMEOUT,
    ce.ProtocolError: K.DEVICE_ERROR,
    ce.NoResponseError: K.TRANSFER_TIMEOUT,
    ce.MalformedResponseError: K.DEVICE_ERROR,
    ce.DeviceRejectedError: K.DEVICE_ERROR,
    ce.SecurityAccessDeniedError: K.AUTHENTICATION_REJECTION,
    ce.TechnicianAuthenticationError: K.TECHNICIAN_NOT_AUTHENTICATED,
    ce.UnsupportedOperationError: K.DEVICE_ERROR,
    ce.ProcedureError: None,
    ce.PreconditionError: K.PRECONDITION_REFUSED,
    ce.SelfTestError: K.SELF_TEST_FAILURE,
    ce.RollbackError: None,
    ce.JournalError: None,
    ce.StorageError: K.STORAGE_PROBLEM,
    ce.RecordsTamperedError: K.STORAGE_PROBLEM,
    ce.ConfigValidationError: K.INVALID_SETTINGS,
    ce.UnknownParameterError: K.INVALID_SETTINGS,
    ce.ReadOnlyParameterError: K.INVALID_SETTINGS,
    ce.ReconnectTimeoutError: K.TRANSFER_TIMEOUT,  # during the reboot step the procedure says boot loop
    CanSettingsError: K.INVALID_SETTINGS,
    fe.WrongModelError: K.INCOMPATIBLE_PACKAGE,
    fe.WrongHardwareRevisionError: K.INCOMPATIBLE_PACKAGE,
    fe.ImageSignatureError: K.AUTHENTICATION_REJECTION,
    fe.ManifestSignatureError: K.AUTHENTICATION_REJECTION,
    fe.MissingSignatureError: K.AUTHENTICATION_REJECTION,
    fe.ImageHashMismatchError: K.PACKAGE_REJECTED,
    fe.SizeMismatchError: K.PACKAGE_REJECTED,
    fe.ManifestMismatchError: K.PACKAGE_REJECTED,
    fe.NotAZipError: K.PACKAGE_REJECTED,
    fe.ZipBombError: K.PACKAGE_REJECTED,
    fe.PackageTooLargeError: K.PACKAGE_REJECTED,
}


def _project_error_classes() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for module in (ce, fe):
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, ce.BmsFlasherError) and value.__module__ == module.__name__:
                found.add(value)
    return found


@pytest.mark.parametrize("error_class", sorted(EXPECTED, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_each_error_class_has_its_own_advice(error_class: type[BaseException]) -> None:
    assert kind_for_error(error_class("x")) is EXPECTED[error_class]


def test_every_core_error_class_is_pinned() -> None:
    core_classes = {c for c in _project_error_classes() if c.__module__ == ce.__name__}
    missing = sorted(c.__name__ for c in core_classes - set(EXPECTED))
    assert not missing, f"pin the advice of {missing} in EXPECTED"


def test_port_problems_are_not_told_to_replace_cables() -> None:
    for error in (
        ce.PortNotFoundError("x"),
        ce.PortBusyError("x"),
        ce.PortPermissionError("x"),
        ce.LinkError("x"),
    ):
        row = advice(kind_for_error(error) or K.TRANSFER_TIMEOUT)
        assert "cable" not in row.resolution.lower(), (type(error).__name__, row.resolution)
        assert "nothing was written" in row.resolution or "Choose the port" in row.resolution


def test_anti_rollback_is_not_told_to_roll_back() -> None:
    row = advice(K.DOWNGRADE_REFUSED)
    assert "roll back" not in row.resolution.lower()
    assert "security counter" in row.diagnostic


def test_every_row_is_in_the_table_and_the_table_has_no_stray_rows() -> None:
    table = json.loads(resource_path("troubleshooting.json").read_text(encoding="utf-8"))
    assert {entry["id"] for entry in table["entries"]} == {kind.value for kind in FailureKind}
    assert len(all_advice()) == len(FailureKind)
    for row in all_advice():
        assert row.pattern
        assert row.diagnostic.endswith(".")
        assert row.resolution.endswith(".")


def test_a_device_refusing_the_technician_is_not_told_to_re_download_the_firmware() -> None:
    """0x29 refusals and missing credentials point at the technician's certificate, not the package."""
    from bmsflasher.protocols.uds.errors import rejected

    for code in (0x34, 0x50, 0x52, 0x57, 0x58):
        error = rejected("start the download", code)
        assert isinstance(error, ce.TechnicianAuthenticationError), hex(code)
        row = advice(kind_for_error(error))  # type: ignore[arg-type]
        assert row.kind is K.TECHNICIAN_NOT_AUTHENTICATED
        assert "technician certificate" in row.diagnostic
        assert "Re-download" not in row.resolution
    assert kind_for_error(rejected("send the key", 0x35)) is K.AUTHENTICATION_REJECTION
