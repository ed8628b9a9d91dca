"""The upload/download functional unit: 0x34 RequestDownload, 0x36 TransferData, 0x37 RequestTransferExit.

The request checks live here, in the order ISO 14229-1 prescribes; the block sequence counter, the
streaming decompressor and the resume offset live in :class:`~bmsflasher.sim.uds.transfer.ActiveDownload`.
What the routines announce (routine 0xF000 prepares a download) and what a session change ends
is :class:`TransferState`, shared with the routine control unit.
"""

from __future__ import annotations

import struct

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.sim.uds.device_calls import DeviceCalls
from bmsflasher.sim.uds.nrc import (
    NRC_CONDITIONS_NOT_CORRECT,
    NRC_GENERAL_PROGRAMMING_FAILURE,
    NRC_INCORRECT_LENGTH,
    NRC_REQUEST_OUT_OF_RANGE,
    NRC_REQUEST_SEQUENCE_ERROR,
    NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED,
    NRC_WRONG_BLOCK_SEQUENCE_COUNTER,
    NegativeResponse,
    need_length,
)
from bmsflasher.sim.uds.server_config import UdsServerConfig
from bmsflasher.sim.uds.services_session import SESSION_DEFAULT
from bmsflasher.sim.uds.transfer import (
    SUPPORTED_COMPRESSION,
    ActiveDownload,
    DownloadDescriptor,
    TransferRefused,
    slot_of_address,
)


class TransferState:
    """The image announced for download and the download in progress, if any.

    Attributes:
        descriptor: what routine 0xF000 announced (slot, size, SHA-256); kept across the
            programming and extended sessions, forgotten in the default session.
        download: the accepted RequestDownload until its exit (or a session change).
        download_request: the request that opened ``download`` (a repeat of it is answered again).
    """

    def __init__(self) -> None:
        self.descriptor: DownloadDescriptor | None = None
        self.download: ActiveDownload | None = None
        self.download_request = b""

    def on_session(self, session: int) -> None:
        """A session change ends the download; the default session forgets the announcement too."""
        self.download = None
        if session == SESSION_DEFAULT:
            self.descriptor = None


class DownloadServices:
    """The handlers of 0x34, 0x36 and 0x37.

    Args:
        state: the transfer state (shared with routine 0xF000, which announces the image).
        calls: the device, whose flash the data is written to.
        config: maxNumberOfBlockLength announced in the RequestDownload response.
    """

    def __init__(self, state: TransferState, calls: DeviceCalls, config: UdsServerConfig) -> None:
        self.state = state
        self._calls = calls
        self._config = config

    # --- 0x34 RequestDownload ------------------------------------------------------------------
    def request_download(self, request: bytes) -> bytes:
        """RequestDownload after the general checks (programming session 0x7F, security 0x33).

        ISO 14229-1 order: minimum length (0x13), dataFormatIdentifier (0x31),
        addressAndLengthFormatIdentifier (0x31), total length (0x13), memory address and size
        (0x31), then conditions: a download already in progress (0x22), nothing announced (0x22),
        the device refusing the image (0x70).
        """
        need_length(request, minimum=5)
        dfi, alfid = request[1], request[2]
        compression, encryption = dfi >> 4, dfi & 0x0F
        if compression not in SUPPORTED_COMPRESSION or encryption != 0:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        address_len, size_len = alfid & 0x0F, alfid >> 4
        if not (1 <= address_len <= 4 and 1 <= size_len <= 4):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if len(request) != 3 + address_len + size_len:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        address = int.from_bytes(request[3 : 3 + address_len], "big")
        size = int.from_bytes(request[3 + address_len :], "big")
        try:
            slot, offset = slot_of_address(address)
        except TransferRefused as exc:
            raise NegativeResponse(exc.nrc) from exc
        if size == 0:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        state = self.state
        if state.download is not None:
            if request == state.download_request and state.download.blocks == 0:
                # The same request again before any block: the client lost our answer and
                # repeats it. Answer it again rather than refuse a harmless retry.
                return self._download_response()
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)  # a download is already in progress
        descriptor = state.descriptor
        if descriptor is None:
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)  # no image announced (routine 0xF000)
        if slot != descriptor.slot or offset + size != descriptor.total_size:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        device = self._calls.device
        try:
            held = self._calls.call(
                lambda: device.upload_begin(descriptor.total_size, descriptor.sha256, slot)
            )
        except (NegativeResponse, BmsFlasherError) as exc:
            raise NegativeResponse(NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED) from exc
        if held != offset:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)  # not where the device's flash stands
        state.download = ActiveDownload(offset, size, compression, self._flash_write)
        state.download_request = bytes(request)
        return self._download_response()

    def _download_response(self) -> bytes:
        """``74 LFI maxNumberOfBlockLength``: the length in as few bytes as it needs (at least 2)."""
        length = self._config.max_block_length
        width = max(2, (length.bit_length() + 7) // 8)
        return bytes([0x74, width << 4]) + length.to_bytes(width, "big")

    def _flash_write(self, offset: int, data: bytes) -> int:
        try:
            return int(self._calls.call(lambda: self._calls.device.upload_write(offset, data)))
        except NegativeResponse as exc:
            raise TransferRefused(NRC_GENERAL_PROGRAMMING_FAILURE, "flash not writable now") from exc
        except BmsFlasherError as exc:
            raise TransferRefused(NRC_GENERAL_PROGRAMMING_FAILURE, str(exc)) from exc

    # --- 0x36 TransferData ---------------------------------------------------------------------
    def transfer_data(self, request: bytes) -> bytes:
        need_length(request, minimum=2)
        download = self.state.download
        if download is None:
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        if len(request) > self._config.max_block_length:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        counter = request[1]
        try:
            download.transfer(counter, request[2:])
        except TransferRefused as exc:
            if exc.nrc != NRC_WRONG_BLOCK_SEQUENCE_COUNTER:
                # The transfer is broken; the client resumes from the flash offset.
                self.state.download = None
            raise NegativeResponse(exc.nrc) from exc
        return bytes([0x76, counter])

    # --- 0x37 RequestTransferExit --------------------------------------------------------------
    def transfer_exit(self, request: bytes) -> bytes:
        download = self.state.download
        if download is None:
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        if not download.complete:
            # ISO 14229-1: exit before all announced data arrived is a sequence error; the
            # download stays open so the client can send the missing blocks.
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        self.state.download = None
        return bytes([0x77]) + struct.pack(">I", download.offset)
