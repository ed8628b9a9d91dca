"""Icons are sharp at any display scale, every icon the GUI names exists, both themes are complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from bmsflasher.core.resources import resource_path
from bmsflasher.gui.icons import PIXEL_SIZES, icon, render_pixmap
from bmsflasher.gui.theme import DARK, LIGHT, THEMES, palette_for

pytestmark = pytest.mark.gui

GUI_ROOT = Path(__file__).resolve().parents[2] / "src" / "bmsflasher" / "gui"


def test_every_icon_named_in_the_code_exists_and_renders(qapp: QApplication) -> None:
    named: set[str] = set()
    for path in GUI_ROOT.rglob("*.py"):
        named |= set(re.findall(r'icon\(\s*"([a-z_-]+)"', path.read_text(encoding="utf-8")))
    named |= {"devices", "live", "update", "config", "diagnostics", "history"}  # navigation list
    assert len(named) > 15
    for name in sorted(named):
        assert resource_path("icons", f"{name}.svg").is_file(), name
        pixmap = render_pixmap(name, 32, "#ff0000")
        image = pixmap.toImage()
        painted = [image.pixelColor(x, y) for x in range(32) for y in range(32)]
        assert any(c.alpha() > 0 and c.red() > 200 for c in painted), f"{name} renders nothing in colour"


def test_icons_have_pixels_for_high_dpi_screens(qapp: QApplication) -> None:
    themed = icon("live", LIGHT.text)
    assert max(PIXEL_SIZES) >= 96
    for scale in (1.0, 2.0, 3.0):
        pixmap = themed.pixmap(QSize(24, 24), scale)
        assert pixmap.width() == round(24 * scale), scale  # a real 72 px pixmap at 300 %, not an upscale


def test_both_themes_define_distinct_readable_palettes(qapp: QApplication) -> None:
    assert set(THEMES) == {"light", "dark"}
    light, dark = palette_for(LIGHT), palette_for(DARK)
    role = QPalette.ColorRole
    assert light.color(role.Window) != dark.color(role.Window)
    for palette in (light, dark):
        text, window = palette.color(role.WindowText), palette.color(role.Window)
        assert abs(text.lightnessF() - window.lightnessF()) > 0.5  # contrast
    assert QColor(LIGHT.balancing).hue() == pytest.approx(QColor(DARK.balancing).hue(), abs=10)
