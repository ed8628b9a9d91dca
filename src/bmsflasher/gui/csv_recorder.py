"""Record live telemetry to a CSV file a technician can open in any spreadsheet.

One row per sample, one column per cell and per temperature sensor, so a recording of a 512-cell
pack is still a plain rectangular table. The file is written from the device worker thread, never
from the GUI thread.
"""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bmsflasher.core.errors import StorageError
from bmsflasher.core.types import PackTelemetry


class CsvRecorder:
    """Append telemetry samples to one CSV file; thread-safe, closes cleanly."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._rows = 0
        self._cells: int | None = None
        self._sensors: int | None = None
        try:
            self._file: TextIO | None = path.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise StorageError(f"cannot write the recording to {path}: {exc.strerror}") from exc
        self._writer = csv.writer(self._file)

    @property
    def rows(self) -> int:
        """Samples written so far."""
        return self._rows

    def write(self, sample: PackTelemetry) -> None:
        """Append one sample; the first one fixes the columns."""
        with self._lock:
            if self._file is None:
                return
            if self._cells is None:
                self._cells = sample.cell_count
                self._sensors = len(sample.temperatures_c)
                self._writer.writerow(self._header(self._cells, self._sensors))
            if sample.cell_count != self._cells or len(sample.temperatures_c) != self._sensors:
                raise StorageError(
                    f"the pack changed from {self._cells} to {sample.cell_count} cells during the recording"
                )
            when = datetime.fromtimestamp(sample.timestamp_s, tz=UTC).isoformat(timespec="milliseconds")
            row: list[object] = [
                when,
                sample.pack_voltage_mv,
                sample.current_ma,
                f"{sample.soc_pct:.2f}",
                f"{sample.soh_pct:.2f}",
                ";".join(sorted(alarm.value for alarm in sample.alarms)),
            ]
            row.extend("" if t is None else f"{t:.2f}" for t in sample.temperatures_c)
            row.extend(sample.cell_voltages_mv)
            row.extend(int(flag) for flag in sample.balancing)
            try:
                self._writer.writerow(row)
            except OSError as exc:
                raise StorageError(f"cannot write the recording to {self.path}: {exc.strerror}") from exc
            self._rows += 1

    @staticmethod
    def _header(cells: int, sensors: int) -> list[str]:
        header = ["time_utc", "pack_voltage_mv", "current_ma", "soc_pct", "soh_pct", "alarms"]
        header += [f"temp{i + 1}_c" for i in range(sensors)]
        header += [f"cell{i + 1}_mv" for i in range(cells)]
        header += [f"cell{i + 1}_balancing" for i in range(cells)]
        return header

    def close(self) -> None:
        """Flush and close the file. Safe to call twice."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
