"""``bundle --key K --cert K.crt`` and ``verify B.bmsbundle --trust ROOT.crt``: a release bundle trusted
through its signer's certificate chain, the same way as a package (``ca init``, ``ca issue``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.firmware.demo_pack_models import DEMO_BMU

PACKAGE = ["package", "--model", DEMO_BMU.model, "--hw-rev", DEMO_BMU.hardware_revision,
           "--version", "1.1.0", "--security-counter", "1"]  # fmt: skip


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exited:
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def vendor(tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A vendor CA, a signer, a BMU package signed under its chain, and a bundle of it (``--cert``)."""
    ca = tmp_path / "ca"
    ca.mkdir()
    assert _run(["ca", "init", "--out", str(ca / "acme-root")], capsys)[0] == 0
    for name, role in (("acme-release", "signer"), ("tech", "technician")):
        code, _, err = _run(
            ["ca", "issue", "--ca", str(ca / "acme-root"), "--out", str(ca / name), "--role", role], capsys
        )
        assert code == 0, err
    firmware = tmp_path / "bmu.bin"
    firmware.write_bytes(bytes(range(256)) * 16)
    key, cert = str(ca / "acme-release.pem"), str(ca / "acme-release.crt")
    package = str(tmp_path / "bmu.bmspkg")
    code, _, err = _run(
        [*PACKAGE, "--firmware", str(firmware), "--key", key, "--cert", cert, "--out", package], capsys
    )
    assert code == 0, err
    code, _, err = _run(
        ["bundle", "--package", package, "--key", key, "--cert", cert,
         "--out", str(tmp_path / "pack.bmsbundle"), "--trust", str(ca / "acme-root.crt")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    return tmp_path


def test_a_chain_signed_bundle_verifies_against_the_root_only(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(vendor / "ca" / "acme-root.crt")
    code, out, err = _run(["verify", str(vendor / "pack.bmsbundle"), "--trust", root], capsys)
    assert code == 0, err
    assert "Bundle manifest signed under certificate CN=acme-release (fingerprint " in out
    code, out, _ = _run(["verify", str(vendor / "pack.bmsbundle"), "--trust", root, "--json"], capsys)
    payload = json.loads(out)
    assert payload["valid"] is True
    assert payload["bundle_certificate"]["subject"] == "CN=acme-release"
    assert len(payload["bundle_certificate"]["fingerprint"]) == 64


def test_a_revoked_bundle_signer_is_refused_with_the_packages_sentence(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = vendor / "ca"
    assert _run(["ca", "revoke", "--ca", str(ca / "acme-root"), str(ca / "acme-release.crt")], capsys)[0] == 0
    keyring = vendor / "keyring"
    keyring.mkdir(mode=0o755)
    for name in ("acme-root.crt", "acme-root.crl"):
        shutil.copyfile(ca / name, keyring / name)
        (keyring / name).chmod(0o644)
    code, out, _ = _run(["verify", str(vendor / "pack.bmsbundle"), "--trust", str(keyring), "--json"], capsys)
    payload = json.loads(out)
    assert code == 3
    assert payload["error"] == "CertificateRevokedError"
    assert payload["message"].startswith("The certificate CN=acme-release was revoked by CN=acme-root on ")


def test_a_technician_certificate_cannot_sign_a_bundle(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = vendor / "ca"
    out_file = vendor / "t.bmsbundle"
    code, out, _ = _run(
        ["bundle", "--package", str(vendor / "bmu.bmspkg"), "--key", str(ca / "tech.pem"),
         "--cert", str(ca / "tech.crt"), "--out", str(out_file), "--json"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert json.loads(out)["error"] == "CertificateKeyUsageError"
    assert "is not issued for the release role" in json.loads(out)["message"]
    assert not out_file.exists()
