"""``bmsflasher ca`` end to end: a vendor CA, a signer, a package carrying its chain, ``verify --trust
ROOT.crt``, revocation through the keyring folder's CRL, and the signer's certificate in the service
record of an update of the virtual BMS."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from proc_support import fast_profile, smp_bench

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.certificates_ca import demo_ca_dir
from bmsflasher.firmware.demo_assets import DEMO_EXPIRES, DemoRelease, build_demo_image
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.procedure import UpdateOptions, UpdateProcedure, build_keyring, package_loader
from bmsflasher.records.signers import recorded_signers

PACKAGE_X1 = ["package", "--model", "X-1", "--hw-rev", "B", "--version", "1.0.0", "--security-counter", "1"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exited:
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def vendor(tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``ca init`` + ``ca issue --role signer`` + a package signed with ``--key --cert``."""
    ca = tmp_path / "ca"
    ca.mkdir()
    assert _run(["ca", "init", "--out", str(ca / "acme-root")], capsys)[0] == 0
    assert _run(["ca", "issue", "--ca", str(ca / "acme-root"), "--out", str(ca / "acme-release"),
                 "--role", "signer", "--days", "400"], capsys)[0] == 0  # fmt: skip
    assert oct((ca / "acme-release.pem").stat().st_mode & 0o777) == "0o600"
    firmware = tmp_path / "app.bin"
    firmware.write_bytes(bytes(range(256)) * 16)
    code, _, err = _run(
        [*PACKAGE_X1, "--firmware", str(firmware), "--key", str(ca / "acme-release.pem"),
         "--cert", str(ca / "acme-release.crt"), "--out", str(tmp_path / "x.bmspkg")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    return tmp_path


def test_verify_with_the_root_certificate_names_the_signer(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(vendor / "ca" / "acme-root.crt")
    code, out, err = _run(["verify", str(vendor / "x.bmspkg"), "--trust", root], capsys)
    assert code == 0, err
    assert "Manifest signed under certificate CN=acme-release (fingerprint " in out
    assert "Trusted root certificate CN=acme-root" in err
    code, out, _ = _run(["verify", str(vendor / "x.bmspkg"), "--trust", root, "--json"], capsys)
    payload = json.loads(out)
    assert payload["manifest_certificate"]["subject"] == "CN=acme-release"
    assert len(payload["manifest_certificate"]["fingerprint"]) == 64


def test_revoked_signer_is_refused_through_the_keyring_folders_crl(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = vendor / "ca"
    code, out, _ = _run(
        ["ca", "revoke", "--ca", str(ca / "acme-root"), str(ca / "acme-release.crt"), "--json"], capsys
    )
    assert code == 0
    assert json.loads(out)["revoked_subject"] == "CN=acme-release"
    keyring = vendor / "keyring"
    keyring.mkdir(mode=0o755)
    for name in ("acme-root.crt", "acme-root.crl"):
        shutil.copyfile(ca / name, keyring / name)
        (keyring / name).chmod(0o644)
    code, out, _ = _run(["verify", str(vendor / "x.bmspkg"), "--trust", str(keyring), "--json"], capsys)
    payload = json.loads(out)
    assert code == 3
    assert payload["error"] == "CertificateRevokedError"
    assert payload["message"].startswith("The certificate CN=acme-release was revoked by CN=acme-root on ")


def test_another_vendors_root_is_an_unknown_root(vendor: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["verify", str(vendor / "x.bmspkg"), "--trust", str(demo_ca_dir() / "demo-root.crt"), "--json"],
        capsys,
    )
    assert code == 3
    assert json.loads(out)["error"] == "UnknownRootError"


def test_a_technician_certificate_cannot_sign_a_package(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = vendor / "ca"
    _run(
        ["ca", "issue", "--ca", str(ca / "acme-root"), "--out", str(ca / "tech"), "--role", "technician"],
        capsys,
    )
    code, out, _ = _run(
        [*PACKAGE_X1, "--firmware", str(vendor / "app.bin"), "--key", str(ca / "tech.pem"),
         "--cert", str(ca / "tech.crt"), "--out", str(vendor / "t.bmspkg"), "--json"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert json.loads(out)["error"] == "CertificateKeyUsageError"
    assert not (vendor / "t.bmspkg").exists()


def test_a_certificate_of_another_key_is_refused_by_package(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = vendor / "ca"
    code, out, _ = _run(
        [*PACKAGE_X1, "--firmware", str(vendor / "app.bin"),
         "--key", str(resource_path("demo", "demo-key.pem")),
         "--cert", str(ca / "acme-release.crt"), "--out", str(vendor / "o.bmspkg"), "--json"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert "is not the certificate of the key that signs with it" in json.loads(out)["message"]


def test_ca_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["ca", "issue", "--ca", "x", "--out", "y", "--role", "admin"], capsys)
    assert code == 8
    assert "invalid choice" in err
    code, _, err = _run(["ca", "init", "--out", str(tmp_path / "missing" / "root")], capsys)
    assert code == 8
    assert "does not exist; create it first" in err


def test_the_service_record_names_the_signers_certificate(tmp_path: Path, data_home: Path) -> None:
    """An update of the virtual BMS with a package carrying the demo chain, trusted by the demo root only."""
    ca = demo_ca_dir()
    key = load_private_key_file(ca / "demo-signer.pem")
    image = build_demo_image(key, DemoRelease("1.1.0", 2, "healthy", "chain-signed"))
    spec = PackageSpec("VBMS-16", ("B", "C"), FirmwareVersion(1, 1, 0), 2, expires=DEMO_EXPIRES)
    path = tmp_path / "VBMS-16-1.1.0-chain.bmspkg"
    path.write_bytes(build_package(spec, image, key, certificates=(ca / "demo-signer.crt").read_bytes()))
    keyring = build_keyring([ca / "demo-root.crt"], folder=tmp_path / "no-user-keys")
    assert len(keyring) == 0  # no plain key: the chain is the only way in
    with smp_bench(tmp_path) as bench:
        options = UpdateOptions(journal_dir=tmp_path / "journal", profile=fast_profile(), operator="pytest")
        UpdateProcedure(package_loader(path, keyring), bench.connect, bench.db, bench.sink, options).run()
        bench.close_targets()
        (session,) = bench.db.sessions()
    signers = recorded_signers(session)
    assert [s.role for s in signers] == ["manifest", "image"]
    assert signers[0].certificate_subject == "CN=bmsflasher DEMO signer,O=bmsflasher demo"
    assert signers[0].certificate_fingerprint is not None
    assert len(signers[0].certificate_fingerprint) == 64
    assert dataclasses.asdict(signers[0])["key_id"].startswith("b15e1b6cd29c2e1f")  # the demo key
