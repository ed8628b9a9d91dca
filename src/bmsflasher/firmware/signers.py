"""Who signed a package, and may they: plain keyring keys or certificate chains, roles, declared signer.

A package's manifest and its image are each signed by one key. That key is trusted when it is a
plain key in the keyring, or when the package's ``signers.pem`` carries a certificate for it whose
chain leads to a root certificate in the keyring (:func:`bmsflasher.firmware.certificates.validate_chain`).
Either way the key must hold the role for what it signed (``release`` for the manifest, ``build``
for the image; docs/trust-model.md "Key roles"), and the manifest's ``signing_key_id`` must name the
key that actually signed it.

**Expiry policy** (docs/trust-model.md "When a signing certificate expires"): a chain is validated
at the manifest's signed ``created`` time, but never later than now — so a release signed while its
certificate was valid stays installable after the certificate expires (technicians install old
releases in the field), a manifest dated into the future gains nothing, and a certificate is never
used before its start. Revocation is judged by today's CRLs whatever the signing time: a revoked
certificate signs nothing, not even releases dated before its revocation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bmsflasher.core.i18n import Text, t
from bmsflasher.firmware.certificate_errors import (
    CertificateFileError,
    CertificateKeyUsageError,
    SignerMismatchError,
    SignerRoleError,
)
from bmsflasher.firmware.certificates import (
    CERTIFICATE_PEM_MARK,
    CertRole,
    ValidatedChain,
    certificates_pem,
    load_certificates_pem,
)
from bmsflasher.firmware.demo_keys import KEY_ID_DISPLAY_CHARS
from bmsflasher.firmware.errors import ManifestSchemaError
from bmsflasher.firmware.keys import (
    Keyring,
    KeyRole,
    PublicKey,
    TrustedKey,
    key_id,
    load_public_key_der,
    public_key_der,
    verify_message,
)
from bmsflasher.firmware.package import CERTIFICATES_NAME

if TYPE_CHECKING:
    from bmsflasher.firmware.policy import VerifiedPackage

_KEY_ROLE_OF: dict[CertRole, KeyRole] = {CertRole.RELEASE: KeyRole.RELEASE, CertRole.BUILD: KeyRole.BUILD}


def package_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates of a package's ``signers.pem`` (none when the member is absent)."""
    if not data:
        return []
    if CERTIFICATE_PEM_MARK not in data:
        raise ManifestSchemaError(t("The package's {member} holds no certificate.", member=CERTIFICATES_NAME))
    return load_certificates_pem(data, source=CERTIFICATES_NAME)


def validation_time(created: datetime, now: datetime | None) -> datetime:
    """When a signer's chain is judged: the manifest's signed creation time, never later than now."""
    moment = now or datetime.now(UTC)
    return min(created, moment)


def _roles_of(chain: ValidatedChain) -> frozenset[KeyRole]:
    try:
        usages = chain.leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(role for cert_role, role in _KEY_ROLE_OF.items() if cert_role.oid in usages)


def certified_key(chain: ValidatedChain) -> TrustedKey:
    """The trusted key a validated chain vouches for, named by its certificate."""
    public = chain.public_key()
    return TrustedKey(
        public,
        key_id(public),
        t("certificate {subject}", subject=chain.subject),
        _roles_of(chain),
        chain.subject,
        chain.fingerprint,
    )


def certified_signer_of_message(
    certificates: Sequence[x509.Certificate],
    keyring: Keyring,
    role: CertRole,
    *,
    signature: bytes,
    message: bytes,
    at_time: datetime,
) -> TrustedKey | None:
    """The key of a certificate in ``certificates`` whose signature over ``message`` verifies, validated.

    None when no certificate's key made the signature; raises the chain's refusal when one did but
    its chain is not trusted for ``role`` at ``at_time``.
    """
    for cert in certificates:
        if _is_ca(cert):
            continue
        public = load_public_key_der(_spki(cert))
        if public is not None and verify_message(public, signature, message):
            others = [c for c in certificates if c is not cert]
            return certified_key(keyring.validate_chain([cert, *others], role, at_time))
    return None


def release_signer(
    message: bytes,
    signature: bytes,
    keyring: Keyring,
    *,
    certificates: bytes = b"",
    declared: str | None,
    signed_at: Callable[[], datetime],
    now: datetime | None = None,
) -> TrustedKey | None:
    """The trusted signer of a release document (a package or bundle manifest), with every rule applied.

    A plain keyring key whose signature verifies, else a certificate from ``certificates`` (PEM)
    whose key verifies it and whose chain is valid for the release role at
    ``validation_time(signed_at(), now)`` (``signed_at`` is called only then, so an unreadable
    document still gets its signature error first). The signer must be ``declared`` (when the
    document declares one) and hold the release role.

    Returns:
        The signer, or None when no trusted key and no certificate made the signature (the caller
        raises its own "untrusted" or "altered" sentence).

    Raises:
        CertificateError: a certificate made the signature but its chain is refused (a subclass).
        SignerMismatchError, SignerRoleError: another key than declared, or one without the role.
    """
    signer = next((k for k in keyring if verify_message(k.key, signature, message)), None)
    if signer is None and certificates:
        signer = certified_signer_of_message(
            package_certificates(certificates),
            keyring,
            CertRole.RELEASE,
            signature=signature,
            message=message,
            at_time=validation_time(signed_at(), now),
        )
    if signer is None:
        return None
    if declared is not None:
        check_declared_signer(declared, signer)
    check_manifest_role(signer)
    return signer


