"""``--no-rate-switch``: the device commands stay at the opened rate, through a whole guarded update.

A virtual BMS on a pty opened at 460800 baud offers 921600 (BMS commands 16/17). Without the
option the tool switches as soon as it has connected; with it, ``flash`` updates the device
without a single switch, before or after the reboot, and the device's UART never leaves 460800.
A Modbus module on an RS485 bus (19200 8E1, offering up to 230400) takes its transfer at the bus
rate when opened the same way.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from modbus_support import pty_modules, signed_image
from proc_support import DEMO_PUB, HEALTHY, Bench, package, smp_bench

from bmsflasher.cli.main import main
from bmsflasher.firmware.mcuboot import parse_image
from bmsflasher.procedure import open_target
from bmsflasher.protocols.modbus.target import ModbusTarget
from bmsflasher.sim.modbus.module import ModbusModule

OPENED = 460_800


def cli(*args: str) -> tuple[int, str, str]:
    """The real CLI in this process (the console script's code path)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _switches(bench: Bench) -> int:
    assert bench.front_end is not None
    assert bench.front_end.link_rate is not None
    return bench.front_end.link_rate.switches


def test_without_the_option_the_tool_switches_up(tmp_path: Path, data_home: Path) -> None:
    with smp_bench(tmp_path, baud=OPENED) as bench:
        code, out, err = cli("info", "--port", bench.link.port, "--baud", str(OPENED), "--json")
        assert code == 0, err
        assert json.loads(out)["firmware_version"] == "1.0.0"
        assert _switches(bench) >= 1  # up to 921600 (and back down when the tool closed)


def test_flash_with_no_rate_switch_stays_at_the_opened_rate(tmp_path: Path, data_home: Path) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    with smp_bench(tmp_path, baud=OPENED) as bench:
        code, out, err = cli(
            "flash", str(package(HEALTHY)), "--port", bench.link.port, "--baud", str(OPENED),
            "--no-rate-switch", "--trust", str(DEMO_PUB), "--db", db, "--yes", "--json",
        )  # fmt: skip
        assert code == 0, out + err
        assert json.loads(out)["outcome"] == "updated"
        assert _switches(bench) == 0, "the device was switched to another rate"
        assert bench.front_end is not None
        assert bench.front_end.wire.device_baud == OPENED
        assert str(bench.device.identity().firmware_version) == "1.1.0"


def test_a_modbus_module_opened_without_the_switch_takes_its_transfer_at_the_bus_rate(
    data_home: Path,
) -> None:
    """The option's Modbus half: ``open_target(rate_switch=False)`` leaves the single-module path alone."""
    bus_baud = 19_200
    image = signed_image("1.1.0", 4 * 1024)
    with pty_modules(baud=bus_baud, parity="E") as (bench, _host):
        module = bench.rack.modules[0]
        assert isinstance(module, ModbusModule)
        assert module.line_rate is not None  # the module offers faster rates ...
        target = open_target(bench.link, timeout_s=5.0, rate_switch=False)
        bench.opened.append(target)
        assert isinstance(target, ModbusTarget)
        target.upload_image(image)
        assert target.last_line_rate is None  # ... and was never asked
        assert module.line_rate.switches == 0
        assert target.session.link.baud == bus_baud
        assert next(s.image_hash for s in target.identify().slots if s.slot == 1) == (
            parse_image(image).declared_sha256
        )
