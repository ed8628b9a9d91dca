"""Bounded reading of the files a user names (packages, firmware, keys).

``stat().st_size`` then ``read_bytes()`` trusts the size the file system reports; a device node
(``/dev/zero``, ``/dev/urandom``) reports 0 and then never ends, so reading one would exhaust the
memory. Here the read itself is capped, and device nodes are refused before a byte is read.
Pipes stay allowed (``--key <(vault read ...)``): they end, and the cap still applies.

The cap is a ceiling, not a buffer size: ``BufferedReader.read(n)`` allocates ``n`` bytes before it
reads one, so ``read(limit + 1)`` with the 48 MiB package cap made every flash reserve 48 MiB for
a 256 KiB package (the flash path's Python peak went from 22 to 60 MiB, per parallel update). The
first read is sized by what the file says it holds; only a file that grows while being read, or a
pipe, is read on in bounded blocks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

READ_BLOCK_BYTES: Final = 64 * 1024
"""Block size for pipes and for files that grow while being read (one pipe buffer's worth)."""


def read_capped(path: Path, limit: int) -> bytes | None:
    """The whole file, or None when it holds more than ``limit`` bytes.

    Memory used is about the file's size (never ``limit``): a small file under a big cap costs
    only its own bytes.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError, OSError: as ``open``/``read`` do;
            an OSError with ``strerror`` "a device, not a file" for character/block devices and
            sockets.
    """
    with path.open("rb") as stream:
        status = os.fstat(stream.fileno())
        mode = status.st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
            raise OSError(errno.ENODEV, "a device, not a file", str(path))
        expected = min(status.st_size, limit) if stat.S_ISREG(mode) else 0
        # One byte more than expected: a short read proves the end of the file in the same call.
        first = stream.read(expected + 1)
        if len(first) <= expected:
            return first
        blocks = [first]
        held = len(first)
        while held <= limit:
            block = stream.read(min(READ_BLOCK_BYTES, limit + 1 - held))
            if not block:
                break
            blocks.append(block)
            held += len(block)
    return None if held > limit else b"".join(blocks)
