"""The virtual rack's RS485 bus through a real pty: what a USB-RS485 adapter on a rack would show.

The modules are real virtual BMS devices on the rack builder, each served here by a small
register-bank module with exactly the ``sim.modbus`` seam's shape (``rs485_support``), so these
tests guard the wire alone. The host is pyserial with RTU frames built and checked in the test
(CRC bit by bit), and pymodbus's own serial client as an independent peer.

pymodbus's serial client changes the port's settings right after opening it, which glibc refuses
on a pty when parity is on (see ``sim/wire/rs485_pty.py``): it runs against racks without parity
here, and against an 8E1 rack through the TCP gateway (test_rs485_tcp_gateway.py).
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymodbus.client import ModbusSerialClient

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.modbus_rack import ModbusRack, create_rack_devices
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity
from bmsflasher.sim.wire.rs485_pty import PtyBusHost
from rs485_support import (
    RegisterModule,
    collect,
    crc_ok,
    frame,
    open_port,
    read_request,
    registers_of,
    transact,
    write_request,
)

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")

E1_19200 = LineSettings(19_200, Parity.EVEN, 1)
SIM = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)


@contextmanager
def pty_rack(
    addresses: tuple[int, ...],
    settings: LineSettings = E1_19200,
    rack: RackOptions | None = None,
    *,
    module_type: type[RegisterModule] = RegisterModule,
) -> Iterator[tuple[ModbusRack, PtyBusHost]]:
    """A rack of register modules on a pty, as ``sim --protocol modbus --link pty`` builds it."""
    devices = create_rack_devices(SIM, len(addresses))
    positions = itertools.count()

    def factory(_device: VirtualBms, address: int) -> RegisterModule:
        return module_type(address, next(positions))

    hidden = settings.parity if settings.parity in (Parity.NONE, Parity.EVEN) else Parity.NONE
    host = PtyBusHost(even_or_none=hidden)
    host.plug()
    try:
        with ModbusRack(devices, addresses, host, settings, rack=rack, factory=factory) as built:
            yield built, host
    finally:
        host.close()
        for device in devices:
            device.close()


def modules(rack: ModbusRack) -> list[RegisterModule]:
    found = [module for module in rack.modules if isinstance(module, RegisterModule)]
    assert len(found) == len(rack.modules)
    return found


def test_each_module_answers_its_own_address() -> None:
    with pty_rack((3, 4, 5, 6)) as (rack, host), open_port(host.path, 19_200, "E") as port:
        for index, address in enumerate(rack.addresses):
            answer = transact(port, read_request(address, 0, 2))
            assert answer[0] == address
            assert registers_of(answer) == [index + 1, address]
        assert transact(port, read_request(9, 0, 2), timeout_s=0.3) == b""  # nobody has address 9
        assert rack.bus.stats.unanswered == 1
        assert [rack.bus.slot_stats(i).requests for i in range(4)] == [1, 1, 1, 1]


def test_a_pause_of_more_than_three_and_a_half_characters_ends_a_frame() -> None:
    settings = LineSettings(9600, Parity.EVEN, 1)  # 3.5 characters: 4 ms
    with pty_rack((1,), settings) as (rack, host), open_port(host.path, 9600, "E") as port:
        request = read_request(1, 0, 2)
        port.write(request[:3])
        port.write(request[3:])  # while the first part is still on the line: one frame
        assert registers_of(collect(port, timeout_s=1.0)) == [1, 1]
        port.write(request[:3])
        time.sleep(0.05)  # a pause of many characters: the modules see two broken frames
        port.write(request[3:])
        assert collect(port, timeout_s=0.3) == b""
        assert rack.bus.stats.crc_errors == 2
        assert rack.bus.stats.requests == 1


def test_pymodbus_serial_client_reads_and_writes_every_module() -> None:
    settings = LineSettings(38_400, Parity.NONE, 2)
    with pty_rack((1, 2, 3), settings) as (rack, host):
        client = ModbusSerialClient(host.path, baudrate=38_400, parity="N", stopbits=2, timeout=1, retries=0)
        assert client.connect()
        try:
            for index, address in enumerate(rack.addresses):
                result = client.read_holding_registers(0, count=2, device_id=address)
                assert not result.isError()
                assert result.registers == [index + 1, address]
                assert not client.write_registers(10, [address, 0xBEEF], device_id=address).isError()
            for module in modules(rack):
                assert module.registers[10:12] == [module.address, 0xBEEF]
        finally:
            client.close()


class ChattyModule(RegisterModule):
    """A module whose firmware wrongly answers broadcasts: the bus must still keep them silent."""

    def handle(self, pdu: bytes, *, broadcast: bool) -> bytes | None:
        super().handle(pdu, broadcast=broadcast)
        return self._answer(pdu)


def test_broadcast_reaches_every_module_and_nobody_answers() -> None:
    with pty_rack((1, 2, 3, 4)) as (rack, host), open_port(host.path, 19_200, "E") as port:
        assert transact(port, write_request(0, 5, 0x1234), timeout_s=0.4) == b""
        for module in modules(rack):
            assert module.registers[5] == 0x1234
            assert module.broadcasts == 1
        assert rack.bus.stats.broadcasts == 1
        assert rack.bus.stats.answers == 0
    with (
        pty_rack((1, 2), module_type=ChattyModule) as (rack, host),
        open_port(host.path, 19_200, "E") as port,
    ):
        assert transact(port, write_request(0, 6, 0x4321), timeout_s=0.4) == b""
        assert [module.registers[6] for module in modules(rack)] == [0x4321, 0x4321]
        assert rack.bus.stats.answers == 0


def test_odd_parity_against_an_even_rack_is_dropped_by_every_module() -> None:
    with pty_rack((1, 2)) as (rack, host):
        with open_port(host.path, 19_200, "O") as port:
            assert transact(port, read_request(1, 0, 2), timeout_s=0.3) == b""
        assert rack.bus.stats.parity_errors >= 1
        assert rack.bus.stats.requests == 0
        with open_port(host.path, 19_200, "E") as port:  # the same port at the right settings answers
            assert registers_of(transact(port, read_request(1, 0, 2))) == [1, 1]


def test_parity_on_the_host_against_a_rack_without_reads_answers_with_bad_crcs() -> None:
    # The 8N1 modules take the host's parity bit for a stop bit and answer; the host, sampling an
    # 11-bit frame out of back-to-back 10-bit characters, loses step: CRC errors, not answers.
    with pty_rack((1,), LineSettings(19_200, Parity.NONE, 1)) as (rack, host):
        with open_port(host.path, 19_200, "O") as port:
            answer = transact(port, read_request(1, 0, 4), timeout_s=0.5)
        assert answer
        assert not crc_ok(answer)
        assert rack.bus.stats.answers == 1


def test_a_baud_mismatch_gives_no_answer() -> None:
    with pty_rack((1,)) as (rack, host):
        for baud in (9600, 38_400):
            with open_port(host.path, baud, "E") as port:
                answer = transact(port, read_request(1, 0, 2), timeout_s=0.3)
            assert not crc_ok(answer)
        stats = rack.bus.stats
        assert stats.requests == 0
        assert stats.parity_errors + stats.crc_errors >= 2


def test_two_stop_bits_against_one_garble_the_answer() -> None:
    with pty_rack((1,), LineSettings(19_200, Parity.NONE, 1)) as (_rack, host):
        with open_port(host.path, 19_200, "N", stopbits=2) as port:
            answer = transact(port, read_request(1, 0, 4), timeout_s=0.5)
        assert answer
        assert not crc_ok(answer)


def test_an_echoing_adapter_returns_the_request_before_the_answer() -> None:
    with pty_rack((1, 2), LineSettings(19_200, Parity.NONE, 1), RackOptions(echo=True)) as (rack, host):
        request = read_request(2, 0, 2)
        with open_port(host.path, 19_200, "N") as port:
            received = transact(port, request)
        assert received[: len(request)] == request
        assert registers_of(received[len(request) :]) == [2, 2]
        assert rack.bus.stats.echo_bytes == len(request)
        rack.set_echo(False)
        client = ModbusSerialClient(host.path, baudrate=19_200, parity="N", timeout=1, retries=0)
        assert client.connect()
        try:
            assert client.read_holding_registers(0, count=2, device_id=1).registers == [1, 1]
            rack.set_echo(True)
            client.close()
            echoing = ModbusSerialClient(
                host.path, baudrate=19_200, parity="N", timeout=1, retries=0, handle_local_echo=True
            )
            assert echoing.connect()
            try:
                assert echoing.read_holding_registers(0, count=2, device_id=1).registers == [1, 1]
            finally:
                echoing.close()
        finally:
            client.close()


def test_two_modules_with_one_address_collide() -> None:
    with pty_rack((1, 2, 2, 3)) as (rack, host), open_port(host.path, 19_200, "E") as port:
        answer = transact(port, read_request(2, 0, 2))
        assert answer, "both modules answered: the host must see bytes"
        assert not crc_ok(answer)
        assert rack.bus.slot_stats(1).answers == rack.bus.slot_stats(2).answers == 1
        assert registers_of(transact(port, read_request(1, 0, 2))) == [1, 1]
        assert registers_of(transact(port, read_request(3, 0, 2))) == [4, 3]
        rack.set_address(2, 4)  # re-address the second one: no more collision
        assert registers_of(transact(port, read_request(2, 0, 2))) == [2, 2]
        assert registers_of(transact(port, read_request(4, 0, 2))) == [3, 2]


def test_a_broken_chain_silences_the_modules_past_the_break() -> None:
    with pty_rack((1, 2, 3, 4), rack=RackOptions(chain_break_after=2)) as (rack, host):
        with open_port(host.path, 19_200, "E") as port:
            assert registers_of(transact(port, read_request(1, 0, 2))) == [1, 1]
            assert registers_of(transact(port, read_request(2, 0, 2))) == [2, 2]
            assert transact(port, read_request(3, 0, 2), timeout_s=0.3) == b""
            assert transact(port, read_request(4, 0, 2), timeout_s=0.3) == b""
            assert transact(port, write_request(0, 7, 99), timeout_s=0.3) == b""
            assert [module.registers[7] for module in modules(rack)] == [99, 99, 0, 0]
            rack.break_chain_after(None)
            assert registers_of(transact(port, read_request(4, 0, 2))) == [4, 4]


def test_a_late_module_answers_late() -> None:
    late_s = 0.4
    with pty_rack((1, 2), rack=RackOptions(late=((2, late_s),))) as (_rack, host):
        with open_port(host.path, 19_200, "E") as port:
            started = time.monotonic()
            assert registers_of(transact(port, read_request(1, 0, 2), quiet_s=0.02)) == [1, 1]
            on_time = time.monotonic() - started
            port.reset_input_buffer()
            port.write(read_request(2, 0, 2))
            started = time.monotonic()
            assert collect(port, timeout_s=late_s / 2) == b""  # a host with a short timeout gives up
            answer = collect(port, timeout_s=2.0, quiet_s=0.02)
            elapsed = time.monotonic() - started
        assert registers_of(answer) == [2, 2]
        assert elapsed >= late_s
        assert on_time < late_s


def test_an_answer_waits_until_the_host_has_finished_sending() -> None:
    # Module 1 answers 0.15 s late; by then the host has started a long frame to nobody (~280 ms
    # at 9600 8E1). Half duplex holds the answer until the host is done, so it arrives whole
    # (the adapter hears nothing while it sends: an answer on top of it would be cut).
    settings = LineSettings(9600, Parity.EVEN, 1)
    with pty_rack((1,), settings, RackOptions(late=((1, 0.15),))) as (rack, host):
        with open_port(host.path, 9600, "E") as port:
            filler = frame(99, bytes([0x10]) + bytes(240))
            port.write(read_request(1, 0, 2))
            time.sleep(0.05)  # well past the request's end and its 3.5-character gap
            started = time.monotonic()
            port.write(filler)
            answer = collect(port, timeout_s=3.0)
            elapsed = time.monotonic() - started
        assert registers_of(answer) == [1, 1]
        assert elapsed >= len(filler) * settings.char_time_s
        assert rack.bus.stats.answers == 1


def test_a_request_and_its_answer_take_at_least_their_line_time() -> None:
    settings = E1_19200
    count = 100
    with pty_rack((1,), settings) as (_rack, host), open_port(host.path, 19_200, "E") as port:
        request = read_request(1, 0, count)
        answer_size = 5 + 2 * count
        port.reset_input_buffer()
        started = time.monotonic()
        port.write(request)
        answer = bytearray()
        while len(answer) < answer_size and time.monotonic() - started < 5.0:
            answer.extend(port.read(answer_size - len(answer)))
        elapsed = time.monotonic() - started
    assert registers_of(bytes(answer))[:2] == [1, 1]
    line_time = (len(request) + answer_size) * settings.char_time_s + settings.frame_gap_s
    assert line_time > 0.12  # 213 eleven-bit characters at 19200 baud
    assert elapsed >= line_time


def test_a_module_that_is_off_says_nothing() -> None:
    class PoweredModule(RegisterModule):
        def __init__(self, device: VirtualBms, address: int) -> None:
            super().__init__(address)
            self.device = device

        def handle(self, pdu: bytes, *, broadcast: bool) -> bytes | None:
            from bmsflasher.sim.errors import SimPoweredOffError

            if not self.device.powered:
                raise SimPoweredOffError("off")
            return super().handle(pdu, broadcast=broadcast)

    devices = create_rack_devices(SIM, 2)
    host = PtyBusHost(even_or_none=Parity.EVEN)
    host.plug()
    try:
        with (
            ModbusRack(devices, (1, 2), host, E1_19200, factory=PoweredModule),
            open_port(host.path, 19_200, "E") as port,
        ):
            devices[1].power_off()
            assert transact(port, read_request(2, 0, 1), timeout_s=0.3) == b""
            assert crc_ok(transact(port, read_request(1, 0, 1)))
            devices[1].power_on()
            assert struct.unpack(">H", transact(port, read_request(2, 1, 1))[3:5]) == (2,)
    finally:
        host.close()
        for device in devices:
            device.close()


def test_the_real_modules_answer_by_address_and_take_a_broadcast() -> None:
    # sim.modbus's own application layer (create_module) behind the bus: each address reads its
    # own SunSpec common model (DA is the unit address, SN the device's serial), and one broadcast
    # write of model 802's CtrlHb (40070 + 19) reaches every module.
    sunspec_da, sunspec_sn, ctrl_hb = 40068, 40052, 40089
    devices = create_rack_devices(SIM, 3)
    host = PtyBusHost(even_or_none=Parity.EVEN)
    host.plug()
    try:
        with ModbusRack(devices, (4, 5, 6), host, E1_19200), open_port(host.path, 19_200, "E") as port:
            for address, device in zip((4, 5, 6), devices, strict=True):
                assert registers_of(transact(port, read_request(address, sunspec_da, 1))) == [address]
                serial = transact(port, read_request(address, sunspec_sn, 16))
                assert serial[3:35].rstrip(b"\x00").decode() == device.serial_number
            assert transact(port, write_request(0, ctrl_hb, 4242), timeout_s=0.4) == b""
            for address in (4, 5, 6):
                assert registers_of(transact(port, read_request(address, ctrl_hb, 1))) == [4242]
    finally:
        host.close()
        for device in devices:
            device.close()
