"""The example frames of ``docs/protocols/modbus.md``, byte for byte, against the module and the client.

The document is what a vendor publishes and what another tool would be written from, so its bytes
must be what the module sends: every example request is replayed into a virtual module (in the
state the example describes) and the module must answer exactly the documented response. The CRC
of every frame is checked with a bit-by-bit CRC-16/Modbus written here, and the client's decoders
must read the documented answers as the documented values. Changing the map in the document
without the code (or the other way round) fails here.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from bmsflasher.protocols.modbus import vendor_map as vm
from bmsflasher.protocols.modbus.sunspec import decode_model, model_definition
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.modbus.module import ModbusModule, create_module
from bmsflasher.sim.options import SimOptions

DOC: Final = (Path(__file__).resolve().parents[2] / "docs" / "protocols" / "modbus.md").read_text(
    encoding="utf-8"
)
IMAGE: Final = bytes((7 * i) % 256 for i in range(1000))
"""The document's example image: 1000 bytes, byte i = 7 i mod 256."""


def _crc(data: bytes) -> bytes:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def _rows() -> dict[str, tuple[bytes, str]]:
    """Operation → (request frame, response cell) from the "Example frames" table.

    A request written in words ("the function 10 request above") or shortened with "…" is kept as
    its text encoded, so a test can name which earlier request it is.
    """
    section = DOC.split("## Example frames", 1)[1]
    rows: dict[str, tuple[bytes, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("operation", "---"):
            continue
        request = cells[1].strip("`")
        exact = cells[1].startswith("`") and "…" not in request
        rows[cells[0]] = (bytes.fromhex(request) if exact else cells[1].encode(), cells[2])
    return rows


ROWS: Final = _rows()


def _frame(cell: str) -> bytes:
    return bytes.fromhex(cell.strip("`"))


@pytest.fixture
def device() -> Iterator[VirtualBms]:
    options = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0, noise_mv=0.0)
    with VirtualBms.create(options) as bms:
        yield bms


@pytest.fixture
def module(device: VirtualBms) -> Iterator[ModbusModule]:
    built = create_module(device, 1)
    yield built
    built.close()


def replay(module: ModbusModule, operation: str) -> bytes:
    """Send the row's request; return the module's answer as a frame (address + PDU + CRC)."""
    request, _response = ROWS[operation]
    if operation == "exception 04: record 4 with no upload prepared":
        request = ROWS[WINDOW_RECORD][0]
    assert request[-2:] == _crc(request[:-2]), f"the documented CRC of '{operation}' is wrong"
    answer = module.handle(request[1:-2], broadcast=request[0] == 0)
    assert answer is not None, operation
    framed = request[:1] + answer
    return framed + _crc(framed)


def settle(module: ModbusModule) -> None:
    deadline = time.monotonic() + 5
    while module.handle(struct.pack(">BHH", 3, vm.STATUS + 1, 1), broadcast=False) == bytes([3, 2, 0, 1]):
        assert time.monotonic() < deadline
        time.sleep(0.005)


WINDOW_RECORD: Final = "record 4 through the transfer window (function 10)"


def test_the_table_has_every_operation() -> None:
    assert len(ROWS) >= 30
    for request, response in ROWS.values():
        if request.startswith((b"the ", b"`")):
            continue  # a request named in words, or shortened
        assert request[-2:] == _crc(request[:-2])
        if response.startswith("`") and "…" not in response:
            frame = _frame(response)
            assert frame[-2:] == _crc(frame[:-2])


@pytest.mark.parametrize(
    "operation",
    [
        "find the SunSpec marker",
        "model 1 header",
        "model 802 header",
        "model 805 header",
        "end of the chain",
        "802 SoC, DoD, SoH (60.00 %, not implemented, 96.00 %)",
        "vendor marker, map version, mode",
        "versions, security counter, record length, capabilities",
        "trouble codes, none stored (file 5 is `[]`)",
        "exception 01: Write Single Coil",
        "exception 02: register 0 (outside the map)",
        "exception 03: 126 registers",
    ],
)
def test_a_factory_module_answers_the_documented_bytes(module: ModbusModule, operation: str) -> None:
    assert replay(module, operation) == _frame(ROWS[operation][1])


def test_the_update_examples_in_their_order(module: ModbusModule) -> None:
    no_upload = "exception 04: record 4 with no upload prepared"
    assert ROWS[no_upload][0] == b"the function 10 request above"
    assert replay(module, no_upload) == _frame(ROWS[no_upload][1])
    params = "image parameters (1000 bytes, SHA-256 `89f4ff56…2a1ca532`, slot 1)"
    assert replay(module, params) == _frame(ROWS[params][1])
    assert replay(module, "PREPARE") == _frame(ROWS["PREPARE"][1])
    settle(module)
    status = "status after PREPARE (done, receiving 5 records, none held)"
    assert replay(module, status) == _frame(ROWS[status][1])
    assert replay(module, WINDOW_RECORD) == _frame(ROWS[WINDOW_RECORD][1])
    file_record = "record 4 as a file record (function 15, echoed)"
    assert replay(module, file_record) == ROWS[file_record][0]  # the request's bytes again
    read_back = "read back record 4 (function 14)"
    assert replay(module, read_back) == _frame(ROWS[read_back][1])
    for record in (0, 1, 3):
        data = IMAGE[238 * record : 238 * (record + 1)]
        module.handle(struct.pack(">BHHBH", 0x10, vm.WINDOW, 120, 240, record) + data, broadcast=False)
    missing = "missing records (record 2 missing of 5)"
    assert replay(module, missing) == _frame(ROWS[missing][1])


def test_the_broadcast_example_is_the_window_record_to_unit_0(
    module: ModbusModule, device: VirtualBms
) -> None:
    shortened, response = ROWS["broadcast record 4"]
    assert response == "none"
    pdu = ROWS[WINDOW_RECORD][0][1:-2]
    frame = b"\x00" + pdu + _crc(b"\x00" + pdu)
    head, tail = shortened.decode().strip("`").split(" … ")
    assert frame.hex(" ").upper().startswith(head)
    assert frame.hex(" ").upper().endswith(tail)
    replay(module, "image parameters (1000 bytes, SHA-256 `89f4ff56…2a1ca532`, slot 1)")
    replay(module, "PREPARE")
    settle(module)
    assert module.handle(pdu, broadcast=True) is None  # executed, never answered
    assert module.handle(bytes([0x14, 7, 6, 0, 1, 0, 4, 0, 24]), broadcast=False) is not None  # held


@pytest.mark.parametrize(
    "operation", ["VERIFY", "TEST", "CONFIRM", "ROLLBACK", "RESET", "SELF_TEST", "ABORT", "CLEAR_DTCS"]
)
def test_a_command_is_answered_with_its_own_bytes(module: ModbusModule, operation: str) -> None:
    assert ROWS[operation][1].startswith("echo")
    assert replay(module, operation) == ROWS[operation][0]
    settle(module)


def test_the_error_code_after_a_verify_without_an_image(module: ModbusModule) -> None:
    replay(module, "VERIFY")
    settle(module)
    operation = "the error code after a failed VERIFY (7 INCOMPLETE)"
    assert replay(module, operation) == _frame(ROWS[operation][1])


def test_balancing_and_a_configuration_write(module: ModbusModule, device: VirtualBms) -> None:
    balance = "BALANCE cell 3 on (argument `0x8003`, command 11)"
    assert replay(module, balance) == _frame(ROWS[balance][1])
    settle(module)
    write = 'configuration write buffer: `{"balance_delta_mv":11}` + space (file 3, record 0)'
    assert replay(module, write) == ROWS[write][0]
    assert replay(module, "APPLY_CONFIG, 23 bytes") == _frame(ROWS["APPLY_CONFIG, 23 bytes"][1])
    settle(module)
    assert device.saved_config().parameters["balance_delta_mv"] == 11


def test_busy_during_an_erase() -> None:
    options = SimOptions(erase_time_s_per_sector=0.05, boot_time_s=0.0, time_scale=0.0)
    with VirtualBms.create(options) as device:
        module = create_module(device, 1)
        try:
            replay(module, "image parameters (1000 bytes, SHA-256 `89f4ff56…2a1ca532`, slot 1)")
            device.flash.write(device.flash.geometry.slot_offset(1), b"\x00" * 8)  # the area needs an erase
            replay(module, "PREPARE")
            operation = "exception 06: identity read during an erase"
            assert replay(module, operation) == _frame(ROWS[operation][1])
            settle(module)
        finally:
            module.close()


def test_the_client_reads_the_documented_answers_as_the_documented_values() -> None:
    soc = _frame(ROWS["802 SoC, DoD, SoH (60.00 %, not implemented, 96.00 %)"][1])
    definition = model_definition(802)
    assert definition is not None
    registers = [0] * definition.fixed_size
    registers[0:2] = [802, 62]
    registers[11:14] = struct.unpack(">3H", soc[3:9])
    registers[56] = 0xFFFE  # SoC_SF = -2, as the table says
    registers[57] = 0x8000
    registers[58] = 0xFFFE
    points = decode_model(definition, registers).points
    assert (points["SoC"], points["DoD"], points["SoH"]) == (60.0, None, 96.0)
    status = _frame(ROWS["status after PREPARE (done, receiving 5 records, none held)"][1])
    decoded = vm.status_of([*struct.unpack(">8H", status[3:19]), *[0] * 32])
    assert (decoded.last_command, decoded.state, decoded.upload_state, decoded.records_total) == (1, 0, 1, 5)
    bitmap = _frame(ROWS["missing records (record 2 missing of 5)"][1])
    assert vm.missing_records(bitmap[5:7], 5) == [2]
    versions = _frame(ROWS["versions, security counter, record length, capabilities"][1])
    words = struct.unpack(">12H", versions[3:27])
    assert vm.version_of(words[0:4]) is not None
    assert str(vm.version_of(words[0:4])) == "1.0.0"
    assert str(vm.version_of(words[4:8])) == "2.1.0"
    assert vm.u32_of(words[8:10]) == 1
    assert words[10] == vm.RECORD_REGISTERS


def test_the_tcp_example_is_the_rtu_pdu_in_an_mbap_header() -> None:
    request = bytes.fromhex(re.findall(r"marker read is `([0-9A-F ]+)`", DOC)[0])
    answer = bytes.fromhex(re.findall(r"answered\s+`([0-9A-F ]+)`", DOC)[0])
    rtu_request, rtu_answer = ROWS["find the SunSpec marker"][0], _frame(ROWS["find the SunSpec marker"][1])
    assert request[6:] == rtu_request[:-2]
    assert answer[6:] == rtu_answer[:-2]
    assert struct.unpack(">HHH", request[:6]) == (1, 0, len(request) - 6)
    assert struct.unpack(">HHH", answer[:6]) == (1, 0, len(answer) - 6)
