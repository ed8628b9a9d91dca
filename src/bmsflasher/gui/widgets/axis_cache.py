"""Axes painted once and blitted after: the live view's frames change data, not axes.

pyqtgraph replays each axis's recorded picture (ticks, tick labels, grid lines) whenever anything
under it is repainted, and an axis with a grid covers its whole plot, so every curve update re-drew
every axis: twelve text-heavy replays per frame, about half of a 512-cell frame. With Qt's device
coordinate cache an axis is rendered to a pixmap once and blitted until it really changes (new range,
label, pen or size — each of which calls ``update()`` on the axis and so refreshes the cache).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


def cache_axes(plot: pg.PlotItem) -> None:
    """Render every axis of ``plot`` through a pixmap cache (see the module docstring)."""
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def cache_axis(axis: pg.AxisItem) -> None:
    """One axis that belongs to no plot item (a colour bar's)."""
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
