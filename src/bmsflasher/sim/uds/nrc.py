"""Negative response codes of the virtual BMS's UDS server and the exception that carries them.

Every service handler answers a refusal by raising :class:`NegativeResponse`; the server turns it
into ``0x7F SID NRC`` (or into silence for the NRCs a functionally addressed request must not
get). One module for the codes keeps the handlers of every functional unit on the same numbers.
"""

from __future__ import annotations

from typing import Final

# Negative response codes (ISO 14229-1 Annex A).
NRC_SERVICE_NOT_SUPPORTED: Final = 0x11
NRC_SUBFUNCTION_NOT_SUPPORTED: Final = 0x12
NRC_INCORRECT_LENGTH: Final = 0x13
NRC_RESPONSE_TOO_LONG: Final = 0x14
NRC_CONDITIONS_NOT_CORRECT: Final = 0x22
NRC_REQUEST_SEQUENCE_ERROR: Final = 0x24
NRC_REQUEST_OUT_OF_RANGE: Final = 0x31
NRC_SECURITY_ACCESS_DENIED: Final = 0x33
#: ISO 14229-1:2020: the request needs an authenticated tester (Authentication 0x29) first.
NRC_AUTHENTICATION_REQUIRED: Final = 0x34
NRC_INVALID_KEY: Final = 0x35
NRC_EXCEEDED_ATTEMPTS: Final = 0x36
NRC_TIME_DELAY_NOT_EXPIRED: Final = 0x37
NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED: Final = 0x70
NRC_GENERAL_PROGRAMMING_FAILURE: Final = 0x72
NRC_WRONG_BLOCK_SEQUENCE_COUNTER: Final = 0x73
NRC_RESPONSE_PENDING: Final = 0x78
NRC_SUBFUNCTION_NOT_IN_SESSION: Final = 0x7E
NRC_SERVICE_NOT_IN_SESSION: Final = 0x7F
#: NRCs a server suppresses for functionally addressed requests (ISO 14229-1).
FUNCTIONAL_SUPPRESSED: Final = frozenset({0x11, 0x12, 0x31, 0x7E, 0x7F})


class NegativeResponse(Exception):  # noqa: N818 -- control flow carrying an NRC, not a failure
    """Raised by a handler to answer ``0x7F SID NRC``."""

    def __init__(self, nrc: int) -> None:
        super().__init__(f"NRC 0x{nrc:02X}")
        self.nrc = nrc


def need_length(request: bytes, exact: int | None = None, minimum: int | None = None) -> None:
    """Refuse a request of the wrong total length with NRC 0x13 (incorrectMessageLength)."""
    if exact is not None and len(request) != exact:
        raise NegativeResponse(NRC_INCORRECT_LENGTH)
    if minimum is not None and len(request) < minimum:
        raise NegativeResponse(NRC_INCORRECT_LENGTH)
