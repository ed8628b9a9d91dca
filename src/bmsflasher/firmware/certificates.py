"""X.509 certificates for firmware trust: a vendor CA, role certificates, CRLs, chain validation.

A vendor root certificate in the technician's keyring is a *trust anchor*. Release packages,
bundles and (for UDS 0x29) technicians present the signer's certificate chain; the host validates
it with :func:`validate_chain` and only then trusts the key inside the leaf certificate, for one
*role* (docs/trust-model.md, "Certificate chains" and "Key roles"):

* ``release`` — may sign a package manifest (what is released for which hardware);
* ``build`` — may sign the MCUboot image (what the bootloader boots);
* ``technician`` — may authenticate to a device (UDS 0x29), never sign firmware.

A role is an extended key usage (EKU) OID. bmsflasher has no IANA private enterprise number, so the
OIDs live under ``2.25`` (UUID-derived OIDs, ITU-T X.667: unique without registration). Release
and build certificates also carry ``id-kp-codeSigning`` for tools that look for it, but the host
requires bmsflasher's own role OID: a code-signing certificate for a Windows driver must never
sign battery firmware.

What is checked, and by whom (cryptography's verifier does not report *which* rule failed, and has
no CRL support, so the host checks each rule itself first, with its own error class and sentence,
then runs :mod:`cryptography.x509.verification` as the authoritative second opinion):

1. a path from the leaf through the given intermediates to an anchor: issuer name and signature
   (:class:`UnknownRootError`, :class:`CertificateSignatureError`);
2. path length: every CA's ``pathLenConstraint`` and the host's limit
   :data:`MAX_INTERMEDIATES` (:class:`CertificatePathTooLongError`);
3. validity of every certificate at the validation time (:class:`CertificateExpiredError`,
   :class:`CertificateNotYetValidError`);
4. key usage: the leaf carries the role's EKU and ``digitalSignature`` and is no CA; each issuer is
   a CA with ``keyCertSign`` (:class:`CertificateKeyUsageError`);
5. revocation against the keyring's CRLs, whose signatures must verify with the issuer's key
   (:class:`CertificateRevokedError`) — always against the CRLs as they are *now*;
6. ``PolicyBuilder(...).build_client_verifier().verify(...)`` with the anchors as store, the same
   validation time, webpki's CA profile, and an end-entity policy requiring the role's EKU
   (cryptography's own EKU check only knows serverAuth/clientAuth, hence the custom policy).
"""

from __future__ import annotations

import enum
import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from bmsflasher.core.i18n import t
from bmsflasher.firmware.certificate_errors import (
    CertificateExpiredError,
    CertificateFileError,
    CertificateKeyUsageError,
    CertificateNotYetValidError,
    CertificatePathTooLongError,
    CertificateRevokedError,
    CertificateSignatureError,
    UnknownRootError,
)

MAX_INTERMEDIATES: Final = 2
"""Root → at most two intermediates → leaf. A vendor needs one (an offline root, an issuing CA)."""
MAX_CERTIFICATES_BYTES: Final = 64 * 1024
CERTIFICATE_PEM_MARK: Final = b"-----BEGIN CERTIFICATE-----"
CRL_PEM_MARK: Final = b"-----BEGIN X509 CRL-----"
_CA_SIGNATURE_HASH: Final = hashes.SHA256()
_CLOCK_SKEW: Final = timedelta(minutes=5)
"""Certificates start this much before issue, so a laptop clock slightly behind still accepts them."""


class CertRole(enum.Enum):
    """What a certificate's key may do; the value is its EKU OID."""

    RELEASE = "2.25.120636238868194280707099318119577339300"
    BUILD = "2.25.285258395504403465278155807245702246757"
    TECHNICIAN = "2.25.171810578274681871816865381052322347752"

    @property
    def oid(self) -> ObjectIdentifier:
        return ObjectIdentifier(self.value)

    @property
    def label(self) -> str:
        """The word the CLI and messages use (release, build, technician)."""
        return self.name.lower()


ROLE_SETS: Final[dict[str, frozenset[CertRole]]] = {
    "signer": frozenset({CertRole.RELEASE, CertRole.BUILD}),
    "release": frozenset({CertRole.RELEASE}),
    "build": frozenset({CertRole.BUILD}),
    "technician": frozenset({CertRole.TECHNICIAN}),
}
"""``ca issue --role``: ``signer`` signs both manifest and image (one key, as ``package --key``
alone does); ``release`` and ``build`` separate the two (docs/trust-model.md, "Key roles")."""

