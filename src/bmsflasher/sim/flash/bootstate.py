"""The boot-state area: the bootloader's persistent flags, kept power-safe as a log of records.

Every change of state (a pending request, one step of a swap, a confirmation, the security
counter) is one new record appended to the current sector: ``magic, sequence, length, payload,
CRC-32``. The state is the last record whose CRC verifies, so an interrupted write (nothing or a
torn record lands) leaves the previous state in force. A full sector, or one whose tail holds a
torn record, is retired by writing the whole state as the first record of the next sector after
erasing it; at start-up the sector whose first record is valid with the highest sequence is the
current one. No sequence of power cuts can therefore produce a state that was never written.

While an encrypted image is swapped, each record also carries the two images' AES keys and body
ranges (:class:`~bmsflasher.sim.flash.encryption.BodyCipher`), as MCUboot keeps them in its swap
status: after a cut the key TLVs may already sit in the other slot, so the keys are taken from the
record, never re-read from the half-swapped slots. Such records are longer; a record's own length
field says which form it is, so logs of both forms read back.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass
from typing import Final

from bmsflasher.sim.flash.encryption import BodyCipher
from bmsflasher.sim.flash.memory import Flash

_MAGIC: Final = 0xB007
_RECORD_HEAD: Final = struct.Struct("<HHI")  # magic, payload length, sequence
_PAYLOAD: Final = struct.Struct("<IBBHHBBBBBBI32s")
_CIPHERS: Final = struct.Struct("<BHI32sBHI32s")  # per slot: key length, body start, body length, key
_CRC: Final = struct.Struct("<I")
_PAYLOAD_SIZES: Final = (_PAYLOAD.size, _PAYLOAD.size + _CIPHERS.size)
NO_UPLOAD: Final = 0xFF


class SwapRequest(enum.IntEnum):
    """What the next boot should do with the secondary slot (MCUboot swap types)."""

    NONE = 0
    TEST = 1  # boot it once, revert unless confirmed
    PERMANENT = 2  # make it the image for good


class SwapKind(enum.IntEnum):
    """The swap in progress (persisted so a cut swap resumes)."""

    NONE = 0
    TEST = 1
    PERMANENT = 2
    REVERT = 3  # swapping a rejected test image back out
    FALLBACK = 4  # leaving a boot-looping image for the other slot


@dataclass(frozen=True, slots=True)
class BootState:
    """Everything the bootloader remembers across resets.

    Attributes:
        security_counter: the stored anti-rollback counter; only ever raised.
        request: the swap asked for at the next boot.
        swap: the swap in progress, NONE when idle.
        swap_sectors: how many sectors the swap in progress covers.
        swap_sector: the sector (counted from the end) the swap is at.
        swap_stage: steps of that sector already done (0..3).
        primary_confirmed: the primary image is confirmed (MCUboot ``image_ok``).
        primary_test: the primary image was swapped in for a test and awaits confirmation.
        boot_failures: consecutive crash resets of the primary image before it came up.
        upload_slot: slot of the last upload begun (0xFF none).
        upload_size: its total size.
        upload_sha256: its SHA-256, to resume the same image after a reset.
        primary_cipher: during a swap, the key that re-encrypts the primary image into the
            secondary slot (None: the primary image is not flagged encrypted, copied as it is).
        secondary_cipher: during a swap, the key that decrypts the secondary image into the
            primary slot (None: the secondary image is in clear).
    """

    security_counter: int = 0
    request: SwapRequest = SwapRequest.NONE
    swap: SwapKind = SwapKind.NONE
    swap_sectors: int = 0
    swap_sector: int = 0
    swap_stage: int = 0
    primary_confirmed: bool = True
    primary_test: bool = False
    boot_failures: int = 0
    upload_slot: int = NO_UPLOAD
    upload_size: int = 0
    upload_sha256: bytes = bytes(32)
    primary_cipher: BodyCipher | None = None
    secondary_cipher: BodyCipher | None = None

    def pack(self) -> bytes:
        base = self._pack_base()
        if self.primary_cipher is None and self.secondary_cipher is None:
            return base
        return base + _CIPHERS.pack(
            *_cipher_fields(self.primary_cipher), *_cipher_fields(self.secondary_cipher)
        )

    def _pack_base(self) -> bytes:
        return _PAYLOAD.pack(
            self.security_counter,
            int(self.request),
            int(self.swap),
            self.swap_sectors,
            self.swap_sector,
            self.swap_stage,
            int(self.primary_confirmed),
            int(self.primary_test),
            self.boot_failures,
            self.upload_slot,
            0,
            self.upload_size,
            self.upload_sha256,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> BootState:
        ciphers: tuple[BodyCipher | None, BodyCipher | None] = (None, None)
        if len(raw) == _PAYLOAD_SIZES[1]:
            fields = _CIPHERS.unpack_from(raw, _PAYLOAD.size)
            ciphers = (_cipher_from(*fields[:4]), _cipher_from(*fields[4:]))
            raw = raw[: _PAYLOAD.size]
        (
            counter,
            request,
            swap,
            sectors,
            sector,
            stage,
            confirmed,
            test,
            failures,
            upload_slot,
            _r,
            size,
            sha,
        ) = _PAYLOAD.unpack(raw)
        return cls(
            security_counter=counter,
            request=SwapRequest(request),
            swap=SwapKind(swap),
            swap_sectors=sectors,
            swap_sector=sector,
            swap_stage=stage,
            primary_confirmed=bool(confirmed),
            primary_test=bool(test),
            boot_failures=failures,
            upload_slot=upload_slot,
            upload_size=size,
            upload_sha256=sha,
            primary_cipher=ciphers[0],
            secondary_cipher=ciphers[1],
        )


def _cipher_fields(cipher: BodyCipher | None) -> tuple[int, int, int, bytes]:
    if cipher is None:
        return 0, 0, 0, bytes(32)
    return len(cipher.key), cipher.start, cipher.length, cipher.key


def _cipher_from(key_len: int, start: int, length: int, key: bytes) -> BodyCipher | None:
    if key_len == 0:
        return None
    if key_len not in (16, 32):
        raise ValueError("bad key length")
    return BodyCipher(key[:key_len], start, length)


class BootStateStore:
    """Reads and appends boot-state records in the boot area of a :class:`Flash`."""

    def __init__(self, flash: Flash) -> None:
        self._flash = flash
        g = flash.geometry
        self._sector_size = g.sector_size
        self._sectors = [g.boot_offset + i * g.sector_size for i in range(g.boot_sectors)]
        self._unit = g.write_size
        self._record_len = self._length_for(_PAYLOAD_SIZES[-1])  # the longest record (reading bound)
        self.state = BootState()
        self._sequence = 0
        self._current = 0  # index into _sectors
        self._next_offset: int | None = None  # None: the sector must be retired before appending
        self.blank = True

    def load(self) -> BootState:
        """Find the current sector and its last valid record (start-up of the bootloader)."""
        best: tuple[int, int] | None = None  # (sequence, sector index)
        for index, base in enumerate(self._sectors):
            first = self._record_at(base)
            if first is not None and (best is None or first[0] > best[0]):
                best = (first[0], index)
        if best is None:
            self.blank = True
            self.state = BootState()
            self._sequence = 0
            self._current = 0
            self._next_offset = None
            return self.state
        self.blank = False
        self._current = best[1]
        base = self._sectors[self._current]
        offset = 0
        while offset < self._sector_size:
            record = self._record_at(base + offset)
            if record is None:
                break
            self._sequence, self.state, length = record
            offset += length
        tail_clean = offset < self._sector_size and self._flash.is_erased(
            base + offset, self._sector_size - offset
        )
        self._next_offset = offset if tail_clean else None
        return self.state

    def save(self, state: BootState) -> None:
        """Append ``state`` as the new current state (one write, or an erase and a write)."""
        if state == self.state and not self.blank:
            return
        self._sequence += 1
        record = self._encode(self._sequence, state)
        if self._next_offset is None or self._next_offset + len(record) > self._sector_size:
            target = (self._current + 1) % len(self._sectors)
            base = self._sectors[target]
            if not self._flash.is_erased(base, self._sector_size):
                self._flash.erase_sector(base)
            self._flash.write(base, record)
            self._current = target
            self._next_offset = len(record)
        else:
            self._flash.write(self._sectors[self._current] + self._next_offset, record)
            self._next_offset += len(record)
        self.state = state
        self.blank = False

    def _encode(self, sequence: int, state: BootState) -> bytes:
        payload = state.pack()
        body = _RECORD_HEAD.pack(_MAGIC, len(payload), sequence) + payload
        body += _CRC.pack(zlib.crc32(body))
        return body.ljust(self._length_for(len(payload)), b"\xff")

    def _length_for(self, payload_size: int) -> int:
        """A record's flash length: head, payload and CRC, rounded up to the write size."""
        raw_len = _RECORD_HEAD.size + payload_size + _CRC.size
        return -(-raw_len // self._unit) * self._unit

    def _record_at(self, address: int) -> tuple[int, BootState, int] | None:
        """The record at ``address``: (sequence, state, its flash length), or None if none is valid."""
        raw = self._flash.read(address, min(self._record_len, self._sector_end(address) - address))
        if len(raw) < _RECORD_HEAD.size:
            return None
        magic, length, sequence = _RECORD_HEAD.unpack_from(raw)
        if magic != _MAGIC or length not in _PAYLOAD_SIZES or self._length_for(length) > len(raw):
            return None
        end = _RECORD_HEAD.size + length
        (crc,) = _CRC.unpack_from(raw, end)
        if crc != zlib.crc32(raw[:end]):
            return None
        try:
            return sequence, BootState.unpack(raw[_RECORD_HEAD.size : end]), self._length_for(length)
        except ValueError:
            return None

    def _sector_end(self, address: int) -> int:
        return address - (address - self._sectors[0]) % self._sector_size + self._sector_size
