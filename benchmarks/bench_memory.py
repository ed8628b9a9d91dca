"""Peak memory of a whole firmware update, and of the live view, each measured in its own process.

A workshop laptop runs the tool next to a browser and a PDF viewer; an old bench PC may have 4 GB.
The figures are the operating system's peak resident set size (``ru_maxrss`` of the child, read
with ``os.wait4``) and, in a second run, Python's own peak allocation (``tracemalloc``), so a
regression in the tool's code is visible under the interpreter's and the libraries' fixed cost.

Cases (each a fresh process, ``bmsflasher flash --yes`` exactly as a technician runs it, against a
virtual BMS on a pty at 921600 baud served from this process):

* ``bmsflasher --version``: the interpreter baseline;
* the largest demo package that updates a device (VBMS-16 1.1.0, a 256 KiB image);
* a package whose image fills the demo device's 512 KiB slot (the biggest a device accepts);
* the live view with 512 cells (offscreen Qt, 200 frames drawn from a 512-cell virtual BMS).

Run: ``python -m benchmarks --only bench_memory`` (or ``python -m benchmarks.bench_memory``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import demo_firmware_payload
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import DEFAULT_HEADER_SIZE, build_image
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.sim.device import VirtualBms
from bmsflasher.sim.frontend_options import FrontEndOptions
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.serial_frontend import SerialFrontEnd

BAUD = 921_600
SLOT_FILL_BYTES = 500 * 1024
LIVE_CELLS = 512
LIVE_FRAMES = 200
RUN_TIMEOUT_S = 300.0
DEMO_PACKAGE = "VBMS-16-1.1.0.bmspkg"

_TRACED = """
import sys, tracemalloc
tracemalloc.start()
from bmsflasher.cli.main import main
code = main(sys.argv[1:])
sys.stderr.write(f"TRACEMALLOC_PEAK {tracemalloc.get_traced_memory()[1]}\\n")
sys.exit(code)
"""

_LIVE = """
import os, sys, tracemalloc
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
trace = sys.argv[1] == "trace"
if trace:
    tracemalloc.start()
from pathlib import Path
from PySide6.QtWidgets import QApplication
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import Engine
from bmsflasher.gui.pages.live_page import LivePage
from bmsflasher.sim.device import VirtualBms
from bmsflasher.sim.options import SimOptions
app = QApplication([])
page = LivePage(AppModel(Engine(db_path=Path(sys.argv[2]))))
page.resize(1280, 800)
page.show()
with VirtualBms.create(SimOptions(cells=int(sys.argv[3]), time_scale=50.0)) as device:
    for _ in range(int(sys.argv[4])):
        page.add_sample(device.telemetry())
        page.render_frame()
        app.processEvents()
page.close()
if trace:
    sys.stderr.write(f"TRACEMALLOC_PEAK {tracemalloc.get_traced_memory()[1]}\\n")
"""


def _run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[int, int, str]:
    """Run a child to completion; returns (exit code, peak RSS in bytes, stderr)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB, macOS bytes
    return proc.returncode, usage.ru_maxrss * scale, stderr


def _traced_peak(stderr: str) -> int | None:
    for line in stderr.splitlines():
        if line.startswith("TRACEMALLOC_PEAK "):
            return int(line.split()[1])
    return None


def _slot_filling_package(folder: Path) -> Path:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    version = FirmwareVersion(1, 1, 0)
    image = build_image(
        demo_firmware_payload(version, SLOT_FILL_BYTES),
        version=version,
        security_counter=2,
        key=key,
        header_size=DEFAULT_HEADER_SIZE,
    )
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=("B", "C"),
        version=version,
        security_counter=2,
        min_bootloader_version=FirmwareVersion(1, 0, 0),
        release_notes="Benchmark: an image that fills the demo device's slot.",
        created=datetime(2025, 1, 15, tzinfo=UTC),
        expires=datetime(2099, 12, 31, tzinfo=UTC),
        sim_behaviour="healthy",
    )
    path = folder / "VBMS-16-1.1.0-slot-filling.bmspkg"
    path.write_bytes(build_package(spec, image, key))
    return path


