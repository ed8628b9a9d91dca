"""Modbus request PDUs as a server parses them, and its answers (Modbus Application Protocol v1.1b3).

Written from the specification, not with pymodbus's request classes the tool's client uses, so a
misreading shared by client and server cannot pass unseen. Every check that the specification
answers with an exception raises :class:`ModbusException` with that code; nothing else is raised.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

READ_HOLDING_REGISTERS: Final = 0x03
WRITE_SINGLE_REGISTER: Final = 0x06
WRITE_MULTIPLE_REGISTERS: Final = 0x10
READ_FILE_RECORD: Final = 0x14
WRITE_FILE_RECORD: Final = 0x15
WRITE_FUNCTIONS: Final = frozenset({WRITE_SINGLE_REGISTER, WRITE_MULTIPLE_REGISTERS, WRITE_FILE_RECORD})
"""What a broadcast (unit 0) may carry: writes, executed by every module and answered by none."""

MAX_READ_REGISTERS: Final = 125
MAX_WRITE_REGISTERS: Final = 123
MAX_PDU_BYTES: Final = 253
FILE_REFERENCE_TYPE: Final = 6
_SUB_REQUEST: Final = struct.Struct(">BHHH")  # reference type, file, record, length in registers


class ExceptionCode(enum.IntEnum):
    """The exception codes this module answers."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    SERVER_DEVICE_BUSY = 0x06


class ModbusException(Exception):  # noqa: N818 - the specification's own word
    """A request the module answers with an exception PDU (function | 0x80, code)."""

    def __init__(self, code: ExceptionCode) -> None:
        super().__init__(code.name)
        self.code = code


@dataclass(frozen=True, slots=True)
class FileRecordRef:
    """One sub-request of function 0x14 / 0x15: a record of a file (and, to write, its data)."""

    file: int
    record: int
    registers: int
    data: bytes = b""


def exception_pdu(function: int, code: ExceptionCode) -> bytes:
    """The exception answer to ``function``."""
    return bytes([function | 0x80, code])


def registers_to_bytes(values: list[int] | tuple[int, ...]) -> bytes:
    """Registers as their big-endian bytes."""
    return b"".join(value.to_bytes(2, "big") for value in values)


def bytes_to_registers(data: bytes) -> list[int]:
    """Big-endian register values of ``data`` (an odd length is padded with 0x00)."""
    padded = data + b"\x00" * (len(data) % 2)
    return [int.from_bytes(padded[i : i + 2], "big") for i in range(0, len(padded), 2)]


def _illegal_value() -> ModbusException:
    return ModbusException(ExceptionCode.ILLEGAL_DATA_VALUE)


def parse_read_registers(data: bytes) -> tuple[int, int]:
    """Function 0x03: (start address, quantity 1..125)."""
    if len(data) != 4:
        raise _illegal_value()
    address, quantity = struct.unpack(">HH", data)
    if not 1 <= quantity <= MAX_READ_REGISTERS:
        raise _illegal_value()
    if address + quantity > 0x10000:
        raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
    return address, quantity


def read_registers_answer(values: list[int]) -> bytes:
    """Function 0x03's answer: byte count, then the registers."""
    return bytes([READ_HOLDING_REGISTERS, 2 * len(values)]) + registers_to_bytes(values)


def parse_write_single(data: bytes) -> tuple[int, int]:
    """Function 0x06: (address, value)."""
    if len(data) != 4:
        raise _illegal_value()
    address, value = struct.unpack(">HH", data)
    return address, value


def parse_write_multiple(data: bytes) -> tuple[int, list[int]]:
    """Function 0x10: (start address, values); quantity 1..123 and a byte count that matches."""
    if len(data) < 5:
        raise _illegal_value()
    address, quantity, byte_count = struct.unpack(">HHB", data[:5])
    values = data[5:]
    if not 1 <= quantity <= MAX_WRITE_REGISTERS or byte_count != 2 * quantity or len(values) != byte_count:
        raise _illegal_value()
    if address + quantity > 0x10000:
        raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
    return address, bytes_to_registers(values)


def write_multiple_answer(address: int, quantity: int) -> bytes:
    """Function 0x10's answer: start address and quantity."""
    return struct.pack(">BHH", WRITE_MULTIPLE_REGISTERS, address, quantity)


def parse_read_file(data: bytes) -> list[FileRecordRef]:
    """Function 0x14: the sub-requests (byte count 0x07..0xF5, seven bytes each, reference type 6)."""
    if not data or not 0x07 <= data[0] <= 0xF5 or data[0] % _SUB_REQUEST.size or len(data) != 1 + data[0]:
        raise _illegal_value()
    refs = []
    for offset in range(1, len(data), _SUB_REQUEST.size):
        ref_type, file, record, registers = _SUB_REQUEST.unpack_from(data, offset)
        _check_reference(ref_type, file, record)
        refs.append(FileRecordRef(file, record, registers))
    return refs


def read_file_answer(records: list[bytes]) -> bytes:
    """Function 0x14's answer: per record its length byte (data + reference type), 6, the data.

    Raises:
        ModbusException: the answer would not fit one PDU (illegal data value).
    """
    body = b"".join(bytes([len(record) + 1, FILE_REFERENCE_TYPE]) + record for record in records)
    if 2 + len(body) > MAX_PDU_BYTES:
        raise _illegal_value()
    return bytes([READ_FILE_RECORD, len(body)]) + body


def parse_write_file(data: bytes) -> list[FileRecordRef]:
    """Function 0x15: the sub-requests with their data (byte count 0x09..0xFB, reference type 6)."""
    if not data or not 0x09 <= data[0] <= 0xFB or len(data) != 1 + data[0]:
        raise _illegal_value()
    refs = []
    offset = 1
    while offset < len(data):
        if offset + _SUB_REQUEST.size > len(data):
            raise _illegal_value()
        ref_type, file, record, registers = _SUB_REQUEST.unpack_from(data, offset)
        offset += _SUB_REQUEST.size
        end = offset + 2 * registers
        if registers == 0 or end > len(data):
            raise _illegal_value()
        _check_reference(ref_type, file, record)
        refs.append(FileRecordRef(file, record, registers, data[offset:end]))
        offset = end
    return refs


def _check_reference(ref_type: int, file: int, record: int) -> None:
    """Reference type 6, file 1..0xFFFF and record 0..9999, or the specification's exception 02."""
    if ref_type != FILE_REFERENCE_TYPE or file == 0 or record > 9999:
        raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
