"""The UDS programming download: announce, erase (only when starting over), transfer, exit.

Sequence (docs/protocols/uds.md): routine 0xF000 announces the image (slot, size, SHA-256) and
returns the offset the device's flash already holds for that same image; only a fresh download
(offset 0) erases the slot (0xFF00, answered with 0x78 response-pending while it runs). Then
RequestDownload at ``slot base + offset`` — optionally zlib-compressed (dataFormatIdentifier
0x10) when the device lists it in DID 0xFD04 — TransferData blocks with the counter starting at
1 and wrapping 0xFF→0x00, and RequestTransferExit.

A block that gets no answer is ambiguous (lost request, or lost response after the device wrote
it), so the engine never guesses: it asks the device where its flash stands (DID 0xFD05) and
starts a new RequestDownload from there, with a smaller block if blocks keep failing (a lossy
bus loses long blocks far more often than short ones). The same mechanism resumes a transfer
broken by a pulled cable: nothing restarts from zero. The number of re-synchronisations scales
with the work still to do (:func:`resync_budget`), and only a run of them that gains no byte at
all (:data:`_MAX_STALLED_RESYNCS`) gives up.
"""

from __future__ import annotations

import hashlib
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from bmsflasher.core.errors import (
    DeviceRejectedError,
    LinkLostError,
    NoResponseError,
    ProtocolError,
)
from bmsflasher.core.i18n import t
from bmsflasher.protocols.uds import codec, ids
from bmsflasher.protocols.uds.client import UdsClient

ProgressFn = Callable[[int, int], None]
_MIN_BLOCK_DATA: Final = 256
_GROW_AFTER_SUCCESSES: Final = 8
#: Re-synchronisations allowed for a whole download: a base plus two per block of the smallest
#: size still to send, so a large image on a lossy bus gets proportionally more (bounded) tries.
_BASE_RESYNCS: Final = 8
_RESYNCS_PER_BLOCK: Final = 2
#: Re-synchronisations in a row that gain no byte before the device counts as gone: progress, not
#: a fixed count, is what tells a lossy link from a dead one.
_MAX_STALLED_RESYNCS: Final = 12
_PREPARE_TRIES: Final = 3
_ZLIB_LEVEL: Final = 9
#: The image is fed to the compressor in slices this long. ``zlib.compress`` on the whole image
#: grows its output in doubling blocks (32 KiB, 64 KiB, 256 KiB...) and then copies them: 614 KiB
#: allocated at once for the 256 KiB demo image, against 383 KiB this way (tracemalloc), for the
#: same bytes (deflate's output does not depend on how its input is sliced).
_COMPRESS_FEED_BYTES: Final = 64 * 1024
#: NRCs after which a new RequestDownload from the device's offset can succeed.
_RESYNC_NRCS: Final = frozenset({0x24, 0x71, 0x72, 0x73})
#: NRCs that, once a re-synchronisation happened, mean the offset just learnt was overtaken (a
#: late announcement answer, or a block written after it): 0x31 "not where the flash stands",
#: 0x22 "a download is already in progress". Before any, they are a real refusal.
_RESYNC_AGAIN_NRCS: Final = frozenset({0x22, 0x31})


@dataclass
class DownloadReport:
    """What a download did (for logs, benchmarks and tests).

    ``seconds`` covers the whole download (announce, erase, transfer); ``transfer_seconds`` only the
    RequestDownload/TransferData/RequestTransferExit part, i.e. what the link limits.
    """

    total_bytes: int
    start_offset: int = 0
    erased: bool = False
    compressed: bool = False
    wire_bytes: int = 0
    blocks: int = 0
    resyncs: int = 0
    seconds: float = 0.0
    transfer_seconds: float = 0.0
    block_sizes: list[int] = field(default_factory=list)


def prepare(client: UdsClient, slot: int, image: bytes) -> int:
    """Routine 0xF000: announce the image; returns the offset the device already holds."""
    record = struct.pack(">BI", slot, len(image)) + hashlib.sha256(image).digest()
    status = client.routine(ids.RID_PREPARE_DOWNLOAD, t("announce the image to the device"), record)
    if len(status) >= 1 and status[0] == 0x01:
        reason = status[1] if len(status) > 1 else ids.REASON_STATE
        if reason == ids.REASON_MODE:
            raise DeviceRejectedError(t("The device cannot take a new image in its current mode."))
        raise DeviceRejectedError(
            t("The device cannot take a new image now (the running image may still be on test)."),
            hint=t("Confirm the running image or reset the device to revert it, then retry."),
        )
    if len(status) != 5 or status[0] != 0:
        raise ProtocolError(t("The device's answer to the download announcement is malformed."))
    return int(struct.unpack(">I", status[1:5])[0])


def device_offset(client: UdsClient) -> int:
    """Where the device's flash stands for the current upload (DID 0xFD05)."""
    return codec.upload_status(client.read_did(ids.DID_UPLOAD_STATUS, t("the upload status"))).offset


def erase(client: UdsClient, slot: int) -> None:
    """Routine 0xFF00 EraseMemory of a whole slot (the device answers 0x78 while erasing)."""
    record = bytes([0x44]) + struct.pack(">II", ids.SLOT_BASE_ADDRESS[slot], 0)
    status = client.routine(ids.RID_ERASE_MEMORY, t("erase slot {slot}", slot=slot), record)
    if not status or status[0] != 0:
        raise DeviceRejectedError(t("The device could not erase slot {slot}.", slot=slot))


