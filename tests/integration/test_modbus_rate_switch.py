"""The negotiated line-rate switch of one Modbus RTU module, through the rack's RS485 bus behind a pty.

The bus is 19200 baud 8E1 (the Modbus default); the module offers up to 230400 in its vendor
line-rate block (0xE1C0). What is checked is where both ends settled and that the image arrived,
never a wall-clock time (the host is shared): a switch that holds, a cable that holds none of the
offered rates (the proof fails, both ends fall back, the update completes at the connect rate), an
older firmware without the block (exception 02), and the module answering at the bus rate again as
soon as the session is over (well before its own idle timer would have returned it).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from modbus_support import pty_modules, signed_image
from pymodbus.pdu.register_message import WriteMultipleRegistersRequest

from bmsflasher.firmware.mcuboot import parse_image
from bmsflasher.protocols.modbus.line_rate import LineRateOptions
from bmsflasher.protocols.modbus.target import ModbusTarget
from bmsflasher.sim.modbus.line_rate import IDLE_MS
from bmsflasher.sim.modbus.module import ModbusModule

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")

BUS_BAUD = 19_200
IMAGE = signed_image("1.1.0", 4 * 1024)
IMAGE_HASH = parse_image(IMAGE).declared_sha256


def _module(bench: object) -> ModbusModule:
    module = bench.rack.modules[0]  # type: ignore[attr-defined]
    assert isinstance(module, ModbusModule)
    return module


def _slot_hash(target: ModbusTarget) -> bytes:
    return next(s.image_hash for s in target.identify().slots if s.slot == 1)


def _answers_at_bus_rate_now(target: ModbusTarget) -> None:
    """The module answers at the bus rate at once: three tries, far inside its own idle timer."""
    started = time.monotonic()
    assert target.session.link.baud == BUS_BAUD
    assert _slot_hash(target) == IMAGE_HASH
    assert time.monotonic() - started < IDLE_MS / 1000


def test_a_switch_that_holds_carries_the_transfer_and_hands_the_module_back(data_home: Path) -> None:
    del data_home
    with pty_modules(baud=BUS_BAUD, parity="E") as (bench, _host):
        module = _module(bench)
        target = bench.open()  # the CLI's single-module path (procedure.open_target), rate memory on
        assert isinstance(target, ModbusTarget)
        target.upload_image(IMAGE)
        outcome = target.last_line_rate
        assert outcome is not None
        assert outcome.supported
        assert (outcome.connect_baud, outcome.baud) == (BUS_BAUD, 230_400)
        assert outcome.tried == [(230_400, True)]
        assert module.line_rate is not None
        assert module.line_rate.baud() == BUS_BAUD
        _answers_at_bus_rate_now(target)


def test_a_failed_proof_falls_back_on_both_sides_and_the_update_completes(data_home: Path) -> None:
    del data_home
    with pty_modules(baud=BUS_BAUD, parity="E") as (bench, _host):
        module = _module(bench)
        bench.rack.bus.faults.max_baud = BUS_BAUD  # the cable holds nothing faster than the bus rate
        options = LineRateOptions(max_baud=38_400)  # one try keeps the test short
        target = ModbusTarget.connect(bench.link, line_rate=options)
        try:
            target.upload_image(IMAGE)
            outcome = target.last_line_rate
            assert outcome is not None
            assert outcome.tried == [(38_400, False)]
            assert outcome.baud == BUS_BAUD
            assert module.line_rate is not None
            assert module.line_rate.switches == 1
            assert module.line_rate.fallbacks == 1
            assert module.line_rate.idle_returns == 0  # back by its proof timer, not its later idle timer
            assert module.line_rate.baud() == BUS_BAUD
            _answers_at_bus_rate_now(target)
        finally:
            target.close()


def test_a_firmware_without_the_block_stays_at_the_connect_rate(data_home: Path) -> None:
    del data_home
    with pty_modules(baud=BUS_BAUD, parity="E") as (bench, _host):
        _module(bench).without_line_rate()
        target = ModbusTarget.connect(bench.link, line_rate=LineRateOptions())
        try:
            target.upload_image(IMAGE)
            outcome = target.last_line_rate
            assert outcome is not None
            assert not outcome.supported
            assert outcome.baud == BUS_BAUD
            assert outcome.tried == []
            assert _slot_hash(target) == IMAGE_HASH
        finally:
            target.close()


def test_a_broadcast_never_switches_the_line() -> None:
    """A rate write to unit 0 is refused (nobody may answer it, and the bus keeps one rate)."""
    with pty_modules(addresses=(1, 2), baud=BUS_BAUD, parity="E") as (bench, _host):
        target = ModbusTarget.connect(bench.link)
        try:
            target.session.broadcast(
                WriteMultipleRegistersRequest(address=0xE1C0, registers=[0x0003, 0x8400]), 0.05
            )
            time.sleep(0.2)
            for module in bench.rack.modules:
                assert isinstance(module, ModbusModule)
                assert module.line_rate is not None
                assert module.line_rate.baud() == BUS_BAUD
            target.ping()  # an answer after the broadcast must not carry out a switch it left pending
            time.sleep(0.05)
            for module in bench.rack.modules:
                assert isinstance(module, ModbusModule)
                assert module.line_rate is not None
                assert module.line_rate.baud() == BUS_BAUD
        finally:
            target.close()
