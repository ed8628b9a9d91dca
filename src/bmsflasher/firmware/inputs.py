"""Firmware files a manufacturer hands to ``bmsflasher package``: raw ``.bin`` or Intel ``.hex``.

Intel HEX is decoded with the well-kept ``intelhex`` library, never by hand. Gaps between HEX
segments are filled with 0xFF (erased flash), as a programmer would leave them. The input may
already be a signed MCUboot image (``imgtool sign`` output); the caller decides what to do with it
(:func:`bmsflasher.firmware.mcuboot.is_mcuboot_image`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from intelhex import IntelHex, IntelHexError

from bmsflasher.core.i18n import t
from bmsflasher.firmware.errors import FirmwareInputError
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.package import MAX_IMAGE_BYTES

HEX_SUFFIXES: Final = (".hex", ".ihex", ".ihx")
MAX_HEX_FILE_BYTES: Final = 4 * MAX_IMAGE_BYTES  # ASCII HEX is a bit over twice the binary size


@dataclass(frozen=True, slots=True)
class FirmwareInput:
    """Decoded firmware bytes and, for Intel HEX, the address of the first byte."""

    data: bytes
    base_address: int | None
    source: str


def firmware_from_bytes(raw: bytes, name: str) -> FirmwareInput:
    """Decode firmware file contents; ``name`` decides the format by its suffix (.hex → Intel HEX)."""
    if name.lower().endswith(HEX_SUFFIXES):
        return _from_hex(raw, name)
    if not raw:
        raise FirmwareInputError(t("The firmware file {name} is empty.", name=name))
    if len(raw) > MAX_IMAGE_BYTES:
        raise FirmwareInputError(
            t(
                "The firmware file {name} is over the {limit}-byte limit.",
                name=name,
                limit=MAX_IMAGE_BYTES,
            )
        )
    return FirmwareInput(raw, None, name)


def _from_hex(raw: bytes, name: str) -> FirmwareInput:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FirmwareInputError(t("The Intel HEX file {name} contains non-ASCII bytes.", name=name)) from exc
    hex_file = IntelHex()
    try:
        hex_file.loadhex(io.StringIO(text))
    except IntelHexError as exc:
        raise FirmwareInputError(
            t(
                "The Intel HEX file {name} is malformed: {error}.",
                name=name,
                error=str(exc).rstrip("."),
            )
        ) from exc
    low, high = hex_file.minaddr(), hex_file.maxaddr()
    if low is None or high is None:
        raise FirmwareInputError(t("The Intel HEX file {name} holds no data.", name=name))
    span = high - low + 1
    if span > MAX_IMAGE_BYTES:
        raise FirmwareInputError(
            t(
                "The Intel HEX file {name} spans {span} bytes (0x{low:x}..0x{high:x}), over the "
                "{limit}-byte limit.",
                name=name,
                span=span,
                low=low,
                high=high,
                limit=MAX_IMAGE_BYTES,
            )
        )
    hex_file.padding = 0xFF
    return FirmwareInput(bytes(hex_file.tobinstr(start=low, end=high)), low, name)


def read_firmware_file(path: Path) -> FirmwareInput:
    """Read and decode a firmware file (thin I/O helper with a size cap before reading)."""
    try:
        size = path.stat().st_size
        capped = None if size > MAX_HEX_FILE_BYTES else read_capped(path, MAX_HEX_FILE_BYTES)
        if capped is None:
            raise FirmwareInputError(
                t(
                    "The firmware file {path} is {size} bytes or more, far over the image size limit.",
                    path=path,
                    size=max(size, MAX_HEX_FILE_BYTES + 1),
                )
            )
        raw = capped
    except FileNotFoundError as exc:
        raise FirmwareInputError(t("The firmware file {path} does not exist.", path=path)) from exc
    except IsADirectoryError as exc:
        raise FirmwareInputError(t("{path} is a folder, not a firmware file.", path=path)) from exc
    except OSError as exc:
        raise FirmwareInputError(
            t(
                "The firmware file {path} cannot be read: {reason}.",
                path=path,
                reason=exc.strerror or exc,
            )
        ) from exc
    return firmware_from_bytes(raw, str(path))
