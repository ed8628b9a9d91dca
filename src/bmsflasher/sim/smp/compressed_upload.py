"""The BMS group's compressed image upload (command 18): a raw deflate stream inflated as it is written.

MCUmgr's image upload (group 1, command 1) carries the image as it is. This variant carries the
image as one raw deflate stream (RFC 1951, no zlib header) and the firmware inflates each chunk
straight into the image upload the standard command would have written: the slot, the SHA-256
check at the end and everything after it are the standard path's, so the image the bootloader
verifies is byte for byte the same (docs/protocols/smp.md, *Compressed upload*).

Offsets: ``off`` is the position in the **compressed** stream (the client resends from there);
``uoff`` reports the image bytes written. The inflater lives in RAM: after the tool was killed or
the cable pulled, the same stream (same ``sha``, ``len`` and ``zlen``) resumes at the compressed
offset the device holds. After a reset the inflater is gone; the stream then starts again at
offset 0 and the image bytes the flash already holds (the standard resume's whole sectors) are
inflated again but not rewritten.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimModeError, SimStateError, SimUploadError
from bmsflasher.sim.smp.error_codes import ImgErr, MgmtErr, SmpRequestError
from bmsflasher.sim.smp.messages import GROUP_BMS, GROUP_IMAGE, OP_WRITE, HandlerTable, Request, is_uint

CMD_COMPRESSED_UPLOAD: Final = 18
_IMAGE_MAGIC: Final = 0x96F3B83D
_IMAGE_HEADER_BYTES: Final = 32


@dataclass(slots=True)
class _Stream:
    """One compressed upload: the inflater and where it stands."""

    sha: bytes
    total: int  # image bytes (uncompressed)
    zlen: int  # compressed stream bytes
    slot: int
    zoff: int  # compressed bytes consumed
    uoff: int  # image bytes produced by the inflater
    skip_to: int  # image bytes already in flash (a resume after a reset): inflated, not rewritten
    inflater: Any


class CompressedUpload:
    """Handler of BMS command 18 for one device.

    Args:
        device: the virtual BMS.
        program_s_per_byte: flash programming time per **image** byte written (as the standard
            upload; a compressed stream costs the device the same programming time).
    """

    def __init__(self, device: VirtualBms, program_s_per_byte: float) -> None:
        self._device = device
        self._program_s_per_byte = program_s_per_byte
        self._stream: _Stream | None = None
        device.add_reset_listener(self.forget)

    def handlers(self) -> HandlerTable:
        return {(GROUP_BMS, CMD_COMPRESSED_UPLOAD, OP_WRITE): self._upload}

    def forget(self) -> None:
        """A reset clears RAM: the inflater is gone."""
        self._stream = None

    def _upload(self, request: Request) -> Mapping[str, Any]:
        body = request.body
        off, data = body.get("off"), body.get("data", b"")
        if not is_uint(off) or not isinstance(data, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'off' is unsigned, 'data' bytes")
        slot = 1 if self._device.mode is DeviceMode.APPLICATION else 0
        if off == 0:
            return self._first(body, data, slot)
        stream = self._live_stream(slot)
        if stream is None:
            return {"off": 0, "uoff": 0}  # no session: start again with len, zlen and sha
        if off != stream.zoff:
            return {"off": stream.zoff, "uoff": stream.uoff}  # dropped, as the standard upload does
        return self._inflate(stream, data)

    def _live_stream(self, slot: int) -> _Stream | None:
        """The RAM stream, if the device's upload is still the one it feeds."""
        stream = self._stream
        if stream is None or stream.slot != slot:
            return None
        status = self._device.upload_status()
        written = max(stream.uoff, stream.skip_to)
        if not status.active or status.image_sha256 != stream.sha or status.offset != written:
            return None  # another upload (or a standard one) took over
        return stream

    def _first(self, body: Mapping[str, Any], data: bytes, slot: int) -> Mapping[str, Any]:
        total, zlen, sha = body.get("len"), body.get("zlen"), body.get("sha", b"")
        if not is_uint(total) or not is_uint(zlen) or not isinstance(sha, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'len' and 'zlen' are unsigned, 'sha' bytes")
        if not total or not zlen:
            raise SmpRequestError(ImgErr.INVALID_LENGTH, group=GROUP_IMAGE, reason="'len' and 'zlen' needed")
        if len(sha) != 32:
            raise SmpRequestError(ImgErr.INVALID_HASH, group=GROUP_IMAGE, reason="'sha' is a SHA-256")
        if total > self._device.flash.geometry.slot_size:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_TOO_LARGE, group=GROUP_IMAGE, reason="img too large")
        live = self._live_stream(slot)
        if live is not None and (live.sha, live.total, live.zlen) == (sha, total, zlen):
            return self._answer(live)  # resume: the inflater still holds its place
        try:
            held = self._device.upload_begin(total, sha, slot)
        except (SimStateError, SimModeError) as exc:
            raise SmpRequestError(ImgErr.NO_FREE_SLOT, group=GROUP_IMAGE, reason="no slot") from exc
        except SimUploadError as exc:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_TOO_LARGE, group=GROUP_IMAGE, reason=str(exc)) from exc
        stream = _Stream(sha, total, zlen, slot, 0, 0, held, zlib.decompressobj(-zlib.MAX_WBITS))
        self._stream = stream
        return self._inflate(stream, data)

    def _inflate(self, stream: _Stream, data: bytes) -> Mapping[str, Any]:
        if stream.zoff + len(data) > stream.zlen:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_DATA_OVERRUN, group=GROUP_IMAGE, reason="zlen overrun")
        room = stream.total - stream.uoff
        try:
            image = stream.inflater.decompress(data, room + 1)
        except zlib.error as exc:
            self._stream = None
            raise SmpRequestError(MgmtErr.EINVAL, reason=f"not a deflate stream: {exc}") from exc
        if len(image) > room or stream.inflater.unconsumed_tail:
            self._stream = None  # more image than announced: never write past 'len'
            raise SmpRequestError(ImgErr.INVALID_IMAGE_DATA_OVERRUN, group=GROUP_IMAGE, reason="data overrun")
        start = stream.uoff
        if (
            start == 0
            and len(image) >= _IMAGE_HEADER_BYTES
            and struct.unpack_from("<I", image)[0] != _IMAGE_MAGIC
        ):
            self._stream = None
            raise SmpRequestError(ImgErr.INVALID_IMAGE_HEADER_MAGIC, group=GROUP_IMAGE, reason="magic")
        stream.zoff += len(data)
        stream.uoff += len(image)
        new = image[max(0, stream.skip_to - start) :]  # bytes the flash already holds are not rewritten
        if new:
            if self._program_s_per_byte > 0:
                time.sleep(len(new) * self._program_s_per_byte)
            try:
                self._device.upload_write(stream.uoff - len(new), new)
            except SimUploadError as exc:
                self._stream = None
                if stream.uoff == stream.total:
                    return {"off": stream.zoff, "uoff": stream.uoff, "match": False}
                raise SmpRequestError(MgmtErr.EINVAL, reason=str(exc)) from exc
        if stream.zoff == stream.zlen and stream.uoff != stream.total:
            self._stream = None
            raise SmpRequestError(ImgErr.INVALID_LENGTH, group=GROUP_IMAGE, reason="stream ended early")
        return self._answer(stream)

    @staticmethod
    def _answer(stream: _Stream) -> Mapping[str, Any]:
        answer: dict[str, Any] = {"off": stream.zoff, "uoff": stream.uoff}
        if stream.uoff == stream.total and stream.zoff == stream.zlen:
            answer["match"] = True  # the standard path checked the SHA-256 of the whole image
        return answer
