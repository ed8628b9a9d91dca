"""The virtual BMS's general UDS request checks, in the order ISO 14229-1 prescribes.

ISO 14229-1:2020 ("General server response behaviour" and its flowcharts) fixes the order in
which a server rejects a request before any service-specific check runs:

1. the service identifier is supported → else NRC 0x11 serviceNotSupported;
2. the service is supported in the active session → else NRC 0x7F;
3. the service as a whole needs security access and the server is locked → NRC 0x33;
4. for services with a sub-function: the request has at least SID + sub-function → else 0x13;
   the sub-function is supported → else 0x12; it is supported in the active session → else 0x7E.

Only then does a service check its total length (0x13), its parameters (0x31), conditions (0x22)
and so on. Keeping these rules in one table instead of in each handler is what guarantees the
order (e.g. a too-short SecurityAccess request in the default session is 0x7F, not 0x13).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

DEFAULT: Final = 0x01
PROGRAMMING: Final = 0x02
EXTENDED: Final = 0x03
_ALL: Final = frozenset({DEFAULT, PROGRAMMING, EXTENDED})
_NON_DEFAULT: Final = frozenset({PROGRAMMING, EXTENDED})
_PROGRAMMING_ONLY: Final = frozenset({PROGRAMMING})

NRC_SERVICE_NOT_SUPPORTED: Final = 0x11
NRC_SUBFUNCTION_NOT_SUPPORTED: Final = 0x12
NRC_INCORRECT_LENGTH: Final = 0x13
NRC_SECURITY_ACCESS_DENIED: Final = 0x33
NRC_SUBFUNCTION_NOT_IN_SESSION: Final = 0x7E
NRC_SERVICE_NOT_IN_SESSION: Final = 0x7F


@dataclass(frozen=True, slots=True)
class ServiceRule:
    """Where and how one service may be used.

    Attributes:
        sessions: sessions in which the service is supported (else NRC 0x7F).
        secured: the whole service needs security access (else NRC 0x33 before any other check).
        subfunctions: for services with a sub-function, sub-function → sessions supporting it.
        suppressible: bit 7 of the sub-function is the suppressPosRspMsgIndicationBit.
    """

    sessions: frozenset[int]
    secured: bool = False
    subfunctions: Mapping[int, frozenset[int]] | None = None
    suppressible: bool = False

    def sub_function(self, request: bytes) -> int:
        """The sub-function value without the suppress bit (requests of at least two bytes)."""
        return request[1] & 0x7F if self.suppressible else request[1]

    def suppresses_positive_response(self, request: bytes) -> bool:
        """True when the request asks the server not to send its positive response."""
        return self.suppressible and len(request) > 1 and bool(request[1] & 0x80)

    def check(self, request: bytes, session: int, unlocked: bool) -> int:
        """The NRC of the general checks (steps 2–4 above), or 0 when the service may run."""
        if session not in self.sessions:
            return NRC_SERVICE_NOT_IN_SESSION
        if self.secured and not unlocked:
            return NRC_SECURITY_ACCESS_DENIED
        if self.subfunctions is None:
            return 0
        if len(request) < 2:
            return NRC_INCORRECT_LENGTH
        supported_in = self.subfunctions.get(self.sub_function(request))
        if supported_in is None:
            return NRC_SUBFUNCTION_NOT_SUPPORTED
        if session not in supported_in:
            return NRC_SUBFUNCTION_NOT_IN_SESSION
        return 0


def _subs(*values: int, sessions: frozenset[int] = _ALL) -> dict[int, frozenset[int]]:
    return dict.fromkeys(values, sessions)


#: The application's services. The programming session is reached from the extended session only.
APPLICATION_RULES: Final[Mapping[int, ServiceRule]] = {
    0x10: ServiceRule(
        _ALL, subfunctions={DEFAULT: _ALL, PROGRAMMING: _NON_DEFAULT, EXTENDED: _ALL}, suppressible=True
    ),
    0x11: ServiceRule(_ALL, subfunctions=_subs(0x01, 0x02, 0x03), suppressible=True),
    0x14: ServiceRule(_ALL),
    # ReadDTCInformation: bit 7 of reportType is not a suppress bit (a read is always answered).
    0x19: ServiceRule(_ALL, subfunctions=_subs(0x01, 0x02, 0x08, 0x0A)),
    0x22: ServiceRule(_ALL),
    0x27: ServiceRule(_NON_DEFAULT, subfunctions=_subs(0x01, 0x02, sessions=_NON_DEFAULT), suppressible=True),
    # Authentication (ISO 14229-1:2020): every session; the tasks this server offers.
    0x29: ServiceRule(_ALL, subfunctions=_subs(0x00, 0x01, 0x03, 0x08), suppressible=True),
    0x2E: ServiceRule(frozenset({EXTENDED})),
    0x31: ServiceRule(
        _NON_DEFAULT, subfunctions=_subs(0x01, 0x02, 0x03, sessions=_NON_DEFAULT), suppressible=True
    ),
    0x34: ServiceRule(_PROGRAMMING_ONLY, secured=True),
    0x36: ServiceRule(_PROGRAMMING_ONLY),
    0x37: ServiceRule(_PROGRAMMING_ONLY),
    0x3E: ServiceRule(_ALL, subfunctions=_subs(0x00), suppressible=True),
}

#: The bootloader's (and recovery's) programming subset: every other service is 0x11.
BOOTLOADER_RULES: Final[Mapping[int, ServiceRule]] = {
    0x10: ServiceRule(_ALL, subfunctions=_subs(DEFAULT, PROGRAMMING), suppressible=True),
    0x11: APPLICATION_RULES[0x11],
    0x22: APPLICATION_RULES[0x22],
    0x27: APPLICATION_RULES[0x27],
    0x29: APPLICATION_RULES[0x29],
    0x31: APPLICATION_RULES[0x31],
    0x34: APPLICATION_RULES[0x34],
    0x36: APPLICATION_RULES[0x36],
    0x37: APPLICATION_RULES[0x37],
    0x3E: APPLICATION_RULES[0x3E],
}
