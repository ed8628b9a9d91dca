"""Frozen-bundle figures: size on disk, cold and warm start of ``--version``, GUI start-to-close.

Uses the bundle in ``$BMSFLASHER_FROZEN_DIST`` or ``dist/`` (``make dist``); builds one into
``build/bench-dist`` when neither holds a bundle and PyInstaller is installed. "Cold" is the first
run after the build or after dropping the page cache when the kernel allows it (root, not in a
container), "warm" the median of the following runs; the reference is the same command run from
the source tree with this interpreter.

Run: ``python -m benchmarks.bench_dist`` (or ``python -m benchmarks --only bench_dist``).
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
WARM_RUNS = 5
GUI_RUNS = 3
TIMEOUT_S = 180.0


def _build_module() -> ModuleType:
    sys.path.insert(0, str(ROOT / "installer"))
    spec = importlib.util.spec_from_file_location(
        "_bmsflasher_installer_build", ROOT / "installer" / "build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _find_or_build(build: ModuleType) -> tuple[Path, Path | None] | None:
    candidates = (
        [Path(os.environ["BMSFLASHER_FROZEN_DIST"])] if os.environ.get("BMSFLASHER_FROZEN_DIST") else []
    )
    candidates += [ROOT / "dist", ROOT / "build" / "bench-dist"]
    for dist in candidates:
        if build.frozen_executable(dist / "bmsflasher").is_file():
            tarballs = sorted(dist.glob("bmsflasher-*.tar.gz"), key=lambda p: p.stat().st_mtime)
            return dist / "bmsflasher", (tarballs[-1] if tarballs else None)
    if importlib.util.find_spec("PyInstaller") is None:
        print("bench_dist: no frozen bundle and no PyInstaller; run `make dist` first", file=sys.stderr)
        return None
    summary = build.build(
        ROOT / "build" / "bench-dist", ROOT / "build" / "bench-work", package=True, clean=False
    )
    artefact = summary["artefact"]
    return Path(summary["bundle"]), (Path(artefact) if artefact else None)


def _drop_page_cache() -> bool:
    """Ask the kernel to forget cached file pages, so the next start reads from disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
    except OSError:
        return False
    return True


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    return elapsed


def _folder_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def run() -> list[dict[str, object]]:
    build = _build_module()
    found = _find_or_build(build)
    if found is None:
        return []
    bundle, tarball = found
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    cli = str(build.frozen_executable(bundle))
    gui = str(build.frozen_executable(bundle, "bmsflasher-gui"))
    rows: list[dict[str, object]] = []

    def row(case: str, value: float, unit: str, ratio: float | None = None, reference: str = "") -> None:
        rows.append(
            {
                "benchmark": "dist",
                "case": case,
                "value": value,
                "unit": unit,
                "ratio": ratio,
                "reference": reference,
            }
        )

    size_mb = _folder_bytes(bundle) / 1e6
    row("one-folder bundle size", round(size_mb, 1), "MB")
    internal = build.internal_dir(bundle)
    parts = sorted(
        ((_folder_bytes(p) if p.is_dir() else p.lstat().st_size, p.name) for p in internal.iterdir()),
        reverse=True,
    )
    for size, name in parts[:4]:
        row(
            f"largest part: {name}",
            round(size / 1e6, 1),
            "MB",
            round(size / 1e6 / size_mb, 2),
            "share of bundle",
        )
    if tarball is not None:
        row("Linux tarball (gzip)", round(tarball.stat().st_size / 1e6, 1), "MB")

    cold = _drop_page_cache()
    first_s = _timed([cli, "--version"], env)
    warm = [_timed([cli, "--version"], env) for _ in range(WARM_RUNS)]
    source = [
        _timed([sys.executable, "-m", "bmsflasher.cli.main", "--version"], env) for _ in range(WARM_RUNS)
    ]
    warm_s = statistics.median(warm)
    source_s = statistics.median(source)
    label = "cold (page cache dropped)" if cold else "first run"
    row(f"bmsflasher --version, {label}", round(first_s, 3), "s")
    row(
        "bmsflasher --version, warm median", round(warm_s, 3), "s", round(warm_s / source_s, 2), "source tree"
    )

    gui_env = dict(env, BMSFLASHER_QUIT_AFTER_MS="0")
    gui_s = statistics.median(_timed([gui, "--lang", "en"], gui_env) for _ in range(GUI_RUNS))
    row("GUI offscreen start to close, median", round(gui_s, 2), "s")
    demo_s = statistics.median(_timed([gui, "--demo", "--lang", "en"], gui_env) for _ in range(GUI_RUNS))
    row("GUI --demo (virtual BMS) start to close, median", round(demo_s, 2), "s")
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)
