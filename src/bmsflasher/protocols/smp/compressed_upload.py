"""Compressed image upload over SMP (BMS group command 18): the device inflates a deflate stream.

The image is sent as one raw deflate stream (RFC 1951, level 9, no zlib header); the firmware
inflates each chunk into the same slot write the standard upload does and checks the SHA-256 of
the whole (uncompressed) image at the end, so the image the bootloader verifies is unchanged.
The pipelining, go-back-N and chunk sizing are :class:`~bmsflasher.protocols.smp.upload.ImageUploader`'s,
run over the compressed stream: ``off`` is a position in the compressed stream.

Resume: the stream is deterministic (same image, same level → same bytes), and the device keeps
its inflater while it stays powered, so a first chunk naming the same ``sha``/``len``/``zlen`` after
a killed tool or a pulled cable is answered with the compressed offset it holds. After a reset the
stream starts again at 0 (the image bytes already in flash are not rewritten).

Timeouts scale with the **uncompressed** size (esptool's pitfall: a compressed chunk makes the
device program ~2.5x as many bytes as it carries, and the first chunk erases the whole image's
area): see :func:`timeouts_for`.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Final

from bmsflasher.protocols.smp import messages as msg
from bmsflasher.protocols.smp.codec import BmsCommand, SmpResponse
from bmsflasher.protocols.smp.framing import wire_size
from bmsflasher.protocols.smp.session import BASE_TIMEOUT_S, SmpSession
from bmsflasher.protocols.smp.upload import DEFAULT_FIRST_TIMEOUT_S, ImageUploader, ProgressCallback

LEVEL: Final = 9
WORST_PROGRAM_S_PER_BYTE: Final = 5e-5
"""Slowest flash the timeouts allow for: 20 KB/s (external SPI NOR), 5x slower than internal flash."""
WORST_ERASE_S_PER_BYTE: Final = 1e-5
"""Slowest erase the first chunk's wait allows for: ~40 ms per 4 KiB sector."""
WORTHWHILE_RATIO: Final = 0.9
"""Compress only when the stream is at most this share of the image (random data does not shrink)."""


def deflate(image: bytes) -> bytes:
    """The image as the raw deflate stream the device inflates (deterministic for a given image)."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(image) + compressor.flush()


def timeouts_for(
    session: SmpSession, image_bytes: int, stream_bytes: int, max_message: int, window: int
) -> tuple[float, float]:
    """(first answer, chunk answer ceiling) for a stream that inflates ``image_bytes`` from ``stream_bytes``.

    The chunk ceiling covers the window's wire time plus the device programming every image byte
    the window's chunks inflate to, at the slowest flash allowed for; the first answer covers
    erasing the whole image's area.
    """
    ratio = image_bytes / max(stream_bytes, 1)
    frame_s = session.wire_time_s(wire_size(max_message))
    program_s = max_message * ratio * WORST_PROGRAM_S_PER_BYTE
    chunk_s = BASE_TIMEOUT_S + (2.0 * frame_s + program_s) * (window + 1)
    first_s = max(DEFAULT_FIRST_TIMEOUT_S, image_bytes * WORST_ERASE_S_PER_BYTE * 2)
    return first_s, chunk_s


class CompressedImageUploader(ImageUploader):
    """:class:`ImageUploader` over the image's deflate stream, with BMS command 18's messages."""

    def __init__(
        self,
        session: SmpSession,
        image: bytes,
        stream: bytes,
        *,
        max_message: int,
        window: int,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self._image_len = len(image)
        self._image_sha = hashlib.sha256(image).digest()
        first_s, chunk_s = timeouts_for(session, len(image), len(stream), max_message, window)
        self._progress_image = on_progress
        super().__init__(
            session,
            stream,
            max_message=max_message,
            window=window,
            first_timeout_s=first_s,
            chunk_timeout_s=chunk_s,
            on_progress=self._report_image if on_progress is not None else None,
        )

    def _request(self, sequence: int, offset: int, length: int, *, first: bool) -> bytes:
        body: dict[str, object] = {"off": offset, "data": self._image[offset : offset + length]}
        if first:
            body.update(len=self._image_len, zlen=self._total, sha=self._image_sha)
        return msg.bms_write(BmsCommand.COMPRESSED_UPLOAD, body, sequence)

    def _is_answer(self, response: SmpResponse) -> bool:
        header = response.header
        return header.group == 72 and header.command == BmsCommand.COMPRESSED_UPLOAD and header.op == 3

    def _report_image(self, done: int, total: int) -> None:
        """Progress in image bytes (what the technician's bar shows), scaled from the stream."""
        if self._progress_image is not None:
            self._progress_image(
                min(self._image_len, done * self._image_len // max(total, 1)), self._image_len
            )
