"""The shared CAN bus timeline: exact frame lengths, pacing, arbitration and seeded faults."""

from __future__ import annotations

import random
import threading
import time

import can
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmsflasher.sim.wire.can_bus import (
    CanBusTimeline,
    count_stuff_bits,
    crc15_bits_then_bytes,
    frame_timing,
    isotp_classic_ceiling_bytes_per_s,
)
from wait_support import wait_until


def _reference_stuff(bits: str) -> int:
    """Insert stuff bits literally, then count them (the specification's own wording)."""
    out: list[str] = []
    run_bit, run = "", 0
    inserted = 0
    for bit in bits:
        out.append(bit)
        run = run + 1 if bit == run_bit else 1
        run_bit = bit
        if run == 5:
            stuff = "0" if bit == "1" else "1"
            out.append(stuff)
            inserted += 1
            run_bit, run = stuff, 1
    return inserted


@given(st.text(alphabet="01", max_size=160))
@settings(max_examples=300, deadline=None)
def test_stuff_count_matches_literal_insertion(bits: str) -> None:
    assert count_stuff_bits(bits) == _reference_stuff(bits)


def test_stuff_bit_chains_into_the_next_run() -> None:
    assert count_stuff_bits("00000") == 1
    assert count_stuff_bits("0000011111") == 2  # the stuffed '1' starts the run of ones
    assert count_stuff_bits("0101010101") == 0


def _crc15_bitwise(bits: str) -> int:
    crc = 0
    for bit in bits:
        feedback = ((crc >> 14) & 1) ^ int(bit)
        crc = (crc << 1) & 0x7FFF
        if feedback:
            crc ^= 0x4599
    return crc


@given(st.text(alphabet="01", min_size=19, max_size=19), st.binary(max_size=8))
@settings(max_examples=200, deadline=None)
def test_table_crc15_equals_bitwise(head: str, data: bytes) -> None:
    bits = head + "".join(f"{b:08b}" for b in data)
    assert crc15_bits_then_bytes(head, data) == _crc15_bitwise(bits)


def test_classic_frame_lengths_within_standard_bounds() -> None:
    rng = random.Random(5)
    for _ in range(300):
        data = rng.randbytes(8)
        bits = frame_timing(can.Message(arbitration_id=0x7E0, data=data, is_extended_id=False)).total_bits
        assert 111 <= bits <= 135  # unstuffed 108 + IFS 3, worst case +24 stuff bits
    zeros = frame_timing(can.Message(arbitration_id=0x7E0, data=bytes(8), is_extended_id=False))
    assert zeros.total_bits > 120  # long runs of equal bits cost stuff bits
    extended = frame_timing(can.Message(arbitration_id=0x18DA00F1, data=bytes(8), is_extended_id=True))
    assert extended.total_bits >= zeros.total_bits + 18  # 18 more identifier bits, SRR, r1


def test_fd_frame_splits_nominal_and_data_phase() -> None:
    timing = frame_timing(
        can.Message(
            arbitration_id=0x7E0, data=bytes(range(64)), is_fd=True, bitrate_switch=True, is_extended_id=False
        )
    )
    assert 25 <= timing.nominal_bits <= 40
    assert 550 <= timing.data_bits <= 700
    slow = frame_timing(
        can.Message(arbitration_id=0x7E0, data=bytes(range(64)), is_fd=True, is_extended_id=False)
    )
    assert slow.data_bits == 0
    assert slow.nominal_bits > 580


def test_isotp_ceiling_matches_the_classic_can_figures() -> None:
    assert isotp_classic_ceiling_bytes_per_s(500_000) == pytest.approx(30_100, rel=0.01)
    assert isotp_classic_ceiling_bytes_per_s(1_000_000) == pytest.approx(60_200, rel=0.01)


def test_frames_are_paced_at_the_bit_rate() -> None:
    with CanBusTimeline(125_000) as bus:
        got: list[float] = []
        done = threading.Event()

        def receive(_msg: can.Message) -> None:
            got.append(time.monotonic())
            if len(got) == 50:
                done.set()

        bus.attach("rx", receive)
        tx = bus.attach("tx", lambda _m: None, tx_depth=100)
        frames = [
            can.Message(arbitration_id=0x100, data=bytes([i, 1, 2, 3, 4, 5, 6, 7]), is_extended_id=False)
            for i in range(50)
        ]
        expected = sum(frame_timing(f).total_bits for f in frames) / 125_000
        start = time.monotonic()
        assert tx.send_many(frames) == 50
        assert done.wait(5.0)
        assert got[-1] - start >= expected * 0.95  # never faster than the wire
        assert bus.stats.frames == 50
        assert bus.stats.bits == sum(frame_timing(f).total_bits for f in frames)


def test_lowest_identifier_wins_arbitration() -> None:
    with CanBusTimeline(50_000) as bus:
        order: list[int] = []
        done = threading.Event()

        def receive(msg: can.Message) -> None:
            order.append(msg.arbitration_id)
            if len(order) == 3:
                done.set()

        bus.attach("rx", receive)
        high = bus.attach("a", lambda _m: None)
        low = bus.attach("b", lambda _m: None)
        blocker = bus.attach("c", lambda _m: None)
        blocker.send(can.Message(arbitration_id=0x700, data=bytes(8), is_extended_id=False))
        time.sleep(0.0005)  # the blocker is on the wire; both others queue behind it
        high.send(can.Message(arbitration_id=0x7E8, data=b"\x01", is_extended_id=False))
        low.send(can.Message(arbitration_id=0x7E0, data=b"\x02", is_extended_id=False))
        assert done.wait(2.0)
        assert order == [0x700, 0x7E0, 0x7E8]


def test_seeded_drops_are_reproducible_and_error_frames_retransmit() -> None:
    def run(seed: int, **faults: float) -> tuple[list[int], int]:
        with CanBusTimeline(0, seed=seed, **faults) as bus:
            got: list[int] = []
            bus.attach("rx", lambda m: got.append(m.data[0]))
            tx = bus.attach("tx", lambda _m: None, tx_depth=1000)
            tx.send_many(
                [
                    can.Message(arbitration_id=0x1, data=bytes([i % 256]), is_extended_id=False)
                    for i in range(500)
                ]
            )
            # every frame is delivered or counted as dropped: wait for that, not for a fixed time
            wait_until(lambda: len(got) + bus.stats.dropped >= 500, 10.0, "all 500 frames settled")
            return got, bus.stats.error_frames

    first, _ = run(3, drop_rate=0.05)
    again, _ = run(3, drop_rate=0.05)
    assert first == again
    assert 0 < 500 - len(first) < 60
    delivered, errors = run(4, error_rate=0.1)
    assert errors > 10
    assert len(delivered) == 500  # destroyed frames were retransmitted, none lost
