"""The pack at a glance: min/max/average/Δ cell voltage and the pack values, as large tiles.

These are the numbers a technician reads aloud on the phone, so they are big, labelled with units,
and name the cell that is lowest or highest.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from bmsflasher.core.types import PackTelemetry
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.theme import LIGHT, ThemeColors

_TILE_KEYS = ("min", "max", "avg", "delta", "pack", "current", "soc", "soh", "temp", "balancing")
_EMPTY = "—"


class ValueTile(QFrame):
    """A caption over a large value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        self.caption = QLabel(self)
        self.value = QLabel(_EMPTY, self)
        font = QFont(self.value.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.value.setFont(font)
        self.detail = QLabel("", self)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)

        self._shown: tuple[str, str, str | None] | None = None

    def set_value(self, value: str, detail: str = "", color: str | None = None) -> None:
        """Show a value; a tile whose text and colour did not change is left alone.

        At 10 Hz most tiles repeat themselves, and a style sheet set again re-polishes the label and
        invalidates the layout even when it is the same sheet.
        """
        shown = (value, detail, color)
        if shown == self._shown:
            return
        self._shown = shown
        self.value.setText(value)
        self.detail.setText(detail)
        self.value.setStyleSheet(f"color: {color};" if color else "")


class PackSummaryWidget(RetranslateOnLanguageChange, QWidget):
    """Ten tiles summarising one telemetry sample."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        self.tiles: dict[str, ValueTile] = {}
        for index, key in enumerate(_TILE_KEYS):
            tile = ValueTile(self)
            tile.setObjectName(f"tile_{key}")
            self.tiles[key] = tile
            grid.addWidget(tile, index // 5, index % 5)
        self._colors = LIGHT
        self._last: PackTelemetry | None = None
        self.retranslate()

    def retranslate(self) -> None:
        captions = {
            "min": self.tr("Lowest cell"),
            "max": self.tr("Highest cell"),
            "avg": self.tr("Average cell"),
            "delta": self.tr("Spread (Δ)"),
            "pack": self.tr("Pack voltage"),
            "current": self.tr("Current"),
            "soc": self.tr("State of charge"),
            "soh": self.tr("State of health"),
            "temp": self.tr("Temperature"),
            "balancing": self.tr("Balancing"),
        }
        for key, caption in captions.items():
            self.tiles[key].caption.setText(caption)
        if self._last is not None:
            self.show_sample(self._last)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        if self._last is not None:
            self.show_sample(self._last)

    def clear(self) -> None:
        """Show dashes (no device)."""
        self._last = None
        for tile in self.tiles.values():
            tile.set_value(_EMPTY)

    def show_sample(self, sample: PackTelemetry) -> None:
        """Fill every tile from one sample."""
        self._last = sample
        cells = sample.cell_voltages_mv
        if cells:
            low_index = cells.index(sample.min_cell_mv) + 1
            high_index = cells.index(sample.max_cell_mv) + 1
            average = sample.cell_sum_mv / len(cells)
            self.tiles["min"].set_value(f"{sample.min_cell_mv} mV", self.tr("cell %n", "", low_index))
            self.tiles["max"].set_value(f"{sample.max_cell_mv} mV", self.tr("cell %n", "", high_index))
            self.tiles["avg"].set_value(f"{average:.0f} mV", self.tr("%n cell(s)", "", len(cells)))
            self.tiles["delta"].set_value(f"{sample.delta_cell_mv} mV")
        self.tiles["pack"].set_value(f"{sample.pack_voltage_mv / 1000:.2f} V")
        self.tiles["current"].set_value(f"{sample.current_ma / 1000:.2f} A")
        soc_ok = 20.0 <= sample.soc_pct <= 80.0
        self.tiles["soc"].set_value(
            f"{sample.soc_pct:.1f} %",
            self.tr("update window 20–80 %"),
            None if soc_ok else self._colors.warning,
        )
        self.tiles["soh"].set_value(f"{sample.soh_pct:.1f} %")
        valid = [t for t in sample.temperatures_c if t is not None]
        failed = len(sample.temperatures_c) - len(valid)
        if valid:
            temp_text = f"{min(valid):.1f}–{max(valid):.1f} °C"
            detail = self.tr("%n sensor(s) failed", "", failed) if failed else ""
            temp_ok = failed == 0 and min(valid) >= 0.0 and max(valid) <= 45.0
            self.tiles["temp"].set_value(temp_text, detail, None if temp_ok else self._colors.warning)
        else:
            self.tiles["temp"].set_value(_EMPTY, self.tr("no working sensor"), self._colors.bad)
        balancing = sum(sample.balancing)
        self.tiles["balancing"].set_value(
            str(balancing), self.tr("cells bleeding"), self._colors.balancing if balancing else None
        )
