"""How the virtual BMS checks a tester's certificate chain and proof of ownership (UDS 0x29, SMP).

The device's own trust store and checks, shared by its UDS Authentication service
(``sim/uds/services_auth.py``) and its SMP BMS group (``sim/smp/bms_auth.py``).

A real BMS holds its vendor's CA certificate in protected flash and checks the chain a tester
presents with the little X.509 code its firmware carries; this module is that code, written
from RFC 5280's basic path validation with ``cryptography`` (the sim never imports the tool's
client code, so a mistake shared with the host's chain checks cannot hide here). Each refusal
carries the ISO 14229-1:2020 negative response code that names its cause, so UDS answers it as
is and the SMP BMS group maps it to its own error.

What is checked, in this order (the first failure answers):

1. every certificate parses as DER X.509 (else 0x54 invalidFormat);
2. the leaf is an end-entity certificate for signatures: not a CA, key usage digitalSignature
   when present, an ECDSA P-256 or Ed25519 key (else 0x53 invalidType);
3. every certificate of the chain is inside its validity period now (else 0x50 invalidTimePeriod);
4. each certificate is issued by the next one (issuer name = subject name, and the next one is a
   CA) and the last is issued by the trusted anchor (else 0x52 invalidChainOfTrust);
5. each signature verifies with its issuer's key (else 0x51 invalidSignature);
6. no certificate of the chain is on the device's revocation list, when it holds one
   (``sim --auth-crl``, a CRL signed by the trusted anchor; else 0x57, which ISO 14229-1:2020
   Table A.1 defines as certificateVerificationFailed – invalidCertificate, the certificate is
   revoked);
7. the leaf names a role this device grants (else 0x56 invalidScope).

The role is an extended key usage (:data:`ROLE_OIDS`, the UUID-derived ``2.25`` OIDs the vendor
CA issues, ``firmware/certificates.py``): ``technician`` (update, roll back, write the service
parameters) or ``factory`` (also the factory calibration). Any other role (a release signer's
certificate, say) is out of scope for device access.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

NRC_INVALID_TIME_PERIOD: Final = 0x50
NRC_INVALID_SIGNATURE: Final = 0x51
NRC_INVALID_CHAIN_OF_TRUST: Final = 0x52
NRC_INVALID_TYPE: Final = 0x53
NRC_INVALID_FORMAT: Final = 0x54
NRC_INVALID_CONTENT: Final = 0x55
NRC_INVALID_SCOPE: Final = 0x56
NRC_INVALID_CERTIFICATE: Final = 0x57
NRC_OWNERSHIP_VERIFICATION_FAILED: Final = 0x58

ROLE_TECHNICIAN: Final = "technician"
ROLE_FACTORY: Final = "factory"
#: Extended key usages that name a device-access role (UUID OIDs, ITU-T X.667: no registration).
ROLE_OIDS: Final = {
    "2.25.171810578274681871816865381052322347752": ROLE_TECHNICIAN,
    "2.25.176501216798262189176307554143543326185": ROLE_FACTORY,
}
DEVICE_ROLES: Final = frozenset({ROLE_TECHNICIAN, ROLE_FACTORY})
#: At most this many certificates in one presented chain (leaf + intermediates).
MAX_CHAIN: Final = 4

UDS_PROOF_CONTEXT: Final = b"bmsflasher/uds-0x29/proof-of-ownership/v1\x00"
"""Prefix of the bytes a UDS proof of ownership signs (``docs/protocols/uds.md``)."""
SMP_PROOF_CONTEXT: Final = b"bmsflasher/smp-bms/auth/v1\x00"
"""Prefix of the bytes an SMP BMS-group proof signs (``docs/protocols/smp.md``)."""

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class CertificateRefused(Exception):  # noqa: N818 -- control flow carrying an NRC
    """The chain or the proof is refused; ``nrc`` is the ISO 14229-1:2020 code naming why."""

    def __init__(self, nrc: int, reason: str) -> None:
        super().__init__(reason)
        self.nrc = nrc
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Technician:
    """Who a verified certificate names: its role, subject, fingerprint and public key."""

    role: str
    subject: str
    fingerprint: str
    public_key: PublicKey


def load_anchor(path: Path) -> x509.Certificate:
    """The trusted CA certificate (PEM or DER)."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def split_der(blob: bytes) -> list[bytes]:
    """Split concatenated DER certificates (leaf first); 0x54 when the framing is broken."""
    parts: list[bytes] = []
    position = 0
    while position < len(blob):
        if len(parts) == MAX_CHAIN:
            raise CertificateRefused(NRC_INVALID_FORMAT, "too many certificates in the chain")
        end = position + _der_length(blob, position)
        parts.append(blob[position:end])
        position = end
    if not parts:
        raise CertificateRefused(NRC_INVALID_FORMAT, "no certificate")
    return parts


