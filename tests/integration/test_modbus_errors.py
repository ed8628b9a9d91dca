"""What the RS485 line and the module can do wrong, and the one clear error (or quiet success) for each.

Every case runs the real client against real virtual modules on the rack's bus: a wrong address
(silence), line settings that differ from the module's (garbled frames), two modules at one address
(colliding answers), an adapter that echoes what it sends, a module that answers late, a module
that is busy erasing, a register the module does not have in its mode, and a refused value.
"""

from __future__ import annotations

import time

import pytest
from modbus_support import pty_modules

from bmsflasher.core.errors import (
    DeviceRejectedError,
    NoResponseError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import t
from bmsflasher.procedure import open_target
from bmsflasher.protocols.modbus import vendor_map as vm
from bmsflasher.protocols.modbus.target import ModbusTarget
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import Parity

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")


def test_a_wrong_address_is_silence_that_names_what_was_tried() -> None:
    with pty_modules((1,), baud=115_200, parity="E") as (bench, _host):
        started = time.monotonic()
        with pytest.raises(NoResponseError) as silent:
            bench.open(address=42)
        assert time.monotonic() - started < 5.0  # bounded: three tries
    message = silent.value.message
    assert "address 42" in message
    assert "@ 115200 baud 8E1" in message
    assert "corrupted" not in message
    assert "address and line settings" in str(silent.value.hint)


def test_other_line_settings_than_the_modules_are_named_with_the_silence() -> None:
    """The modules drop a frame with parity errors (the serial line spec): the host hears nothing."""
    with pty_modules((1,), baud=115_200, parity="E") as (bench, _host):
        with pytest.raises(NoResponseError) as silent:
            bench.open(parity="O")  # odd parity against an even-parity bus
    assert "@ 115200 baud 8O1" in silent.value.message  # the settings that were tried
    assert "(baud, parity, stop bits)" in str(silent.value.hint)


def test_two_modules_at_one_address_collide() -> None:
    with pty_modules((3, 3), rack_options=RackOptions(parity=Parity.EVEN, addresses=(3, 3))) as (
        bench,
        _host,
    ):
        with pytest.raises(NoResponseError) as collided:
            bench.open()
    assert "corrupted frames" in collided.value.message  # both answered: their bits collided
    assert "two modules share this address" in str(collided.value.hint)


def test_an_echoing_adapter_is_recognised_and_its_echo_skipped() -> None:
    options = RackOptions(parity=Parity.EVEN, echo=True)
    with pty_modules((1,), rack_options=options) as (bench, _host):
        target = bench.open()
        assert isinstance(target, ModbusTarget)
        assert target.session.echoes is True
        target.identify()
        target.write_config(target.read_config())  # writes, whose answers equal the request, too
        target.set_balancing(0, True)
        assert bench.device.telemetry().balancing[0]


def test_a_module_that_answers_late_is_waited_for() -> None:
    with pty_modules((1,)) as (bench, _host):
        bench.rack.set_late(0, 0.3)
        target = bench.open()
        assert target.identify().serial_number == bench.device.serial_number
        assert target.link_stats().retries == 0


def test_a_late_answer_to_an_earlier_read_is_not_taken_for_the_next_one() -> None:
    """Modbus RTU has no transaction number: the module answers a read the tool gave up on while
    the tool waits for its next read. The late answer has another register count and is dropped."""
    from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

    with pty_modules((1,)) as (bench, _host):
        target = bench.open()
        assert isinstance(target, ModbusTarget)
        session = target.session
        base = 40000  # the SunSpec marker and the common model
        expected = session.execute(ReadHoldingRegistersRequest(address=base, count=4), t("a read")).registers
        bench.rack.set_late(0, 0.8)  # longer than one try's wait (0.5 s plus the wire time)
        with pytest.raises(NoResponseError):
            session.execute(ReadHoldingRegistersRequest(address=base, count=60), t("a read"), attempts=1)
        bench.rack.set_late(0, 0.0)
        answer = session.execute(ReadHoldingRegistersRequest(address=base, count=4), t("a read"), attempts=1)
        assert answer.registers == expected


def test_a_busy_module_is_waited_out() -> None:
    """PREPARE of a 192 KiB image erases 48 sectors (about 1 s): meanwhile the module answers 06."""
    from modbus_support import sim_options

    with pty_modules((1,), sim=sim_options(erase_time_s_per_sector=0.02)) as (bench, _host):
        target = bench.open()
        assert isinstance(target, ModbusTarget)
        flash, sectors = bench.device.flash, 48
        for sector in range(sectors):  # old data: every sector needs its erase
            flash.write(flash.geometry.slot_offset(1) + sector * flash.geometry.sector_size, b"\x00" * 8)
        access = target._access
        size = sectors * flash.geometry.sector_size
        access.write(vm.PARAMETERS, [size >> 16, size & 0xFFFF, *[0] * 16, 1], t("the image parameters"))
        access.write(vm.COMMAND, [vm.Command.PREPARE], t("the upload preparation"))
        started = time.monotonic()
        identity = target.identify()  # answered 06 until the erase is over, then read
        assert time.monotonic() - started > 0.3, "the module was not busy: nothing was waited out"
        assert identity.serial_number == bench.device.serial_number
        assert bench.rack.bus.stats.requests > 3


def test_registers_the_module_lacks_and_values_it_refuses_are_named() -> None:
    with pty_modules((1,)) as (bench, _host):
        target = bench.open()
        assert isinstance(target, ModbusTarget)
        with pytest.raises(
            DeviceRejectedError, match=r"address 1 refused the command \(exception 03"
        ) as refused:
            target._access.write(vm.COMMAND, [99], t("the command"))
        assert refused.value.code == 3
        bench.device.enter_bootloader()
        with pytest.raises(UnsupportedOperationError, match="no SunSpec register map"):
            target.read_telemetry()  # the bootloader serves no SunSpec chain
        assert target.identify().mode.value == "bootloader"


def test_a_dead_bus_is_no_answer_after_a_bounded_wait() -> None:
    with pty_modules((1,)) as (bench, _host):
        bench.rack.break_chain_after(0)
        started = time.monotonic()
        with pytest.raises(NoResponseError):
            open_target(bench.link, timeout_s=1.0)
        assert time.monotonic() - started < 5.0