_E = TypeVar("_E", bound=x509.ExtensionType)
CertificateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
CertificatePublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True, slots=True)
class ValidatedChain:
    """A chain that passed :func:`validate_chain`: the path from leaf to anchor, and who the leaf is."""

    path: tuple[x509.Certificate, ...]
    role: CertRole
    at_time: datetime

    @property
    def leaf(self) -> x509.Certificate:
        return self.path[0]

    @property
    def anchor(self) -> x509.Certificate:
        return self.path[-1]

    @property
    def subject(self) -> str:
        """The leaf's subject as an RFC 4514 string (``CN=Acme release 2026,O=Acme``)."""
        return self.leaf.subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the leaf certificate's DER, hex: what the service record keeps."""
        return certificate_fingerprint(self.leaf)

    def public_key(self) -> CertificatePublicKey:
        key = self.leaf.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise CertificateKeyUsageError(t("The certificate holds a key type bmsflasher cannot verify."))
        return key


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of a certificate's DER encoding, lowercase hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def describe_certificate(cert: x509.Certificate) -> str:
    """``subject (fingerprint prefix)`` for sentences."""
    return f"{cert.subject.rfc4514_string()} ({certificate_fingerprint(cert)[:16]})"


# --- reading ---------------------------------------------------------------------------------------
def load_certificates_pem(data: bytes, *, source: str) -> list[x509.Certificate]:
    """Every certificate of a PEM blob (a chain file: leaf first, then intermediates)."""
    if len(data) > MAX_CERTIFICATES_BYTES:
        raise CertificateFileError(t("{source} is too large to be a certificate file.", source=source))
    if CERTIFICATE_PEM_MARK not in data:
        raise CertificateFileError(t("{source} holds no PEM certificate.", source=source))
    try:
        return x509.load_pem_x509_certificates(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateFileError(t("{source} is not a readable PEM certificate.", source=source)) from exc


def load_crl_pem(data: bytes, *, source: str) -> x509.CertificateRevocationList:
    """One PEM certificate revocation list."""
    if len(data) > MAX_CERTIFICATES_BYTES:
        raise CertificateFileError(t("{source} is too large to be a CRL file.", source=source))
    try:
        return x509.load_pem_x509_crl(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateFileError(t("{source} is not a readable PEM CRL.", source=source)) from exc


def certificates_pem(certs: Iterable[x509.Certificate]) -> bytes:
    """PEM of several certificates, in order."""
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def require_ca(cert: x509.Certificate, source: str) -> x509.Certificate:
    """A trust anchor must be a CA certificate (a leaf in the keyring would be a pinned key: use the key)."""
    if not _is_ca(cert):
        raise CertificateFileError(
            t(
                "{source} is not a CA certificate; a keyring trusts a vendor's root certificate (or a "
                "plain public key), not a signer's certificate.",
                source=source,
            )
        )
    return cert


# --- issuing (the ``ca`` command and the demo CA) -----------------------------------------------------
def _name(common_name: str, organisation: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)] if organisation else []
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))  # RFC 4514 shows it first
    return x509.Name(attributes)


