"""The RS485 pair at bit level: characters, gaps, receivers at the wrong settings, colliding drivers, CRC."""

from __future__ import annotations

import pytest

from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity, RxChar, Transmission, UartReceiver
from bmsflasher.sim.wire.rtu_framing import crc16_modbus, parse_rtu, rtu_frame
from rs485_support import crc16

E1 = LineSettings(19_200, Parity.EVEN, 1)
N1 = LineSettings(19_200, Parity.NONE, 1)
N2 = LineSettings(19_200, Parity.NONE, 2)
O1 = LineSettings(19_200, Parity.ODD, 1)
DATA = bytes(range(0, 250, 7)) + b"\x00\xff\x55\xaa"


def receive_all(rx: UartReceiver, transmissions: list[Transmission]) -> list[RxChar]:
    end = max(tx.end_s for tx in transmissions) + 1.0
    chars, arriving = rx.receive(transmissions, end)
    assert arriving is None
    return chars


def test_bits_per_character_and_the_frame_gap() -> None:
    assert LineSettings(9600).bits_per_char == 10
    assert E1.bits_per_char == 11  # start + 8 + parity + stop: the Modbus default 8E1
    assert N2.bits_per_char == 11
    assert LineSettings(9600, Parity.ODD, 2).bits_per_char == 12
    assert E1.char_time_s == pytest.approx(11 / 19_200)
    assert E1.frame_gap_s == pytest.approx(3.5 * 11 / 19_200)  # 3.5 characters at 19200 and below
    assert LineSettings(9600).frame_gap_s == pytest.approx(3.5 * 10 / 9600)
    assert LineSettings(38_400, Parity.EVEN).frame_gap_s == pytest.approx(0.00175)  # fixed above 19200
    assert LineSettings(115_200).frame_gap_s == pytest.approx(0.00175)
    assert str(E1) == "19200 8E1"
    assert RackOptions().parity is Parity.EVEN


def test_crc16_modbus_matches_the_specification_and_an_independent_implementation() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37  # the CRC catalogue's check value
    sample = bytes([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A])
    assert crc16_modbus(sample) == crc16(sample) == 0xCDC5
    assert rtu_frame(1, sample[1:]) == sample + b"\xc5\xcd"  # low byte first
    parsed = parse_rtu(rtu_frame(7, b"\x06\x00\x05\x12\x34"))
    assert parsed is not None
    assert (parsed.address, parsed.pdu) == (7, b"\x06\x00\x05\x12\x34")
    assert parse_rtu(rtu_frame(7, b"\x06\x00\x05\x12\x35")[:-1] + b"\x00") is None
    assert parse_rtu(b"\x01\x03") is None


def test_a_receiver_at_the_senders_settings_reads_every_byte_at_line_rate() -> None:
    tx = Transmission(10.0, E1, bytearray(DATA), "host")
    rx = UartReceiver(E1, hunt_s=9.0)
    chars = receive_all(rx, [tx])
    assert bytes(c.value for c in chars) == DATA
    assert not any(c.parity_error or c.framing_error for c in chars)
    assert chars[0].end_s == pytest.approx(10.0 + E1.char_time_s)
    assert chars[-1].end_s == pytest.approx(tx.end_s)


def test_characters_are_handed_over_only_once_they_ended() -> None:
    tx = Transmission(10.0, E1, bytearray(b"\x01\x02\x03\x04"), "host")
    rx = UartReceiver(E1, hunt_s=9.0)
    chars, arriving = rx.receive([tx], 10.0 + 2.5 * E1.char_time_s)
    assert bytes(c.value for c in chars) == b"\x01\x02"
    assert arriving == pytest.approx(10.0 + 2 * E1.char_time_s)
    chars, arriving = rx.receive([tx], 11.0)
    assert bytes(c.value for c in chars) == b"\x03\x04"
    assert arriving is None


