"""``flash --technician FOLDER`` against ``bmsflasher sim --protocol uds --auth certificate`` (UDS 0x29).

A workshop keeps several technicians' credentials; ``--technician FOLDER`` names whose the device
gets, instead of the user's own folder. Without credentials anywhere the tool refuses with the one
sentence that names certificate authentication and nothing is written; with ``--technician`` the
update runs, the record names that technician, and the history's audit seal is made with the same
certificate.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from auth_support import issue, make_ca, write_ca
from cryptography.hazmat.primitives import hashes
from uds_support import REPO, SimProcess

from bmsflasher.core.resources import resource_path
from bmsflasher.protocols.uds.target import UdsTarget

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")


def flash(sim: SimProcess, home: Path, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
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
        [
            sys.executable, "-m", "bmsflasher.cli.main", "flash", str(PACKAGE),
            "--can", f"slcan:{sim.channel}", "--bitrate", str(sim.bitrate), "--node", "1",
            "--trust", str(DEMO_PUB), "--db", str(db), "--yes", *extra,
        ],
        capture_output=True, text=True, timeout=240, check=False, env=env,
    )  # fmt: skip


def slots(sim: SimProcess) -> object:
    target = UdsTarget.open(sim.link_config())
    try:
        return target.identify().slots
    finally:
        target.close()


def test_flash_with_a_technician_folder_authenticates_and_seals_with_it(tmp_path: Path) -> None:
    authority = make_ca("Workshop test CA")
    anchor = write_ca(authority, tmp_path / "ca.crt")
    bea = issue(authority, "Bea Technician")
    folder = tmp_path / "workshop" / "bea"
    bea.write(folder, "bea")
    folder.chmod(0o700)
    home = tmp_path / "home"  # no credentials of the user's own
    db = tmp_path / "history.sqlite3"
    with SimProcess("--auth", "certificate", "--auth-ca", str(anchor), bitrate=1_000_000) as sim:
        before = slots(sim)
        refused = flash(sim, home, db)
        assert refused.returncode != 0
        said = " ".join((refused.stdout + refused.stderr).split())  # rich wraps long lines
        assert "requires certificate authentication (UDS 0x29) and no usable technician" in said
        assert slots(sim) == before  # nothing was written
        done = flash(sim, home, db, "--technician", str(folder))
        assert done.returncode == 0, done.stdout + done.stderr
    fingerprint = bea.certificate.fingerprint(hashes.SHA256()).hex()
    with sqlite3.connect(db) as conn:
        details = [
            str(row[0]) for row in conn.execute("SELECT detail FROM steps WHERE step='security_access'")
        ]
        seals = list(conn.execute("SELECT signer_subject, signer_sha256 FROM audit_seals"))
    assert details
    assert all("CN=Bea Technician" in d and fingerprint in d for d in details)
    assert seals
    assert set(seals) == {("CN=Bea Technician", fingerprint)}  # sealed by the same technician
