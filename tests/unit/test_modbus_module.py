"""The virtual module's Modbus application layer, PDU in and PDU out (no wire): what the map promises.

Requests are built here byte by byte from the Modbus specification and ``docs/protocols/modbus.md``,
never with the tool's client, and sent straight to :meth:`ModbusModule.handle`.
"""

from __future__ import annotations

import hashlib
import math
import struct
import time
from collections.abc import Iterator

import pytest

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.modbus.module import ModbusModule, create_module
from bmsflasher.sim.options import SimOptions

RECORD = 238
STATUS, COMMAND, PARAMETERS, WINDOW, DIRECTORY = 0xE0B0, 0xE0A1, 0xE080, 0xE100, 0xE0E0
PREPARE, VERIFY, RESET, CLEAR_DTCS, APPLY_CONFIG = 1, 2, 6, 9, 10


@pytest.fixture
def device() -> Iterator[VirtualBms]:
    with VirtualBms.create(
        SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0, noise_mv=0.0)
    ) as bms:
        yield bms


@pytest.fixture
def module(device: VirtualBms) -> Iterator[ModbusModule]:
    built = create_module(device, 5)
    yield built
    built.close()


def ask(module: ModbusModule, pdu: bytes, *, broadcast: bool = False) -> bytes | None:
    return module.handle(pdu, broadcast=broadcast)


def read(module: ModbusModule, address: int, count: int) -> list[int]:
    answer = ask(module, struct.pack(">BHH", 3, address, count))
    assert answer is not None
    assert answer[:2] == bytes([3, 2 * count]), answer.hex()
    return list(struct.unpack(f">{count}H", answer[2:]))


def write(module: ModbusModule, address: int, values: list[int], *, broadcast: bool = False) -> bytes | None:
    body = b"".join(v.to_bytes(2, "big") for v in values)
    return ask(
        module, struct.pack(">BHHB", 0x10, address, len(values), len(body)) + body, broadcast=broadcast
    )


def status(module: ModbusModule) -> list[int]:
    return read(module, STATUS, 8)


def wait_done(module: ModbusModule) -> list[int]:
    """The status once the running command has finished."""
    deadline = time.monotonic() + 10
    while (found := status(module))[1] == 1:
        assert time.monotonic() < deadline, "the command never finished"
        time.sleep(0.005)
    return found


def command(module: ModbusModule, code: int, *, broadcast: bool = False) -> None:
    ask(module, struct.pack(">BHH", 6, COMMAND, code), broadcast=broadcast)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not broadcast and status(module)[1] != 1:
            return
        if broadcast and ask(module, struct.pack(">BHH", 3, STATUS, 2)) == bytes([3, 4, 0, code, 0, 0]):
            return
        time.sleep(0.005)
    raise AssertionError("the command never finished")


def prepare(module: ModbusModule, image: bytes, *, broadcast: bool = False) -> None:
    sha = hashlib.sha256(image).digest()
    words = [len(image) >> 16, len(image) & 0xFFFF, *struct.unpack(">16H", sha), 1]
    write(module, PARAMETERS, words, broadcast=broadcast)
    command(module, PREPARE, broadcast=broadcast)


def record_request(image: bytes, record: int) -> list[int]:
    data = image[record * RECORD : (record + 1) * RECORD]
    data += b"\x00" * (len(data) % 2)
    return [record, *struct.unpack(f">{len(data) // 2}H", data)]


def test_the_sunspec_chain_lays_out_models_1_802_805_from_their_definitions(module: ModbusModule) -> None:
    assert read(module, 40000, 2) == [0x5375, 0x6E53]
    assert read(module, 40002, 2) == [1, 66]
    assert read(module, 40070, 2) == [802, 62]
    assert read(module, 40134, 2) == [805, 42 + 4 * 16]
    assert read(module, 40134 + 2 + 106, 2) == [0xFFFF, 0]


