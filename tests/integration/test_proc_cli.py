"""The device commands as a technician runs them: separate processes against a virtual BMS on a pty."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, package, smp_bench, uds_bench

from bmsflasher.cli.main import main
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.procedure import Journal

V = FirmwareVersion.parse


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in this process (same code path as the console script, without start-up cost)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def cli_process(*args: str, timeout_s: float = 90.0) -> subprocess.CompletedProcess[str]:
    """Run the CLI as its own process (for what only a separate process can show: a SIGKILL)."""
    return subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def target(bench) -> list[str]:  # type: ignore[no-untyped-def]
    link = bench.link
    if link.kind == "serial":
        return ["--port", link.port, "--baud", str(link.baud)]
    return [
        "--interface",
        link.interface,
        "--channel",
        link.channel,
        "--bitrate",
        str(link.bitrate),
        "--node",
        "1",
    ]


def test_info_json_names_identity_and_slots(tmp_path: Path, data_home: Path) -> None:
    with smp_bench(tmp_path) as bench:
        done = cli("info", *target(bench), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    for key in ("model", "serial_number", "hardware_revision", "firmware_version", "bootloader_version"):
        assert info[key], key
    assert info["model"] == "VBMS-16"
    assert info["firmware_version"] == "1.0.0"
    assert info["protocol"] == "smp"
    active = [s for s in info["slots"] if s["active"]]
    assert len(active) == 1
    assert active[0]["confirmed"]
    assert active[0]["version"] == "1.0.0"


def test_backup_change_restore_leaves_an_empty_diff(tmp_path: Path, data_home: Path) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    with smp_bench(tmp_path) as bench:
        backup = cli("backup", *target(bench), "--db", db, "--json")
        assert backup.returncode == 0, backup.stderr
        backup_id = json.loads(backup.stdout)["backup_id"]
        original = bench.device.config().parameters["cell_overvoltage_mv"]
        bench.device.set_parameters({"cell_overvoltage_mv": int(original) - 50})
        bench.device.save_config()
        changed = cli("config", "diff", *target(bench), "--db", db, "--json")
        restore = cli("restore", *target(bench), "--db", db, "--yes", "--json")
        after = cli("config", "diff", *target(bench), "--db", db, "--json")
        value_after = bench.device.saved_config().parameters["cell_overvoltage_mv"]
    diff = json.loads(changed.stdout)
    assert not diff["empty"]
    assert [c["name"] for c in diff["changes"]] == ["cell_overvoltage_mv"]
    assert diff["changes"][0]["old"] == original
    assert restore.returncode == 0, restore.stderr
    assert json.loads(restore.stdout)["written"] == ["cell_overvoltage_mv"]
    assert json.loads(restore.stdout)["backup_id"] == backup_id
    assert json.loads(after.stdout)["empty"] is True
    assert value_after == original


def test_flash_exit_codes_and_refusal_message(tmp_path: Path, data_home: Path) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    with smp_bench(tmp_path, soc_pct=15.0) as bench:
        done = cli(
            "flash", str(package(HEALTHY)), *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes"
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "state of charge is 15.0 %" in done.stdout
    no_trust = cli("flash", str(package(HEALTHY)), "--port", "/dev/null", "--yes", "--db", db)
    assert no_trust.returncode == 3
    assert "No trusted keys" in no_trust.stderr
    assert "Traceback" not in no_trust.stderr


@pytest.mark.parametrize(
    ("command", "missing", "said"),
    [
        (["flash"], "typo.bmspkg", "The package file {path} does not exist."),
        (["recover"], "typo.bmspkg", "The package file {path} does not exist."),
        (["rack-update", "--addresses", "1"], "typo.bmspkg", "The package file {path} does not exist."),
        (["campaign"], "typo.bmsbundle", "The bundle file {path} does not exist."),
        (["verify"], "typo.bmspkg", "The package file {path} does not exist."),
        (["verify"], "typo.bmsbundle", "The bundle file {path} does not exist."),
    ],
)
def test_a_mistyped_release_path_is_named_before_the_empty_keyring(
    tmp_path: Path, data_home: Path, command: list[str], missing: str, said: str
) -> None:
    """No trusted keys and a path that does not exist: the technician is told about the path (exit 3)."""
    path = tmp_path / missing
    link = [] if command == ["verify"] else ["--port", "/dev/null", "--yes"]
    done = cli(*command, str(path), *link)
    assert done.returncode == 3, done.stdout + done.stderr
    assert said.format(path=path) in done.stderr
    assert "No trusted keys" not in done.stderr
    assert "Traceback" not in done.stderr


def test_safety_gate_override_is_refused_up_front(tmp_path: Path, data_home: Path) -> None:
    done = cli(
        "flash", str(package(HEALTHY)), "--port", "/dev/null", "--trust", str(DEMO_PUB), "--yes",
        "--override", "state_of_charge=customer in a hurry",
    )  # fmt: skip
    assert done.returncode == 2
    assert "safety gate and cannot be overridden" in done.stderr


@pytest.mark.parametrize("protocol", [pytest.param("smp"), pytest.param("uds", marks=pytest.mark.slow)])
def test_sigkill_mid_transfer_then_rerun_resumes_and_finishes(
    tmp_path: Path, data_home: Path, protocol: str
) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    bench_of = (
        smp_bench(tmp_path, baud=921_600) if protocol == "smp" else uds_bench(tmp_path, bitrate=500_000)
    )
    with bench_of as bench:
        serial = bench.device.serial_number
        args = [
            sys.executable, "-m", "bmsflasher.cli.main", "flash", str(package(HEALTHY)),
            *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes",
        ]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = bench.device.upload_status()
                if status.total and status.offset > status.total * 0.3:
                    break
                assert proc.poll() is None, "flash ended before the transfer was half-way"
                time.sleep(0.02)
            else:
                pytest.fail("the transfer never reached 30 %")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        held = bench.device.upload_status().offset
        journal = Journal.load(serial)
        assert journal is not None
        assert journal.state.last_started() == "transfer"
        assert bench.device.identity().firmware_version == V("1.0.0")
        time.sleep(0.5)  # let the sim notice the closed port
        rerun = cli_process(
            "flash", str(package(HEALTHY)), *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes"
        )
        identity = bench.device.identity()
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    resumed_at = re.search(r"the device holds (\d+) of (\d+) bytes", rerun.stdout)
    assert resumed_at is not None, rerun.stdout
    assert int(resumed_at.group(1)) >= held // 2 > 0
    assert "Resuming the update interrupted during 'transfer'" in rerun.stdout.replace("\n", " ")
    assert identity.firmware_version == V("1.1.0")
    assert Journal.load(serial) is None


def build_release(tmp_path: Path, version: str, counter: int) -> Path:
    """A healthy demo release signed with the demo key (e.g. a same-counter fix the device may leave)."""
    from bmsflasher.core.resources import resource_path
    from bmsflasher.firmware.demo_assets import DEMO_EXPIRES, DemoRelease, build_demo_image
    from bmsflasher.firmware.keys import load_private_key_file
    from bmsflasher.firmware.package import PackageSpec, build_package

    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    image = build_demo_image(key, DemoRelease(version, counter, "healthy", "test release"))
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=("C",),
        version=V(version),
        security_counter=counter,
        expires=DEMO_EXPIRES,
    )
    path = tmp_path / f"VBMS-16-{version}.bmspkg"
    path.write_bytes(build_package(spec, image, key))
    return path


def test_manual_rollback_after_an_update(tmp_path: Path, data_home: Path) -> None:
    fix = build_release(tmp_path, "1.0.1", 1)  # same security counter: going back is allowed
    db = str(tmp_path / "cli-history.sqlite3")
    with smp_bench(tmp_path) as bench:
        flashed = cli(
            "flash", str(fix), *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes", "--json"
        )
        assert flashed.returncode == 0, flashed.stdout + flashed.stderr
        assert bench.device.identity().firmware_version == V("1.0.1")
        back = cli("rollback", *target(bench), "--db", db, "--yes", "--json")
        identity = bench.device.identity()
    assert back.returncode == 0, back.stdout + back.stderr
    report = json.loads(back.stdout)
    assert (report["from_version"], report["to_version"]) == ("1.0.1", "1.0.0")
    assert identity.firmware_version == V("1.0.0")
    assert next(s for s in identity.slots if s.active).confirmed


@pytest.mark.slow
def test_manual_rollback_below_the_security_counter_is_refused_clearly(
    tmp_path: Path, data_home: Path
) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    with smp_bench(tmp_path) as bench:
        flashed = cli(
            "flash", str(package(HEALTHY)), *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes"
        )
        assert flashed.returncode == 0, flashed.stdout + flashed.stderr
        back = cli("rollback", *target(bench), "--db", db, "--yes")
        identity = bench.device.identity()
    assert back.returncode == 6, back.stdout + back.stderr
    assert "refused to roll back from 1.1.0 to 1.0.0" in back.stderr
    assert "anti-rollback" in back.stderr
    assert "Traceback" not in back.stderr
    assert identity.firmware_version == V("1.1.0")


def test_recover_a_device_with_no_bootable_image(tmp_path: Path, data_home: Path) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    with smp_bench(tmp_path, recovery=True) as bench:
        assert bench.device.identity().mode.value == "recovery"
        refused = cli(
            "flash", str(package(HEALTHY)), *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes"
        )
        done = cli(
            "recover", str(package(HEALTHY)), *target(bench), "--trust", str(DEMO_PUB), "--db", db, "--yes",
            "--model", "VBMS-16", "--hw-rev", "C",  # read from the unit's label: serial recovery cannot tell
        )
        identity = bench.device.identity()
    assert refused.returncode == 2  # the update procedure refuses: nothing to measure in recovery
    assert "recover PKG" in refused.stdout.replace("\n", " ")
    assert done.returncode == 0, done.stdout + done.stderr
    assert identity.mode.value == "application"
    assert identity.firmware_version == V("1.1.0")
    assert next(s for s in identity.slots if s.active).confirmed
