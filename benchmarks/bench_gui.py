"""GUI figures: live-view frame time at 10 Hz for 16/128/512 cells, cold start, event-loop latency.

* **Frame time**: the live page (1280 × 800, offscreen Qt) with a full one-minute buffer (600
  samples from a virtual BMS pack model); each frame is one new sample, a full redraw
  (``render_frame``: bars, heat map, trends, tiles, alarms) and the paint Qt then does
  (``processEvents``). At 10 Hz a frame has a 100 ms budget; the ratio column is the median frame time
  over that budget (lower is better; under 0.5 leaves the GUI thread mostly idle).
* **Cold start**: a fresh ``python`` process until the main window has been shown and painted
  once (interpreter, Qt, the application model and the pages; the live and pack pages, which need
  pyqtgraph and numpy, are built when first needed: gui/lazy_page.py), median of three.
* **Event-loop latency during a transfer**: a 2 ms timer on the GUI thread while the AppModel runs
  a real update (demo package 1.1.0, 256 KiB) against a virtual BMS in its own process at 921600
  baud; the worst gap between ticks is how long the GUI thread was ever blocked (target < 50 ms).

Run: ``python -m benchmarks --only bench_gui`` or ``python -m benchmarks.bench_gui``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CELL_CASES = (16, 128, 512)
WARM_SAMPLES = 600
TIMED_FRAMES = 100
FRAME_BUDGET_MS = 100.0
COLD_START_RUNS = 3
LATENCY_TARGET_MS = 50.0

_COLD_START = """
import time, sys
started = float(sys.argv[1])
from PySide6.QtWidgets import QApplication
app = QApplication([])
from pathlib import Path
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import Engine
from bmsflasher.gui.main_window import MainWindow
window = MainWindow(AppModel(Engine(db_path=Path(sys.argv[2]))))
window.show()
window.repaint()
app.processEvents()
print(f"SHOWN {time.time() - started:.4f}", flush=True)
"""


def _app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def frame_times(cells: int, folder: Path) -> tuple[list[float], list[float]]:
    """(wall, GUI-thread CPU) seconds per frame (add a sample, redraw, paint), buffer full of ``cells``.

    The CPU time of the GUI thread is what the frame costs whatever else the machine runs; the wall
    time is what a technician sees on this machine at this moment.
    """
    app = _app()
    from bmsflasher.gui.app_model import AppModel
    from bmsflasher.gui.engine import Engine
    from bmsflasher.gui.pages.live_page import LivePage
    from bmsflasher.sim.device.virtual_bms import VirtualBms
    from bmsflasher.sim.options import SimOptions

    model = AppModel(Engine(db_path=folder / f"live-{cells}.sqlite3"))
    page = LivePage(model)
    page.resize(1280, 800)
    page.show()
    times: list[float] = []
    cpu: list[float] = []
    with VirtualBms.create(SimOptions(cells=cells, time_scale=20.0, seed=3)) as device:
        samples = [device.telemetry() for _ in range(WARM_SAMPLES + TIMED_FRAMES)]
    for sample in samples[:WARM_SAMPLES]:
        page.add_sample(sample)
    page.render_frame()
    app.processEvents()
    for sample in samples[WARM_SAMPLES:]:
        started, started_cpu = time.perf_counter(), time.thread_time()
        page.add_sample(sample)
        page.render_frame()
        app.processEvents()  # Qt paints what the frame changed, as the running application does
        times.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    page.close()
    page.deleteLater()
    model.shutdown()
    app.processEvents()
    return times, cpu


def cold_start_s(folder: Path) -> float:
    """Median seconds from spawning a process to the painted main window."""
    results: list[float] = []
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for run in range(COLD_START_RUNS):
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-c", _COLD_START, str(started), str(folder / f"cold-{run}.sqlite3")],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=True,
        ).stdout
        line = next(line for line in out.splitlines() if line.startswith("SHOWN "))
        results.append(float(line.split()[1]))
    return statistics.median(results)


def transfer_latency_ms(folder: Path) -> tuple[float, float, int]:
    """(worst gap, 99th percentile gap, ticks) of a 2 ms GUI timer during a real update's transfer."""
    app = _app()
    from PySide6.QtCore import QTimer

    from bmsflasher.core.events import StepFinished, StepStarted
    from bmsflasher.gui.app_model import AppModel
    from bmsflasher.gui.demo import DemoBench, DemoScenario
    from bmsflasher.gui.engine import Engine, UpdateOptions

    bench = DemoBench(DemoScenario(), workdir=folder / "latency")
    engine = Engine(
        db_path=bench.history_path,
        trusted_keys=[bench.trusted_key()],
        keys_dir=bench.trusted_keys_dir,
        journal_dir=bench.journal_dir,
    )
    model = AppModel(engine)
    gaps: list[float] = []
    state = {"last": time.perf_counter(), "in_transfer": False}

    def tick() -> None:
        now = time.perf_counter()
        if state["in_transfer"]:
            gaps.append(now - float(state["last"]))
        state["last"] = now

    def on_event(event: object) -> None:
        if isinstance(event, StepStarted) and event.step == "transfer":
            state["in_transfer"] = True
        elif isinstance(event, StepFinished) and event.step == "transfer":
            state["in_transfer"] = False

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(tick)
    model.sig_update_event.connect(on_event)
    try:
        model.connect_device(bench.link)
        _wait(app, lambda: model.identity is not None, 30)
        model.check_package(bench.packages_dir() / "VBMS-16-1.1.0.bmspkg")
        _wait(app, lambda: model.package is not None, 30)
        timer.start()
        if not model.start_update(UpdateOptions(operator="benchmark")):
            raise RuntimeError("the update did not start")
        _wait(app, lambda: model.last_outcome is not None, 180)
        timer.stop()
        if model.last_outcome is None or not model.last_outcome.ok:
            raise RuntimeError(f"the update did not succeed: {model.last_outcome}")
    finally:
        model.shutdown()
        bench.close()
    ordered = sorted(gaps)
    p99 = ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0
    return (max(gaps) if gaps else 0.0) * 1000, p99 * 1000, len(gaps)


