"""HiDPI icons from the SVG files in ``resources/icons``.

The SVGs draw with ``currentColor``; we substitute the theme's text colour (or a semantic colour)
and render each icon at several pixel sizes, so it stays sharp at 100–300 % display scaling and
readable in both themes. Qt derives the greyed "disabled" look from these pixmaps.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.resources import resource_path

PIXEL_SIZES: Final = (16, 20, 24, 32, 48, 64, 96, 128)


@lru_cache(maxsize=256)
def _svg_text(name: str) -> str:
    path = resource_path("icons", f"{name}.svg")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BmsFlasherError(f"the icon {path} is missing; reinstall bmsflasher") from exc


def render_pixmap(name: str, size_px: int, color: str) -> QPixmap:
    """Render one icon at an exact pixel size in the given colour."""
    svg = _svg_text(name).replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pixmap = QPixmap(size_px, size_px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size_px, size_px))
    painter.end()
    return pixmap


@lru_cache(maxsize=512)
def icon(name: str, color: str = "#3a4350") -> QIcon:
    """A multi-resolution icon; cached per name and colour (icons are requested on every retheme)."""
    result = QIcon()
    for size_px in PIXEL_SIZES:
        result.addPixmap(render_pixmap(name, size_px, color))
    return result
