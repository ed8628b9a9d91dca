"""``bmsflasher flash`` against ``bmsflasher sim --auth certificate`` (UDS 0x29) over the slcan pty.

The technician's certificate and key sit in the user's technician credentials folder
(``<config dir>/bmsflasher/technician/NAME.crt`` + ``NAME.pem``); with them the update runs and the
service record names the certificate; without them the tool refuses with one sentence that says
the device requires certificate authentication, and nothing is written.
"""

from __future__ import annotations

import json
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


def flash(sim: SimProcess, home: Path, db: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "BMSFLASHER_LANG": "en",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONPATH": str(REPO / "src"),
    }
    return subprocess.run(
        [
            sys.executable, "-m", "bmsflasher.cli.main", "flash", str(PACKAGE),
            "--can", f"slcan:{sim.channel}", "--bitrate", str(sim.bitrate), "--node", "1",
            "--trust", str(DEMO_PUB), "--db", str(db), "--yes",
        ],
        capture_output=True, text=True, timeout=240, check=False, env=env,
    )  # fmt: skip


def slots(sim: SimProcess) -> object:
    target = UdsTarget.open(sim.link_config())
    try:
        return target.identify().slots
    finally:
        target.close()


def test_flash_authenticates_with_the_technician_certificate_and_refuses_without(tmp_path: Path) -> None:
    authority = make_ca("Workshop test CA")
    anchor = write_ca(authority, tmp_path / "ca.crt")
    technician = issue(authority, "Anna Technician")
    home = tmp_path / "home"
    db = tmp_path / "history.sqlite3"
    with SimProcess("--auth", "certificate", "--auth-ca", str(anchor), bitrate=1_000_000) as sim:
        before = slots(sim)
        refused = flash(sim, home, db)
        assert refused.returncode != 0
        said = " ".join((refused.stdout + refused.stderr).split())  # rich wraps long lines
        assert "requires certificate authentication (UDS 0x29) and no usable technician" in said
        assert "certificate is configured" in said
        assert slots(sim) == before  # nothing was written
        technician.write(home / "config" / "bmsflasher" / "technician", "anna")
        done = flash(sim, home, db)
        assert done.returncode == 0, done.stdout + done.stderr
    fingerprint = technician.certificate.fingerprint(hashes.SHA256()).hex()
    with sqlite3.connect(db) as conn:
        details = [str(row[0]) for row in conn.execute("SELECT detail FROM steps")]
    named = [d for d in details if "CN=Anna Technician" in d]
    assert named, json.dumps(details)
    assert all(fingerprint in d for d in named)
