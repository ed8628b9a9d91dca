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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from udsoncan.services.Authentication import Authentication, AuthenticationReturnParameter

from bmsflasher.core.errors import BmsFlasherError, DeviceRejectedError, SecurityAccessDeniedError
from bmsflasher.core.i18n import t
from bmsflasher.firmware.keys import PrivateKey, sign_message

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


@dataclass(frozen=True, slots=True)
class TechnicianCredentials:
    """The technician's certificate chain (leaf first) and the private key of its leaf."""

    chain: tuple[x509.Certificate, ...]
    key: PrivateKey

    @property
    def subject(self) -> str:
        """The leaf's subject (RFC 4514), as the service record names the technician."""
        return self.chain[0].subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the leaf certificate's DER, hex."""
        return self.chain[0].fingerprint(hashes.SHA256()).hex()

    def chain_der(self) -> bytes:
        """certificateClient: the DER certificates concatenated, leaf first."""
        return b"".join(cert.public_bytes(serialization.Encoding.DER) for cert in self.chain)

    def sign(self, message: bytes) -> bytes:
        return sign_message(self.key, message)


CredentialsSource = Callable[[], TechnicianCredentials]
AuthCall = Callable[[str, Callable[[Any], Any]], Any]
"""``UdsClient``'s request runner: ``call(action, fn)`` runs ``fn(udsoncan_client)`` once."""


def credentials_from(location: Path | None = None) -> TechnicianCredentials:
    """The technician's credentials from a folder (``NAME.crt`` + ``NAME.pem``); None: the user's.

    Raises:
        CertificateFileError / CertificateKeyUsageError: missing, unsafe or mismatched files, or a
            certificate not issued for the technician role (``firmware/certificates_technician.py``).
    """
    from bmsflasher.firmware.certificates_technician import load_technician_credentials

    chain, key = load_technician_credentials(location)
    return TechnicianCredentials(tuple(chain), key)


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
            try:
                self._credentials = self._source()
            except BmsFlasherError as exc:
                raise SecurityAccessDeniedError(
                    t(
                        "The device {serial} requires certificate authentication (UDS 0x29) and no "
                        "usable technician certificate is configured: {reason}",
                        serial=serial,
                        reason=exc.message,
                    ),
                    hint=t(
                        "Put your technician certificate (NAME.crt) and its key (NAME.pem), issued by "
                        "your vendor CA, into your technician credentials folder."
                    ),
                ) from exc
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
