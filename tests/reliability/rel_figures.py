"""Figures the tool-level reliability tests publish in docs/reliability.md.

A sweep calls :func:`record` once with its totals *before* it asserts, so a failing sweep still
publishes its honest counts. Records go to the JSON-lines file named by the environment variable
``BMSFLASHER_RELIABILITY_OUT`` (``make reliability`` sets it); without it nothing is written, so CI
runs leave no files behind. ``rel_report.py`` turns the file into the tool-level section.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Final

ENV: Final = "BMSFLASHER_RELIABILITY_OUT"


def record(
    figure: str,
    *,
    cases: int,
    failures: int,
    claim: str,
    detail: str = "",
    test: str = "",
    elapsed_s: float | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    """Append one figure: ``cases`` tried, ``failures`` that broke ``claim`` (0 is the target)."""
    target = os.environ.get(ENV)
    if not target:
        return
    row: dict[str, object] = {
        "figure": figure,
        "cases": cases,
        "failures": failures,
        "claim": claim,
        "detail": detail,
        "test": test or os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
        "elapsed_s": None if elapsed_s is None else round(elapsed_s, 1),
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if extra:
        row.update(extra)
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row, sort_keys=True) + "\n")