def test_points_carry_scale_factors_and_not_implemented_values(
    module: ModbusModule, device: VirtualBms
) -> None:
    battery = read(module, 40070, 64)
    assert battery[11] == round(device.telemetry().soc_pct * 100)  # SoC with SoC_SF -2
    assert battery[56] == 0xFFFE  # SoC_SF = -2
    assert battery[12] == 0xFFFF  # DoD: not implemented uint16
    assert battery[14:16] == [0xFFFF, 0xFFFF]  # NCyc: not implemented uint32
    assert battery[57] == 0x8000  # DoD_SF: not implemented sunssf
    cell = read(module, 40134 + 44, 4)
    assert cell[0] == device.telemetry().cell_voltages_mv[0]  # CellV with CellV_SF -3


def test_requests_outside_the_map_get_the_specifications_exceptions(module: ModbusModule) -> None:
    assert ask(module, bytes([0x05, 0, 0, 0xFF, 0])) == bytes([0x85, 0x01])  # illegal function
    assert ask(module, struct.pack(">BHH", 3, 0, 1)) == bytes([0x83, 0x02])  # illegal address
    assert ask(module, struct.pack(">BHH", 3, 0xE069, 2)) == bytes([0x83, 0x02])  # across a block end
    assert ask(module, struct.pack(">BHH", 3, 40000, 126)) == bytes([0x83, 0x03])  # too many
    assert ask(module, struct.pack(">BHHB", 0x10, WINDOW, 2, 3) + b"\0\0\0") == bytes([0x90, 0x03])  # count
    assert ask(module, struct.pack(">BHH", 6, COMMAND, 99)) == bytes([0x86, 0x03])  # unknown command
    assert write(module, WINDOW, [0, 1]) == bytes([0x90, 0x04])  # no upload prepared


def test_only_the_status_block_answers_while_a_command_runs(device: VirtualBms) -> None:
    slow = VirtualBms.create(SimOptions(erase_time_s_per_sector=0.02, boot_time_s=0.0, time_scale=0.0))
    module = create_module(slow, 1)
    try:
        image = bytes(range(256)) * 300
        sha = hashlib.sha256(image).digest()
        write(module, PARAMETERS, [len(image) >> 16, len(image) & 0xFFFF, *struct.unpack(">16H", sha), 1])
        ask(module, struct.pack(">BHH", 6, COMMAND, PREPARE))
        assert ask(module, struct.pack(">BHH", 3, 0xE000, 4)) == bytes([0x83, 0x06])  # busy
        assert status(module)[:2] == [PREPARE, 1]  # running, and the status still answers
        assert wait_done(module)[:4] == [PREPARE, 0, 0, 1]  # done, receiving
    finally:
        module.close()
        slow.close()


def test_records_ahead_of_a_gap_wait_in_ram_and_the_report_names_the_missing_ones(
    module: ModbusModule, device: VirtualBms
) -> None:
    image = hashlib.shake_256(b"image").digest(5 * RECORD + 17)
    prepare(module, image)
    for record in (0, 2, 3, 5):
        assert write(module, WINDOW, record_request(image, record)) is not None
    assert status(module)[4:6] == [6, 4]  # total, held
    report = ask(module, bytes([0x14, 7, 6, 0, 2, 0, 0, 0, 1]))
    assert report == bytes([0x14, 4, 3, 6, 0b0001_0010, 0])  # records 1 and 4 missing
    assert device.upload_status().offset == RECORD  # only record 0 is in order: in flash
    for record in (4, 1):
        write(module, WINDOW, record_request(image, record))
    assert status(module)[3] == 2  # complete: every record held, the SHA-256 checked
    assert device.upload_status().offset == len(image)


def test_a_broadcast_executes_writes_and_never_answers(module: ModbusModule, device: VirtualBms) -> None:
    image = hashlib.shake_256(b"broadcast").digest(3 * RECORD)
    prepare(module, image, broadcast=True)
    assert write(module, WINDOW, record_request(image, 0), broadcast=True) is None
    assert ask(module, struct.pack(">BHH", 3, 40000, 2), broadcast=True) is None  # reads are ignored
    assert device.upload_status().offset == RECORD


