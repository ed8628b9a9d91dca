"""Fixed-size numpy ring buffers of pack telemetry for the live view.

The live view redraws at 10 Hz for up to 512 cells; appending a Python object per sample and
rebuilding arrays every frame would not keep up. Samples are written once into preallocated arrays
and the plots read vectorised, chronologically ordered views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from bmsflasher.core.types import PackTelemetry

FloatArray = npt.NDArray[np.float64]

DEFAULT_CAPACITY: Final = 600
"""Samples kept: one minute at the 10 Hz live rate."""


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """Chronological pack-level series, time in seconds relative to the newest sample (≤ 0)."""

    age_s: FloatArray
    pack_voltage_v: FloatArray
    current_a: FloatArray
    soc_pct: FloatArray
    soh_pct: FloatArray
    temp_min_c: FloatArray
    temp_max_c: FloatArray


class TelemetryHistory:
    """The last ``capacity`` telemetry samples of one pack.

    The cell count is fixed by the first sample; a sample with another cell count (a different
    device) starts a fresh history rather than mixing two packs in one heat map.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError("a telemetry history needs room for at least two samples")
        self._capacity = capacity
        self._cell_count = 0
        self._count = 0
        self._head = 0
        self._time_s = np.zeros(capacity)
        self._cells_mv = np.zeros((capacity, 0))
        self._pack_v = np.zeros(capacity)
        self._current_a = np.zeros(capacity)
        self._soc = np.zeros(capacity)
        self._soh = np.zeros(capacity)
        self._tmin = np.zeros(capacity)
        self._tmax = np.zeros(capacity)
        self._latest: PackTelemetry | None = None

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def cell_count(self) -> int:
        return self._cell_count

    def __len__(self) -> int:
        return self._count

    @property
    def latest(self) -> PackTelemetry | None:
        return self._latest

    def clear(self) -> None:
        """Forget every sample (a new device was connected)."""
        self._count = 0
        self._head = 0
        self._latest = None

    def append(self, sample: PackTelemetry) -> None:
        """Store one sample, overwriting the oldest when full."""
        if sample.cell_count != self._cell_count:
            self._cell_count = sample.cell_count
            self._cells_mv = np.zeros((self._capacity, self._cell_count))
            self.clear()
        row = self._head
        self._time_s[row] = sample.timestamp_s
        self._cells_mv[row, :] = sample.cell_voltages_mv
        self._pack_v[row] = sample.pack_voltage_mv / 1000.0
        self._current_a[row] = sample.current_ma / 1000.0
        self._soc[row] = sample.soc_pct
        self._soh[row] = sample.soh_pct
        valid = [t for t in sample.temperatures_c if t is not None]
        self._tmin[row] = min(valid) if valid else np.nan
        self._tmax[row] = max(valid) if valid else np.nan
        self._head = (self._head + 1) % self._capacity
        self._count = min(self._count + 1, self._capacity)
        self._latest = sample

    def _ordered(self, array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self._count < self._capacity:
            return array[: self._count]
        return np.concatenate((array[self._head :], array[: self._head]))

    def cell_matrix_mv(self) -> FloatArray:
        """Cell voltages as a (samples, cells) array, oldest first."""
        return self._ordered(self._cells_mv)

    def trends(self) -> TrendSeries:
        """Pack-level series, oldest first, with ages relative to the newest sample."""
        times = self._ordered(self._time_s)
        age = times - times[-1] if len(times) else times
        return TrendSeries(
            age_s=age,
            pack_voltage_v=self._ordered(self._pack_v),
            current_a=self._ordered(self._current_a),
            soc_pct=self._ordered(self._soc),
            soh_pct=self._ordered(self._soh),
            temp_min_c=self._ordered(self._tmin),
            temp_max_c=self._ordered(self._tmax),
        )
