"""The device's NOR flash: erase/write granularity, operation counting and fault injection.

Programming can only clear bits and only on an erased (0xFF) area, as on real NOR flash and
STM32-style controllers; writing over programmed bytes raises :class:`FlashProgramError`, which
would be a bug in the device code, so tests catch it instead of silently AND-ing bytes.

The backing store is either memory or a memory-mapped state file (a header followed by the flash
contents). A completed operation is in the OS page cache at once, so killing the process keeps
every finished operation, and restarting it is exactly a power cycle.
"""

from __future__ import annotations

import mmap
import random
import struct
import time
from pathlib import Path
from typing import Final

from bmsflasher.sim.errors import SimStateFileError
from bmsflasher.sim.flash.faults import FaultPlan, PowerCut
from bmsflasher.sim.options import FlashGeometry

ERASED: Final = 0xFF
CHAIN_GAP_S: Final = 0.002
"""An erase that starts within this long after the previous one ended is paced from that end.

A swap erases about 200 sectors back to back; sleeping the declared time per erase added each
sleep's overshoot and the Python work between erases (on a real MCU, microseconds) to it: 1.06 s
for a declared 0.98 s. Chained erases share one running deadline instead, so a run of them takes
its declared time; an erase after an idle spell starts its own."""
_FILE_MAGIC: Final = b"VBMS-FLASH-v1\x00\x00\x00"
_HEADER: Final = struct.Struct("<16sIIIII")
_HEADER_SIZE: Final = 64


class FlashProgramError(Exception):
    """A write hit bytes that are not erased, or broke alignment: a bug in the device firmware model."""


