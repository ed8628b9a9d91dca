"""The Modbus client's answer handling: two frames in one read, and a late answer of another shape."""

from __future__ import annotations

from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
)

from bmsflasher.protocols.modbus.session import answers_request, rtu_frame_length


def test_a_frame_right_behind_another_in_one_read_is_kept() -> None:
    framer = FramerRTU(DecodePDU(False))
    late = framer.buildFrame(ReadHoldingRegistersResponse(registers=list(range(60)), dev_id=1))
    current = framer.buildFrame(ReadHoldingRegistersResponse(registers=[9, 8, 7, 6], dev_id=1))
    used, answer = framer.handleFrame(late + current, 1, 0)
    assert answer is not None
    used = rtu_frame_length(framer, late + current, answer, used)
    assert used == len(late)
    used, answer = framer.handleFrame((late + current)[used:], 1, 0)
    assert answer is not None
    assert answer.registers == [9, 8, 7, 6]


def test_an_answer_of_another_shape_is_not_the_answer_to_this_request() -> None:
    read = ReadHoldingRegistersRequest(address=40000, count=4, dev_id=1)
    assert answers_request(read, ReadHoldingRegistersResponse(registers=[1, 2, 3, 4]))
    assert not answers_request(read, ReadHoldingRegistersResponse(registers=list(range(68))))
    write = WriteMultipleRegistersRequest(address=100, registers=[1, 2], dev_id=1)
    assert answers_request(write, WriteMultipleRegistersResponse(address=100, count=2))
    assert not answers_request(write, WriteMultipleRegistersResponse(address=200, count=2))