def _flash_peaks(package: Path, folder: Path, env: dict[str, str]) -> tuple[int, int | None]:
    """(peak RSS, tracemalloc peak) of ``bmsflasher flash --yes`` of ``package`` onto fresh devices."""
    peaks: list[int] = []
    traced: int | None = None
    for mode in ("rss", "trace"):
        state = folder / f"{package.stem}-{mode}.state"
        options = SimOptions(state_file=state)
        with (
            VirtualBms.create(options) as device,
            SerialFrontEnd(device, FrontEndOptions(baud=BAUD)) as front,
        ):
            cli = [
                "flash", str(package), "--port", front.port, "--baud", str(BAUD), "--yes",
                "--trust", str(resource_path("demo", "demo-key.pub.pem")),
                "--db", str(folder / f"history-{mode}.sqlite3"),
            ]  # fmt: skip
            if mode == "rss":
                args = [sys.executable, "-m", "bmsflasher.cli.main", *cli]
            else:
                args = [sys.executable, "-c", _TRACED, *cli]
            code, rss, stderr = _run_child(args, env)
            updated = device.identity().firmware_version == FirmwareVersion(1, 1, 0)
        if code != 0 or not updated:
            raise RuntimeError(f"the flash of {package.name} did not complete (exit {code}): {stderr[-300:]}")
        peaks.append(rss)
        if mode == "trace":
            traced = _traced_peak(stderr)
    return peaks[0], traced


def _row(case: str, value_bytes: int | None, reference: str, base: int | None = None) -> dict[str, object]:
    return {
        "benchmark": "peak memory",
        "case": case,
        "value": None if value_bytes is None else round(value_bytes / 2**20, 1),
        "unit": "MiB",
        "ratio": None if (value_bytes is None or not base) else round(value_bytes / base, 2),
        "reference": reference,
    }


def _live_rows(folder: Path, env: dict[str, str], baseline: int) -> list[dict[str, object]]:
    """Peak memory of the live view; one 'not measured' row (with the reason) if the GUI fails."""
    live = [sys.executable, "-c", _LIVE]
    db = str(folder / "live.sqlite3")
    code, rss, stderr = _run_child([*live, "rss", db, str(LIVE_CELLS), str(LIVE_FRAMES)], env)
    if code != 0:
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {code}"
        return [_row(f"live view, {LIVE_CELLS} cells", None, f"not measured: {reason}")]
    _, _, traced_err = _run_child([*live, "trace", db, str(LIVE_CELLS), str(LIVE_FRAMES)], env)
    case = f"live view, {LIVE_CELLS} cells, {LIVE_FRAMES} frames"
    return [
        _row(f"{case}, peak RSS", rss, "x interpreter baseline", baseline),
        _row(f"{case}, Python allocations peak (tracemalloc)", _traced_peak(traced_err), "-"),
    ]


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ)
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[var] = str(folder / var.lower())
        env["QT_QPA_PLATFORM"] = "offscreen"
        _, baseline, _ = _run_child([sys.executable, "-m", "bmsflasher.cli.main", "--version"], env)
        rows.append(_row("interpreter baseline (bmsflasher --version), peak RSS", baseline, "-"))
        packages = [
            (f"flash of {DEMO_PACKAGE} (256 KiB image)", resource_path("demo", "packages", DEMO_PACKAGE)),
            (
                f"flash of a slot-filling package ({SLOT_FILL_BYTES // 1024} KiB image)",
                _slot_filling_package(folder),
            ),
        ]
        for label, package in packages:
            rss, traced = _flash_peaks(package, folder, env)
            rows.append(_row(f"{label}, peak RSS", rss, "x interpreter baseline", baseline))
            rows.append(_row(f"{label}, Python allocations peak (tracemalloc)", traced, "-"))
        rows += _live_rows(folder, env, baseline)
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']}: {row['value']} {row['unit']} (ratio {row['ratio']}; {row['reference']})")
