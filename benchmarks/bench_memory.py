"""Peak memory of a firmware update (one, eight at once, SMP and UDS) and of the live view.

A workshop laptop runs the tool next to a browser and a PDF viewer; an old bench PC may have 4 GB,
and a service bench updates eight packs at once from one tool process. Two kinds of figure:

* **Whole process**, each a fresh ``bmsflasher flash --yes`` exactly as a technician runs it,
  against a virtual BMS on a pty at 921600 baud served from this process: the operating system's
  peak resident set size (``ru_maxrss`` of the child, read with ``os.wait4``), as a ratio to the
  interpreter baseline (``bmsflasher --version``), and Python's own peak allocation
  (``tracemalloc``), as a ratio to what the same process still holds once the flash is over (the
  code and caches it loaded): a buffer that lives only during the flash shows up as a ratio well
  above 1 even when the import cost hides it in the absolute figure.
* **Working set of an update**: a child process first runs one whole update (so every module and
  cache is loaded), then starts ``tracemalloc`` and runs more, through the same procedure API the
  GUI uses: the peak is what an update itself allocates, as a ratio to the image size (budget 4x:
  the package file, the image and one transient copy of it), and for eight updates at once (each
  verifies its own copy of the package, like eight ``bmsflasher flash``) as a ratio to one update.
  SMP devices are ``bmsflasher sim`` processes on ptys; the UDS device is one on an emulated slcan
  adapter at 500 kbit/s (zlib-compressed download).

Finding recorded here: the flash path's Python peak rose from 22 to 60 MiB when bounded file reads
arrived. ``BufferedReader.read(limit + 1)`` allocates its whole argument before reading, so the
48 MiB package cap became a 48 MiB buffer for a 106 KiB package (tracemalloc: one 48 MiB block at
``firmware/files.py read_capped``). The fix sizes the read from ``fstat`` and reads on in blocks
only for pipes; ZIP members are inflated in 64 KiB blocks (one ``read`` let zlib's doubling output
blocks reach 3.3-4.6x the image) and the UDS download compresses the image in slices (same bytes,
230 KiB less). Peak RSS never showed the 48 MiB: the kernel backs only the pages a program touches,
and the read touched a few; a buffer the allocator must still find room for, eight at once on a
workshop bench, is waste all the same.

Run: ``python -m benchmarks --only bench_memory`` (or ``python -m benchmarks.bench_memory``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import demo_firmware_payload
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import DEFAULT_HEADER_SIZE, build_image
from bmsflasher.firmware.package import PackageSpec, build_package, read_package
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

BAUD = 921_600
UDS_BITRATE = 500_000
SLOT_FILL_BYTES = 500 * 1024
PARALLEL_DEVICES = 8
LIVE_CELLS = 512
LIVE_FRAMES = 200
RUN_TIMEOUT_S = 300.0
SIM_START_TIMEOUT_S = 60.0
SIM_STOP_TIMEOUT_S = 10.0
DEMO_PACKAGE = "VBMS-16-1.1.0.bmspkg"
WORKING_SET_BUDGET_X_IMAGE = 4.0
"""An update holds the package file, the image, and briefly one more copy of the image (the join
of its inflated blocks, or the signed region being hashed), plus a few KiB of protocol state."""
WHOLE_PROCESS_BUDGET_X_AFTER = 1.25
"""The flash may allocate a quarter above what its loaded code keeps; the old 48 MiB read was 2.8x."""

_TRACED = """
import gc, sys, tracemalloc
tracemalloc.start()
from bmsflasher.cli.main import main
code = main(sys.argv[1:])
peak = tracemalloc.get_traced_memory()[1]
gc.collect()
sys.stderr.write(f"TRACEMALLOC_PEAK {peak}\\n")
sys.stderr.write(f"TRACEMALLOC_AFTER {tracemalloc.get_traced_memory()[0]}\\n")
sys.exit(code)
"""

_WORKING_SET = """
import gc, json, sys, threading, tracemalloc
from pathlib import Path
from bmsflasher.core.events import discard
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure.connect import open_target
from bmsflasher.procedure.engine import UpdateOptions, UpdateProcedure
from bmsflasher.procedure.package_loading import build_keyring, package_loader
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb

spec = json.loads(sys.argv[1])
keyring = build_keyring([Path(spec["trust"])])
db = RecordsDb.open(Path(spec["db"]))

def update(package, link):
    opened = []
    def connect():
        target = open_target(LinkSettings(**link))
        opened.append(target)
        return target
    try:
        loader = package_loader(Path(package), keyring)
        result = UpdateProcedure(loader, connect, db, discard, UpdateOptions()).run()
    finally:
        for target in opened:
            target.close()
    return "ok" if result.outcome is State.UPDATED else f"{result.outcome.value}: {result.reason}"

def stage(package, links):
    outcomes = ["did not finish"] * len(links)
    def work(index):
        try:
            outcomes[index] = update(package, links[index])
        except BaseException as exc:
            outcomes[index] = repr(exc)
    gc.collect()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(links))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=spec["timeout_s"])
    return {"peak": tracemalloc.get_traced_memory()[1] - before, "outcomes": outcomes}

