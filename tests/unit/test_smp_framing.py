"""SMP serial framing and message encoding, checked against the `smp` package's own decoders."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import random

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smp import packet as smppacket
from smp.image_management import ImageStatesWriteRequest, ImageUploadWriteRequest
from smp.os_management import EchoWriteRequest, MCUMgrParametersReadRequest
from smp.settings_management import ReadSettingRequest, WriteSettingRequest

from bmsflasher.core.errors import (
    DeviceRejectedError,
    MalformedResponseError,
    SecurityAccessDeniedError,
    UnsupportedOperationError,
)
from bmsflasher.protocols.smp import messages
from bmsflasher.protocols.smp.codec import (
    BMS_GROUP_ID,
    BmsCommand,
    SmpHeader,
    check_error,
    decode_response,
    encode_message,
)
from bmsflasher.protocols.smp.framing import (
    MAX_LINE_BYTES,
    FrameDecoder,
    encode_frame,
    framing_ceiling_bps,
    wire_size,
)
from bmsflasher.protocols.smp.session import SmpSession
from bmsflasher.protocols.smp.upload import ImageUploader, max_message_bytes, window_for


def _smp_decode(wire: bytes) -> bytes:
    decoder = smppacket.decode()
    next(decoder)
    lines = wire.split(b"\n")[:-1]
    for line in lines:
        try:
            decoder.send(line + b"\n")
        except StopIteration as done:
            return bytes(done.value)
    raise AssertionError("smp's decoder wanted more lines")


@given(st.binary(min_size=1, max_size=3000))
@settings(max_examples=60, deadline=None)
def test_frames_decode_with_smp_and_respect_line_limit(message: bytes) -> None:
    wire = encode_frame(message)
    lines = wire.split(b"\n")[:-1]
    assert all(len(line) + 1 <= MAX_LINE_BYTES for line in lines)
    assert lines[0].startswith(b"\x06\x09")
    assert all(line.startswith(b"\x04\x14") for line in lines[1:])
    assert _smp_decode(wire) == message
    assert wire_size(len(message)) == len(wire)


def test_crc_is_xmodem_over_the_message() -> None:
    # CRC-16/XMODEM check value of "123456789" is 0x31C3 (the catalogue's standard check).
    assert smppacket.crc16_func(b"123456789") == 0x31C3
    wire = encode_frame(b"123456789")
    decoded = base64.b64decode(wire[2:-1])
    assert decoded[-2:] == b"\x31\xc3"
    assert decoded[:2] == (9 + 2).to_bytes(2, "big")


def test_framing_ceiling_at_115200_is_about_8_2_kib_per_second() -> None:
    ceiling = framing_ceiling_bps(115_200)
    assert ceiling == pytest.approx(11_520 * 0.75 * 124 / 127)
    assert 8.1 * 1024 < ceiling < 8.3 * 1024


def test_decoder_survives_noise_split_reads_and_corruption() -> None:
    first, second = encode_frame(b"A" * 300), encode_frame(b"B" * 40)
    corrupted = bytearray(encode_frame(b"C" * 200))
    corrupted[20] ^= 0x01
    stream = b"boot: console text\r\n" + first + bytes(corrupted) + b"\x00\xff junk" + second
    decoder = FrameDecoder()
    out: list[bytes] = []
    rng = random.Random(5)
    position = 0
    while position < len(stream):
        step = rng.randint(1, 17)
        out.extend(decoder.feed(stream[position : position + step]))
        position += step
    assert out == [b"A" * 300, b"B" * 40]
    assert decoder.stats.bad_frames >= 1
    assert decoder.stats.noise_bytes > 0


def test_start_delimiter_restarts_a_half_frame() -> None:
    truncated = encode_frame(b"X" * 500)[:150]  # first line plus a piece: the rest was lost
    decoder = FrameDecoder()
    out = list(decoder.feed(truncated + b"\n" + encode_frame(b"ok")))
    assert out == [b"ok"]


@pytest.mark.parametrize(
    "decoded",
    [b"\x00\x00", b"\x00\x01A", b"\x00\x00A"],
    ids=["length-0-empty", "length-1-one-byte", "length-0-one-byte"],
)
def test_fuzz_crash_frame_shorter_than_its_crc_is_dropped(decoded: bytes) -> None:
    """The `make reliability` atheris crash: a well-formed line whose body cannot hold its CRC.

    smp's decoder raised ``struct.error`` ("unpack requires a buffer of 2 bytes") on it; noise on
    the line can produce it mid-update, so the frame decoder must drop and count it, and the next
    frame must still arrive.
    """
    line = smppacket.START_DELIMITER + base64.b64encode(decoded) + b"\n"
    decoder = FrameDecoder()
    assert list(decoder.feed(line)) == []
    assert decoder.stats.bad_frames == 1
    assert list(decoder.feed(encode_frame(b"next"))) == [b"next"]


@given(st.integers(0, 12), st.binary(max_size=6), st.lists(st.binary(max_size=6), max_size=3))
@settings(max_examples=200, deadline=None)
def test_short_and_garbled_frames_raise_nothing(declared: int, body: bytes, rest: list[bytes]) -> None:
    """Whatever a short frame declares and carries, only messages or nothing leave the decoder."""
    first = declared.to_bytes(2, "big") + body
    stream = smppacket.START_DELIMITER + base64.b64encode(first) + b"\n"
    stream += b"".join(smppacket.CONTINUE_DELIMITER + base64.b64encode(part) + b"\n" for part in rest)
    decoder = FrameDecoder()
    for message in decoder.feed(stream):
        with contextlib.suppress(MalformedResponseError):
            decode_response(message)


def test_standard_requests_are_the_smp_models_bytes() -> None:
    assert SmpHeader.unpack(messages.echo("hi", 7)).sequence == 7
    echo = EchoWriteRequest.loads(messages.echo("hi", 7))
    assert echo.d == "hi"
    assert MCUMgrParametersReadRequest.loads(messages.mcumgr_params(1)).header.command_id == 6
    write = WriteSettingRequest.loads(messages.setting_write("bms/x", cbor2.dumps(5), 2))
    assert (write.name, cbor2.loads(write.val)) == ("bms/x", 5)
    assert ReadSettingRequest.loads(messages.setting_read("bms/x", 3)).name == "bms/x"
    state = ImageStatesWriteRequest.loads(messages.image_state_write(b"\x01" * 32, False, 4))
    assert (state.hash, state.confirm) == (b"\x01" * 32, False)


class _NoLink:
    """Only what ImageUploader's constructor reads from the session's link."""

    baud = 115_200
    port = "none"
    bytes_sent = 0
    bytes_received = 0


def test_upload_chunks_follow_the_spec_and_fit_the_device_buffer() -> None:
    image = bytes(range(256)) * 40
    session = SmpSession(_NoLink())  # type: ignore[arg-type]
    uploader = ImageUploader(session, image, max_message=max_message_bytes(512), window=3)
    first = ImageUploadWriteRequest.loads(uploader._request(9, 0, uploader._first_data_len(), first=True))
    assert first.off == 0
    assert first.len == len(image)
    assert first.sha == hashlib.sha256(image).digest()
    assert first.image == 0
    later_len = uploader._chunk_len(800)
    later = ImageUploadWriteRequest.loads(uploader._request(10, 800, later_len, first=False))
    assert later.len is None
    assert later.sha is None
    assert later.off == 800
    assert later.data == image[800 : 800 + later_len]
    assert len(first.data) <= 256  # the session-opening chunk is short (cheap to repeat)
    assert len(uploader._request(1, 0, uploader._data_room(0, first=True), first=True)) <= 512 - 4
    for offset in (800, len(image) - 2 * later_len):
        message = uploader._request(1, offset, uploader._chunk_len(offset), first=False)
        assert len(message) <= 512 - 4  # length prefix and CRC share the device's buffer
        assert len(message) > 512 - 4 - 16  # and the room is used, not wasted


def test_window_is_sized_from_buf_count() -> None:
    assert window_for(1) == 1
    assert window_for(4) == 3
    assert window_for(100) == 8


def _response(body: dict[str, object], *, group: int = 1, version: int = 1) -> bytes:
    payload = cbor2.dumps(body)
    return SmpHeader(3, version, 0, len(payload), group, 5, 1).pack() + payload


def test_v1_and_v2_errors_become_project_errors() -> None:
    with pytest.raises(UnsupportedOperationError):
        check_error(decode_response(_response({"rc": 8})), "thing")
    with pytest.raises(SecurityAccessDeniedError):
        check_error(decode_response(_response({"rc": 11})), "thing")
    with pytest.raises(DeviceRejectedError, match="INVALID_IMAGE_TOO_LARGE") as info:
        check_error(decode_response(_response({"err": {"group": 1, "rc": 30}})), "image upload")
    assert info.value.code == 30
    with pytest.raises(DeviceRejectedError, match=r"EINVAL.*bad offset"):
        check_error(decode_response(_response({"rc": 3, "rsn": "bad offset"}, version=0)), "upload")
    check_error(decode_response(_response({"off": 10, "rc": 0})), "upload")  # legacy rc 0 = success


def test_malformed_responses_are_rejected_cleanly() -> None:
    with pytest.raises(MalformedResponseError):
        decode_response(b"\x01\x00")
    with pytest.raises(MalformedResponseError):
        decode_response(SmpHeader(3, 1, 0, 5, 1, 1, 1).pack() + b"\x01")  # length lies
    with pytest.raises(MalformedResponseError):
        decode_response(SmpHeader(2, 1, 0, 1, 1, 1, 1).pack() + b"\xa0")  # a request, not a response
    with pytest.raises(MalformedResponseError):
        decode_response(SmpHeader(3, 1, 0, 1, 1, 1, 1).pack() + b"\x05")  # CBOR but not a map


def test_bms_group_requests_use_the_vendor_group() -> None:
    message = messages.bms_write(BmsCommand.BALANCING, {"cell": 3, "on": True}, 200)
    header = SmpHeader.unpack(message)
    assert (header.group, header.command, header.op, header.version) == (BMS_GROUP_ID, 4, 2, 1)
    assert cbor2.loads(message[8:]) == {"cell": 3, "on": True}
    assert encode_message(0, 72, 1, 300, {})[6] == 300 & 0xFF
