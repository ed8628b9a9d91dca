"""Recovery checks model, hardware revision and anti-rollback like an update (issue 14).

``recover`` once wrote a package built for VBMS-32 into a VBMS-16 in recovery mode and said
"Recovered" (exit 0). Over MCUboot serial recovery (SMP on a real pty) the bootloader cannot say
which model it is, so the technician must name it from the label — and the package is checked
against it before the first write. Over UDS the recovery bootloader reports its identity itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, package, smp_bench, uds_bench

from bmsflasher.core.errors import IncompatibleDeviceError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import DEMO_EXPIRES, DemoRelease, build_demo_image
from bmsflasher.firmware.errors import WrongModelError
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.procedure import build_keyring, load_package
from bmsflasher.procedure.recovery import recover_recorded
from bmsflasher.procedure.recovery_checks import DeclaredIdentity


def vbms32_package(folder: Path) -> Path:
    """A genuine, correctly signed release — for another model."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    image = build_demo_image(key, DemoRelease("1.1.0", 1, "healthy", "VBMS-32 release"))
    spec = PackageSpec(
        model="VBMS-32",
        hardware_revisions=("B", "C"),
        version=FirmwareVersion.parse("1.1.0"),
        security_counter=1,
        expires=DEMO_EXPIRES,
    )
    path = folder / "VBMS-32-1.1.0.bmspkg"
    path.write_bytes(build_package(spec, image, key))
    return path


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={"BMSFLASHER_LANG": "en", "PATH": "/usr/bin:/bin", "HOME": str(home)},
    )


def port_args(bench) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--port", bench.link.port, "--baud", str(bench.link.baud)]


def test_recovery_with_a_package_for_another_model_is_refused_and_flash_unchanged(tmp_path: Path) -> None:
    wrong = vbms32_package(tmp_path)
    db = str(tmp_path / "h.sqlite3")
    with smp_bench(tmp_path, recovery=True) as bench:
        before = bench.device.identity().slots
        result = cli(
            "recover", str(wrong), *port_args(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes",
            "--model", "VBMS-16", "--hw-rev", "C", home=tmp_path,
        )  # fmt: skip
        after = bench.device.identity()
    assert result.returncode == WrongModelError.exit_code, result.stdout + result.stderr
    assert "is for model VBMS-32, not VBMS-16" in result.stderr
    assert "Recovered" not in result.stdout
    assert after.slots == before  # flash unchanged
    assert after.mode.value == "recovery"


def test_recovery_without_a_provable_model_is_refused_until_the_technician_names_it(tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite3")
    with smp_bench(tmp_path, recovery=True) as bench:
        before = bench.device.identity().slots
        silent = cli(
            "recover", str(package(HEALTHY)), *port_args(bench), "--trust", str(DEMO_PUB),
            "--db", db, "--yes", home=tmp_path,
        )  # fmt: skip
        unchanged = bench.device.identity().slots
        named = cli(
            "recover", str(package(HEALTHY)), *port_args(bench), "--trust", str(DEMO_PUB),
            "--db", db, "--yes", "--model", "VBMS-16", "--hw-rev", "C", home=tmp_path,
        )  # fmt: skip
        after = bench.device.identity()
    assert silent.returncode == IncompatibleDeviceError.exit_code, silent.stdout + silent.stderr
    assert "does not report its model" in silent.stderr
    assert "--model" in silent.stderr
    assert unchanged == before
    assert named.returncode == 0, named.stdout + named.stderr
    assert after.firmware_version == FirmwareVersion.parse("1.1.0")


def test_a_declared_model_that_contradicts_the_device_is_refused(tmp_path: Path) -> None:
    """Over UDS the recovery bootloader reports its identity: a typo'd label cannot override it."""
    update = load_package(package(HEALTHY), build_keyring([DEMO_PUB], folder=tmp_path / "no-keys"))
    with uds_bench(tmp_path, recovery=True) as bench:
        target = bench.connect()
        identity = target.identify()
        if identity.model.lower().startswith("unknown"):
            pytest.fail("the UDS recovery bootloader is expected to report its model (VBMS-16)")
        before = bench.device.identity().slots
        with pytest.raises(WrongModelError, match="reports model VBMS-16, but VBMS-32 was named"):
            recover_recorded(target, update, bench.db, bench.sink, declared=DeclaredIdentity("VBMS-32"))
        assert bench.device.identity().slots == before


def test_uds_recovery_checks_the_reported_model_without_a_declaration(tmp_path: Path) -> None:
    wrong = vbms32_package(tmp_path)
    update = load_package(wrong, build_keyring([DEMO_PUB], folder=tmp_path / "no-keys"))
    with uds_bench(tmp_path, recovery=True) as bench:
        target = bench.connect()
        before = bench.device.identity().slots
        with pytest.raises(WrongModelError, match="is for model VBMS-32, not VBMS-16"):
            recover_recorded(target, update, bench.db, bench.sink)
        assert bench.device.identity().slots == before
        (session,) = bench.db.sessions()
        assert (session.kind, session.outcome) == ("recovery", "failed")