warm = update(spec["warm"]["package"], spec["warm"]["link"])
tracemalloc.start()
results = [stage(s["package"], s["links"]) for s in spec["stages"]]
sys.stderr.write("WORKING_SET " + json.dumps({"warm": warm, "stages": results}) + "\\n")
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
from bmsflasher.sim.device.virtual_bms import VirtualBms
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


def _tagged(stderr: str, tag: str) -> str | None:
    """The rest of the child's stderr line that starts with ``tag``, if any."""
    for line in stderr.splitlines():
        if line.startswith(tag + " "):
            return line[len(tag) + 1 :]
    return None


def _traced_peak(stderr: str) -> int | None:
    value = _tagged(stderr, "TRACEMALLOC_PEAK")
    return None if value is None else int(value)


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


def _image_bytes(package: Path) -> int:
    """Size of the image inside ``package`` (what the device receives)."""
    return len(read_package(package.read_bytes()).image_bytes)


def _trust_key() -> str:
    return str(resource_path("demo", "demo-key.pub.pem"))


def _flash_peaks(package: Path, folder: Path, env: dict[str, str]) -> tuple[int, int | None, int | None]:
    """(peak RSS, tracemalloc peak, tracemalloc after) of ``bmsflasher flash --yes`` of ``package``."""
    peaks: list[int] = []
    traced: tuple[int | None, int | None] = (None, None)
    for mode in ("rss", "trace"):
        state = folder / f"{package.stem}-{mode}.state"
        options = SimOptions(state_file=state)
        with (
            VirtualBms.create(options) as device,
            SerialFrontEnd(device, FrontEndOptions(baud=BAUD)) as front,
        ):
            cli = [
                "flash", str(package), "--port", front.port, "--baud", str(BAUD), "--yes",
                "--trust", _trust_key(), "--db", str(folder / f"history-{mode}.sqlite3"),
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
            after = _tagged(stderr, "TRACEMALLOC_AFTER")
            traced = (_traced_peak(stderr), None if after is None else int(after))
    return peaks[0], traced[0], traced[1]


# --- virtual BMS processes for the working-set runs ------------------------------------------------
def _listening_event(log: IO[bytes], proc: subprocess.Popen[bytes], deadline: float) -> dict[str, object]:
    """The sim's ``listening`` JSON line, read from its log file (bounded wait)."""
    while time.monotonic() < deadline:
        log.seek(0)
        for line in log.read().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == "listening":
                    return event
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"a virtual BMS did not start (exit {proc.poll()})")


@contextlib.contextmanager
def _sim_processes(commands: list[list[str]], env: dict[str, str]) -> Iterator[list[dict[str, object]]]:
    """Start one ``bmsflasher sim --json`` process per command; yields their ``listening`` events.

    Their output goes to files, not pipes: a sim that prints later events never blocks on a pipe
    nobody reads.
    """
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as logs:
        try:
            files = [logs.enter_context(tempfile.TemporaryFile()) for _ in commands]
            for command, log in zip(commands, files, strict=True):
                args = [sys.executable, "-m", "bmsflasher.cli.main", "sim", "--json", *command]
                procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.DEVNULL, env=env))
            deadline = time.monotonic() + SIM_START_TIMEOUT_S
            yield [_listening_event(log, proc, deadline) for log, proc in zip(files, procs, strict=True)]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(timeout=SIM_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=SIM_STOP_TIMEOUT_S)


def _smp_sim(index: int, folder: Path) -> list[str]:
    return [
        "--protocol", "smp", "--link", "pty", "--baud", str(BAUD), "--seed", str(index + 1),
        "--state", str(folder / f"smp{index}.state"), "--link-path", str(folder / f"ttyBMS{index}"),
    ]  # fmt: skip


def _uds_sim(index: int, folder: Path) -> list[str]:
    return [
        "--protocol", "uds", "--link", "slcan", "--bitrate", str(UDS_BITRATE), "--seed", str(index + 101),
        "--state", str(folder / f"uds{index}.state"),
    ]  # fmt: skip


def _serial_link(event: dict[str, object]) -> dict[str, object]:
    return {"kind": "serial", "port": str(event["port"]), "baud": BAUD}


def _can_link(event: dict[str, object]) -> dict[str, object]:
    return {
        "kind": "can",
        "interface": "slcan",
        "channel": str(event["channel"]),
        "bitrate": UDS_BITRATE,
        "node": 1,
    }


