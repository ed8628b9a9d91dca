"""The technician's certificate and key as the protocol clients use them (UDS 0x29, SMP BMS group).

Loaded from the technician's credentials folder by ``firmware/certificates_technician.py``, only when
a device asks for certificate authentication; the same key answers a UDS device's challenge, an SMP
device's challenge and seals the service history, each over its own context prefix (a signature
made for one can never pass for another).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from bmsflasher.core.errors import BmsFlasherError, TechnicianAuthenticationError
from bmsflasher.core.i18n import t
from bmsflasher.firmware.keys import PrivateKey, sign_message


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


def credentials_from(location: Path | None = None) -> TechnicianCredentials:
    """The technician's credentials from a folder (``NAME.crt`` + ``NAME.pem``); None: the user's.

    Raises:
        CertificateFileError / CertificateKeyUsageError: missing, unsafe or mismatched files, or a
            certificate not issued for the technician role (``firmware/certificates_technician.py``).
    """
    from bmsflasher.firmware.certificates_technician import load_technician_credentials

    chain, key = load_technician_credentials(location)
    return TechnicianCredentials(tuple(chain), key)


def load_or_refuse(source: CredentialsSource, serial: str, scheme: str) -> TechnicianCredentials:
    """The credentials, or TechnicianAuthenticationError naming the device, the scheme and what is missing."""
    try:
        return source()
    except BmsFlasherError as exc:
        raise TechnicianAuthenticationError(
            t(
                "The device {serial} requires certificate authentication ({scheme}) and no "
                "usable technician certificate is configured: {reason}",
                serial=serial,
                scheme=scheme,
                reason=exc.message,
            ),
            hint=t(
                "Put your technician certificate (NAME.crt) and its key (NAME.pem), issued by "
                "your vendor CA, into your technician credentials folder."
            ),
        ) from exc
