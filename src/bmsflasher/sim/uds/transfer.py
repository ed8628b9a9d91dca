"""The device side of a UDS download (0x34 RequestDownload, 0x36 TransferData, 0x37 exit).

Kept apart from the service dispatcher because it is the part with real state: the block
sequence counter (starts at 1, wraps 0xFF→0x00, a repeated block is acknowledged but not
written twice, as ISO 14229-1 asks so a client may retry after a lost response), the streaming
decompressor (the client may send zlib-compressed data; the device inflates it block by block
into flash) and the resume offset the flash already holds.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

#: dataFormatIdentifier high nibble (compressionMethod) values this device accepts.
COMPRESSION_NONE: Final = 0x0
COMPRESSION_ZLIB: Final = 0x1
SUPPORTED_COMPRESSION: Final[frozenset[int]] = frozenset({COMPRESSION_NONE, COMPRESSION_ZLIB})
#: Logical memory addresses of the image slots (documented in docs/protocols/uds.md).
SLOT_BASE_ADDRESS: Final[dict[int, int]] = {0: 0x1000_0000, 1: 0x2000_0000}


class TransferRefused(Exception):  # noqa: N818 -- carries an NRC, converted to a negative response
    """A transfer request the device answers negatively; ``nrc`` is the ISO 14229-1 code."""

    def __init__(self, nrc: int, reason: str) -> None:
        super().__init__(reason)
        self.nrc = nrc


@dataclass(frozen=True, slots=True)
class DownloadDescriptor:
    """What routine 0xF000 (prepare download) announced: which image goes where."""

    slot: int
    total_size: int
    sha256: bytes


def slot_of_address(address: int) -> tuple[int, int]:
    """Split a logical address into (slot, offset); raises TransferRefused(0x31) if unmapped."""
    for slot, base in SLOT_BASE_ADDRESS.items():
        if base <= address < base + 0x1000_0000:
            return slot, address - base
    raise TransferRefused(0x31, f"address 0x{address:08X} is not in an image slot")


WriteFn = Callable[[int, bytes], int]


class ActiveDownload:
    """One accepted RequestDownload until RequestTransferExit (or a session change ends it).

    Args:
        offset: where in the slot this download starts (the resume offset).
        size: uncompressed bytes this download covers.
        compression: dataFormatIdentifier compression method.
        write: the device's ``upload_write(offset, data) -> new offset``.
    """

    def __init__(self, offset: int, size: int, compression: int, write: WriteFn) -> None:
        self.start_offset = offset
        self.offset = offset
        self.end_offset = offset + size
        self.compression = compression
        self._write = write
        self._inflater = zlib.decompressobj() if compression == COMPRESSION_ZLIB else None
        self.expected_counter = 1
        self.last_counter: int | None = None
        self.blocks = 0

    def transfer(self, counter: int, data: bytes) -> None:
        """Handle one 0x36 block; raises TransferRefused with the NRC to answer."""
        if counter == self.last_counter and counter != self.expected_counter:
            return  # the client repeated a block whose response it lost: acknowledge, do not rewrite
        if counter != self.expected_counter:
            raise TransferRefused(
                0x73, f"block counter 0x{counter:02X}, expected 0x{self.expected_counter:02X}"
            )
        plain = self._inflate(data)
        if self.offset + len(plain) > self.end_offset:
            raise TransferRefused(0x71, "more data than the download announced")
        if plain:
            self.offset = self._write(self.offset, plain)  # raises TransferRefused(0x72) on failure
        self.last_counter = counter
        self.expected_counter = (counter + 1) & 0xFF
        self.blocks += 1

    def _inflate(self, data: bytes) -> bytes:
        if self._inflater is None:
            return data
        try:
            return self._inflater.decompress(data)
        except zlib.error as exc:
            raise TransferRefused(0x71, f"compressed data is corrupt: {exc}") from exc

    @property
    def complete(self) -> bool:
        return self.offset >= self.end_offset
