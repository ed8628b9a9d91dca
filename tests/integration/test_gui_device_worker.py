"""The GUI's device thread and task runner against a virtual BMS on a real pty (no Qt)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.core.errors import BmsFlasherError, LinkLostError
from bmsflasher.core.target import Target
from bmsflasher.core.types import PackTelemetry
from bmsflasher.gui.csv_recorder import CsvRecorder
from bmsflasher.gui.demo import DemoBench, DemoScenario
from bmsflasher.gui.device_worker import DeviceWorker
from bmsflasher.gui.task_runner import TaskRunner
from bmsflasher.procedure.connect import open_target


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    bench = DemoBench(DemoScenario(baud=1_000_000, cells=8), in_process=True)
    opened = open_target(bench.link)
    try:
        yield opened
    finally:
        opened.close()
        bench.close()


def test_worker_polls_runs_jobs_in_order_records_and_closes(target: Target, tmp_path: Path) -> None:
    samples: list[PackTelemetry] = []
    problems: list[BmsFlasherError] = []
    got_ten = threading.Event()

    def on_sample(sample: PackTelemetry) -> None:
        samples.append(sample)
        if len(samples) >= 10:
            got_ten.set()

    worker = DeviceWorker(target, on_sample, problems.append, poll_interval_s=0.02)
    recorder = CsvRecorder(tmp_path / "w.csv")
    assert worker.set_recorder(recorder) is None
    assert got_ten.wait(20)
    results: list[object] = []
    done = threading.Event()
    worker.submit("identify", lambda t: t.identify().serial_number, results.append, results.append)
    worker.submit("boom", lambda t: 1 / 0, lambda r: None, lambda e: (results.append(e), done.set()))
    assert done.wait(20)
    assert results[0] == "VB2400007"
    assert isinstance(results[1], ZeroDivisionError)
    worker.set_polling(False)
    assert not worker.polling
    assert worker.set_recorder(None) is recorder
    recorder.close()
    assert recorder.rows >= 1
    assert worker.stop(10)
    assert not worker.alive
    assert problems == []
    late: list[BaseException] = []
    worker.submit("late", lambda t: None, lambda r: None, late.append)
    assert isinstance(late[0], LinkLostError)
    assert all(s.cell_count == 8 for s in samples)


def test_task_runner_reports_results_and_errors_and_joins() -> None:
    runner = TaskRunner()
    out: list[object] = []
    runner.start("ok", lambda: 42, out.append, out.append)
    runner.start("bad", lambda: int("x"), out.append, out.append)
    assert runner.join(10)
    assert runner.running() == 0
    assert 42 in out
    assert any(isinstance(item, ValueError) for item in out)
