"""Certificate chains in packages: each refusal with its own class and sentence, before any write.

Every case builds a real package whose ``signers.pem`` carries the chain and runs the host gate
(:func:`verify_package`), which runs before the update procedure contacts a device: a refusal here
means nothing was written. The expiry policy (validated at the manifest's signed creation time,
bounded by now; revocation judged today) has its own cases.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import certificate_errors as ce
from bmsflasher.firmware.certificates import (
    ROLE_SETS,
    CertRole,
    build_crl,
    certificates_pem,
    create_root,
    issue_certificate,
)
from bmsflasher.firmware.errors import UntrustedKeyError
from bmsflasher.firmware.keys import Keyring, KeyRole, PrivateKey, generate_key
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.firmware.policy import verify_package

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SPEC = PackageSpec(
    model="X-1",
    hardware_revisions=("B",),
    version=FirmwareVersion(1, 2, 3),
    security_counter=2,
    created=datetime(2026, 3, 1, tzinfo=UTC),
    expires=datetime(2031, 1, 1, tzinfo=UTC),
)


class Pki:
    """A vendor root, optionally intermediates, and a signer (all ECDSA P-256)."""

    def __init__(self, *, root_path_length: int | None = 1, name: str = "Acme root") -> None:
        self.root_key = generate_key()
        self.root = create_root(self.root_key, name, not_before=T0, path_length=root_path_length)  # type: ignore[arg-type]

    def signer(
        self,
        roles: frozenset[CertRole] = ROLE_SETS["signer"],
        *,
        start: datetime = T0,
        days: int = 3650,
        issuer: tuple[x509.Certificate, PrivateKey] | None = None,
        key_usage: x509.KeyUsage | None = None,
    ) -> tuple[PrivateKey, x509.Certificate]:
        key = generate_key()
        cert_issuer, issuer_key = issuer or (self.root, self.root_key)
        cert = issue_certificate(
            cert_issuer, issuer_key, key.public_key(), "Acme release", roles,  # type: ignore[arg-type]
            not_before=start, days=days, key_usage=key_usage,
        )  # fmt: skip
        return key, cert

    def intermediate(
        self, parent: tuple[x509.Certificate, PrivateKey] | None = None, path_length: int = 0
    ) -> tuple[x509.Certificate, PrivateKey]:
        key = generate_key()
        cert_issuer, issuer_key = parent or (self.root, self.root_key)
        cert = issue_certificate(
            cert_issuer, issuer_key, key.public_key(), f"Acme issuing {path_length}",  # type: ignore[arg-type]
            not_before=T0, days=3650, ca_path_length=path_length,
        )  # fmt: skip
        return cert, key

    def keyring(self, *crls: x509.CertificateRevocationList) -> Keyring:
        ring = Keyring()
        ring.add_anchor_pem(certificates_pem([self.root]), "acme-root.crt")
        ring.crls.extend(crls)
        return ring


def _package(key: PrivateKey, chain: list[x509.Certificate], spec: PackageSpec = SPEC) -> bytes:
    image = build_image(b"\x5a" * 2048, version=spec.version, security_counter=2, key=key)
    return build_package(spec, image, key, certificates=certificates_pem(chain))


def test_a_valid_chain_is_accepted_and_names_the_signer_certificate() -> None:
    pki = Pki()
    key, cert = pki.signer()
    verified = verify_package(_package(key, [cert]), pki.keyring(), now=NOW)
    assert verified.manifest_signer.certificate_subject == "CN=Acme release"
    assert verified.manifest_signer.certificate_fingerprint is not None
    assert len(verified.manifest_signer.certificate_fingerprint) == 64
    assert verified.manifest_signer.roles == {KeyRole.RELEASE, KeyRole.BUILD}
    assert verified.image_signer.certificate_subject == "CN=Acme release"


def test_a_chain_through_an_intermediate_is_accepted() -> None:
    pki = Pki()
    issuing = pki.intermediate()
    key, cert = pki.signer(issuer=issuing)
    verify_package(_package(key, [cert, issuing[0]]), pki.keyring(), now=NOW)


def test_expired_certificate_is_refused() -> None:
    pki = Pki()
    key, cert = pki.signer(days=30)  # expired long before the manifest was created (March)
    expired = r"The certificate CN=Acme release expired on 2026-01-30"
    with pytest.raises(ce.CertificateExpiredError, match=expired):
        verify_package(_package(key, [cert]), pki.keyring(), now=NOW)


def test_not_yet_valid_certificate_is_refused() -> None:
    pki = Pki()
    key, cert = pki.signer(start=datetime(2026, 5, 1, tzinfo=UTC))  # valid from May, manifest says March
    with pytest.raises(ce.CertificateNotYetValidError, match=r"is valid only from 2026-04-30 23:55 UTC"):
        verify_package(_package(key, [cert]), pki.keyring(), now=NOW)


@pytest.mark.parametrize(
    "roles",
    [ROLE_SETS["technician"], ROLE_SETS["build"], frozenset()],
    ids=["technician", "build-only", "no-eku"],
)
def test_wrong_key_usage_is_refused(roles: frozenset[CertRole]) -> None:
    pki = Pki()
    key, cert = pki.signer(roles)
    with pytest.raises(ce.CertificateKeyUsageError, match=r"is not issued for the release role"):
        verify_package(_package(key, [cert]), pki.keyring(), now=NOW)


def test_a_leaf_without_digital_signature_is_refused() -> None:
    pki = Pki()
    no_signing = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    key, cert = pki.signer(key_usage=no_signing)
    with pytest.raises(ce.CertificateKeyUsageError, match=r"is not issued for the release role"):
        verify_package(_package(key, [cert]), pki.keyring(), now=NOW)


def test_unknown_root_is_refused() -> None:
    pki, other = Pki(), Pki(name="Other vendor root")
    key, cert = pki.signer()
    unknown = r"does not lead to a trusted root: its issuer CN=Acme root"
    with pytest.raises(ce.UnknownRootError, match=unknown):
        verify_package(_package(key, [cert]), other.keyring(), now=NOW)


def test_a_chain_bringing_its_own_root_is_refused_as_unknown_root() -> None:
    pki, other = Pki(), Pki(name="Other vendor root")
    key, cert = pki.signer()
    with pytest.raises(ce.UnknownRootError, match=r"its issuer CN=Acme root is not in the keyring"):
        verify_package(_package(key, [cert, pki.root]), other.keyring(), now=NOW)


def test_a_chain_and_no_root_at_all_is_refused_as_unknown_root() -> None:
    pki = Pki()
    key, cert = pki.signer()
    with pytest.raises(ce.UnknownRootError):
        verify_package(_package(key, [cert]), Keyring(), now=NOW)


def test_revoked_signer_is_refused_even_for_a_release_signed_before_revocation() -> None:
    pki = Pki()
    key, cert = pki.signer()
    crl = build_crl(pki.root, pki.root_key, [(cert.serial_number, datetime(2026, 4, 1, tzinfo=UTC))], now=NOW)  # type: ignore[arg-type]
    package = _package(key, [cert])  # created in March, revoked in April
    with pytest.raises(ce.CertificateRevokedError, match=r"was revoked by CN=Acme root on 2026-04-01"):
        verify_package(package, pki.keyring(crl), now=NOW)


def test_a_crl_that_does_not_list_the_signer_changes_nothing() -> None:
    pki = Pki()
    key, cert = pki.signer()
    crl = build_crl(pki.root, pki.root_key, [(cert.serial_number + 1, T0)], now=NOW)  # type: ignore[arg-type]
    verify_package(_package(key, [cert]), pki.keyring(crl), now=NOW)


def test_a_forged_crl_is_refused() -> None:
    pki, forger = Pki(), Pki()
    key, cert = pki.signer()
    forged = build_crl(pki.root, forger.root_key, [], now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ce.CertificateSignatureError, match=r"revocation list of CN=Acme root .* altered"):
        verify_package(_package(key, [cert]), pki.keyring(forged), now=NOW)


def test_path_too_long_is_refused() -> None:
    pki = Pki(root_path_length=0)  # the root may issue leaves only
    issuing = pki.intermediate()
    key, cert = pki.signer(issuer=issuing)
    with pytest.raises(ce.CertificatePathTooLongError, match=r"has 1 intermediate certificates; at most 0"):
        verify_package(_package(key, [cert, issuing[0]]), pki.keyring(), now=NOW)


def test_more_intermediates_than_the_host_allows_is_refused() -> None:
    pki = Pki(root_path_length=None)
    first = pki.intermediate(path_length=5)
    second = pki.intermediate(first, path_length=4)
    third = pki.intermediate(second, path_length=3)
    key, cert = pki.signer(issuer=third)
    with pytest.raises(ce.CertificatePathTooLongError, match=r"has 3 intermediate certificates; at most 2"):
        verify_package(_package(key, [cert, third[0], second[0], first[0]]), pki.keyring(), now=NOW)


def test_bad_signature_on_the_certificate_is_refused() -> None:
    pki, forger = Pki(), Pki()
    key = generate_key()
    forged = issue_certificate(  # claims the Acme root as issuer, signed by another key
        pki.root,
        forger.root_key,
        key.public_key(),
        "Acme release",
        ROLE_SETS["signer"],
        not_before=T0,  # type: ignore[arg-type]
    )
    forged_sentence = r"signature does not verify with its issuer CN=Acme root"
    with pytest.raises(ce.CertificateSignatureError, match=forged_sentence):
        verify_package(_package(key, [forged]), pki.keyring(), now=NOW)


# --- the expiry policy: the signing time, bounded by now; never revoked -------------------------------
def test_a_release_signed_while_the_certificate_was_valid_stays_installable_after_it_expires() -> None:
    pki = Pki()
    key, cert = pki.signer(days=120)  # valid January to April 30
    package = _package(key, [cert])  # created March 1
    later = datetime(2028, 1, 1, tzinfo=UTC)
    assert later > cert.not_valid_after_utc
    verify_package(package, pki.keyring(), now=later)


def test_a_manifest_dated_after_the_certificate_expired_is_refused() -> None:
    pki = Pki()
    key, cert = pki.signer(days=30)
    spec = replace(SPEC, created=datetime(2026, 2, 15, tzinfo=UTC))
    with pytest.raises(ce.CertificateExpiredError):
        verify_package(_package(key, [cert], spec), pki.keyring(), now=NOW)


def test_a_manifest_dated_into_the_future_is_judged_now() -> None:
    pki = Pki()
    key, cert = pki.signer(days=60)  # valid until March 2
    spec = replace(SPEC, created=datetime(2026, 2, 1, tzinfo=UTC))
    package = _package(key, [cert], spec)
    with pytest.raises(ce.CertificateNotYetValidError):  # the laptop's now (mid-January) comes first
        verify_package(package, pki.keyring(), now=datetime(2025, 12, 15, tzinfo=UTC))
    verify_package(package, pki.keyring(), now=NOW)


# --- roles through certificates -----------------------------------------------------------------------
def test_separate_release_and_build_certificates() -> None:
    pki = Pki()
    release, release_cert = pki.signer(ROLE_SETS["release"])
    build, build_cert = pki.signer(ROLE_SETS["build"])
    image = build_image(b"\x11" * 2048, version=SPEC.version, security_counter=2, key=build)
    package = build_package(SPEC, image, release, certificates=certificates_pem([release_cert, build_cert]))
    verified = verify_package(package, pki.keyring(), now=NOW)
    assert verified.manifest_signer.roles == {KeyRole.RELEASE}
    assert verified.image_signer.roles == {KeyRole.BUILD}


def test_a_release_only_certificate_may_not_sign_the_image() -> None:
    pki = Pki()
    key, cert = pki.signer(ROLE_SETS["release"])
    with pytest.raises(ce.CertificateKeyUsageError, match=r"is not issued for the build role"):
        verify_package(_package(key, [cert]), pki.keyring(), now=NOW)


def test_an_image_key_with_neither_plain_trust_nor_a_certificate_is_untrusted() -> None:
    pki = Pki()
    release, release_cert = pki.signer(ROLE_SETS["release"])
    image = build_image(b"\x11" * 2048, version=SPEC.version, security_counter=2, key=generate_key())
    package = build_package(SPEC, image, release, certificates=certificates_pem([release_cert]))
    with pytest.raises(UntrustedKeyError):
        verify_package(package, pki.keyring(), now=NOW)


def test_timedelta_sanity() -> None:
    assert SPEC.created is not None
    assert SPEC.created - T0 == timedelta(days=59)


def test_cryptography_verifier_is_the_second_opinion() -> None:
    """An intermediate whose CA flag is not marked critical passes the host's own rules, not webpki's."""
    pki = Pki()
    key = generate_key()
    issuing_key = generate_key()
    issuing = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Lax issuing CA")]))
        .issuer_name(pki.root.subject)
        .public_key(issuing_key.public_key())  # type: ignore[arg-type]
        .serial_number(77)
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()), critical=False)  # type: ignore[arg-type]
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.root_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(pki.root_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key, cert = pki.signer(issuer=(issuing, issuing_key))
    invalid = r"certificate chain of CN=Acme release is not valid"
    with pytest.raises(ce.CertificateSignatureError, match=invalid):
        verify_package(_package(key, [cert, issuing]), pki.keyring(), now=NOW)
