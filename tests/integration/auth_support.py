"""Test certificates for device authentication (UDS 0x29), built with ``cryptography`` directly.

Independent of the tool's own CA code on purpose: the device and the tests agree on the roles'
extended key usage OIDs and on the proof bytes only through ``docs/protocols/uds.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TECHNICIAN_OID = "2.25.171810578274681871816865381052322347752"
FACTORY_OID = "2.25.176501216798262189176307554143543326185"
RELEASE_OID = "2.25.120636238868194280707099318119577339300"
UDS_PROOF_CONTEXT = b"bmsflasher/uds-0x29/proof-of-ownership/v1\x00"


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        """``NAME.crt`` and ``NAME.pem`` (mode 600), the credentials folder layout."""
        folder.mkdir(parents=True, exist_ok=True)
        cert = folder / f"{name}.crt"
        key = folder / f"{name}.pem"
        cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key.chmod(0o600)
        return cert, key


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str = "Test vendor CA") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def issue(
    ca: Issued,
    common_name: str = "Test technician",
    *,
    role_oid: str | None = TECHNICIAN_OID,
    days_valid: int = 30,
    starts_in_days: int = -1,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=starts_in_days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days_valid))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if role_oid is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(role_oid)]), critical=False
        )
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def demo_technician() -> Issued:
    """The shipped DEMO technician (resources/demo/ca), issued by the demo root the sim trusts."""
    from bmsflasher.core.resources import resource_path

    cert = x509.load_pem_x509_certificate(resource_path("demo", "ca", "demo-technician.crt").read_bytes())
    key = serialization.load_pem_private_key(
        resource_path("demo", "ca", "demo-technician.pem").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Issued(cert, key)


def write_ca(ca: Issued, path: Path) -> Path:
    path.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    return path
