"""The functional TesterPresent frame and the parsing of answers (can-isotp + udsoncan underneath)."""

from __future__ import annotations

import pytest

from bmsflasher.discovery.plan import NORMAL_FIXED_29BIT, OBD_11BIT
from bmsflasher.discovery.uds_discovery import _response_to_tester_present, functional_frame


def test_11bit_functional_tester_present_is_a_padded_single_frame() -> None:
    frame = functional_frame(OBD_11BIT, b"\x3e\x00")
    assert frame.arbitration_id == 0x7DF
    assert not frame.is_extended_id
    assert bytes(frame.data) == bytes.fromhex("023e00cccccccccc")


def test_29bit_normal_fixed_functional_frame() -> None:
    frame = functional_frame(NORMAL_FIXED_29BIT, b"\x3e\x00")
    assert frame.arbitration_id == 0x18DB33F1
    assert frame.is_extended_id
    assert bytes(frame.data)[:3] == b"\x02\x3e\x00"


def test_a_request_that_needs_several_frames_is_refused() -> None:
    with pytest.raises(ValueError, match="Functional"):
        functional_frame(OBD_11BIT, bytes(20))


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        ("027e00cccccccccc", (True, 0)),
        ("027e00", (True, 0)),
        ("037f3e22cccccccc", (False, 0x22)),
        ("037f3e7faaaaaaaa", (False, 0x7F)),
        ("0662f18c41424344", None),  # a ReadDID answer, not ours
        ("1008620100000000", None),  # a first frame
        ("30000000", None),  # flow control
        ("", None),
        ("00", None),
        ("ffffffffffffffff", None),
    ],
)
def test_answers_are_judged(data: str, verdict: tuple[bool, int] | None) -> None:
    assert _response_to_tester_present(bytes.fromhex(data)) == verdict