def certified_image_keyring(
    keyring: Keyring,
    certificates: Sequence[x509.Certificate],
    key_hashes: Sequence[bytes],
    at_time: datetime,
) -> Keyring:
    """``keyring`` plus the image signers the package's certificates vouch for (role ``build``).

    A key hash the keyring already trusts as a plain key keeps the keyring's entry (and its roles).
    """
    if not certificates:
        return keyring
    extra: list[TrustedKey] = []
    for digest in key_hashes:
        if keyring.by_hash(digest) is not None:
            continue
        cert = next((c for c in certificates if _key_hash(c) == digest and not _is_ca(c)), None)
        if cert is None:
            continue
        others = [c for c in certificates if c is not cert]
        extra.append(certified_key(keyring.validate_chain([cert, *others], CertRole.BUILD, at_time)))
    if not extra:
        return keyring
    ring = Keyring([*keyring, *extra], demo=keyring.demo)
    ring.anchors = list(keyring.anchors)
    ring.crls = list(keyring.crls)
    return ring


def check_declared_signer(declared: str | None, signer: TrustedKey) -> None:
    """The manifest's ``signing_key_id`` must be the key that actually signed it."""
    if declared != signer.key_id:
        raise SignerMismatchError(
            t(
                "The manifest declares signing key {declared} but was signed by key {actual}: it was "
                "re-signed by someone else.",
                declared=(declared or "?")[:KEY_ID_DISPLAY_CHARS],
                actual=signer.key_id[:KEY_ID_DISPLAY_CHARS],
            ),
            hint=t("Re-download the release from the manufacturer; do not install this package."),
        )


def check_manifest_role(signer: TrustedKey) -> None:
    """Only a key with the release role may sign a manifest."""
    if KeyRole.RELEASE not in signer.roles:
        raise SignerRoleError(
            t(
                "Key {key_id} ({source}) may sign images only, not a release manifest.",
                key_id=signer.key_id[:KEY_ID_DISPLAY_CHARS],
                source=signer.source,
            ),
            hint=t("Re-download the release from the manufacturer; do not install this package."),
        )


def check_image_role(signer: TrustedKey) -> None:
    """Only a key with the build role may sign the MCUboot image."""
    if KeyRole.BUILD not in signer.roles:
        raise SignerRoleError(
            t(
                "Key {key_id} ({source}) may sign release manifests only, not an image.",
                key_id=signer.key_id[:KEY_ID_DISPLAY_CHARS],
                source=signer.source,
            ),
            hint=t("Re-download the release from the manufacturer; do not install this package."),
        )


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_hash(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(_spki(cert)).digest()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


# --- what ``verify`` shows about certified signers ----------------------------------------------------
def _certificate_json(signer: TrustedKey) -> dict[str, str] | None:
    if signer.certificate_subject is None or signer.certificate_fingerprint is None:
        return None
    return {"subject": signer.certificate_subject, "fingerprint": signer.certificate_fingerprint}


def signer_certificates_json(package: VerifiedPackage) -> dict[str, dict[str, str] | None]:
    """``manifest_certificate`` / ``image_certificate`` for ``verify --json`` (None for plain keys)."""
    return {
        "manifest_certificate": _certificate_json(package.manifest_signer),
        "image_certificate": _certificate_json(package.image_signer),
    }


def signer_certificate_lines(package: VerifiedPackage) -> list[Text]:
    """One sentence per signer trusted through a certificate chain (none for plain keys)."""
    lines: list[Text] = []
    manifest, image = package.manifest_signer, package.image_signer
    if manifest.certificate_subject is not None and manifest.certificate_fingerprint is not None:
        lines.append(
            t(
                "Manifest signed under certificate {subject} (fingerprint {fingerprint}).",
                subject=manifest.certificate_subject,
                fingerprint=manifest.certificate_fingerprint[:KEY_ID_DISPLAY_CHARS],
            )
        )
    if image.certificate_subject is not None and image.certificate_fingerprint is not None:
        lines.append(
            t(
                "Image signed under certificate {subject} (fingerprint {fingerprint}).",
                subject=image.certificate_subject,
                fingerprint=image.certificate_fingerprint[:KEY_ID_DISPLAY_CHARS],
            )
        )
    return lines


__all__ = [
    "certified_image_keyring",
    "certified_key",
    "certified_signer_of_message",
    "check_declared_signer",
    "check_image_role",
    "check_manifest_role",
    "package_certificates",
    "release_signer",
    "signer_certificate_lines",
    "signer_certificates_json",
    "signing_certificates",
    "validation_time",
]


# --- packaging: the certificates ``package --cert`` puts into ``signers.pem`` -------------------------
def signing_certificates(
    chains: Sequence[tuple[bytes, str, PublicKey, CertRole]],
) -> bytes:
    """``signers.pem`` for ``package``: each chain's leaf must hold its key and role; duplicates merged.

    Args:
        chains: ``(PEM chain, source name, the key it must certify, the role it must allow)``.

    Raises:
        CertificateFileError: a chain whose first certificate is not the given key's.
        CertificateKeyUsageError: a certificate that does not allow its role.
    """
    seen: list[x509.Certificate] = []
    for pem, source, public, role in chains:
        certs = load_certificates_pem(pem, source=source)
        leaf = certs[0]
        if _spki(leaf) != public_key_der(public):
            raise CertificateFileError(
                t(
                    "{source} is not the certificate of the key that signs with it (its key id is {key_id}).",
                    source=source,
                    key_id=hashlib.sha256(_spki(leaf)).hexdigest()[:KEY_ID_DISPLAY_CHARS],
                )
            )
        try:
            usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usages = None
        if usages is None or role.oid not in usages:
            raise CertificateKeyUsageError(
                t(
                    "The certificate {subject} is not issued for the {role} role (its key usage does not "
                    "allow it).",
                    subject=leaf.subject.rfc4514_string(),
                    role=role.label,
                )
            )
        seen.extend(cert for cert in certs if cert not in seen)
    return certificates_pem(seen)