class _BlockPlan:
    """Adaptive block length: halve after a failed block, grow back after a run of successes."""

    def __init__(self, max_data: int) -> None:
        self.max_data = max_data
        self.size = max_data
        self._streak = 0

    def failed(self) -> None:
        # Never below 256 bytes, nor above what the device accepts (it may announce less).
        self.size = max(min(_MIN_BLOCK_DATA, self.max_data), self.size // 2)
        self._streak = 0

    def succeeded(self) -> None:
        self._streak += 1
        if self._streak >= _GROW_AFTER_SUCCESSES and self.size < self.max_data:
            self.size = min(self.max_data, self.size * 2)
            self._streak = 0


def _transfer_from(  # noqa: PLR0917 -- one private step of download(), called once
    client: UdsClient,
    image: bytes,
    slot: int,
    offset: int,
    compress: bool,
    plans: list[_BlockPlan],
    report: DownloadReport,
    on_progress: ProgressFn | None,
) -> None:
    """One RequestDownload from ``offset`` to the end; raises on the first failed block.

    ``plans`` holds the block plan across re-synchronisations (created at the first download,
    replaced only if the device announces another block length).
    """
    remaining = memoryview(image)[offset:]  # a view: resuming never copies the rest of the image
    payload = zlib_stream(remaining) if compress else remaining
    method = ids.COMPRESSION_ZLIB if compress else ids.COMPRESSION_NONE
    max_length = client.request_download(ids.SLOT_BASE_ADDRESS[slot] + offset, len(remaining), method)
    if max_length < 3:
        raise ProtocolError(
            t("The device announced an unusable block length of {length} bytes.", length=max_length)
        )
    if not plans or plans[0].max_data != max_length - 2:
        plans[:] = [_BlockPlan(max_length - 2)]
    plan = plans[0]
    counter = 1
    position = 0
    while position < len(payload):
        block = bytes(payload[position : position + plan.size])
        try:
            client.transfer_data(counter, block)
        except (NoResponseError, DeviceRejectedError):
            plan.failed()
            raise
        plan.succeeded()
        position += len(block)
        counter = (counter + 1) & 0xFF
        report.blocks += 1
        report.wire_bytes += len(block)
        report.block_sizes.append(len(block))
        if on_progress is not None:
            done = offset + (len(remaining) * position // len(payload) if payload else 0)
            on_progress(min(done, len(image)), len(image))
    client.transfer_exit()


def zlib_stream(data: memoryview) -> bytes:
    """The zlib stream (RFC 1950, level 9) of ``data``: exactly the bytes ``zlib.compress`` returns.

    Built from slices so that only the compressed result and the compressor's own state are
    held, never zlib's oversized output blocks for the whole image.
    """
    compressor = zlib.compressobj(_ZLIB_LEVEL)
    parts = [
        compressor.compress(data[start : start + _COMPRESS_FEED_BYTES])
        for start in range(0, len(data), _COMPRESS_FEED_BYTES)
    ]
    parts.append(compressor.flush())
    return b"".join(parts)


def download(
    client: UdsClient,
    image: bytes,
    slot: int,
    *,
    compress: bool,
    on_progress: ProgressFn | None = None,
) -> DownloadReport:
    """Transfer ``image`` into ``slot``, resuming from whatever the device already holds.

    Raises:
        LinkLostError: the adapter went away (the caller reconnects and calls again: it resumes).
        DeviceRejectedError: the device refused the download for good (NRC named).
        NoResponseError: the device stopped answering even after re-synchronising.
    """
    started = time.monotonic()
    report = DownloadReport(total_bytes=len(image), compressed=compress)
    offset = prepare(client, slot, image)
    report.start_offset = offset
    if offset == 0:
        erase(client, slot)
        report.erased = True
        offset = prepare(client, slot, image)
    if on_progress is not None:
        on_progress(offset, len(image))
    plans: list[_BlockPlan] = []
    transfer_started = time.monotonic()
    budget = resync_budget(len(image) - offset)
    stalled = 0
    while offset < len(image):
        try:
            _transfer_from(client, image, slot, offset, compress, plans, report, on_progress)
            break
        except LinkLostError:
            raise
        except (NoResponseError, DeviceRejectedError) as exc:
            code = getattr(exc, "code", None)
            if isinstance(exc, DeviceRejectedError) and not (
                code in _RESYNC_NRCS or (report.resyncs and code in _RESYNC_AGAIN_NRCS)
            ):
                raise
            resumed: int | None = None
            while resumed is None:
                report.resyncs += 1
                if report.resyncs > budget or stalled >= _MAX_STALLED_RESYNCS:
                    raise
                resumed = _resync(client, slot, image)
                if resumed is None or resumed <= offset:
                    stalled += 1
            if resumed > offset:
                stalled = 0
            offset = resumed
    report.transfer_seconds = time.monotonic() - transfer_started
    report.seconds = time.monotonic() - started
    if on_progress is not None:
        on_progress(len(image), len(image))
    return report


def resync_budget(remaining_bytes: int) -> int:
    """Re-synchronisations allowed for ``remaining_bytes``: a base plus two per smallest block."""
    blocks = -(-max(0, remaining_bytes) // _MIN_BLOCK_DATA)
    return _BASE_RESYNCS + _RESYNCS_PER_BLOCK * blocks


def _resync(client: UdsClient, slot: int, image: bytes) -> int | None:
    """After a failed block: re-announce the image and learn the device's real offset.

    Returns None when even the announcement went unanswered: the caller counts that as a
    re-synchronisation without progress and tries again, within its budget.
    """
    for _ in range(_PREPARE_TRIES):
        try:
            return prepare(client, slot, image)
        except NoResponseError:
            continue
    return None
