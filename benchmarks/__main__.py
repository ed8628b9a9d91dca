"""Run every benchmark module, print one table and write docs/performance.md.

Each ``benchmarks/bench_*.py`` exposes ``run() -> list[dict]``; every row has at least ``benchmark``,
``case``, ``value``, ``unit`` and, where a ceiling or peer exists, ``ratio`` and ``reference``.

docs/performance.md holds one section per module, delimited by ``<!-- BEGIN bench_x -->`` and
``<!-- END bench_x -->``. Each section states the machine, the command and the date of its own
measurement, because ``--only`` re-measures some modules and leaves the others' sections (and
their dates) as they were. A module that fails keeps its previous figures under a note saying when
and why the re-measurement failed, so a broken benchmark never erases evidence silently.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
MODULES = (
    "bench_uds",
    "bench_smp",
    "bench_modbus",
    "bench_parallel",
    "bench_scan",
    "bench_gui",
    "bench_overhead",
    "bench_campaign",
    "bench_pack_cells",
    "bench_memory",
    "bench_dist",
)
COLUMNS = ("benchmark", "case", "value", "unit", "ratio", "reference")
SECTION_COLUMNS = ("case", "value", "unit", "ratio", "reference")
_SECTION = re.compile(r"<!-- BEGIN (\w+) -->\n.*?<!-- END \1 -->\n?", re.DOTALL)


@dataclass
class ModuleRun:
    """The outcome of one module's ``run()``."""

    name: str
    rows: list[dict[str, object]] = field(default_factory=list)
    error: str | None = None
    elapsed_s: float = 0.0
    doc: str = ""


def machine() -> str:
    """One line naming the machine: OS, CPU model, cores, memory, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * page_size / 2**30:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def _cell(value: object) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _summary(doc: str | None) -> str:
    """The first paragraph of a module docstring (what the figures mean)."""
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n", 1)[0].split())


def run_module(name: str) -> ModuleRun | None:
    """Import and run one module; None when the module does not exist (yet)."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"benchmarks.{name}":
            return None
        return ModuleRun(name, error=f"cannot import: {exc}")
    result = ModuleRun(name, doc=_summary(module.__doc__))
    started = time.monotonic()
    try:
        result.rows = list(module.run())
    except Exception as exc:  # a broken benchmark must not hide the others' figures; reported below
        result.error = f"{type(exc).__name__}: {exc}"
    result.elapsed_s = time.monotonic() - started
    return result


def render_section(result: ModuleRun, when: str, where: str, previous: str | None) -> str:
    """The Markdown section of one module (or its previous one, with a failure note)."""
    begin, end = f"<!-- BEGIN {result.name} -->", f"<!-- END {result.name} -->"
    command = f"`.venv/bin/python -m benchmarks --only {result.name}`"
    if result.error is not None:
        note = f"> Re-measuring on {when} failed ({result.error}); the figures below are older."
        if previous:
            body = previous.split("\n", 1)[1].rsplit(end, 1)[0].rstrip("\n")
            lines = body.split("\n")
            heading, rest = lines[0], lines[1:]
            if rest and rest[0].startswith("> Re-measuring on"):
                rest = rest[1:]
            return "\n".join([begin, heading, note, *rest, end]) + "\n"
        return "\n".join([begin, f"## {result.name}", "", note, "", end]) + "\n"
    benchmark = str(result.rows[0].get("benchmark", result.name)) if result.rows else result.name
    lines = [
        begin,
        f"## {benchmark} (`{result.name}`)",
        "",
        f"Measured {when} on {where}, with {command} ({result.elapsed_s:.0f} s).",
        "",
    ]
    if result.doc:
        lines += [result.doc, ""]
    lines += ["| " + " | ".join(SECTION_COLUMNS) + " |", "|" + "---|" * len(SECTION_COLUMNS)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in SECTION_COLUMNS) + " |" for row in result.rows]
    lines.append(end)
    return "\n".join(lines) + "\n"


HEADER = """# Performance

Figures measured by `benchmarks/` (run them all with `make bench`). Each section states the machine,
the command and the date of its own measurement; re-measure one with the command it names. Ratios
are against the theoretical ceiling of the link or against a peer measured in the same run, as the
`reference` column says. The virtual BMS paces bytes and CAN frames at line rate, so throughput
figures are bus-time figures, not memory-speed fiction.

"""


def write_doc(results: list[ModuleRun], path: Path = DOC) -> None:
    """Replace the sections of ``results`` in place and keep everything else in ``path`` as written.

    The notes people write between sections (why a target is missed, what a figure depends on) are
    part of the record: rewriting only the generated sections means a re-run never deletes them. A
    module with no section yet is appended at the end.
    """
    existing = path.read_text(encoding="utf-8") if path.exists() else HEADER
    sections = {m.group(1): m.group(0) for m in _SECTION.finditer(existing)}
    when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    where = machine()
    fresh = {
        result.name: render_section(result, when, where, sections.get(result.name)) for result in results
    }

    def replace(match: re.Match[str]) -> str:
        return fresh.pop(match.group(1), match.group(0))

    text = _SECTION.sub(replace, existing)
    for name in [n for n in MODULES if n in fresh] + sorted(set(fresh) - set(MODULES)):
        text = text.rstrip("\n") + "\n\n" + fresh[name]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", nargs="*", default=None, help="module names to run (default: all)")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; do not rewrite docs/performance.md"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    results: list[ModuleRun] = []
    for name in args.only or MODULES:
        result = run_module(name.removeprefix("benchmarks.").removesuffix(".py"))
        if result is None:
            print(f"{name}: no such benchmark module (skipped)", file=sys.stderr)
            continue
        results.append(result)
        print(f"{result.name}: {result.elapsed_s:.1f} s", file=sys.stderr)
    table = Table(title=f"bmsflasher benchmarks — {machine()}")
    for column in COLUMNS:
        table.add_column(column)
    for result in results:
        for row in result.rows:
            table.add_row(*(_fmt(row.get(c)) for c in COLUMNS))
    Console().print(table)
    failures = [r for r in results if r.error is not None]
    for failure in failures:
        print(f"FAILED {failure.name}: {failure.error}", file=sys.stderr)
    if not args.no_write:
        write_doc(results)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
