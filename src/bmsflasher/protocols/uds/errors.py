"""Translate udsoncan and can-isotp exceptions into the project's error tree.

A negative response becomes :class:`DeviceRejectedError` (or :class:`SecurityAccessDeniedError`
for the security NRCs) whose message names the service and the NRC in words, because "0x7F 0x34
0x70" means nothing to a technician while "the device did not accept the download (NRC 0x70
uploadDownloadNotAccepted)" does.
"""

from __future__ import annotations

from typing import Final

import isotp
import udsoncan
from udsoncan.exceptions import (
    InvalidResponseException,
    NegativeResponseException,
    TimeoutException,
    UnexpectedResponseException,
)

from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    MalformedResponseError,
    NoResponseError,
    ProtocolError,
    SecurityAccessDeniedError,
    TechnicianAuthenticationError,
)
from bmsflasher.core.i18n import t

#: ISO 14229-1 names of the NRCs this tool expects, with what they mean for a technician.
NRC_TEXT: Final[dict[int, str]] = {
    0x10: "generalReject",
    0x11: "serviceNotSupported",
    0x12: "subFunctionNotSupported",
    0x13: "incorrectMessageLengthOrInvalidFormat",
    0x14: "responseTooLong",
    0x21: "busyRepeatRequest",
    0x22: "conditionsNotCorrect",
    0x24: "requestSequenceError",
    0x25: "noResponseFromSubnetComponent",
    0x26: "failurePreventsExecutionOfRequestedAction",
    0x31: "requestOutOfRange",
    0x33: "securityAccessDenied",
    0x34: "authenticationRequired",
    0x35: "invalidKey",
    0x36: "exceededNumberOfAttempts",
    0x37: "requiredTimeDelayNotExpired",
    0x70: "uploadDownloadNotAccepted",
    0x71: "transferDataSuspended",
    0x72: "generalProgrammingFailure",
    0x73: "wrongBlockSequenceCounter",
    0x78: "requestCorrectlyReceived-ResponsePending",
    # Authentication (0x29), ISO 14229-1:2020
    0x50: "certificateVerificationFailed-InvalidTimePeriod",
    0x51: "certificateVerificationFailed-InvalidSignature",
    0x52: "certificateVerificationFailed-InvalidChainOfTrust",
    0x53: "certificateVerificationFailed-InvalidType",
    0x54: "certificateVerificationFailed-InvalidFormat",
    0x55: "certificateVerificationFailed-InvalidContent",
    0x56: "certificateVerificationFailed-InvalidScope",
    0x57: "certificateVerificationFailed-InvalidCertificate(revoked)",
    0x58: "ownershipVerificationFailed",
    0x59: "challengeCalculationFailed",
    0x5A: "settingAccessRightsFailed",
    0x5B: "sessionKeyCreation/DerivationFailed",
    0x5C: "configurationDataUsageFailed",
    0x5D: "deAuthenticationFailed",
    0x7E: "subFunctionNotSupportedInActiveSession",
    0x7F: "serviceNotSupportedInActiveSession",
    0x92: "voltageTooHigh",
    0x93: "voltageTooLow",
}
#: SecurityAccess refusals, authenticationRequired and every Authentication (0x29) failure.
SECURITY_NRCS: Final = frozenset({0x33, 0x34, 0x35, 0x36, 0x37, *range(0x50, 0x5E)})
TECHNICIAN_NRCS: Final = frozenset({0x34, *range(0x50, 0x5E)})
"""authenticationRequired and the 0x29 certificate/ownership refusals: the technician's certificate is the
cause (TechnicianAuthenticationError and its own troubleshooting row)."""
_HINTS: Final[dict[int, str]] = {
    0x33: t("Unlock the device with its security key first."),
    0x35: t("Check that the security key file belongs to this device family."),
    0x36: t("Too many wrong keys: wait for the lockout delay, then use the right key."),
    0x37: t("The device is in its security lockout delay; wait about 10 seconds and retry."),
    0x34: t("The device authenticates technicians by certificate: configure your technician certificate."),
    0x50: t("Your technician certificate (or its CA) has expired or is not valid yet: ask for a new one."),
    0x52: t("Your technician certificate is not issued by a CA this device trusts."),
    0x56: t("This certificate is not a technician's: use the certificate issued for the technician role."),
    0x57: t("Your technician certificate has been revoked by its CA: ask your vendor for a new one."),
    0x58: t("The technician key does not belong to the certificate presented."),
    0x22: t("Check the device's state (session, mode, pack conditions) and retry."),
    0x72: t("The device could not program its flash; retry the update, then contact service."),
}


def nrc_name(code: int) -> str:
    """``"NRC 0x31 requestOutOfRange"`` style text for any code."""
    return f"NRC 0x{code:02X} {NRC_TEXT.get(code, 'manufacturer-specific')}"


def rejected(action: str, code: int) -> DeviceRejectedError:
    """The error for a negative response to ``action``.

    ``action`` is a translatable verb phrase (``t("start the download")``): it is the object of
    "The device refused to …", "… while trying to …" in every language.
    """
    cls: type[DeviceRejectedError] = DeviceRejectedError
    if code in TECHNICIAN_NRCS:
        cls = TechnicianAuthenticationError
    elif code in SECURITY_NRCS:
        cls = SecurityAccessDeniedError
    return cls(
        t("The device refused to {action} ({nrc}).", action=action, nrc=nrc_name(code)),
        code=code,
        hint=_HINTS.get(code),
    )


def translate(exc: BaseException, action: str) -> BmsFlasherError:
    """Map one udsoncan/isotp exception raised while trying to ``action`` to a project error.

    The vendor's own text (``{error}``) stays as it is: it names what the library saw.
    """
    if isinstance(exc, BmsFlasherError):
        return exc
    if isinstance(exc, NegativeResponseException):
        return rejected(action, int(exc.response.code or 0))
    if isinstance(exc, TimeoutException):
        return NoResponseError(
            t("The device did not answer in time while trying to {action}.", action=action),
            hint=t("Check the bit rate, the node number and the device's power."),
        )
    if isinstance(exc, InvalidResponseException | UnexpectedResponseException):
        return MalformedResponseError(
            t(
                "The device gave an invalid answer while trying to {action}: {error}.",
                action=action,
                error=str(exc),
            )
        )
    if isinstance(exc, isotp.BlockingSendFailure):
        return NoResponseError(
            t(
                "The request to {action} could not be sent: the device stopped accepting ISO-TP frames.",
                action=action,
            ),
            hint=t("Check the CAN wiring and termination."),
        )
    if isinstance(exc, udsoncan.exceptions.ConfigError | ValueError):
        return ProtocolError(
            t("The request to {action} could not be built: {error}.", action=action, error=str(exc))
        )
    return ProtocolError(t("Trying to {action} failed: {error}.", action=action, error=str(exc)))
