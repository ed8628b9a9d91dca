"""The ISO 15765-2 receive rules applied before can-isotp, on both sides.

The virtual BMS (``sim/uds/isotp_frames.py``) and the tool (``protocols/uds/transport.py``) implement
them separately on purpose; these tests pin the rules with examples and check that the two
implementations agree on every frame hypothesis can think of.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmsflasher.protocols.uds.transport import screen_frame as client_screen
from bmsflasher.sim.uds.isotp_frames import screen_frame as server_screen
from bmsflasher.sim.uds.isotp_frames import single_frame_payload, stmin_is_reserved

CAN_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)


@pytest.mark.parametrize("screen", [client_screen, server_screen])
@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("023E00CCCCCCCCCC", "023E00CCCCCCCCCC"),  # SF, SF_DL 2
        ("023E00", "023E00"),  # SF with an optimised DLC
        ("00023E00CCCCCCCC", None),  # SF_DL escape on an 8-byte frame
        ("083E00CCCCCCCCCC", None),  # SF_DL 8 does not fit an 8-byte frame
        ("053E00", None),  # SF_DL beyond the frame
        ("000A" + "11" * 10, "000A" + "11" * 10),  # CAN FD escape SF in 12 bytes
        ("050A" + "11" * 10, None),  # CAN FD frame without the escape
        ("100822F186F186F1", "100822F186F186F1"),  # FF_DL 8: the minimum on classic CAN
        ("100722F186F186F1", None),  # FF_DL 7 fits a single frame: ignored
        ("1007F186F186F1", None),  # FF shorter than 8 bytes
        ("1000000010003601", "1000000010003601"),  # 32-bit FF_DL 4096
        ("1000000000643601", None),  # 32-bit FF_DL 100: the escape is for > 4095
        ("2101020304050607", "2101020304050607"),  # CF
        ("300000", "300000"),  # FC CTS
        ("3002F5", "3002F5"),  # 500 µs
        ("300080", "30007F"),  # reserved STmin → 127 ms
        ("3000FA", "30007F"),
        ("3000F0", "30007F"),
        ("310000", "310000"),  # WAIT
        ("320000", "320000"),  # OVFLW
        ("350000", "320000"),  # reserved FlowStatus → abort (as an overflow)
        ("3000", None),  # FC too short
        ("4122F186", None),  # reserved N_PCI
        ("", None),
    ],
)
def test_receive_rules(screen: object, frame: str, expected: str | None) -> None:
    result = screen(bytes.fromhex(frame))  # type: ignore[operator]
    assert result == (bytes.fromhex(expected) if expected is not None else None)


def test_single_frame_payloads_and_stmin_ranges() -> None:
    assert single_frame_payload(bytes.fromhex("023E00CCCCCCCCCC")) == b"\x3e\x00"
    assert single_frame_payload(bytes.fromhex("000A") + bytes(range(10))) == bytes(range(10))
    assert single_frame_payload(bytes.fromhex("1008") + bytes(6)) is None
    assert [v for v in range(256) if not stmin_is_reserved(v)] == [*range(0x80), *range(0xF1, 0xFA)]


@given(st.sampled_from(CAN_LENGTHS).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_both_sides_apply_the_same_rules(frame: bytes) -> None:
    assert client_screen(frame) == server_screen(frame)
