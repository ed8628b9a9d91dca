"""Keyrings after chains and roles: old plain-key keyrings, root certificates and CRLs, the demo CA,
roles.json, and the technician's credentials (the API the UDS 0x29 client uses)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import certificate_errors as ce
from bmsflasher.firmware.certificates import CertRole, load_certificates_pem
from bmsflasher.firmware.certificates_ca import demo_ca_dir, write_demo_ca
from bmsflasher.firmware.certificates_technician import load_technician_credentials
from bmsflasher.firmware.demo_keys import DEMO_ROOT_KEY_IDS
from bmsflasher.firmware.errors import KeyFileError
from bmsflasher.firmware.keys import ALL_KEY_ROLES, Keyring, key_id, load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.firmware.policy import read_package_file, verify_package

DEMO = resource_path("demo")
CA = demo_ca_dir()
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _private_copy(files: list[Path], folder: Path) -> Path:
    folder.mkdir(mode=0o700)
    for file in files:
        target = folder / file.name
        shutil.copyfile(file, target)
        target.chmod(0o600 if file.suffix == ".pem" else 0o644)
    return folder


def test_an_old_keyring_of_plain_keys_still_verifies_every_demo_package() -> None:
    ring = Keyring.from_paths([DEMO / "demo-key.pub.pem"])
    assert [k.roles for k in ring] == [ALL_KEY_ROLES]  # no roles file: both roles, as before
    packages = sorted((DEMO / "packages").glob("*.bmspkg"))
    assert len(packages) >= 7
    for package in packages:
        verified = verify_package(read_package_file(package), ring, now=NOW)
        assert verified.manifest_signer.certificate_subject is None


def test_the_demo_ca_regenerates_byte_for_byte(tmp_path: Path) -> None:
    written = write_demo_ca(tmp_path)
    assert {p.name for p in written} == {p.name for p in CA.iterdir()}
    for path in written:
        assert path.read_bytes() == (CA / path.name).read_bytes(), path.name


def test_the_demo_chain_validates_and_its_signer_is_the_demo_key() -> None:
    ring = Keyring.from_paths([CA / "demo-root.crt", CA / "demo-root.crl"])
    signer = load_certificates_pem((CA / "demo-signer.crt").read_bytes(), source="demo-signer.crt")
    technician = load_certificates_pem((CA / "demo-technician.crt").read_bytes(), source="technician")
    for role in (CertRole.RELEASE, CertRole.BUILD):
        assert ring.validate_chain(signer, role, NOW).subject == "CN=bmsflasher DEMO signer,O=bmsflasher demo"
    ring.validate_chain(technician, CertRole.TECHNICIAN, datetime(2090, 1, 1, tzinfo=UTC))
    with pytest.raises(ce.CertificateKeyUsageError):
        ring.validate_chain(technician, CertRole.RELEASE, NOW)
    demo_key = load_private_key_file(DEMO / "demo-key.pem")
    assert key_id(demo_key) == key_id(load_private_key_file(CA / "demo-signer.pem"))


def test_a_keyring_of_only_the_demo_root_verifies_a_package_carrying_the_demo_chain(tmp_path: Path) -> None:
    key = load_private_key_file(CA / "demo-signer.pem")
    spec = PackageSpec("VBMS-16", ("B",), FirmwareVersion(1, 0, 0), 1, created=NOW)
    image = build_image(b"\x00" * 1024, version=spec.version, security_counter=1, key=key)
    package = build_package(spec, image, key, certificates=(CA / "demo-signer.crt").read_bytes())
    keyring_folder = _private_copy([CA / "demo-root.crt", CA / "demo-root.crl"], tmp_path / "trusted-keys")
    ring = Keyring()
    ring.add_keyring_folder(keyring_folder)
    assert len(ring) == 0
    assert len(ring.anchors) == 1
    assert len(ring.crls) == 1
    assert ring.describe()[0].startswith("Trusted root certificate CN=bmsflasher DEMO root CA")
    verified = verify_package(package, ring, now=NOW)
    assert verified.manifest_signer.certificate_subject == "CN=bmsflasher DEMO signer,O=bmsflasher demo"


def test_a_signer_certificate_is_not_a_trust_anchor(tmp_path: Path) -> None:
    with pytest.raises(ce.CertificateFileError, match="is not a CA certificate"):
        Keyring.from_paths([CA / "demo-signer.crt"])


# --- roles.json ---------------------------------------------------------------------------------------
def _roles_folder(tmp_path: Path, roles: object) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    shutil.copyfile(DEMO / "demo-key.pub.pem", folder / "acme.pub.pem")
    (folder / "roles.json").write_text(json.dumps(roles))
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


@pytest.mark.parametrize(
    ("roles", "phrase"),
    [
        ({"acme.pub.pem": ["admin"]}, "must be a non-empty list"),
        ({"acme.pub.pem": []}, "must be a non-empty list"),
        ({"other.pub.pem": ["build"]}, "which is not a file in that folder"),
        (["build"], "must map key file names"),
    ],
)
def test_a_bad_roles_file_is_refused(tmp_path: Path, roles: object, phrase: str) -> None:
    with pytest.raises(KeyFileError, match=phrase):
        Keyring.from_paths([_roles_folder(tmp_path, roles)])


def test_a_group_writable_roles_file_is_refused(tmp_path: Path) -> None:
    folder = _roles_folder(tmp_path, {"acme.pub.pem": ["release"]})
    (folder / "roles.json").chmod(0o664)
    with pytest.raises(KeyFileError, match="writable by its group"):
        Keyring.from_paths([folder])


# --- the technician's credentials (UDS 0x29) ------------------------------------------------------------
def test_the_demo_technician_credentials_load() -> None:
    chain, key = load_technician_credentials(CA / "demo-technician.crt")
    assert chain[0].subject.rfc4514_string() == "CN=bmsflasher DEMO technician,O=bmsflasher demo"
    assert key_id(key) == key_id(chain[0].public_key())  # type: ignore[arg-type]


def test_technician_credentials_from_a_folder(tmp_path: Path) -> None:
    folder = _private_copy([CA / "demo-technician.crt", CA / "demo-technician.pem"], tmp_path / "technician")
    chain, _key = load_technician_credentials(folder)
    assert len(chain) == 1


def test_a_signer_certificate_is_no_technician_credential(tmp_path: Path) -> None:
    with pytest.raises(ce.CertificateKeyUsageError, match="not issued for the technician role"):
        load_technician_credentials(CA / "demo-signer.crt")


def test_a_technician_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    folder = _private_copy([CA / "demo-technician.crt", CA / "demo-technician.pem"], tmp_path / "technician")
    (folder / "demo-technician.pem").chmod(0o644)
    with pytest.raises(ce.CertificateFileError, match="readable by other accounts"):
        load_technician_credentials(folder)


def test_a_technician_key_that_is_not_the_certificates_is_refused(tmp_path: Path) -> None:
    folder = _private_copy([CA / "demo-technician.crt"], tmp_path / "technician")
    shutil.copyfile(CA / "demo-signer.pem", folder / "demo-technician.pem")
    (folder / "demo-technician.pem").chmod(0o600)
    with pytest.raises(ce.CertificateFileError, match="is not the private key of the certificate"):
        load_technician_credentials(folder)


def test_the_demo_root_is_recognised_and_warned_about_outside_demo_mode() -> None:
    root = load_certificates_pem((CA / "demo-root.crt").read_bytes(), source="demo-root.crt")[0]
    assert key_id(root.public_key()) in DEMO_ROOT_KEY_IDS  # type: ignore[arg-type]
    (warning,) = Keyring.from_paths([CA / "demo-root.crt"]).warnings
    assert "public demo root certificate (CN=bmsflasher DEMO root CA,O=bmsflasher demo)" in warning
    assert Keyring.from_paths([CA / "demo-root.crt"], demo=True).warnings == ()
