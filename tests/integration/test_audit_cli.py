"""Audit regressions: the device commands under hostile input, Ctrl-C and device refusals.

Each test pins a defect found by running the CLI as a demanding user: Ctrl-C during ``flash``
printed only "interrupted"; NaN/inf/huge numbers ended in tracebacks or endless sleeps; a regular
file or folder given as a serial port produced pyserial jargon; a device whose bootloader refused
the new image got "replace the cables, rerun to resume" advice (the rerun is refused forever); a
downgrade was told to "bring the battery into range"; ``monitor`` could not be time-bounded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, fast_profile, package, smp_bench

from bmsflasher.cli.main import main
from bmsflasher.core.errors import LinkError, PortNotFoundError
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import Keyring, generate_key, private_key_pem
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.links.serial import SerialLink
from bmsflasher.procedure import Journal, UpdateOptions, UpdateProcedure, package_loader
from bmsflasher.procedure.states import State
from bmsflasher.procedure.troubleshooting import FailureKind
from bmsflasher.sim.device.scenarios import make_image

V = FirmwareVersion.parse


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["flash", "p.bmspkg", "--port", "/dev/ttyX", "--baud", "abc"], "invalid int value"),
        (["info", "--port", "/dev/ttyX", "--baud", "99999999999"], "--baud must be between"),
        (["info", "--interface", "slcan", "--channel", "x", "--bitrate", "-1"], "--bitrate must be between"),
        (["info", "--port", "/dev/ttyX", "--timeout", "nan"], "--timeout must be between"),
        (["monitor", "--port", "/dev/ttyX", "--interval", "inf"], "--interval must be between"),
        (["monitor", "--port", "/dev/ttyX", "--count", "-1"], "--count must be 0"),
        (["monitor", "--port", "/dev/ttyX", "--duration", "nan"], "--duration must be"),
    ],
)
def test_bad_numbers_are_one_sentence_with_the_option_code(
    argv: list[str], fragment: str, data_home: Path
) -> None:
    code, _out, err = run_cli(*argv)
    assert code == 8, err  # never 2: that is flash's "refused by a precondition"
    assert fragment in err
    assert "Traceback" not in err


def test_what_is_not_a_serial_port_says_so(tmp_path: Path) -> None:
    regular = tmp_path / "notes.txt"
    regular.write_text("x")
    for path, phrase in ((regular, "is not a serial port"), (tmp_path, "is a folder")):
        with pytest.raises(PortNotFoundError, match=phrase):
            SerialLink.open(str(path), 115_200)
    master, slave = os.openpty()
    try:
        with pytest.raises(LinkError, match="99999999999 baud"):  # was an OverflowError traceback
            SerialLink.open(os.ttyname(slave), 99_999_999_999)
    finally:
        os.close(master)
        os.close(slave)


def test_monitor_duration_bounds_the_run(tmp_path: Path, data_home: Path) -> None:
    with smp_bench(tmp_path) as bench:
        started = time.monotonic()
        code, out, err = run_cli(
            "monitor", "--port", bench.link.port, "--baud", str(bench.link.baud),
            "--interval", "0.2", "--duration", "0.5", "--json",
        )  # fmt: skip
        elapsed_s = time.monotonic() - started
    assert code == 0, err
    samples = [json.loads(line) for line in out.splitlines()]
    assert 2 <= len(samples) <= 4
    assert elapsed_s < 5


def test_ctrl_c_mid_transfer_says_how_to_resume(tmp_path: Path, data_home: Path) -> None:
    db = str(tmp_path / "history.sqlite3")
    with smp_bench(tmp_path, baud=921_600) as bench:
        args = [
            sys.executable, "-m", "bmsflasher.cli.main", "flash", str(package(HEALTHY)),
            "--port", bench.link.port, "--baud", "921600", "--trust", str(DEMO_PUB),
            "--db", db, "--yes", "--json",
        ]  # fmt: skip
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A terminal's Ctrl-C even when the suite runs as a background job (SIGINT ignored); the
            # function only resets one signal disposition, which is safe between fork and exec.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )
        try:
            deadline = time.monotonic() + 60
            while bench.device.upload_status().offset < 20_000:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the transfer never started"
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        identity = bench.device.identity()
        journal = Journal.load(bench.device.serial_number)
    assert proc.returncode == 130, err
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert result["outcome"] == "interrupted"
    assert result["step"] == "transfer"
    assert "resume the transfer" in result["resume"]
    assert f"bmsflasher flash {package(HEALTHY)} --port {bench.link.port}" in result["resume"]
    assert "Traceback" not in err
    assert "▶ Transfer the firmware" in err  # progress goes to stderr, never into the JSON
    assert identity.firmware_version == V("1.0.0")
    assert identity.mode.value == "application"
    assert journal is not None
    assert journal.state.last_started() == "transfer"


def test_a_device_that_refuses_the_image_gets_the_authentication_advice(tmp_path: Path) -> None:
    vendor = generate_key()  # the host trusts it; the device's bootloader trusts only the demo key
    key_file = tmp_path / "vendor.pem"
    key_file.write_bytes(private_key_pem(vendor))
    image = make_image("1.1.0", security_counter=2, signing_key=key_file)
    spec = PackageSpec(model="VBMS-16", hardware_revisions=("C",), version=V("1.1.0"), security_counter=2)
    path = tmp_path / "foreign.bmspkg"
    path.write_bytes(build_package(spec, image, vendor))
    keyring = Keyring()
    keyring.add(vendor, "vendor")
    # a bootloader that cannot say which key it trusts: only its check after the transfer refuses
    # (one that can say is refused before the first write: tests/integration/test_trust_signer_*)
    with smp_bench(tmp_path, reports_trusted_keys=False) as bench:
        options = UpdateOptions(journal_dir=tmp_path / "journal", profile=fast_profile())
        try:
            result = UpdateProcedure(
                package_loader(path, keyring), bench.connect, bench.db, bench.sink, options
            ).run()
        finally:
            bench.close_targets()
        identity = bench.device.identity()
    assert result.outcome is State.FAILED
    assert result.exit_code == 3
    assert "refused to test-boot the new image" in result.reason
    assert result.advice is not None
    assert result.advice.kind is FailureKind.AUTHENTICATION_REJECTION
    assert (
        Journal.load(identity.serial_number, tmp_path / "journal") is None
    )  # a rerun would be refused again
    assert identity.firmware_version == V("1.0.0")


def test_a_downgrade_is_not_told_to_bring_the_battery_into_range(tmp_path: Path) -> None:
    with smp_bench(tmp_path) as bench:
        result = bench.flash("VBMS-16-0.9.0-downgrade.bmspkg")
    assert result.outcome is State.REFUSED
    assert "anti rollback" in result.reason
    # Issue 14: advice follows the cause — the anti-rollback row, never "bring the battery into range"
    # nor the boot-loop row's "roll back to the last stable version".
    assert result.advice is not None
    assert result.advice.kind is FailureKind.DOWNGRADE_REFUSED
    assert "roll back" not in result.advice.resolution.lower()


def test_a_battery_gate_refusal_keeps_its_advice(tmp_path: Path) -> None:
    with smp_bench(tmp_path, soc_pct=10.0) as bench:
        result = bench.flash(HEALTHY)
    assert result.outcome is State.REFUSED
    assert result.advice is not None
    assert result.advice.kind is FailureKind.PRECONDITION_REFUSED


def test_silence_on_can_names_the_bitrate_and_node(tmp_path: Path) -> None:
    from dataclasses import replace

    from proc_support import uds_bench

    from bmsflasher.core.errors import NoResponseError
    from bmsflasher.procedure import open_target

    with uds_bench(tmp_path) as bench:
        wrong = replace(bench.link, bitrate=250_000)
        started = time.monotonic()
        with pytest.raises(NoResponseError, match=r"No answer from node 1 on slcan:.* at 250000 bit/s"):
            open_target(wrong, timeout_s=1.0)
        elapsed_s = time.monotonic() - started
    assert elapsed_s < 10  # bounded by the client's own timeouts
