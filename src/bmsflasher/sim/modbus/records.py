"""The image being received, record by record: in order into flash, ahead of a gap into RAM.

A record is 238 bytes of the image (record *r* = bytes [238 r, 238 r + 238)); the device's upload API
takes data only at its current offset, so a record that arrives ahead of a missing one (a broadcast
the module heard only partly) waits in RAM until the gap is filled. What the module holds is what is
in flash (contiguous from 0, the device's own count after a power cut) plus what waits in RAM; the
rest is the missing-records report (file 2). A reset or power cut forgets RAM: the next PREPARE of
the same image asks the device what its flash still holds. The last record written stays in RAM
too: its final bytes may still wait for a whole flash write unit, so a read-back is answered from
RAM, as a module's firmware keeps the record it is programming.
"""

from __future__ import annotations

import math
from typing import Final

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.modbus.vendor_map import RECORD_BYTES

MAX_RECORDS: Final = 10_000
"""Record numbers are 0..9999 (the file-record functions' range)."""


class ImageRecords:
    """One upload's records.

    Args:
        device: the virtual BMS (its upload was begun with this size, hash and slot).
        slot: the slot being written.
        size: the image size in bytes.
        sha256: the SHA-256 that names the upload.
        held: the bytes the device already holds (``upload_begin``'s answer).
    """

    def __init__(self, device: VirtualBms, slot: int, size: int, sha256: bytes, held: int) -> None:
        self._device = device
        self.slot = slot
        self.size = size
        self.sha256 = sha256
        self.flushed = held
        self._waiting: dict[int, bytes] = {}
        self._last: tuple[int, bytes] | None = None

    def same_upload(self, slot: int, size: int, sha256: bytes) -> bool:
        """True when a PREPARE names this upload again (a resume after a broken link)."""
        return (self.slot, self.size, self.sha256) == (slot, size, sha256)

    @property
    def total(self) -> int:
        """Records in the image."""
        return math.ceil(self.size / RECORD_BYTES)

    def record_bytes(self, record: int) -> int:
        """The length of ``record`` in bytes (the last one is shorter)."""
        return min(RECORD_BYTES, self.size - record * RECORD_BYTES)

    @property
    def complete(self) -> bool:
        return self.flushed >= self.size

    def held(self, record: int) -> bool:
        """True when the module has all of ``record`` (in flash or waiting in RAM)."""
        return (
            record in self._waiting
            or (record + 1) * RECORD_BYTES <= self.flushed
            or (record == self.total - 1 and self.complete)
        )

    def missing(self) -> list[int]:
        """Records not held, in order."""
        return [record for record in range(self.total) if not self.held(record)]

    def missing_bitmap(self) -> bytes:
        """File 2: bit r (bit r mod 8 of byte r // 8) set when record r is missing."""
        bitmap = bytearray(math.ceil(self.total / 8))
        for record in self.missing():
            bitmap[record // 8] |= 1 << (record % 8)
        return bytes(bitmap)

    def put(self, record: int, data: bytes) -> None:
        """Take ``record`` (already checked: in range, of its length), then write what is now in order.

        Raises:
            SimUploadError: the device refused the data (the finished image does not match its SHA-256).
            SimPoweredOffError: the power failed while writing.
        """
        if self.held(record) and record not in self._waiting:
            return  # already in flash: a repeated record (a lost answer, a second broadcast)
        self._waiting[record] = data
        while not self.complete:
            current = self.flushed // RECORD_BYTES
            chunk = self._waiting.get(current)
            if chunk is None:
                return
            start = current * RECORD_BYTES
            self.flushed = self._device.upload_write(self.flushed, chunk[self.flushed - start :])
            if self.flushed >= start + len(chunk):
                self._last = (current, self._waiting.pop(current))

    def read_back(self, record: int) -> bytes | None:
        """The bytes the module holds for ``record`` (None when it does not hold all of them)."""
        if not self.held(record):
            return None
        if record in self._waiting:
            return self._waiting[record]
        if self._last is not None and self._last[0] == record:
            return self._last[1]
        flash = self._device.flash
        start = flash.geometry.slot_offset(self.slot) + record * RECORD_BYTES
        return flash.read(start, self.record_bytes(record))
