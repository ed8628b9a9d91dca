"""Firmware update of one battery module over Modbus RTU, end to end on the rack's RS485 bus.

The CLI's ``flash`` updates a module with the same ``.bmspkg`` packages as over SMP and UDS: a
healthy image is confirmed, one whose self-test fails is rolled back. A transfer broken by a pulled
adapter, or by the module losing power, resumes from what the module holds (read back first).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from pathlib import Path

import pytest
from modbus_support import pty_modules, signed_image, sim_options, small_package

from bmsflasher.cli.main import main
from bmsflasher.core.errors import SignatureError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import NO_RESUME, ResumePolicy
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import generate_key
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.procedure.results import EXIT_ROLLED_BACK
from bmsflasher.protocols.modbus.target import ModbusTarget

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")

DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
PACKAGES = resource_path("demo", "packages")


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def flash(package: Path, link_args: list[str], workdir: Path) -> tuple[int, str]:
    code, out, err = run_cli(
        "flash", str(package), *link_args, "--trust", str(DEMO_PUB),
        "--db", str(workdir / "history.sqlite3"), "--yes", "--timeout", "10",
    )  # fmt: skip
    return code, out + err


# The demo packages hold about 260 KiB images: 1100 records across the paced bus, ~25 s each.
DEMO_SIZED = pytest.mark.slow


@pytest.mark.parametrize("demo", [False, pytest.param(True, marks=DEMO_SIZED)], ids=["small", "demo-package"])
def test_a_healthy_update_of_one_module_is_confirmed(tmp_path: Path, data_home: Path, demo: bool) -> None:
    del data_home
    package = PACKAGES / "VBMS-16-1.1.0.bmspkg" if demo else small_package(tmp_path, "1.1.0")
    with pty_modules((1, 2), sim=sim_options(noise_mv=0.0)) as (bench, _host):
        args = bench.cli_link_args()
        args[args.index("--address") + 1] = "2"
        code, output = flash(package, args, tmp_path)
        assert code == 0, output
        updated, untouched = bench.devices[1].identity(), bench.devices[0].identity()
    assert updated.firmware_version == FirmwareVersion(1, 1, 0)
    assert next(s for s in updated.slots if s.active).confirmed
    assert untouched.firmware_version == FirmwareVersion(1, 0, 0)  # the other module on the bus


@pytest.mark.parametrize("demo", [False, pytest.param(True, marks=DEMO_SIZED)], ids=["small", "demo-package"])
def test_a_module_whose_self_test_fails_is_rolled_back(tmp_path: Path, data_home: Path, demo: bool) -> None:
    del data_home
    package = (
        PACKAGES / "VBMS-16-1.2.0-selftest-fail.bmspkg"
        if demo
        else small_package(tmp_path, "1.2.0", behaviour="selftest-fail")
    )
    with pty_modules(sim=sim_options(noise_mv=0.0)) as (bench, _host):
        code, output = flash(package, bench.cli_link_args(), tmp_path)
        assert code == EXIT_ROLLED_BACK, output
        running = bench.device.identity()
    assert running.firmware_version == FirmwareVersion(1, 0, 0)
    assert next(s for s in running.slots if s.active).confirmed


def test_a_transfer_broken_by_a_pulled_adapter_resumes_where_it_stopped() -> None:
    image = signed_image("1.1.0", 64 * 1024)
    with pty_modules() as (bench, host):
        target = bench.open(timeout_s=10.0)
        assert isinstance(target, ModbusTarget)
        progress: list[int] = []
        pulled: list[int] = []

        def pull_half_way(done: int, total: int) -> None:
            progress.append(done)
            # After record 140 (141 records, 33 558 bytes): not a whole 8-byte flash write unit, so
            # the last record's tail still waits in the module's RAM when the read-back asks for it.
            if not pulled and done >= 141 * 238:
                pulled.append(done)
                host._port.unplug()  # type: ignore[attr-defined]  # the USB-RS485 adapter is pulled
                threading.Timer(0.3, host.plug).start()

        target.upload_image(image, pull_half_way, resume=ResumePolicy(2, 10.0))
        resumed = progress[progress.index(pulled[0]) + 1 :]
        report = target.last_transfer
        assert report is not None
        assert report.records_held_at_start > 0  # the second transfer started from the module's records
        assert min(resumed) >= pulled[0] // 2, "the transfer restarted from the beginning"
        assert bench.device.image_bytes(1)[: len(image)] == image


def test_a_transfer_broken_by_a_power_cut_resumes_from_the_flash(monkeypatch: pytest.MonkeyPatch) -> None:
    image = signed_image("1.1.0", 64 * 1024)
    with pty_modules() as (bench, _host):
        target = bench.open(timeout_s=10.0)
        assert isinstance(target, ModbusTarget)
        read_back: list[int] = []
        access = target._access  # the read-back before resuming is what this test is about
        original = access.read_record

        def noting(file: int, record: int, length: int, what: object) -> bytes:
            if file == 1:
                read_back.append(record)
            return original(file, record, length, what)  # type: ignore[arg-type]

        monkeypatch.setattr(access, "read_record", noting)
        cut: list[int] = []

        def cut_power_half_way(done: int, total: int) -> None:
            if not cut and done > total // 2:
                cut.append(done)
                bench.device.power_off()
                threading.Timer(1.0, bench.device.power_on).start()

        target.upload_image(image, cut_power_half_way, resume=ResumePolicy(2, 10.0))
        assert read_back, "the module's last held record was not read back before resuming"
        assert 0 < read_back[0] * 238 < cut[0]
        assert bench.device.image_bytes(1)[: len(image)] == image


def test_an_image_the_bootloader_would_refuse_is_stopped_before_a_test_boot() -> None:
    stranger = generate_key()
    payload = hashlib.shake_256(b"stranger").digest(8 * 1024)
    image = build_image(payload, version=FirmwareVersion(1, 1, 0), security_counter=1, key=stranger)
    with pty_modules() as (bench, _host):
        target = bench.open()
        with pytest.raises(SignatureError, match="The module refused the image verification"):
            target.upload_image(image, resume=NO_RESUME)
        assert not bench.device.verify_slot(1)
