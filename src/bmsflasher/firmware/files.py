"""Bounded reading of the files a user names (packages, firmware, keys).

``stat().st_size`` then ``read_bytes()`` trusts the size the file system reports; a device node
(``/dev/zero``, ``/dev/urandom``) reports 0 and then never ends, so reading one would exhaust the
memory. Here the read itself is capped, and device nodes are refused before a byte is read.
Pipes stay allowed (``--key <(vault read ...)``): they end, and the cap still applies.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def read_capped(path: Path, limit: int) -> bytes | None:
    """The whole file, or None when it holds more than ``limit`` bytes.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError, OSError: as ``open``/``read`` do;
            an OSError with ``strerror`` "a device, not a file" for character/block devices and
            sockets.
    """
    with path.open("rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
            raise OSError(errno.ENODEV, "a device, not a file", str(path))
        data = stream.read(limit + 1)
    return None if len(data) > limit else data