def _der_length(blob: bytes, start: int) -> int:
    """Total length of the DER SEQUENCE starting at ``start``."""
    if len(blob) < start + 2 or blob[start] != 0x30:
        raise CertificateRefused(NRC_INVALID_FORMAT, "not a DER certificate")
    first = blob[start + 1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if not 1 <= count <= 3 or len(blob) < start + 2 + count:
            raise CertificateRefused(NRC_INVALID_FORMAT, "bad DER length")
        header, length = 2 + count, int.from_bytes(blob[start + 2 : start + 2 + count], "big")
    if start + header + length > len(blob):
        raise CertificateRefused(NRC_INVALID_FORMAT, "truncated certificate")
    return header + length


def load_revocation_list(path: Path, anchor: x509.Certificate) -> x509.CertificateRevocationList:
    """The device's revocation list (PEM or DER), accepted only when the trusted anchor signed it.

    Raises:
        ValueError: unreadable, issued by another CA, or its signature does not verify.
    """
    data = path.read_bytes()
    try:
        crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise ValueError(f"{path} is not a certificate revocation list: {exc}") from exc
    key = anchor.public_key()
    if crl.issuer != anchor.subject or not isinstance(
        key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    ):
        raise ValueError(f"{path} is not issued by the trusted CA {anchor.subject.rfc4514_string()}")
    if not crl.is_signature_valid(key):
        raise ValueError(f"the signature of {path} does not verify with the trusted CA")
    return crl


def _check_not_revoked(chain: list[x509.Certificate], crl: x509.CertificateRevocationList | None) -> None:
    """0x57 when the list names a certificate of the chain (the list covers its issuer's certificates)."""
    if crl is None:
        return
    for certificate in chain:
        if certificate.issuer != crl.issuer:
            continue
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            raise CertificateRefused(NRC_INVALID_CERTIFICATE, "the certificate is revoked")


def verify_chain(
    blob: bytes,
    anchor: x509.Certificate,
    now: dt.datetime | None = None,
    *,
    crl: x509.CertificateRevocationList | None = None,
) -> Technician:
    """Check the presented chain against ``anchor`` (and ``crl``); the technician, or CertificateRefused."""
    moment = now or dt.datetime.now(dt.UTC)
    try:
        chain = [x509.load_der_x509_certificate(part) for part in split_der(blob)]
    except ValueError as exc:
        raise CertificateRefused(NRC_INVALID_FORMAT, f"unreadable certificate: {exc}") from exc
    leaf = chain[0]
    _check_leaf_type(leaf)
    for certificate in chain:
        if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
            raise CertificateRefused(NRC_INVALID_TIME_PERIOD, "outside its validity period")
    issuers = [*chain[1:], anchor]
    for certificate, issuer in zip(chain, issuers, strict=True):
        if certificate.issuer != issuer.subject or not _is_ca(issuer):
            raise CertificateRefused(NRC_INVALID_CHAIN_OF_TRUST, "not issued by the trusted CA")
        try:
            certificate.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CertificateRefused(NRC_INVALID_SIGNATURE, "the issuer's signature does not verify") from exc
    _check_not_revoked(chain, crl)
    role = certificate_role(leaf)
    if role not in DEVICE_ROLES:
        raise CertificateRefused(NRC_INVALID_SCOPE, "the certificate names no device-access role")
    key = leaf.public_key()
    assert isinstance(key, PublicKey)  # checked by _check_leaf_type
    return Technician(role, leaf.subject.rfc4514_string(), leaf.fingerprint(hashes.SHA256()).hex(), key)


def _check_leaf_type(leaf: x509.Certificate) -> None:
    key = leaf.public_key()
    if _is_ca(leaf):
        raise CertificateRefused(NRC_INVALID_TYPE, "a CA certificate is not a technician's")
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)) and not (
        isinstance(key, ed25519.Ed25519PublicKey)
    ):
        raise CertificateRefused(NRC_INVALID_TYPE, "the key is neither ECDSA P-256 nor Ed25519")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.digital_signature:
        raise CertificateRefused(NRC_INVALID_TYPE, "the key may not sign")


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def certificate_role(certificate: x509.Certificate) -> str:
    """The device-access role a certificate's extended key usage names ("" for none)."""
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return ""
    roles = sorted(ROLE_OIDS[usage.dotted_string] for usage in usages if usage.dotted_string in ROLE_OIDS)
    return ROLE_FACTORY if ROLE_FACTORY in roles else (roles[0] if roles else "")


def verify_proof(key: PublicKey, signature: bytes, message: bytes) -> None:
    """Check a proof of ownership (ECDSA-SHA256 DER or Ed25519); 0x58 when it does not verify."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise CertificateRefused(NRC_OWNERSHIP_VERIFICATION_FAILED, "the proof does not verify") from exc


__all__ = [
    "DEVICE_ROLES",
    "NRC_INVALID_CERTIFICATE",
    "NRC_INVALID_CONTENT",
    "ROLE_FACTORY",
    "ROLE_TECHNICIAN",
    "SMP_PROOF_CONTEXT",
    "UDS_PROOF_CONTEXT",
    "CertificateRefused",
    "Technician",
    "certificate_role",
    "load_anchor",
    "load_revocation_list",
    "split_der",
    "verify_chain",
    "verify_proof",
]
