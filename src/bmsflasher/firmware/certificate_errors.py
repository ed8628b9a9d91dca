"""One error class per reason a certificate chain is refused (docs/trust-model.md, "Certificate chains").

Every class is a :class:`~bmsflasher.core.errors.SignatureError` (exit code 3, like every other
reason a package is not trusted), so a caller that only cares "trusted or not" keeps working, while
tests, the GUI, the service record and the UDS 0x29 authentication can tell *why* without parsing
sentences. Each refusal happens before anything is written to a device.
"""

from __future__ import annotations

from bmsflasher.core.errors import KeyFileError, SignatureError


class CertificateError(SignatureError):
    """A certificate chain does not make its key trustworthy for the role asked."""


class CertificateExpiredError(CertificateError):
    """A certificate of the chain had expired at the validation time."""


class CertificateNotYetValidError(CertificateError):
    """A certificate of the chain was not yet valid at the validation time."""


class CertificateKeyUsageError(CertificateError):
    """A certificate may not be used this way: wrong extended key usage (role), key usage, or CA flag."""


class UnknownRootError(CertificateError):
    """The chain does not lead to a root (trust anchor) in the keyring."""


class CertificateRevokedError(CertificateError):
    """A certificate of the chain is listed in its issuer's CRL."""


class CertificatePathTooLongError(CertificateError):
    """The chain has more intermediate certificates than a CA's path length (or the host) allows."""


class CertificateSignatureError(CertificateError):
    """A certificate's (or CRL's) signature does not verify with its issuer's key: forged or altered."""


class CertificateFileError(KeyFileError):
    """A certificate, certificate-chain or CRL file cannot be used (unreadable, not PEM, wrong kind)."""


class SignerMismatchError(SignatureError):
    """The manifest names one signing key but was signed by another (the declared signer is a claim)."""


class SignerRoleError(SignatureError):
    """A trusted key signed something its declared role does not cover (a build key signed a manifest)."""
