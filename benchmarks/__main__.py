"""Run every benchmark module, print one table and write docs/performance.md.

Each ``benchmarks/bench_*.py`` exposes ``run() -> list[dict]``; every row has at least ``benchmark``,
``case``, ``value``, ``unit`` and, where a ceiling or peer exists, ``ratio`` and ``reference``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "bench_uds",
    "bench_smp",
    "bench_parallel",
    "bench_scan",
    "bench_gui",
    "bench_memory",
    "bench_dist",
)
COLUMNS = ("benchmark", "case", "value", "unit", "ratio", "reference")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", nargs="*", default=None, help="module names to run (default: all)")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not rewrite docs/performance.md"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    rows: list[dict[str, object]] = []
    failures: list[str] = []
    for name in args.only or MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError:
            continue
        started = time.monotonic()
        try:
            rows.extend(module.run())
        except Exception as exc:  # a broken benchmark must not hide the others' figures
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        print(f"{name}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    table = Table(title="bmsflasher benchmarks")
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_fmt(row.get(c)) for c in COLUMNS))
    Console().print(table)
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    if not args.no_write:
        _write_markdown(rows, failures)
    return 1 if failures else 0


def _write_markdown(rows: list[dict[str, object]], failures: list[str]) -> None:
    lines = [
        "# Performance",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {_machine()}.",
        "Reproduce with `make bench` (all) or `.venv/bin/python -m benchmarks --only bench_smp` (one).",
        "Ratios are against the theoretical ceiling of the link or against a peer measured in the same run,",
        "as the `reference` column says. The virtual BMS paces bytes and frames at line rate, so the",
        "figures are bus-time figures, not memory-speed fiction.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_fmt(row.get(c)) for c in COLUMNS) + " |" for row in rows]
    if failures:
        lines += ["", "Benchmarks that failed in this run:", ""] + [f"* {f}" for f in failures]
    (ROOT / "docs" / "performance.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
