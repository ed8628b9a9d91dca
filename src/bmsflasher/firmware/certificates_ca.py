"""A small file-based vendor CA: ``ca init``, ``ca issue``, ``ca revoke``, and the demo CA.

Files, all PEM, named after ``--out DIR/NAME``:

* ``NAME.pem`` — the private key (mode 0600; the CA's belongs offline);
* ``NAME.crt`` — the certificate; for an issued one, followed by the issuing CA's certificate
  when that CA is not a self-signed root (the chain a package or a technician presents);
* ``NAME.crl`` — the CA's revocation list (``ca init`` writes an empty one, ``ca revoke`` adds).

Technicians put ``ROOT.crt`` and ``ROOT.crl`` into their keyring folder; manufacturers pass
``--key SIGNER.pem --cert SIGNER.crt`` to ``bmsflasher package``.

The demo CA (:func:`write_demo_ca`, ``python -m bmsflasher.firmware.certificates_ca``) is derived
from fixed labels, so it regenerates byte for byte. Its private keys are public: **demo only**.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.certificate_errors import CertificateFileError
from bmsflasher.firmware.certificates import (
    ROLE_SETS,
    CertificateKey,
    build_crl,
    certificates_pem,
    create_root,
    issue_certificate,
    load_certificates_pem,
    load_crl_pem,
    require_ca,
)
from bmsflasher.firmware.keys import (
    KeyType,
    generate_key,
    load_private_key_pem,
    private_key_pem,
    read_key_file,
)

PRIVATE_MODE: Final = 0o600
PUBLIC_MODE: Final = 0o644
DEMO_CA_FOLDER: Final = "ca"
DEMO_ROOT: Final = "demo-root"
DEMO_SIGNER: Final = "demo-signer"
DEMO_TECHNICIAN: Final = "demo-technician"
DEMO_START: Final = datetime(2025, 1, 1, tzinfo=UTC)
_PEM: Final = serialization.Encoding.PEM
DEMO_DAYS: Final = 27000  # until 2098: "long validity" for a demo that must keep working


@dataclass(frozen=True, slots=True)
class CaFiles:
    """The three files of a CA or an issued certificate named ``DIR/NAME``."""

    key: Path
    cert: Path
    crl: Path

    @classmethod
    def of(cls, base: Path) -> CaFiles:
        name = base.name
        for suffix in (".crt", ".pem", ".crl"):
            name = name.removesuffix(suffix)
        if not name:
            raise CertificateFileError(t("'{path}' does not name a file; use DIR/NAME.", path=base))
        stem = base.with_name(name)
        return cls(stem.with_suffix(".pem"), stem.with_suffix(".crt"), stem.with_suffix(".crl"))


def _write(path: Path, data: bytes, mode: int, *, force: bool) -> None:
    """Create ``path`` with ``mode`` from the first byte (no window where a key is readable)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as exc:
        raise CertificateFileError(
            t("{path} already exists; choose another name or pass --force.", path=path)
        ) from exc
    except OSError as exc:
        raise CertificateFileError(
            t("Cannot create {path}: {reason}.", path=path, reason=exc.strerror or exc)
        ) from exc
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def _ca_key(files: CaFiles) -> CertificateKey:
    return load_private_key_pem(read_key_file(files.key), source=str(files.key))


def _ca_cert(files: CaFiles) -> x509.Certificate:
    certs = load_certificates_pem(read_key_file(files.cert), source=str(files.cert))
    return require_ca(certs[0], str(files.cert))


def _revoked_of(files: CaFiles) -> list[tuple[int, datetime]]:
    if not files.crl.exists():
        return []
    crl = load_crl_pem(read_key_file(files.crl), source=str(files.crl))
    return [(entry.serial_number, entry.revocation_date_utc) for entry in crl]


def init_ca(out: Path, *, days: int = 7300, force: bool = False, now: datetime | None = None) -> CaFiles:
    """``ca init``: a new root key, its self-signed certificate and an empty CRL."""
    files = CaFiles.of(out)
    key = generate_key(KeyType.ECDSA_P256)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    root = create_root(key, files.cert.stem, days=days, not_before=now)
    _write(files.key, private_key_pem(key), PRIVATE_MODE, force=force)
    _write(files.cert, certificates_pem([root]), PUBLIC_MODE, force=force)
    crl = build_crl(root, key, [], now=now)
    _write(files.crl, crl.public_bytes(_PEM), PUBLIC_MODE, force=force)
    return files


