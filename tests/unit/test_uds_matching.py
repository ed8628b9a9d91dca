"""Strict response matching and retry budgets of the UDS client (pure functions, no bus).

A lossy bus delivers late answers during the next request; the client must take only the answer
that echoes what it asked (ISO 14229-1 SID + data identifier / routine / block counter).
"""

from __future__ import annotations

import pytest

from bmsflasher.protocols.uds.client import attempts_for, isotp_frames
from bmsflasher.protocols.uds.download import resync_budget
from bmsflasher.protocols.uds.transport import answers_request


@pytest.mark.parametrize(
    ("request_bytes", "frame", "expected"),
    [
        # ReadDataByIdentifier: the DID must be the one asked for (the 0xFE06/0xFE05 mix-up).
        (b"\x22\xfe\x06", b"\x62\xfe\x06\x00\x10", True),
        (b"\x22\xfe\x06", b"\x62\xfe\x05\x00\x10", False),
        # WriteDataByIdentifier echoes the DID too.
        (b"\x2e\xfe\x06\x00\x10", b"\x6e\xfe\x06", True),
        (b"\x2e\xfe\x06\x00\x10", b"\x6e\xfe\x05", False),
        # RoutineControl: control type and routine identifier.
        (b"\x31\x01\xf0\x00\x01", b"\x71\x01\xf0\x00\x00", True),
        (b"\x31\x01\xf0\x00\x01", b"\x71\x01\xf0\x01\x00", False),
        (b"\x31\x01\xf0\x00\x01", b"\x71\x03\xf0\x00\x00", False),
        # TransferData: the block sequence counter.
        (b"\x36\x05" + bytes(8), b"\x76\x05", True),
        (b"\x36\x05" + bytes(8), b"\x76\x04", False),
        # Sub-function services: the suppress-positive-response bit is not echoed.
        (b"\x3e\x80", b"\x7e\x00", True),
        (b"\x10\x02", b"\x50\x03\x00\x32\x01\xf4", False),
        # Negative responses must name the request's service.
        (b"\x22\xfe\x06", b"\x7f\x22\x31", True),
        (b"\x22\xfe\x06", b"\x7f\x2e\x31", False),
        (b"\x22\xfe\x06", b"\x7f\x22", False),
        # Another service's answer, or a truncated echo, is not this request's answer.
        (b"\x22\xfe\x06", b"\x71\x01\xf0\x00", False),
        (b"\x22\xfe\x06", b"\x62\xfe", False),
        # No echo defined (RequestDownload): the SID decides.
        (b"\x34\x00\x44" + bytes(8), b"\x74\x20\x0f\xff", True),
    ],
)
def test_only_the_answer_to_the_pending_request_matches(
    request_bytes: bytes, frame: bytes, expected: bool
) -> None:
    assert answers_request(request_bytes, frame) is expected


def test_frame_count_follows_iso_tp_segmentation() -> None:
    assert isotp_frames(7, fd=False) == 1  # single frame
    assert isotp_frames(8, fd=False) == 3  # first frame + flow control + one consecutive frame
    assert isotp_frames(745, fd=False) == 2 + 106  # the configuration schema of the virtual BMS
    assert isotp_frames(62, fd=True) == 1


def test_resync_budget_grows_with_the_work_left() -> None:
    small, large = resync_budget(2 * 1024), resync_budget(256 * 1024)
    assert small < large
    assert large >= 2 * (256 * 1024 // 256)  # two per smallest block still to send
    assert resync_budget(0) > 0


def test_long_answers_get_more_tries_within_a_ceiling() -> None:
    short = attempts_for(3, 8, fd=False)
    schema = attempts_for(3, 745, fd=False)
    assert short == 3
    assert schema > 3 * short  # 1 % loss: each try of 745 bytes fails two times in three
    assert attempts_for(3, 64 * 1024, fd=False) <= 20