def _wait(app, condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        app.processEvents()
        time.sleep(0.001)


def run() -> list[dict[str, object]]:
    """Every GUI figure as benchmark rows."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        folder = Path(tmp)
        for cells in CELL_CASES:
            wall, cpu = frame_times(cells, folder)
            wall_ms = sorted(t * 1000 for t in wall)
            cpu_ms = sorted(t * 1000 for t in cpu)
            cpu_median = statistics.median(cpu_ms)
            p95 = wall_ms[int(0.95 * (len(wall_ms) - 1))]
            rows.append(
                {
                    "benchmark": "gui live view",
                    "case": (
                        f"{cells} cells, GUI-thread CPU per frame (median; wall median "
                        f"{statistics.median(wall_ms):.1f} ms, p95 {p95:.1f} ms)"
                    ),
                    "value": round(cpu_median, 2),
                    "unit": "ms",
                    "ratio": round(cpu_median / FRAME_BUDGET_MS, 3),
                    "reference": "100 ms frame budget at 10 Hz",
                }
            )
        rows.append(
            {
                "benchmark": "gui cold start",
                "case": f"process start to painted main window (median of {COLD_START_RUNS})",
                "value": round(cold_start_s(folder), 2),
                "unit": "s",
                "ratio": None,
                "reference": "",
            }
        )
        worst, p99, ticks = transfer_latency_ms(folder)
        rows.append(
            {
                "benchmark": "gui event loop",
                "case": f"worst gap of a 2 ms timer, 256 KiB transfer (p99 {p99:.1f} ms, {ticks} ticks)",
                "value": round(worst, 1),
                "unit": "ms",
                "ratio": round(worst / LATENCY_TARGET_MS, 3),
                "reference": "50 ms target",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
