"""``verify`` against the connected device gives ``flash``'s verdict (issue 13: they once disagreed).

The virtual BMS runs bootloader 2.1.0; a package that needs 3.0.0 must be refused by both for that
reason (``verify`` as a package error, exit 3; ``flash`` by its precondition gate, exit 2), and
``verify`` must not write anything to find that out.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from pathlib import Path

from proc_support import DEMO_PUB, HEALTHY, package, smp_bench

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.sim.device.scenarios import make_image

V = FirmwareVersion.parse
NEEDS = "needs bootloader 3.0.0 or newer; the device has 2.1.0"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _needs_newer_bootloader(folder: Path) -> Path:
    """A demo-signed 1.1.0 release for VBMS-16 rev C that asks for bootloader 3.0.0."""
    demo_key = resource_path("demo", "demo-key.pem")
    image = make_image("1.1.0", security_counter=2, signing_key=demo_key)
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=("C",),
        version=V("1.1.0"),
        security_counter=2,
        min_bootloader_version=V("3.0.0"),
    )
    path = folder / "needs-bootloader-3.bmspkg"
    path.write_bytes(build_package(spec, image, load_private_key_file(demo_key)))
    return path


def test_verify_and_flash_refuse_a_package_for_a_newer_bootloader_alike(
    tmp_path: Path, data_home: Path
) -> None:
    pkg = str(_needs_newer_bootloader(tmp_path))
    db = str(tmp_path / "history.sqlite3")
    with smp_bench(tmp_path) as bench:
        device = ["--port", bench.link.port, "--baud", str(bench.link.baud)]
        verified = cli("verify", pkg, "--trust", str(DEMO_PUB), *device)
        as_json = cli("verify", pkg, "--trust", str(DEMO_PUB), *device, "--json")
        flashed = cli("flash", pkg, "--trust", str(DEMO_PUB), *device, "--db", db, "--yes")
        identity = bench.device.identity()
    assert verified.returncode == 3, verified.stdout + verified.stderr
    assert NEEDS in verified.stderr
    report = json.loads(as_json.stdout)
    assert report["valid"] is False
    assert NEEDS in report["message"]
    assert flashed.returncode == 2, flashed.stdout + flashed.stderr  # refused by a precondition
    assert "bootloader version is 2.1.0 (limit >= 3.0.0)" in " ".join(flashed.stdout.split())
    assert identity.firmware_version == V("1.0.0")


def test_verify_against_the_device_shows_each_check(tmp_path: Path, data_home: Path) -> None:
    with smp_bench(tmp_path) as bench:
        device = ["--port", bench.link.port, "--baud", str(bench.link.baud)]
        shown = cli("verify", str(package(HEALTHY)), "--trust", str(DEMO_PUB), *device)
        as_json = cli("verify", str(package(HEALTHY)), "--trust", str(DEMO_PUB), *device, "--json")
        serial = bench.device.identity().serial_number
        both = cli("verify", str(package(HEALTHY)), "--trust", str(DEMO_PUB), *device, "--model", "VBMS-16")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Valid: VBMS-16 1.1.0")
    assert f"Fits device {serial}:" in shown.stdout
    for check in ("model", "hardware revision", "bootloader version", "anti rollback"):
        assert f"✓ {check}:" in shown.stdout, check
    report = json.loads(as_json.stdout)
    assert report["device"]["serial_number"] == serial
    assert {c["name"] for c in report["checks"]} >= {"model", "hardware_revision", "anti_rollback"}
    assert both.returncode == 8  # typed facts and a device at once: which one counts?
    assert "not both" in both.stderr
