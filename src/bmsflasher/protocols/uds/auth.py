"""UDS Authentication (0x29, ISO 14229-1:2020) with the technician's certificate, via udsoncan.

Devices of this family authenticate the tester one of two ways. Older ones use SecurityAccess
(0x27) with a seed/key derived from a workshop secret (``security.py``). Newer ones require
certificate-based authentication: the tester presents its certificate chain
(verifyCertificateUnidirectional), the device answers a random challenge, and the tester proves
it holds the certificate's private key by signing it (proofOfOwnership). A shared secret that
every copy of the tool carries then no longer opens the device: a certificate issued to one
technician by the vendor CA does, for the role it names, and the service record can name who.

The tool asks which scheme a device uses with authenticationConfiguration (0x29 0x08): a device
without the service answers NRC 0x11 and keeps using 0x27. Every request goes through udsoncan's
Authentication service (``Client.authentication``); the exact bytes, and why the proof signs a
context prefix before the challenges, are in ``docs/protocols/uds.md`` ("Authentication (0x29)").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Final

from udsoncan.services.Authentication import Authentication, AuthenticationReturnParameter

from bmsflasher.core.errors import DeviceRejectedError
from bmsflasher.core.i18n import t
from bmsflasher.protocols.base.technician import (
    CredentialsSource,
    TechnicianCredentials,
    credentials_from,
    load_or_refuse,
)

#: Prefix of the bytes the proof of ownership signs: a signature made for a device challenge can
#: never be replayed as an audit-trail seal, an SMP proof or a firmware signature (and back).
PROOF_CONTEXT: Final = b"bmsflasher/uds-0x29/proof-of-ownership/v1\x00"
CLIENT_CHALLENGE_BYTES: Final = 32
RETURN_APCE: Final = AuthenticationReturnParameter.AuthenticationConfiguration_APCE
RETURN_OWNERSHIP_NEEDED: Final = (
    AuthenticationReturnParameter.CertificateVerified_OwnershipVerificationNecessary
)
RETURN_COMPLETE: Final = AuthenticationReturnParameter.OwnershipVerified_AuthenticationComplete
_NRC_SERVICE_NOT_SUPPORTED: Final = 0x11


AuthCall = Callable[[str, Callable[[Any], Any]], Any]
"""``UdsClient``'s request runner: ``call(action, fn)`` runs ``fn(udsoncan_client)`` once."""


def proof_message(server_challenge: bytes, client_challenge: bytes) -> bytes:
    """The exact bytes the proof of ownership signs."""
    return PROOF_CONTEXT + server_challenge + client_challenge


class Authenticator:
    """Runs the 0x29 exchange for one UDS client, with credentials loaded only when needed.

    Args:
        source: loads the technician's credentials (the user's credentials folder by default);
            called at the first authentication of a device that requires it.
    """

    def __init__(self, source: CredentialsSource | None = None) -> None:
        self._source = source or credentials_from
        self._credentials: TechnicianCredentials | None = None
        self.authenticated_as: TechnicianCredentials | None = None

    def credentials(self, serial: str) -> TechnicianCredentials:
        """The credentials, or SecurityAccessDeniedError saying what is missing and where."""
        if self._credentials is None:
            self._credentials = load_or_refuse(self._source, serial, "UDS 0x29")
        return self._credentials

    def authenticate(self, call: AuthCall, serial: str) -> None:
        """verifyCertificateUnidirectional, then proofOfOwnership over the device's challenge.

        ``call(action, fn)`` runs ``fn(udsoncan_client)`` under the UDS client's timing, retries
        and error translation (``UdsClient.call``).
        """
        credentials = self.credentials(serial)
        client_challenge = os.urandom(CLIENT_CHALLENGE_BYTES)
        verified = call(
            t("verify the technician certificate"),
            lambda c: c.authentication(
                Authentication.AuthenticationTask.verifyCertificateUnidirectional,
                communication_configuration=0,
                certificate_client=credentials.chain_der(),
                challenge_client=client_challenge,
            ),
        )
        data = getattr(verified, "service_data", None)
        challenge = getattr(data, "challenge_server", None)
        if getattr(data, "return_value", None) != RETURN_OWNERSHIP_NEEDED or not challenge:
            raise DeviceRejectedError(
                t("The device did not ask for a proof of ownership after verifying the certificate.")
            )
        proof = credentials.sign(proof_message(bytes(challenge), client_challenge))
        done = call(
            t("prove ownership of the technician key"),
            lambda c: c.authentication(
                Authentication.AuthenticationTask.proofOfOwnership, proof_of_ownership_client=proof
            ),
        )
        if getattr(getattr(done, "service_data", None), "return_value", None) != RETURN_COMPLETE:
            raise DeviceRejectedError(t("The device did not complete the certificate authentication."))
        self.authenticated_as = credentials


def uses_certificates(call: AuthCall) -> bool:
    """authenticationConfiguration: True for a certificate (APCE) device, False without 0x29."""
    try:
        answer = call(
            t("ask how the device authenticates"),
            lambda c: c.authentication(Authentication.AuthenticationTask.authenticationConfiguration),
        )
    except DeviceRejectedError as exc:
        if exc.code == _NRC_SERVICE_NOT_SUPPORTED:
            return False
        raise
    return bool(getattr(getattr(answer, "service_data", None), "return_value", None) == RETURN_APCE)
