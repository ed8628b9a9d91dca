"""Test peers for the RS485 rack: a register-bank module behind the ``sim.modbus`` seam, a raw RTU client.

``RegisterModule`` has exactly the seam's shape (``address``, ``handle(pdu, *, broadcast)``,
``late_by_s()``) and the smallest Modbus application a bus test needs: holding registers read
(0x03), written one (0x06) or many (0x10), exceptions 0x01 / 0x02 / 0x03. Register 0 holds the
module's chain position + 1 and register 1 its address at creation, so two modules sharing an
address answer *different* bytes (their collision is visible). The bus tests use it so they guard
the wire alone, whatever the real module's register map becomes.

The raw client frames by hand: the CRC is computed bit by bit here (not the sim's table, not the
tool's client), and an answer is read until the line has been quiet for a while.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

import serial

EXC_ILLEGAL_FUNCTION = 0x01
EXC_ILLEGAL_ADDRESS = 0x02
EXC_ILLEGAL_VALUE = 0x03
REGISTERS = 256


def crc16(data: bytes) -> int:
    """CRC-16/Modbus, bit by bit."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            lsb = crc & 1
            crc >>= 1
            if lsb:
                crc ^= 0xA001
    return crc


def frame(address: int, pdu: bytes) -> bytes:
    body = bytes([address]) + pdu
    return body + struct.pack("<H", crc16(body))


def crc_ok(data: bytes) -> bool:
    return len(data) >= 4 and crc16(data[:-2]) == struct.unpack("<H", data[-2:])[0]


def read_request(address: int, register: int, count: int) -> bytes:
    return frame(address, struct.pack(">BHH", 0x03, register, count))


def write_request(address: int, register: int, value: int) -> bytes:
    return frame(address, struct.pack(">BHH", 0x06, register, value))


def registers_of(answer: bytes) -> list[int]:
    """The values of a good 0x03 answer frame."""
    assert crc_ok(answer), answer.hex()
    assert answer[1] == 0x03, answer.hex()
    count = answer[2] // 2
    return list(struct.unpack(f">{count}H", answer[3 : 3 + 2 * count]))


class RegisterModule:
    """A module with 256 holding registers; the seam's signature exactly."""

    def __init__(self, address: int, index: int = 0) -> None:
        self.address = address
        self.registers = [0] * REGISTERS
        self.registers[0] = index + 1
        self.registers[1] = address
        self.broadcasts = 0
        self.requests = 0
        self.late_s = 0.0

    def late_by_s(self) -> float:
        return self.late_s

    def handle(self, pdu: bytes, *, broadcast: bool) -> bytes | None:
        if broadcast:
            self.broadcasts += 1
        else:
            self.requests += 1
        response = self._answer(pdu)
        return None if broadcast else response

    def _answer(self, pdu: bytes) -> bytes:
        function = pdu[0]
        if function == 0x03 and len(pdu) == 5:
            start, count = struct.unpack(">HH", pdu[1:5])
            if not 1 <= count <= 125:
                return bytes([0x83, EXC_ILLEGAL_VALUE])
            if start + count > REGISTERS:
                return bytes([0x83, EXC_ILLEGAL_ADDRESS])
            values = self.registers[start : start + count]
            return bytes([0x03, 2 * count]) + struct.pack(f">{count}H", *values)
        if function == 0x06 and len(pdu) == 5:
            register, value = struct.unpack(">HH", pdu[1:5])
            if register >= REGISTERS:
                return bytes([0x86, EXC_ILLEGAL_ADDRESS])
            self.registers[register] = value
            return pdu
        if function == 0x10 and len(pdu) >= 6:
            start, count, size = struct.unpack(">HHB", pdu[1:6])
            if size != 2 * count or len(pdu) != 6 + size:
                return bytes([0x90, EXC_ILLEGAL_VALUE])
            if start + count > REGISTERS:
                return bytes([0x90, EXC_ILLEGAL_ADDRESS])
            self.registers[start : start + count] = struct.unpack(f">{count}H", pdu[6:])
            return pdu[:5]
        return bytes([(function | 0x80) & 0xFF, EXC_ILLEGAL_FUNCTION])


def register_modules(addresses: list[int] | tuple[int, ...]) -> list[RegisterModule]:
    return [RegisterModule(address, index) for index, address in enumerate(addresses)]


@contextmanager
def open_port(path: str, baud: int, parity: str = "E", stopbits: int = 1) -> Iterator[serial.Serial]:
    """Open the rack's pty like a USB-RS485 adapter (retrying while the bus puts the line back to idle)."""
    deadline = time.monotonic() + 5.0
    while True:
        try:
            port = serial.Serial(path, baud, parity=parity, stopbits=stopbits, timeout=0)
            break
        except Exception:  # termios.error: the previous close not yet noticed (see rs485_pty)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    try:
        yield port
    finally:
        port.close()


def transact(port: serial.Serial, request: bytes, *, timeout_s: float = 1.0, quiet_s: float = 0.05) -> bytes:
    """Send ``request`` and return every byte that comes back until the line is quiet after the first."""
    port.reset_input_buffer()
    port.write(request)
    return collect(port, timeout_s=timeout_s, quiet_s=quiet_s)


def collect(port: serial.Serial, *, timeout_s: float, quiet_s: float = 0.05) -> bytes:
    """Bytes received until ``quiet_s`` of silence after the first, or nothing within ``timeout_s``."""
    data = bytearray()
    deadline = time.monotonic() + timeout_s
    last = 0.0
    while True:
        chunk = port.read(4096)
        now = time.monotonic()
        if chunk:
            data.extend(chunk)
            last = now
        elif data and now - last >= quiet_s:
            return bytes(data)
        elif not data and now >= deadline:
            return b""
        time.sleep(0.001)