class Flash:
    """A flash array with counted, fault-injectable operations.

    Attributes:
        geometry: the layout.
        faults: the armed fault plan (mutable; tests arm and clear it).
        ops_done: operations started since power-on (a torn one counts).
    """

    def __init__(
        self,
        geometry: FlashGeometry,
        *,
        state_file: Path | None = None,
        erase_time_s_per_sector: float = 0.0,
        seed: int = 0,
    ) -> None:
        geometry.validate()
        self.geometry = geometry
        self.faults = FaultPlan()
        self.ops_done = 0
        self._erase_time_s = erase_time_s_per_sector
        self._busy_until = 0.0  # monotonic time the last paced erase ends
        self._rng = random.Random(seed)
        self._generations = [0, 0, 0]  # slot 0, slot 1, everything else
        self._mmap: mmap.mmap | None = None
        self.created = False
        if state_file is None:
            self._data: bytearray | mmap.mmap = bytearray([ERASED]) * geometry.total_size
            self._base = 0
            self.created = True
        else:
            self._data = self._open_file(state_file)
            self._base = _HEADER_SIZE

    # --- persistence ---------------------------------------------------------------------------
    def _open_file(self, path: Path) -> mmap.mmap:
        g = self.geometry
        header = _HEADER.pack(
            _FILE_MAGIC, g.sector_size, g.write_size, g.slot_sectors, g.boot_sectors, g.config_sectors
        ).ljust(_HEADER_SIZE, b"\x00")
        size = _HEADER_SIZE + g.total_size
        try:
            if path.exists() and not path.is_file():
                # st_size of a device node is 0: never "create" a state file over /dev/zero.
                raise SimStateFileError(f"{path} is not a regular file; choose another --state file")
            if not path.exists() or path.stat().st_size == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".new")
                tmp.write_bytes(header + bytes([ERASED]) * g.total_size)
                tmp.replace(path)
                self.created = True
            with path.open("r+b") as handle:
                found = handle.read(_HEADER_SIZE)
                if found[:16] != _FILE_MAGIC:
                    raise SimStateFileError(f"{path} is not a virtual BMS state file")
                if found != header:
                    raise SimStateFileError(
                        f"{path} holds a flash of another geometry; delete it or use another --state file"
                    )
                if path.stat().st_size != size:
                    raise SimStateFileError(f"{path} is truncated ({path.stat().st_size} of {size} bytes)")
                self._mmap = mmap.mmap(handle.fileno(), size)
        except OSError as exc:
            raise SimStateFileError(f"cannot use the state file {path}: {exc.strerror or exc}") from exc
        return self._mmap

    def close(self) -> None:
        """Flush and release the state file (the in-memory flash needs nothing)."""
        if self._mmap is not None and not self._mmap.closed:
            self._mmap.flush()
            self._mmap.close()

    def snapshot(self) -> bytes:
        """The whole flash contents (tests clone a device state with it)."""
        return bytes(self._data[self._base : self._base + self.geometry.total_size])

    def load_snapshot(self, contents: bytes) -> None:
        """Replace the whole contents (not an operation: factory programming of a test fixture)."""
        if len(contents) != self.geometry.total_size:
            raise FlashProgramError(f"a snapshot of {len(contents)} bytes does not match this flash")
        self._data[self._base : self._base + len(contents)] = contents
        self.created = False
        for region in range(len(self._generations)):
            self._generations[region] += 1

    # --- reading -------------------------------------------------------------------------------
    def read(self, address: int, length: int) -> bytes:
        """Read bytes; reading is free (not an operation) and never fails."""
        self._check_range(address, length)
        start = self._base + address
        return bytes(self._data[start : start + length])

    def is_erased(self, address: int, length: int) -> bool:
        """True when every byte in the range reads 0xFF."""
        return self.read(address, length).count(ERASED) == length

    def generation(self, region: int) -> int:
        """A counter that changes whenever region 0 (slot 0), 1 (slot 1) or 2 (the rest) changes."""
        return self._generations[region]

    # --- operations ----------------------------------------------------------------------------
    def erase_sector(self, address: int) -> None:
        """Erase the sector starting at ``address`` (one operation; takes the configured time)."""
        size = self.geometry.sector_size
        if address % size:
            raise FlashProgramError(f"erase address {address:#x} is not sector aligned")
        self._check_range(address, size)
        index = self._begin_op()
        if self._erase_time_s > 0:
            self._spend_erase_time()
        start = self._base + address
        if self.faults.tear_op == index:
            old = self._data[start : start + size]
            self._data[start : start + size] = bytes(ERASED if self._rng.random() < 0.5 else b for b in old)
            self._touch(address)
            raise PowerCut(index, torn=True)
        self._data[start : start + size] = bytes([ERASED]) * size
        self._touch(address)

    def write(self, address: int, data: bytes) -> None:
        """Program ``data`` (aligned, onto erased bytes) as one operation."""
        unit = self.geometry.write_size
        if address % unit or len(data) % unit or not data:
            raise FlashProgramError(
                f"write of {len(data)} bytes at {address:#x} breaks the {unit}-byte write granularity"
            )
        self._check_range(address, len(data))
        if not self.is_erased(address, len(data)):
            raise FlashProgramError(f"write at {address:#x} over bytes that are not erased")
        index = self._begin_op()
        start = self._base + address
        if self.faults.tear_op == index:
            keep = self.faults.tear_keep_bytes
            if keep is None:
                keep = self._rng.randrange(len(data))
            keep = min(keep, len(data) - 1)
            self._data[start : start + keep] = data[:keep]
            # The byte being programmed when the supply dropped holds some of its zero bits.
            self._data[start + keep] = data[keep] | self._rng.randrange(256)
            self._touch(address)
            raise PowerCut(index, torn=True)
        self._data[start : start + len(data)] = data
        self._touch(address)

    def flip_bits(self, count: int, address: int, length: int) -> list[int]:
        """Flip ``count`` random bits in the range (retention errors); not an operation.

        Returns:
            the flipped bit positions (byte address * 8 + bit) so a test can report them.
        """
        self._check_range(address, length)
        flipped: list[int] = []
        for _ in range(count):
            bit = self._rng.randrange(length * 8)
            byte_address = address + bit // 8
            self._data[self._base + byte_address] ^= 1 << (bit % 8)
            self._touch(byte_address)
            flipped.append(byte_address * 8 + bit % 8)
        return flipped

    # --- helpers -------------------------------------------------------------------------------
    def _spend_erase_time(self) -> None:
        """Take one erase's declared time, measured from the previous erase's end when chained."""
        now = time.monotonic()
        # Differences of monotonic times only: the absolute values are large on a long-running machine.
        chained = now - self._busy_until <= CHAIN_GAP_S
        self._busy_until = (self._busy_until if chained else now) + self._erase_time_s
        remaining = self._busy_until - now
        if remaining > 0:
            time.sleep(remaining)

    def _begin_op(self) -> int:
        index = self.ops_done + 1
        if self.faults.cut_before_op == index:
            raise PowerCut(index, torn=False)
        self.ops_done = index
        return index

    def _touch(self, address: int) -> None:
        region = min(address // self.geometry.slot_size, 2)
        self._generations[region] += 1

    def _check_range(self, address: int, length: int) -> None:
        if address < 0 or length < 0 or address + length > self.geometry.total_size:
            raise FlashProgramError(f"range {address:#x}+{length} is outside the flash")
