"""Light and dark themes: one Qt palette plus the colours the plots and status texts use.

Workshops are bright and vans at night are dark, so both themes are first-class. Colours that carry
meaning (pass, fail, balancing) keep the same hue in both themes and differ only in lightness, so a
technician who learnt "amber bar = balancing" is never surprised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True, slots=True)
class ThemeColors:
    """Colours for everything Qt's palette does not cover."""

    name: str
    window: str
    base: str
    alternate_base: str
    text: str
    muted_text: str
    button: str
    highlight: str
    highlight_text: str
    plot_background: str
    plot_foreground: str
    grid_alpha: float
    cell_bar: str
    balancing: str
    good: str
    warning: str
    bad: str
    accent_lines: tuple[str, ...]
    heatmap: str


LIGHT: Final = ThemeColors(
    name="light",
    window="#f3f4f6",
    base="#ffffff",
    alternate_base="#eef1f5",
    text="#1d232b",
    muted_text="#5b6573",
    button="#e8ebf0",
    highlight="#2f6fdb",
    highlight_text="#ffffff",
    plot_background="#ffffff",
    plot_foreground="#3a4350",
    grid_alpha=0.25,
    cell_bar="#3b82c4",
    balancing="#f0a020",
    good="#1f8a3b",
    warning="#b86e00",
    bad="#c62828",
    accent_lines=("#2f6fdb", "#c62828", "#1f8a3b", "#8e44ad", "#b86e00"),
    heatmap="viridis",
)

DARK: Final = ThemeColors(
    name="dark",
    window="#1e2228",
    base="#15181d",
    alternate_base="#232830",
    text="#e6e9ee",
    muted_text="#9aa4b2",
    button="#2b313a",
    highlight="#4c8dff",
    highlight_text="#0c0f14",
    plot_background="#15181d",
    plot_foreground="#c9d1dc",
    grid_alpha=0.2,
    cell_bar="#5aa2e6",
    balancing="#ffb43a",
    good="#4cc36e",
    warning="#ffb43a",
    bad="#ff6b6b",
    accent_lines=("#4c8dff", "#ff6b6b", "#4cc36e", "#c08cff", "#ffb43a"),
    heatmap="viridis",
)

THEMES: Final = {"light": LIGHT, "dark": DARK}


def palette_for(colors: ThemeColors) -> QPalette:
    """A complete palette (active, inactive and disabled groups) for the Fusion style."""
    palette = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: colors.window,
        role.WindowText: colors.text,
        role.Base: colors.base,
        role.AlternateBase: colors.alternate_base,
        role.ToolTipBase: colors.base,
        role.ToolTipText: colors.text,
        role.PlaceholderText: colors.muted_text,
        role.Text: colors.text,
        role.Button: colors.button,
        role.ButtonText: colors.text,
        role.BrightText: colors.bad,
        role.Highlight: colors.highlight,
        role.HighlightedText: colors.highlight_text,
        role.Link: colors.highlight,
    }
    for color_role, value in pairs.items():
        palette.setColor(color_role, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for color_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, color_role, QColor(colors.muted_text))
    return palette


def apply_theme(app: QApplication, name: str) -> ThemeColors:
    """Switch the whole application to the named theme; returns its colours."""
    colors = THEMES[name]
    app.setStyle("Fusion")
    app.setPalette(palette_for(colors))
    return colors