def _working_set(
    spec: dict[str, object], folder: Path, env: dict[str, str], name: str
) -> list[dict[str, object]]:
    """Run the working-set child on ``spec``; returns one {peak, outcomes} per stage.

    Raises:
        RuntimeError: the child failed, or an update did not end UPDATED (its peak would not be
            the peak of an update).
    """
    spec = {**spec, "trust": _trust_key(), "db": str(folder / f"{name}.sqlite3"), "timeout_s": RUN_TIMEOUT_S}
    code, _, stderr = _run_child([sys.executable, "-c", _WORKING_SET, json.dumps(spec)], env)
    found = _tagged(stderr, "WORKING_SET")
    if code != 0 or found is None:
        raise RuntimeError(f"the {name} working-set run failed (exit {code}): {stderr[-300:]}")
    report = json.loads(found)
    failures = [o for s in report["stages"] for o in s["outcomes"] if o != "ok"]
    if report["warm"] != "ok" or failures:
        raise RuntimeError(
            f"an update in the {name} working-set run did not complete: {report['warm']} {failures[:1]}"
        )
    stages: list[dict[str, object]] = report["stages"]
    return stages


def _kib_row(case: str, value_bytes: int, ratio: float, reference: str) -> dict[str, object]:
    return {
        "benchmark": "peak memory",
        "case": case,
        "value": round(value_bytes / 1024),
        "unit": "KiB",
        "ratio": round(ratio, 2),
        "reference": reference,
    }


def _smp_working_set_rows(
    packages: list[tuple[str, Path]], folder: Path, env: dict[str, str]
) -> list[dict[str, object]]:
    """One update of each package, then eight at once of the first: SMP over ptys at 921600 baud."""
    demo = packages[0][1]
    devices = 1 + len(packages) + PARALLEL_DEVICES
    with _sim_processes([_smp_sim(i, folder) for i in range(devices)], env) as events:
        links = [_serial_link(event) for event in events]
        stages: list[dict[str, object]] = [
            {"package": str(package), "links": [links[1 + i]]} for i, (_, package) in enumerate(packages)
        ]
        stages.append({"package": str(demo), "links": links[1 + len(packages) :]})
        spec: dict[str, object] = {"warm": {"package": str(demo), "link": links[0]}, "stages": stages}
        results = _working_set(spec, folder, env, "smp")
    rows: list[dict[str, object]] = []
    budget = (
        f"x image size (budget {WORKING_SET_BUDGET_X_IMAGE:g}x: package file + image + one transient copy)"
    )
    for (label, package), result in zip(packages, results, strict=False):
        peak = int(str(result["peak"]))
        rows.append(
            _kib_row(f"one update of {label}, SMP {BAUD} baud, working set (tracemalloc peak, warm process)",
                     peak, peak / _image_bytes(package), budget)
        )  # fmt: skip
    one = int(str(results[0]["peak"]))
    many = int(str(results[-1]["peak"]))
    rows.append(
        _kib_row(
            f"{PARALLEL_DEVICES} updates at once of {packages[0][0]}, SMP {BAUD} baud, working set",
            many,
            many / one,
            f"x one update alone (budget {PARALLEL_DEVICES}x: each verifies its own package); "
            f"{many / _image_bytes(demo):.1f}x image size",
        )
    )
    return rows


def _uds_working_set_rows(
    label: str, package: Path, folder: Path, env: dict[str, str]
) -> list[dict[str, object]]:
    """One UDS update over the emulated slcan adapter, after a warm-up update."""
    with _sim_processes([_uds_sim(i, folder) for i in range(2)], env) as events:
        links = [_can_link(event) for event in events]
        spec: dict[str, object] = {
            "warm": {"package": str(package), "link": links[0]},
            "stages": [{"package": str(package), "links": [links[1]]}],
        }
        results = _working_set(spec, folder, env, "uds")
    peak = int(str(results[0]["peak"]))
    return [
        _kib_row(
            f"one update of {label}, UDS slcan {UDS_BITRATE // 1000} kbit/s zlib, working set",
            peak,
            peak / _image_bytes(package),
            f"x image size (budget {WORKING_SET_BUDGET_X_IMAGE:g}x; the compressed payload is held too)",
        )
    ]


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


def _whole_process_rows(
    packages: list[tuple[str, Path]], folder: Path, env: dict[str, str], baseline: int
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for label, package in packages:
        rss, traced, after = _flash_peaks(package, folder, env)
        rows.append(_row(f"flash of {label}, peak RSS", rss, "x interpreter baseline", baseline))
        rows.append(
            _row(
                f"flash of {label}, Python allocations peak (tracemalloc, whole process)",
                traced,
                f"x the process's allocations after the flash, {(after or 0) / 2**20:.1f} MiB of loaded "
                f"code (budget {WHOLE_PROCESS_BUDGET_X_AFTER:g}x)",
                after,
            )
        )
    return rows


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
        demo = resource_path("demo", "packages", DEMO_PACKAGE)
        packages = [
            (f"{DEMO_PACKAGE} ({_image_bytes(demo) // 1024} KiB image)", demo),
            (f"a slot-filling package ({SLOT_FILL_BYTES // 1024} KiB image)", _slot_filling_package(folder)),
        ]
        rows += _whole_process_rows(packages, folder, env, baseline)
        rows += _smp_working_set_rows(packages, folder, env)
        rows += _uds_working_set_rows(packages[0][0], demo, folder, env)
        rows += _live_rows(folder, env, baseline)
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']}: {row['value']} {row['unit']} (ratio {row['ratio']}; {row['reference']})")
