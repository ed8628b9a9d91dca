"""A rack update over the two other ways to reach a rack: a Modbus TCP gateway, an echoing adapter.

Behind the gateway the broadcast is a unit-0 MBAP request that the gateway forwards and nobody
answers; the transfer must wait for the gateway's own RS485 pace, or the modules' next questions
queue behind the image and time out. Many USB-RS485 adapters hear their own transmission: every
broadcast record comes back to the host as an echo that no answer follows, and must not be taken
for the next module's answer.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from modbus_support import pty_modules, signed_image, sim_options, small_package, tcp_modules
from test_modbus_update import DEMO_PUB, run_cli

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.protocols.modbus.broadcast import BroadcastTransfer
from bmsflasher.protocols.modbus.session import ModbusSession, character_bits
from bmsflasher.protocols.modbus.target import ModbusTarget
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import Parity

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")

RECORD_BYTES = 238


def _updated_everywhere(report: dict[str, object], addresses: tuple[int, ...]) -> None:
    modules = report["modules"]
    assert isinstance(modules, list)
    assert [m["address"] for m in modules] == list(addresses), report
    for module in modules:
        assert module["outcome"] == "updated", module
        assert module["to_version"] == "1.1.0"


@pytest.mark.parametrize("modules", [2, pytest.param(8, marks=pytest.mark.slow)])
def test_rack_update_over_the_tcp_gateway_confirms_every_module(
    tmp_path: Path, data_home: Path, modules: int
) -> None:
    del data_home
    package = small_package(tmp_path, "1.1.0")
    addresses = tuple(range(1, modules + 1))
    with tcp_modules(addresses, baud=115_200, sim=sim_options(noise_mv=0.0)) as bench:
        code, out, err = run_cli(
            "rack-update", str(package), "--tcp", bench.link.tcp, "--addresses", f"1-{modules}",
            "--trust", str(DEMO_PUB), "--db", str(tmp_path / "history.sqlite3"), "--yes", "--json",
        )  # fmt: skip
        identities = [device.identity() for device in bench.devices]
        broadcasts = bench.rack.bus.stats.broadcasts
    assert code == 0, out + err
    report = json.loads(out)
    _updated_everywhere(report, addresses)
    records = -(-len(signed_image("1.1.0", 16 * 1024)) // RECORD_BYTES)
    # The image crossed the gateway once, to unit 0, and no module needed records of its own.
    assert report["broadcast_records"] == records
    assert broadcasts >= records
    assert all(m["repaired_records"] == 0 for m in report["modules"]), report
    for identity in identities:
        assert identity.firmware_version == FirmwareVersion(1, 1, 0)
        assert next(s for s in identity.slots if s.active).confirmed


def test_rack_update_needs_a_port_or_a_gateway(tmp_path: Path) -> None:
    package = small_package(tmp_path, "1.1.0")
    code, _out, err = run_cli("rack-update", str(package), "--addresses", "1-2", "--yes")
    assert code == ConfigValidationError.exit_code, err  # the CLI's usage errors
    assert "--port --tcp is required" in err


def test_a_broadcast_through_an_echoing_adapter_reaches_every_module(tmp_path: Path) -> None:
    """Every record comes back as an echo; the modules still hold the image and verify it.

    A 0x06 command's answer repeats the request: with the echo unknown, the adapter's copy was
    taken for the module's answer, the next request collided with the real one and the module
    never saw its PREPARE (found by this test).
    """
    del tmp_path
    image = signed_image("1.1.0", 12 * 1024)
    addresses = (1, 2, 3)
    options = RackOptions(parity=Parity.NONE, echo=True)
    with pty_modules(addresses, baud=115_200, parity="N", rack_options=options) as (bench, _host):
        base = bench.open()
        assert isinstance(base, ModbusTarget)
        targets = [base] + [
            ModbusTarget(base.session.link, dataclasses.replace(bench.link, address=a)) for a in addresses[1:]
        ]
        bits = character_bits("N", 1)
        session = ModbusSession(base.session.link, address=0, tcp=False, char_bits=bits, where="test")
        report = BroadcastTransfer(session, [t.access for t in targets]).run(1, image, char_s=bits / 115_200)
        echoed = bench.rack.bus.stats.echo_bytes
        slots = [device.identity().slots for device in bench.devices]
    assert not report.failures, report.failures
    # Records lost on a loaded machine go out again (to unit 0 or to one module); none is left out.
    assert report.records_broadcast >= report.records_total
    assert sorted(report.repairs) == list(addresses)
    assert echoed >= len(image), "the adapter did not echo the broadcast"
    assert all(t.session.echoes for t in targets), "an echo went unnoticed"
    for module_slots in slots:
        pending = next(s for s in module_slots if not s.active)
        assert pending.version == FirmwareVersion(1, 1, 0)


def test_a_broadcast_through_the_gateway_waits_for_its_pace() -> None:
    """The gateway forwards each unit-0 record at its RS485 pace: no question times out behind them."""
    # 0.5 s: unsynchronised, the image's ~100 records queue ~1.5 s of line time ahead of a question (red
    # with TCP_SYNC_RECORDS raised to 4000); 0.2 s also failed when a loaded host delayed the gateway thread.
    image = signed_image("1.1.0", 12 * 1024)
    addresses = (1, 2, 3)
    with tcp_modules(addresses, baud=115_200, gateway_timeout_s=0.5) as bench:
        base = bench.open()
        assert isinstance(base, ModbusTarget)
        targets = [base] + [
            ModbusTarget(base.session.link, dataclasses.replace(bench.link, address=a)) for a in addresses[1:]
        ]
        bits = character_bits("E", 1)
        session = ModbusSession(base.session.link, address=0, tcp=True, char_bits=bits, where="test")
        report = BroadcastTransfer(session, [t.access for t in targets]).run(1, image, char_s=bits / 115_200)
        timeouts = [t.session.stats().timeouts for t in targets]
        broadcasts = bench.rack.bus.stats.broadcasts
    assert not report.failures, report.failures
    assert broadcasts >= report.records_total
    assert timeouts == [0, 0, 0], "a module's question waited behind queued broadcasts"