def test_the_bit_level_path_reads_what_the_fast_path_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    tx = Transmission(10.0, O1, bytearray(DATA), "host")
    fast = receive_all(UartReceiver(O1, hunt_s=9.0), [tx])
    monkeypatch.setattr(UartReceiver, "_aligned_char", lambda self, relevant: None)
    slow = receive_all(UartReceiver(O1, hunt_s=9.0), [tx])
    assert [(c.value, c.parity_error, c.framing_error) for c in slow] == [
        (c.value, False, False) for c in fast
    ]
    assert [c.end_s for c in slow] == pytest.approx([c.end_s for c in fast])


def test_wrong_parity_is_flagged_and_wrong_stop_bits_garble() -> None:
    odd_sent = Transmission(10.0, O1, bytearray(DATA), "host")
    seen_even = receive_all(UartReceiver(E1, hunt_s=9.0), [odd_sent])
    assert bytes(c.value for c in seen_even) == DATA  # same bit times: data intact...
    assert all(c.parity_error for c in seen_even)  # ...every parity bit wrong
    one_stop = Transmission(10.0, N1, bytearray(DATA), "module:0")
    seen_two_stop = receive_all(UartReceiver(N2, hunt_s=9.0), [one_stop])
    assert bytes(c.value for c in seen_two_stop) != DATA  # 8N2 reading back-to-back 8N1 loses step
    assert any(c.framing_error for c in seen_two_stop)
    eleven_bits = Transmission(10.0, O1, bytearray(DATA), "host")
    seen_8n1 = receive_all(UartReceiver(N1, hunt_s=9.0), [eleven_bits])
    assert bytes(c.value for c in seen_8n1) == DATA  # 8N1 takes the parity bit for the stop bit


def test_a_baud_mismatch_reads_junk_not_silence() -> None:
    tx = Transmission(10.0, LineSettings(9600, Parity.EVEN), bytearray(DATA), "host")
    chars = receive_all(UartReceiver(E1, hunt_s=9.0), [tx])
    assert chars
    assert bytes(c.value for c in chars) != DATA


def test_two_drivers_at_once_give_bytes_nobody_sent() -> None:
    first = Transmission(10.0, E1, bytearray(b"\x02\x03\x04\x00\x02\x00\x02\x12\x34"), "module:1")
    second = Transmission(
        10.0 + 0.37 * E1.char_time_s, E1, bytearray(b"\x02\x03\x04\x00\x03\x00\x02\x43\xf4"), "module:2"
    )
    chars = receive_all(UartReceiver(E1, seed=3, hunt_s=9.0), [first, second])
    received = bytes(c.value for c in chars)
    assert received not in (bytes(first.data), bytes(second.data))
    assert parse_rtu(received) is None
    again = receive_all(UartReceiver(E1, seed=3, hunt_s=9.0), [first, second])
    assert bytes(c.value for c in again) == received  # seeded: a failing run replays


@pytest.mark.parametrize("baud", [19_200, 115_200, 1_000_000])
@pytest.mark.timeout(20)
def test_bit_boundaries_keep_moving_on_a_machine_up_for_weeks(baud: int) -> None:
    """time.monotonic() is the machine's uptime: at 1e6 s (12 days) a double's step is a tenth of a
    bit at 1 Mbaud, and a boundary computed a hair early read as the bit before it — the bit-level
    receiver then walked the same boundary forever (the virtual rack hung on a colliding answer)."""
    line = LineSettings(baud, Parity.EVEN)
    start = 1_000_000.3
    tx = Transmission(start, line, bytearray(DATA), "module:1")
    t, boundaries = start, 0
    while (boundary := tx.next_boundary(t)) is not None:
        assert boundary > t
        assert tx.bit_index(boundary) == boundaries + 1  # the boundary reads as the new bit
        t, boundaries = boundary, boundaries + 1
    assert boundaries == len(DATA) * line.bits_per_char
    other = Transmission(start + 0.37 * line.char_time_s, line, bytearray(DATA[::-1]), "module:2")
    chars = receive_all(UartReceiver(line, seed=3, hunt_s=start - 1.0), [tx, other])
    assert chars  # the collision decodes to junk and ends