def issue(
    ca: Path,
    out: Path,
    role: str,
    *,
    days: int = 1095,
    key_type: KeyType = KeyType.ECDSA_P256,
    force: bool = False,
    now: datetime | None = None,
) -> tuple[CaFiles, x509.Certificate]:
    """``ca issue``: a new key for ``role`` and its certificate (chain) signed by the CA ``ca``."""
    ca_files, files = CaFiles.of(ca), CaFiles.of(out)
    ca_key, ca_cert = _ca_key(ca_files), _ca_cert(ca_files)
    key = generate_key(key_type)
    cert = issue_certificate(
        ca_cert, ca_key, key.public_key(), files.cert.stem, ROLE_SETS[role], days=days, not_before=now
    )
    chain = [cert] if ca_cert.subject == ca_cert.issuer else [cert, ca_cert]
    _write(files.key, private_key_pem(key), PRIVATE_MODE, force=force)
    _write(files.cert, certificates_pem(chain), PUBLIC_MODE, force=force)
    return files, cert


def revoke(ca: Path, cert_path: Path, *, now: datetime | None = None) -> tuple[Path, x509.Certificate]:
    """``ca revoke``: add ``cert_path``'s certificate to the CA's CRL (written anew, atomically)."""
    ca_files = CaFiles.of(ca)
    ca_key, ca_cert = _ca_key(ca_files), _ca_cert(ca_files)
    cert = load_certificates_pem(read_key_file(cert_path), source=str(cert_path))[0]
    if cert.issuer != ca_cert.subject:
        raise CertificateFileError(
            t(
                "{cert} was issued by {issuer}, not by this CA ({ca}).",
                cert=cert_path,
                issuer=cert.issuer.rfc4514_string(),
                ca=ca_cert.subject.rfc4514_string(),
            )
        )
    moment = now or datetime.now(UTC)
    revoked = [*_revoked_of(ca_files), (cert.serial_number, moment.replace(microsecond=0))]
    revoked = list({serial: (serial, when) for serial, when in reversed(revoked)}.values())
    crl = build_crl(ca_cert, ca_key, revoked, now=moment)
    temporary = ca_files.crl.with_suffix(".crl.new")
    temporary.unlink(missing_ok=True)
    _write(temporary, crl.public_bytes(_PEM), PUBLIC_MODE, force=False)
    temporary.replace(ca_files.crl)
    return ca_files.crl, cert


# --- the demo CA -------------------------------------------------------------------------------------
def _demo_key(label: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from a public label: reproducible, and therefore public. Demo only."""
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    secret = int.from_bytes(hashlib.sha256(b"bmsflasher public demo CA: " + label.encode()).digest()) % order
    return ec.derive_private_key(secret or 1, ec.SECP256R1())


def demo_ca_dir() -> Path:
    """Where the shipped demo CA lives: ``resources/demo/ca``."""
    return resource_path("demo") / DEMO_CA_FOLDER


def write_demo_ca(out: Path) -> list[Path]:
    """Write the demo root (key, certificate, empty CRL), demo signer and demo technician into ``out``.

    The demo signer's key is bmsflasher's public ECDSA demo key (``demo-key.pem``), so a package
    signed with it can carry the demo signer's certificate; the root and technician keys are
    derived from labels. Everything is reproducible and everything is public: demo only.
    """
    out.mkdir(parents=True, exist_ok=True)
    root_key = _demo_key(DEMO_ROOT)
    root = create_root(
        root_key,
        "bmsflasher DEMO root CA",
        organisation="bmsflasher demo",
        days=DEMO_DAYS,
        not_before=DEMO_START,
    )
    signer_key = load_private_key_pem((resource_path("demo") / "demo-key.pem").read_bytes())
    technician_key = _demo_key(DEMO_TECHNICIAN)
    signer = issue_certificate(
        root, root_key, signer_key.public_key(), "bmsflasher DEMO signer", ROLE_SETS["signer"],
        organisation="bmsflasher demo", days=DEMO_DAYS, not_before=DEMO_START,
    )  # fmt: skip
    technician = issue_certificate(
        root, root_key, technician_key.public_key(), "bmsflasher DEMO technician", ROLE_SETS["technician"],
        organisation="bmsflasher demo", days=DEMO_DAYS, not_before=DEMO_START,
    )  # fmt: skip
    files = {
        f"{DEMO_ROOT}.pem": private_key_pem(root_key),
        f"{DEMO_ROOT}.crt": certificates_pem([root]),
        f"{DEMO_ROOT}.crl": build_crl(root, root_key, [], now=DEMO_START, days=DEMO_DAYS).public_bytes(_PEM),
        f"{DEMO_SIGNER}.pem": private_key_pem(signer_key),
        f"{DEMO_SIGNER}.crt": certificates_pem([signer]),
        f"{DEMO_TECHNICIAN}.pem": private_key_pem(technician_key),
        f"{DEMO_TECHNICIAN}.crt": certificates_pem([technician]),
    }
    written = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bmsflasher.firmware.certificates_ca [--out DIR]``: regenerate the demo CA."""
    parser = argparse.ArgumentParser(description="Regenerate bmsflasher's public DEMO CA files.")
    parser.add_argument("--out", type=Path, default=demo_ca_dir())
    args = parser.parse_args(argv)
    for path in write_demo_ca(args.out):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
