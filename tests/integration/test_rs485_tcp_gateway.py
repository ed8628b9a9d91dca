"""The virtual rack behind a Modbus TCP gateway on 127.0.0.1: same bus, same faults, gateway exceptions.

pymodbus's TCP client is the independent peer; a raw socket checks the MBAP framing itself.
"""

from __future__ import annotations

import itertools
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.pdu import ExceptionResponse

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.modbus_rack import ModbusRack, create_rack_devices
from bmsflasher.sim.wire.modbus_tcp_gateway import GatewayHost, ModbusTcpGateway
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity
from rs485_support import RegisterModule

E1_19200 = LineSettings(19_200, Parity.EVEN, 1)
SIM = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
TIMEOUT_S = 0.3


@contextmanager
def gateway_rack(
    addresses: tuple[int, ...], rack: RackOptions | None = None, *, timeout_s: float = TIMEOUT_S
) -> Iterator[tuple[ModbusRack, ModbusTcpGateway]]:
    devices = create_rack_devices(SIM, len(addresses))
    positions = itertools.count()

    def factory(_device: VirtualBms, address: int) -> RegisterModule:
        return RegisterModule(address, next(positions))

    host = GatewayHost(E1_19200)
    try:
        built = ModbusRack(devices, addresses, host, E1_19200, rack=rack, factory=factory)
        gateway = ModbusTcpGateway(built.bus, host, addresses, timeout_s=timeout_s)
        with built, gateway:
            yield built, gateway
    finally:
        for device in devices:
            device.close()


@contextmanager
def tcp_client(gateway: ModbusTcpGateway) -> Iterator[ModbusTcpClient]:
    client = ModbusTcpClient(gateway.host, port=gateway.tcp_port, timeout=3, retries=0)
    assert client.connect()
    try:
        yield client
    finally:
        client.close()


def exception_code(result: object) -> int | None:
    return result.exception_code if isinstance(result, ExceptionResponse) else None


def test_the_gateway_reaches_every_module_by_unit_id() -> None:
    with gateway_rack((1, 2, 7)) as (rack, gateway), tcp_client(gateway) as client:
        for index, address in enumerate(rack.addresses):
            result = client.read_holding_registers(0, count=2, device_id=address)
            assert not result.isError(), result
            assert result.registers == [index + 1, address]
        assert not client.write_registers(20, [1, 2, 3], device_id=7).isError()
        assert client.read_holding_registers(20, count=3, device_id=7).registers == [1, 2, 3]
        assert rack.bus.stats.requests == 5


def test_the_gateway_passes_the_modules_own_exceptions_on() -> None:
    with gateway_rack((1,)) as (_rack, gateway), tcp_client(gateway) as client:
        assert exception_code(client.read_holding_registers(250, count=10, device_id=1)) == 0x02


def test_an_unknown_unit_gets_0x0a_and_a_silent_one_0x0b() -> None:
    with gateway_rack((1, 2, 3), RackOptions(chain_break_after=2)) as (rack, gateway):
        with tcp_client(gateway) as client:
            assert exception_code(client.read_holding_registers(0, count=1, device_id=9)) == 0x0A
            assert rack.bus.stats.frames_from_host == 0  # 0x0A is answered without the bus
            started = time.monotonic()
            assert exception_code(client.read_holding_registers(0, count=1, device_id=3)) == 0x0B
            assert time.monotonic() - started >= TIMEOUT_S
            assert not client.read_holding_registers(0, count=1, device_id=2).isError()
        assert gateway.exceptions == {0x0A: 1, 0x0B: 1}


def test_colliding_modules_and_a_module_too_late_get_0x0b() -> None:
    rack_options = RackOptions(late=((3, 2 * TIMEOUT_S), (4, TIMEOUT_S / 3)))
    with gateway_rack((1, 2, 2, 3, 4), rack_options) as (_rack, gateway), tcp_client(gateway) as client:
        assert exception_code(client.read_holding_registers(0, count=2, device_id=2)) == 0x0B
        assert exception_code(client.read_holding_registers(0, count=2, device_id=3)) == 0x0B
        started = time.monotonic()
        late_but_in_time = client.read_holding_registers(0, count=2, device_id=4)
        assert late_but_in_time.registers == [5, 4]
        assert time.monotonic() - started >= TIMEOUT_S / 3
        time.sleep(2 * TIMEOUT_S)  # let the very late answer pass before the next request
        assert client.read_holding_registers(0, count=2, device_id=1).registers == [1, 1]


def test_unit_zero_is_a_broadcast_nobody_answers() -> None:
    with gateway_rack((1, 2, 3)) as (rack, gateway), tcp_client(gateway) as client:
        client.write_register(9, 0x55AA, device_id=0, no_response_expected=True)
        deadline = time.monotonic() + 5
        while any(m.registers[9] != 0x55AA for m in rack.modules if isinstance(m, RegisterModule)):
            assert time.monotonic() < deadline, "the broadcast did not reach every module"
            time.sleep(0.01)
        assert rack.bus.stats.broadcasts == 1
        assert rack.bus.stats.answers == 0
        assert client.read_holding_registers(9, count=1, device_id=2).registers == [0x55AA]


def test_raw_mbap_framing_and_a_malformed_header_closes_the_connection() -> None:
    with gateway_rack((5,)) as (_rack, gateway):
        with socket.create_connection((gateway.host, gateway.tcp_port), timeout=3) as sock:
            sock.sendall(struct.pack(">HHHB", 0x1234, 0, 6, 5) + struct.pack(">BHH", 0x03, 0, 2))
            reply = _read(sock, 7 + 1 + 1 + 4)
            assert struct.unpack(">HHHB", reply[:7]) == (0x1234, 0, 7, 5)
            assert reply[7:] == bytes([0x03, 4, 0, 1, 0, 5])
            sock.sendall(struct.pack(">HHHB", 1, 7, 6, 5) + struct.pack(">BHH", 0x03, 0, 2))
            assert sock.recv(16) == b""  # protocol id 7 is not Modbus: hung up


def test_a_gateway_answer_takes_at_least_its_serial_line_time() -> None:
    with gateway_rack((1,)) as (_rack, gateway), tcp_client(gateway) as client:
        count = 100
        started = time.monotonic()
        assert len(client.read_holding_registers(0, count=count, device_id=1).registers) == count
        elapsed = time.monotonic() - started
    line_time = (8 + 5 + 2 * count) * E1_19200.char_time_s + E1_19200.frame_gap_s
    assert elapsed >= line_time


def _read(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            pytest.fail(f"connection closed after {data.hex()}")
        data.extend(chunk)
    return bytes(data)
