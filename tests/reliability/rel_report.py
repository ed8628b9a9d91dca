"""Write the tool-level section of docs/reliability.md from the figures a reliability run recorded.

``make reliability`` runs the sweeps with ``BMSFLASHER_RELIABILITY_OUT`` pointing at a JSON-lines
file (see ``rel_figures.py``), then runs this script. Only the text between
``<!-- BEGIN tool-level -->`` and ``<!-- END tool-level -->`` is regenerated; the flash-model section
and anything else in the page stay as their authors wrote them. A figure with failures is published
with its failures: the page reports what was measured, not what was hoped.

Usage: ``python tests/reliability/rel_report.py FIGURES.jsonl [--doc docs/reliability.md]
[--command "make reliability"] [--pytest-status N] [--elapsed-s S]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- BEGIN tool-level -->"
END = "<!-- END tool-level -->"
TITLE = "# Reliability\n\n"


def _machine() -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks.__main__ import machine

    return machine()


def _cell(value: object) -> str:
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def render(
    rows: list[dict[str, object]],
    command: str,
    status: int | None,
    elapsed_s: float | None,
    notes: list[str] | None = None,
) -> str:
    when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    total_cases = sum(int(r.get("cases", 0) or 0) for r in rows)  # type: ignore[call-overload]
    total_failures = sum(int(r.get("failures", 0) or 0) for r in rows)  # type: ignore[call-overload]
    run = "" if elapsed_s is None else f" The run took {elapsed_s / 60:.0f} min."
    verdict = "" if status is None else f" pytest exit status {status}."
    lines = [
        BEGIN,
        "## Tool-level proofs: the whole tool and protocol against the virtual BMS",
        "",
        f"Measured {when} on {_machine()}, with `{command}`.{run}{verdict}",
        "",
        "Every case drives the real tool (the update procedure, or the `bmsflasher flash` process) over a",
        "real link — a pty speaking MCUmgr SMP at line rate, or an emulated slcan USB-CAN adapter on a",
        "pty speaking UDS on ISO-TP through python-can's own slcan driver — and then reads the verdict",
        "from the device's own flash: which bytes each slot holds, compared with the released images,",
        "whether the bootloader boots them, and whether the saved configuration is the technician's.",
        "The sweeps are `tests/reliability/test_rel_*.py` (marked slow); an unmarked subset runs in CI.",
        "",
        f"**{len(rows)} figures, {total_cases} cases, {total_failures} failures.**",
        "",
        "| figure | cases | failures | claim checked | detail | time |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        elapsed = row.get("elapsed_s")
        lines.append(
            "| "
            + " | ".join(
                [
                    _cell(row.get("figure")),
                    _cell(row.get("cases")),
                    _cell(row.get("failures")),
                    _cell(row.get("claim")),
                    _cell(row.get("detail")),
                    "" if elapsed is None else f"{float(elapsed):.0f} s",  # type: ignore[arg-type]
                ]
            )
            + " |"
        )
    if not rows:
        lines.append("| (no figures recorded: did the run start?) | | | | | |")
    if notes:
        lines += ["", "Problems this run found outside the figures:", ""] + [f"* {note}" for note in notes]
    lines += [
        "",
        "Re-measure with `make reliability`; one sweep with",
        "`BMSFLASHER_RELIABILITY_OUT=f.jsonl .venv/bin/python -m pytest -m slow "
        "tests/reliability/test_rel_power_cut.py`",
        "then `.venv/bin/python tests/reliability/rel_report.py f.jsonl`.",
        END,
    ]
    return "\n".join(lines) + "\n"


def replace_section(text: str, section: str) -> str:
    """Put ``section`` between the markers of ``text`` (appended when the markers are absent)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        return head + section + ("\n" + tail if tail else "")
    base = text if text.strip() else TITLE
    return base.rstrip("\n") + "\n\n" + section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("figures", type=Path)
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--command", default="make reliability")
    parser.add_argument("--pytest-status", type=int, default=None)
    parser.add_argument("--elapsed-s", type=float, default=None)
    parser.add_argument("--note", action="append", default=[], help="a problem to publish with the figures")
    args = parser.parse_args(argv)
    rows: list[dict[str, object]] = []
    if args.figures.exists():
        lines = args.figures.read_text(encoding="utf-8").splitlines()
        latest = {}  # a re-run sweep replaces its own earlier figure
        for line in filter(None, lines):
            row = json.loads(line)
            latest[str(row.get("figure"))] = row
        rows = list(latest.values())
    existing = args.doc.read_text(encoding="utf-8") if args.doc.exists() else ""
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(
        replace_section(existing, render(rows, args.command, args.pytest_status, args.elapsed_s, args.note)),
        encoding="utf-8",
    )
    print(f"wrote {len(rows)} figures to {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
