"""The live view's ring buffer and CSV recorder (no Qt needed)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from bmsflasher.core.errors import StorageError
from bmsflasher.core.types import Alarm, PackTelemetry
from bmsflasher.gui.csv_recorder import CsvRecorder
from bmsflasher.gui.telemetry_buffer import TelemetryHistory


def _sample(
    t: float, cells: int = 4, base: int = 3300, temps: tuple[float | None, ...] = (25.0, 26.0)
) -> PackTelemetry:
    volts = tuple(base + i for i in range(cells))
    return PackTelemetry(t, volts, tuple(i == 1 for i in range(cells)), temps, sum(volts), -1500, 55.5, 97.0)


def test_ring_buffer_keeps_the_newest_samples_in_order() -> None:
    history = TelemetryHistory(capacity=5)
    for k in range(8):
        history.append(_sample(100.0 + k, base=3000 + k))
    assert len(history) == 5
    matrix = history.cell_matrix_mv()
    assert matrix.shape == (5, 4)
    assert list(matrix[:, 0]) == [3003, 3004, 3005, 3006, 3007]
    trends = history.trends()
    assert list(trends.age_s) == [-4.0, -3.0, -2.0, -1.0, 0.0]
    assert trends.pack_voltage_v[-1] == pytest.approx(sum(3007 + i for i in range(4)) / 1000)
    assert trends.current_a[0] == pytest.approx(-1.5)
    assert history.latest is not None
    assert history.latest.timestamp_s == 107.0


def test_failed_sensors_become_nan_and_a_new_pack_starts_a_new_history() -> None:
    history = TelemetryHistory(capacity=3)
    history.append(_sample(1.0, temps=(None, None)))
    history.append(_sample(2.0, temps=(None, 30.0)))
    trends = history.trends()
    assert np.isnan(trends.temp_min_c[0])
    assert trends.temp_max_c[1] == 30.0
    history.append(_sample(3.0, cells=8))
    assert len(history) == 1
    assert history.cell_count == 8
    with pytest.raises(ValueError, match="at least two"):
        TelemetryHistory(capacity=1)


def test_csv_recording_has_one_column_per_cell_and_sensor(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    recorder = CsvRecorder(path)
    first = _sample(1_700_000_000.0)
    recorder.write(first)
    recorder.write(_sample(1_700_000_000.1, temps=(None, 26.5)))
    assert recorder.rows == 2
    with pytest.raises(StorageError, match="changed from 4 to 6 cells"):
        recorder.write(_sample(1_700_000_000.2, cells=6))
    recorder.close()
    recorder.close()  # idempotent
    recorder.write(first)  # ignored once closed
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 2
    assert rows[0]["cell4_mv"] == "3303"
    assert rows[0]["cell2_balancing"] == "1"
    assert rows[1]["temp1_c"] == ""
    assert rows[0]["time_utc"].startswith("2023-11-14T22:13:20")


def test_csv_recorder_refuses_an_unwritable_path_with_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot write the recording"):
        CsvRecorder(tmp_path / "missing-folder" / "rec.csv")


def test_alarms_are_recorded_by_name(tmp_path: Path) -> None:
    path = tmp_path / "alarms.csv"
    recorder = CsvRecorder(path)
    sample = _sample(5.0)
    recorder.write(
        PackTelemetry(5.0, sample.cell_voltages_mv, sample.balancing, sample.temperatures_c, 1, 0, 1.0, 1.0,
                      frozenset({Alarm.SENSOR_FAULT, Alarm.OVERCURRENT}))
    )  # fmt: skip
    recorder.close()
    row = next(csv.DictReader(path.open(encoding="utf-8")))
    assert row["alarms"] == "overcurrent;sensor_fault"
