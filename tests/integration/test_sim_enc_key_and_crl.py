"""``bmsflasher sim --enc-key FILE`` and ``--auth-crl FILE``: another device family, a revoked technician.

Both run ``bmsflasher sim --protocol uds --link slcan`` in another process and update it with
``bmsflasher flash`` (another process too), so the options are proven as a user gives them:

* a device started with another family's encryption key refuses an image encrypted for the demo
  key (its bootloader cannot unwrap the AES key) and the old image keeps running;
* a device holding its CA's revocation list answers NRC 0x57 (ISO 14229-1:2020
  certificateVerificationFailed – invalidCertificate: revoked) to a revoked technician and nothing
  is written, while a technician the list does not name updates the same device.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from auth_support import Issued, issue, make_ca, write_ca
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from uds_support import REPO, SimProcess

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.protocols.uds.target import UdsTarget

DEMO_KEY = resource_path("demo", "demo-key.pem")
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
DEMO_ENC_PUB = resource_path("demo", "encryption", "demo-enc-key.pub.pem")
PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "BMSFLASHER_LANG": "en",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "PYTHONPATH": str(REPO / "src"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", *args],
        capture_output=True, text=True, timeout=240, check=False, env=env,
    )  # fmt: skip


def flash(sim: SimProcess, home: Path, package: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        home, "flash", str(package), "--can", f"slcan:{sim.channel}", "--bitrate", str(sim.bitrate),
        "--node", "1", "--trust", str(DEMO_PUB), "--db", str(home / "history.sqlite3"), "--yes", *extra,
    )  # fmt: skip


def running(sim: SimProcess) -> tuple[FirmwareVersion | None, object]:
    """The firmware version the device runs and its slot table."""
    target = UdsTarget.open(sim.link_config())
    try:
        identity = target.identify()
        return identity.firmware_version, identity.slots
    finally:
        target.close()


def said(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())  # rich wraps long lines


# --- --enc-key: another device family ------------------------------------------------------------------
def test_an_image_for_the_demo_key_is_refused_by_another_family_and_the_old_image_keeps_running(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other-family-enc.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    firmware = tmp_path / "app.bin"
    firmware.write_bytes(bytes(range(256)) * 40)
    package = tmp_path / "VBMS-16-1.3.0.bmspkg"
    made = run_cli(
        tmp_path, "package", "--firmware", str(firmware), "--model", "VBMS-16", "--hw-rev", "B,C",
        "--version", "1.3.0", "--security-counter", "2", "--key", str(DEMO_KEY),
        "--encrypt-for", str(DEMO_ENC_PUB), "--out", str(package),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    home = tmp_path / "home"
    with SimProcess("--enc-key", str(other)) as sim:
        before = running(sim)
        assert before[0] == FirmwareVersion(1, 0, 0)
        refused = flash(sim, home, package)
        assert refused.returncode != 0, said(refused)
        assert running(sim)[0] == FirmwareVersion(1, 0, 0)  # the old image keeps running
    assert "The device rejected the uploaded image" in said(refused)


# --- --auth-crl: a revoked technician ------------------------------------------------------------------
def revocation_list(ca: Issued, *revoked: Issued) -> bytes:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - dt.timedelta(days=1))
        .next_update(now + dt.timedelta(days=30))
    )
    for who in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(who.certificate.serial_number)
            .revocation_date(now - dt.timedelta(hours=1))
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_a_revoked_technician_gets_0x57_and_nothing_is_written(tmp_path: Path) -> None:
    authority = make_ca("Workshop test CA")
    anchor = write_ca(authority, tmp_path / "ca.crt")
    carl, dana = issue(authority, "Carl Revoked"), issue(authority, "Dana Technician")
    crl = tmp_path / "ca.crl"
    crl.write_bytes(revocation_list(authority, carl))
    for name, who in (("carl", carl), ("dana", dana)):
        who.write(tmp_path / "technicians" / name, name)
        (tmp_path / "technicians" / name).chmod(0o700)
    home = tmp_path / "home"
    with SimProcess("--auth", "certificate", "--auth-ca", str(anchor), "--auth-crl", str(crl)) as sim:
        before = running(sim)
        revoked = flash(sim, home, PACKAGE, "--technician", str(tmp_path / "technicians" / "carl"))
        assert revoked.returncode != 0
        text = said(revoked)
        assert "NRC 0x57 certificateVerificationFailed-InvalidCertificate(revoked)" in text, text
        assert "has been revoked by its CA" in text
        assert running(sim) == before  # nothing was written
        done = flash(sim, home, PACKAGE, "--technician", str(tmp_path / "technicians" / "dana"))
        assert done.returncode == 0, said(done)
        assert running(sim)[0] == FirmwareVersion(1, 1, 0)


def test_a_revocation_list_the_trusted_ca_did_not_sign_is_refused_at_start(tmp_path: Path) -> None:
    authority, forger = make_ca("Workshop test CA"), make_ca("Workshop test CA")
    anchor = write_ca(authority, tmp_path / "ca.crt")
    crl = tmp_path / "forged.crl"
    crl.write_bytes(revocation_list(forger))
    result = run_cli(
        tmp_path, "sim", "--protocol", "uds", "--link", "virtual", "--auth", "certificate",
        "--auth-ca", str(anchor), "--auth-crl", str(crl),
    )  # fmt: skip
    assert result.returncode != 0
    assert "the revocation list" in said(result)
    assert "cannot be used: the signature of" in said(result)