def _serial(public_key: CertificatePublicKey, not_before: datetime) -> int:
    """A positive 159-bit serial derived from the key and the start time (reproducible demo files)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(der + not_before.isoformat().encode()).digest()
    return int.from_bytes(digest[:20], "big") >> 1 or 1


def _sign_algorithm(key: CertificateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else _CA_SIGNATURE_HASH


def _deterministic(key: CertificateKey) -> bool | None:
    """RFC 6979 nonces for ECDSA: the same inputs give the same certificate (reproducible demo CA)."""
    return True if isinstance(key, ec.EllipticCurvePrivateKey) else None


def create_root(
    key: CertificateKey,
    common_name: str,
    *,
    organisation: str | None = None,
    days: int = 7300,
    path_length: int | None = 1,
    not_before: datetime | None = None,
) -> x509.Certificate:
    """A self-signed vendor root: CA, ``keyCertSign`` + ``cRLSign``, ``pathLenConstraint`` as given."""
    start = (not_before or datetime.now(UTC)) - _CLOCK_SKEW
    name = _name(common_name, organisation)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(_serial(public, start))
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, _sign_algorithm(key), ecdsa_deterministic=_deterministic(key))
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue_certificate(
    issuer_cert: x509.Certificate,
    issuer_key: CertificateKey,
    subject_key: CertificatePublicKey,
    common_name: str,
    roles: Iterable[CertRole] = (),
    *,
    organisation: str | None = None,
    days: int = 1095,
    not_before: datetime | None = None,
    ca_path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
) -> x509.Certificate:
    """Issue a leaf for ``roles`` (EKUs), or, with ``ca_path_length`` not None, an intermediate CA.

    ``key_usage`` overrides the leaf's key usage (tests build a certificate without
    ``digitalSignature``); ``days`` may be negative-free only, the window starts at ``not_before``.
    """
    start = (not_before or datetime.now(UTC)) - _CLOCK_SKEW
    issuer_public = issuer_cert.public_key()
    if not isinstance(issuer_public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise CertificateFileError(t("The CA certificate holds a key type bmsflasher cannot use."))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(issuer_cert.subject)
        .public_key(subject_key)
        .serial_number(_serial(subject_key, start))
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False)
    )
    if ca_path_length is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=ca_path_length), critical=True
        ).add_extension(_ca_key_usage(), critical=True)
    else:
        usages: list[ObjectIdentifier] = [role.oid for role in sorted(roles, key=lambda r: r.value)]
        if any(role in (CertRole.RELEASE, CertRole.BUILD) for role in roles):
            usages.append(ExtendedKeyUsageOID.CODE_SIGNING)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(key_usage or _leaf_key_usage(), critical=True)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return builder.sign(
        issuer_key, _sign_algorithm(issuer_key), ecdsa_deterministic=_deterministic(issuer_key)
    )


def build_crl(
    issuer_cert: x509.Certificate,
    issuer_key: CertificateKey,
    revoked_serials: Iterable[tuple[int, datetime]],
    *,
    now: datetime | None = None,
    days: int = 365,
) -> x509.CertificateRevocationList:
    """A CRL listing ``(serial, revocation time)`` pairs, signed by the CA."""
    moment = now or datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(moment - _CLOCK_SKEW)
        .next_update(moment + timedelta(days=days))
    )
    for serial, when in sorted(set(revoked_serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(
        issuer_key, _sign_algorithm(issuer_key), ecdsa_deterministic=_deterministic(issuer_key)
    )


# --- validation --------------------------------------------------------------------------------------
def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    constraints = _extension(cert, x509.BasicConstraints)
    return constraints is not None and constraints.ca


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key verifies ``cert``'s signature (names must already match)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _build_path(
    leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """Leaf → intermediates → anchor, by issuer name and signature; raises the specific refusal."""
    path = [leaf]
    current = leaf
    while True:
        named_anchors = [a for a in anchors if a.subject == current.issuer]
        for anchor in named_anchors:
            if _issued_by(current, anchor):
                path.append(anchor)
                return path
        named = [c for c in intermediates if c.subject == current.issuer and c not in path]
        issuer = next((c for c in named if _issued_by(current, c)), None)
        if issuer is None:
            if named_anchors or named:
                raise CertificateSignatureError(
                    t(
                        "The certificate {subject}'s signature does not verify with its issuer {issuer}'s "
                        "key: the certificate was forged or altered.",
                        subject=current.subject.rfc4514_string(),
                        issuer=current.issuer.rfc4514_string(),
                    )
                )
            raise UnknownRootError(
                t(
                    "The certificate {subject} does not lead to a trusted root: its issuer {issuer} is not "
                    "in the keyring.",
                    subject=leaf.subject.rfc4514_string(),
                    issuer=current.issuer.rfc4514_string(),
                ),
                hint=t("Add the vendor's root certificate (ROOT.crt) to the keyring, or --trust ROOT.crt."),
            )
        path.append(issuer)
        if len(path) - 1 > MAX_INTERMEDIATES + 1:
            raise _too_long(leaf, len(path) - 1, MAX_INTERMEDIATES)
        current = issuer


def _too_long(leaf: x509.Certificate, count: int, allowed: int) -> CertificatePathTooLongError:
    return CertificatePathTooLongError(
        t(
            "The certificate chain of {subject} has {count} intermediate certificates; at most {allowed} "
            "are allowed there.",
            subject=leaf.subject.rfc4514_string(),
            count=count,
            allowed=allowed,
        )
    )


def _check_path_length(path: Sequence[x509.Certificate]) -> None:
    intermediates = len(path) - 2
    if intermediates > MAX_INTERMEDIATES:
        raise _too_long(path[0], intermediates, MAX_INTERMEDIATES)
    for position, ca in enumerate(path[1:], start=1):
        below = position - 1  # intermediates between this CA and the leaf
        constraints = _extension(ca, x509.BasicConstraints)
        if (
            constraints is not None
            and constraints.path_length is not None
            and below > constraints.path_length
        ):
            raise _too_long(path[0], below, constraints.path_length)


def _check_validity(path: Sequence[x509.Certificate], at_time: datetime) -> None:
    for cert in path:
        if at_time > cert.not_valid_after_utc:
            raise CertificateExpiredError(
                t(
                    "The certificate {subject} expired on {expired:%Y-%m-%d} (checked at {at:%Y-%m-%d %H:%M} "
                    "UTC).",
                    subject=cert.subject.rfc4514_string(),
                    expired=cert.not_valid_after_utc,
                    at=at_time,
                ),
                hint=t("Ask the vendor for a release signed with a current certificate."),
            )
        if at_time < cert.not_valid_before_utc:
            raise CertificateNotYetValidError(
                t(
                    "The certificate {subject} is valid only from {start:%Y-%m-%d %H:%M} UTC (checked at "
                    "{at:%Y-%m-%d %H:%M} UTC).",
                    subject=cert.subject.rfc4514_string(),
                    start=cert.not_valid_before_utc,
                    at=at_time,
                ),
                hint=t("Check this computer's date and time."),
            )


def _check_usage(path: Sequence[x509.Certificate], role: CertRole) -> None:
    leaf = path[0]
    eku = _extension(leaf, x509.ExtendedKeyUsage)
    usage = _extension(leaf, x509.KeyUsage)
    if (
        _is_ca(leaf)
        or eku is None
        or role.oid not in eku
        or (usage is not None and not usage.digital_signature)
    ):
        raise CertificateKeyUsageError(
            t(
                "The certificate {subject} is not issued for the {role} role (its key usage does not allow "
                "it).",
                subject=leaf.subject.rfc4514_string(),
                role=role.label,
            )
        )
    for ca in path[1:]:
        ca_usage = _extension(ca, x509.KeyUsage)
        if not _is_ca(ca) or (ca_usage is not None and not ca_usage.key_cert_sign):
            raise CertificateKeyUsageError(
                t(
                    "The certificate {subject} issued another certificate but is not a CA.",
                    subject=ca.subject.rfc4514_string(),
                )
            )


def _check_revocation(
    path: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList]
) -> None:
    for cert, issuer in itertools.pairwise(path):
        for crl in crls:
            if crl.issuer != issuer.subject:
                continue
            public = issuer.public_key()
            if not isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) or not (
                crl.is_signature_valid(public)
            ):
                raise CertificateSignatureError(
                    t(
                        "The revocation list of {issuer} in the keyring does not verify with that CA's key: "
                        "it was altered.",
                        issuer=issuer.subject.rfc4514_string(),
                    )
                )
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                raise CertificateRevokedError(
                    t(
                        "The certificate {subject} was revoked by {issuer} on {when:%Y-%m-%d}.",
                        subject=cert.subject.rfc4514_string(),
                        issuer=issuer.subject.rfc4514_string(),
                        when=entry.revocation_date_utc,
                    ),
                    hint=t("Do not install anything signed with it; ask the vendor for a re-signed release."),
                )


def _library_verify(
    path: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], role: CertRole, at_time: datetime
) -> None:
    """Cryptography's RFC 5280 / webpki path validation, as the authoritative second opinion."""

    def require_role(_policy: object, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
        if eku is None or role.oid not in eku:
            raise ValueError(f"EKU {role.value} missing")

    ee_policy = ExtensionPolicy.permit_all().require_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, require_role
    )
    builder = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(at_time)
        .max_chain_depth(MAX_INTERMEDIATES + 1)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
    )
    try:
        builder.build_client_verifier().verify(path[0], list(path[1:-1]))
    except VerificationError as exc:
        raise CertificateSignatureError(
            t(
                "The certificate chain of {subject} is not valid: {reason}.",
                subject=path[0].subject.rfc4514_string(),
                reason=str(exc),
            )
        ) from exc


def validate_chain(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    role: CertRole,
    at_time: datetime,
    *,
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> ValidatedChain:
    """Validate ``chain`` (leaf first, then intermediates in any order) for ``role`` at ``at_time``.

    Revocation is judged by ``crls`` as they are, whatever ``at_time`` is: a revoked certificate is
    never accepted, not even for something it signed before it was revoked.

    Raises:
        CertificateError: a subclass naming the first failed rule (see the module docstring).
    """
    if not chain:
        raise UnknownRootError(t("No certificate was presented."))
    moment = at_time if at_time.tzinfo is not None else at_time.replace(tzinfo=UTC)
    path = _build_path(chain[0], chain[1:], anchors)
    _check_path_length(path)
    _check_validity(path, moment)
    _check_usage(path, role)
    _check_revocation(path, crls)
    _library_verify(path, anchors, role, moment)
    return ValidatedChain(tuple(path), role, moment)


def find_certificate_for_key(certs: Iterable[x509.Certificate], key_der: bytes) -> x509.Certificate | None:
    """The (leaf) certificate among ``certs`` whose public key is ``key_der`` (DER SubjectPublicKeyInfo)."""
    for cert in certs:
        der = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if der == key_der and not _is_ca(cert):
            return cert
    return None
