"""Render the application icon for every OS from one drawing, ``src/bmsflasher/resources/icons/app.svg``.

Windows wants ``.ico``, macOS ``.icns``, Linux desktops a PNG (plus the SVG itself). Both container
formats accept PNG-compressed images (Windows Vista and later, macOS 10.7 and later), so the
containers are written here with ``struct`` rather than pulling in an image library; Qt, which the
app ships anyway, rasterises the SVG.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

ICO_SIZES: Final = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (Apple's "IconFamily" element list).
ICNS_TYPES: Final[Mapping[int, bytes]] = {
    16: b"icp4",
    32: b"icp5",
    64: b"icp6",
    128: b"ic07",
    256: b"ic08",
    512: b"ic09",
    1024: b"ic10",
}
LINUX_PNG_SIZE: Final = 256
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


def render_pngs(svg_path: Path, sizes: Sequence[int]) -> dict[int, bytes]:
    """Rasterise ``svg_path`` to square PNGs of the given sizes (transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise ValueError(f"{svg_path} is not a valid SVG drawing")
    pngs: dict[int, bytes] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        pngs[size] = bytes(data.data())
    del _app
    return pngs


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A Windows ``.ico`` holding one PNG-compressed image per size (ICONDIR + ICONDIRENTRY)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    images = b""
    for size in sizes:
        if not 1 <= size <= 256:
            raise ValueError(f"an .ico image must be 1 to 256 pixels wide, not {size}")
        data = pngs[size]
        dimension = 0 if size == 256 else size  # 0 means 256 in ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dimension, dimension, 0, 0, 1, 32, len(data), offset)
        images += data
        offset += len(data)
    return header + entries + images


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A macOS ``.icns`` holding the PNG images whose sizes have an ICNS element type."""
    body = b""
    for size in sorted(pngs):
        kind = ICNS_TYPES.get(size)
        if kind is None:
            continue
        data = pngs[size]
        body += kind + struct.pack(">I", len(data) + 8) + data
    if not body:
        raise ValueError("no image size fits an .icns element (16, 32, 64, 128, 256, 512 or 1024)")
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write_icons(svg_path: Path, out_dir: Path) -> dict[str, Path]:
    """Write ``bmsflasher.ico``, ``bmsflasher.icns``, ``bmsflasher.png`` and ``bmsflasher.svg``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = sorted({*ICO_SIZES, *ICNS_TYPES, LINUX_PNG_SIZE})
    pngs = render_pngs(svg_path, sizes)
    outputs = {
        "ico": out_dir / "bmsflasher.ico",
        "icns": out_dir / "bmsflasher.icns",
        "png": out_dir / "bmsflasher.png",
        "svg": out_dir / "bmsflasher.svg",
    }
    outputs["ico"].write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    outputs["icns"].write_bytes(icns_bytes(pngs))
    outputs["png"].write_bytes(pngs[LINUX_PNG_SIZE])
    outputs["svg"].write_bytes(svg_path.read_bytes())
    return outputs
