"""The exact bytes docs/protocols/smp.md gives for BMS commands 16-19 are what both sides encode.

Requests come from the tool's encoder, answers from the virtual BMS's handlers (not from the
tool), and both must appear in the document byte for byte.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

from bmsflasher.protocols.smp import messages as msg
from bmsflasher.protocols.smp.codec import BmsCommand
from bmsflasher.sim.smp.answer_pieces import AnswerPieces
from bmsflasher.sim.smp.link_rate import LinkRate
from bmsflasher.sim.smp.messages import (
    GROUP_BMS,
    OP_READ,
    OP_READ_RSP,
    OP_WRITE,
    OP_WRITE_RSP,
    Request,
    encode,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocols" / "smp.md"
TOKEN = bytes.fromhex("0123456789abcdef")


def _doc_hex() -> str:
    return re.sub(r"[\s`]", "", DOC.read_text(encoding="utf-8"))


def _answer(op: int, sequence: int, command: int, body: dict[str, object]) -> bytes:
    return encode((op, 1, GROUP_BMS, sequence, command), body)


def _cases() -> list[tuple[str, bytes]]:
    rate = LinkRate(115_200)
    handlers = rate.handlers()
    offer = handlers[(GROUP_BMS, 16, OP_READ)](Request(OP_READ, 1, GROUP_BMS, 1, 16, {}))
    switch = handlers[(GROUP_BMS, 16, OP_WRITE)](Request(OP_WRITE, 1, GROUP_BMS, 2, 16, {"baud": 921_600}))
    rate.take_pending_switch()
    proof = handlers[(GROUP_BMS, 17, OP_WRITE)](Request(OP_WRITE, 1, GROUP_BMS, 3, 17, {"token": TOKEN}))
    return [
        ("offer request", msg.bms_read(BmsCommand.LINK_RATE, 1)),
        ("offer answer", _answer(OP_READ_RSP, 1, 16, dict(offer))),
        ("switch request", msg.bms_write(BmsCommand.LINK_RATE, {"baud": 921_600}, 2)),
        ("switch answer", _answer(OP_WRITE_RSP, 2, 16, dict(switch))),
        ("proof request", msg.bms_write(BmsCommand.RATE_PROOF, {"token": TOKEN}, 3)),
        ("proof answer", _answer(OP_WRITE_RSP, 3, 17, dict(proof))),
        ("compressed answer", _answer(OP_WRITE_RSP, 4, 18, {"off": 256, "uoff": 1019})),
        ("piece request", msg.bms_read(BmsCommand.ANSWER_PIECE, 9, {"seq": 8, "off": 0, "max": 64})),
    ]


@pytest.mark.parametrize(("what", "message"), _cases(), ids=[case[0] for case in _cases()])
def test_the_documented_bytes_are_the_encoded_bytes(what: str, message: bytes) -> None:
    assert message.hex() in _doc_hex(), (
        f"the {what} bytes in docs/protocols/smp.md are not {message.hex(' ')}"
    )


def test_a_piece_is_the_kept_answer_and_its_crc() -> None:
    pieces = AnswerPieces()
    kept = _answer(OP_WRITE_RSP, 8, 3, {"passed": True, "checks": ["x" * 40] * 10})
    pieces.keep(kept)
    handler = pieces.handlers()[(GROUP_BMS, 19, OP_READ)]
    got = bytearray()
    while len(got) < len(kept):
        body = handler(Request(OP_READ, 1, GROUP_BMS, 9, 19, {"seq": 8, "off": len(got), "max": 64}))
        assert body["len"] == len(kept)
        assert body["crc"] == zlib.crc32(kept)
        got.extend(body["data"])
    assert bytes(got) == kept