def test_a_file_record_write_is_echoed_and_reads_back(module: ModbusModule) -> None:
    image = hashlib.shake_256(b"file").digest(2 * RECORD + 10)
    prepare(module, image)
    data = image[2 * RECORD :]
    request = bytes([0x15, 7 + len(data)]) + struct.pack(">BHHH", 6, 1, 2, len(data) // 2) + data
    assert ask(module, request) == request  # the normal response is an echo of the request
    read_back = ask(module, bytes([0x14, 7]) + struct.pack(">BHHH", 6, 1, 2, len(data) // 2))
    assert read_back == bytes([0x14, 2 + len(data), 1 + len(data), 6]) + data
    assert ask(module, bytes([0x14, 7]) + struct.pack(">BHHH", 6, 1, 0, 119)) == bytes(
        [0x94, 0x02]
    )  # not held


def test_a_resumed_upload_keeps_what_the_module_holds(module: ModbusModule, device: VirtualBms) -> None:
    image = hashlib.shake_256(b"resume").digest(40 * RECORD)
    prepare(module, image)
    for record in range(25):
        write(module, WINDOW, record_request(image, record))
    prepare(module, image)  # the same size, hash and slot: the same upload
    assert status(module)[5] == 25
    device.power_cycle()  # RAM gone; the device recomputes what its flash holds (whole sectors)
    prepare(module, image)
    held = status(module)[5]
    assert 0 < held <= 25
    assert held == math.floor(device.upload_status().offset / RECORD)


def test_the_directory_snapshots_the_json_files(module: ModbusModule, device: VirtualBms) -> None:
    lengths = read(module, DIRECTORY, 14)
    assert lengths[8:10] == [0, 2]  # file 5, the trouble codes: "[]"
    assert ask(module, bytes([0x14, 7, 6, 0, 5, 0, 0, 0, 1])) == bytes([0x14, 4, 3, 6]) + b"[]"
    assert (lengths[12] << 16 | lengths[13]) == 32  # file 7: one trusted key hash


def test_a_configuration_write_is_applied_and_saved_or_refused_by_name(
    module: ModbusModule, device: VirtualBms
) -> None:
    text = b'{"balance_delta_mv":11} '
    request = bytes([0x15, 7 + len(text)]) + struct.pack(">BHHH", 6, 3, 0, len(text) // 2) + text
    assert ask(module, request) == request
    write(module, 0xE0A0, [23, APPLY_CONFIG])
    assert wait_done(module)[:3] == [APPLY_CONFIG, 0, 0]
    assert device.saved_config().parameters["balance_delta_mv"] == 11
    text = b'{"balance_delta_mv":9999}'
    ask(module, bytes([0x15, 7 + len(text) + 1]) + struct.pack(">BHHH", 6, 3, 0, 13) + text + b" ")
    write(module, 0xE0A0, [len(text), APPLY_CONFIG])
    assert wait_done(module)[1:3] == [2, 10]  # failed, CONFIG_REJECTED
    error_text = struct.pack(">32H", *read(module, 0xE0B8, 32)).rstrip(b"\0")
    assert error_text == b"balance_delta_mv"


def test_reset_answers_then_reboots_and_is_silent_meanwhile(device: VirtualBms) -> None:
    module = create_module(device, 1)
    try:
        assert ask(module, struct.pack(">BHH", 6, COMMAND, RESET)) is not None
        booted: list[float] = []
        device.add_reset_listener(lambda: booted.append(time.monotonic()))
        deadline = time.monotonic() + 5
        while not booted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert booted
        assert status(module)[:2] == [0, 0]  # a fresh status after the reboot
        device.power_off()
        assert ask(module, struct.pack(">BHH", 3, 40000, 2)) is None  # no power, no answer
    finally:
        module.close()


def test_the_bootloader_serves_the_vendor_block_but_no_sunspec_chain(
    module: ModbusModule, device: VirtualBms
) -> None:
    device.enter_bootloader()
    assert device.mode is DeviceMode.BOOTLOADER
    assert ask(module, struct.pack(">BHH", 3, 40000, 2)) == bytes([0x83, 0x02])
    assert read(module, 0xE000, 4) == [0x424D, 0x5346, 1, 1]  # "BMSF", map 1, mode bootloader
