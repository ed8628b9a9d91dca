"""Release bundles carry their signer's certificate chain and are judged by the package rules.

A bundle manifest signed by a key the keyring does not hold is trusted through the chain in its
``signers.pem`` member (:func:`bmsflasher.firmware.signers.release_signer`): the same refusal classes
and sentences as a package (revoked, expired, wrong key usage), and the same expiry policy (the chain
is judged at the manifest's signed ``created``, bounded by now). The packages inside are signed
under the same chain, so the keyring holds nothing but the vendor's root certificate.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import certificate_errors as ce
from bmsflasher.firmware.bundle import BundleSpec, PackageInput, build_bundle, verify_bundle
from bmsflasher.firmware.bundle_errors import BundleUntrustedKeyError
from bmsflasher.firmware.certificates import (
    ROLE_SETS,
    CertRole,
    build_crl,
    certificates_pem,
    create_root,
    issue_certificate,
)
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.firmware.keys import Keyring, PrivateKey, generate_key
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CREATED = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
EXPIRES = datetime(2031, 1, 1, tzinfo=UTC)


class Vendor:
    """A vendor root and its signers (ECDSA P-256), with a keyring holding only the root."""

    def __init__(self) -> None:
        self.root_key = generate_key()
        self.root = create_root(self.root_key, "Acme root", not_before=T0)  # type: ignore[arg-type]

    def signer(
        self, roles: frozenset[CertRole] = ROLE_SETS["signer"], *, days: int = 3650
    ) -> tuple[PrivateKey, x509.Certificate]:
        key = generate_key()
        cert = issue_certificate(
            self.root, self.root_key, key.public_key(), "Acme release", roles,  # type: ignore[arg-type]
            not_before=T0, days=days,
        )  # fmt: skip
        return key, cert

    def keyring(self, *crls: x509.CertificateRevocationList) -> Keyring:
        ring = Keyring()
        ring.add_anchor_pem(certificates_pem([self.root]), "acme-root.crt")
        ring.crls.extend(crls)
        return ring


def _bundle(
    bundle_key: PrivateKey,
    bundle_chain: list[x509.Certificate],
    package_signer: tuple[PrivateKey, x509.Certificate],
) -> bytes:
    """A one-package bundle: the package signed under ``package_signer``, the manifest under the chain."""
    key, cert = package_signer
    spec = PackageSpec("VBMU-16", ("A",), FirmwareVersion(1, 1, 0), 1, created=CREATED, expires=EXPIRES)
    image = build_image(b"\x5a" * 2048, version=spec.version, security_counter=1, key=key)
    package = build_package(spec, image, key, certificates=certificates_pem([cert]))
    bundle_spec = BundleSpec("pack-1.1.0", created=CREATED, expires=EXPIRES)
    return build_bundle(
        bundle_spec,
        [PackageInput(Tier.BMU, package, "VBMU-16.bmspkg")],
        bundle_key,
        certificates=certificates_pem(bundle_chain),
    )


def test_a_chain_signed_bundle_verifies_against_the_root_and_names_its_certificate() -> None:
    vendor = Vendor()
    signer = vendor.signer()
    bundle = verify_bundle(_bundle(signer[0], [signer[1]], signer), vendor.keyring(), now=NOW)
    assert bundle.signer.certificate_subject == "CN=Acme release"
    assert bundle.signer.certificate_fingerprint is not None
    assert len(bundle.signer.certificate_fingerprint) == 64


def test_without_the_chain_the_bundle_signer_is_untrusted() -> None:
    vendor = Vendor()
    signer = vendor.signer()
    with pytest.raises(BundleUntrustedKeyError, match=r"is signed by key .*, which is not a trusted key"):
        verify_bundle(_bundle(signer[0], [], signer), vendor.keyring(), now=NOW)


def test_a_revoked_bundle_signer_is_refused_with_the_packages_sentence() -> None:
    vendor = Vendor()
    packages = vendor.signer()
    key, cert = vendor.signer(ROLE_SETS["release"])
    revoked_at = datetime(2026, 4, 1, tzinfo=UTC)  # after the bundle was created: revocation is judged today
    crl = build_crl(vendor.root, vendor.root_key, [(cert.serial_number, revoked_at)], now=NOW)  # type: ignore[arg-type]
    data = _bundle(key, [cert], packages)
    verify_bundle(data, vendor.keyring(), now=NOW)  # the same bundle before the CRL reached the keyring
    with pytest.raises(ce.CertificateRevokedError, match=r"was revoked by CN=Acme root on 2026-04-01"):
        verify_bundle(data, vendor.keyring(crl), now=NOW)


def test_a_bundle_signed_after_its_certificate_expired_is_refused() -> None:
    vendor = Vendor()
    key, cert = vendor.signer(days=30)  # backdated: expired on January 30, the bundle says March 1
    with pytest.raises(
        ce.CertificateExpiredError,
        match=r"The certificate CN=Acme release expired on 2026-01-30 \(checked at 2026-03-01",
    ):
        verify_bundle(_bundle(key, [cert], vendor.signer()), vendor.keyring(), now=NOW)


def test_a_bundle_signed_while_its_certificate_was_valid_stays_installable_after_it_expires() -> None:
    vendor = Vendor()
    key, cert = vendor.signer(days=120)  # valid until May 1; signed March 1
    packages = vendor.signer()
    later = datetime(2028, 1, 1, tzinfo=UTC)
    verify_bundle(_bundle(key, [cert], packages), vendor.keyring(), now=later)


@pytest.mark.parametrize("role", ["technician", "build"])
def test_a_signer_without_the_release_role_is_refused(role: str) -> None:
    vendor = Vendor()
    key, cert = vendor.signer(ROLE_SETS[role])
    with pytest.raises(ce.CertificateKeyUsageError, match=r"is not issued for the release role"):
        verify_bundle(_bundle(key, [cert], vendor.signer()), vendor.keyring(), now=NOW)
