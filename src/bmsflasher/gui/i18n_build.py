"""Build the GUI's compiled translations (.qm) from the Qt Linguist sources (.ts).

Only the ``.ts`` files are committed (in the package's ``resources/i18n``): they are text a
translator can review in a pull request. The binary ``.qm`` files are built next to them by
``make translations`` (this module) and by ``make dist``, whose bundle ships only the ``.qm``. The
wheel ships the ``.ts`` sources and no ``.qm``; wherever a catalogue is missing or stale the
application compiles it into the user's cache at start-up (PySide6 carries ``lrelease``), so a
fresh checkout running ``make demo`` or a ``pip install`` is translated without an extra step.

``python -m bmsflasher.gui.i18n_build`` compiles; ``--update`` first re-extracts the source strings
with ``pyside6-lupdate`` (keeping existing translations), for developers who changed GUI text.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.resources import resource_path

LANGUAGES: Final = ("nl", "fr")
"""Languages with a translation file; English is the source language and needs none."""

TS_PREFIX: Final = "bmsflasher_"
TOOL_TIMEOUT_S: Final = 120.0


def i18n_dir() -> Path:
    """Folder holding the ``.ts`` sources and the built ``.qm`` files."""
    return resource_path("i18n")


def ts_path(language: str) -> Path:
    """The committed translation source of one language."""
    return i18n_dir() / f"{TS_PREFIX}{language}.ts"


def qm_path(language: str, out_dir: Path | None = None) -> Path:
    """The compiled catalogue of one language (next to its source unless ``out_dir``)."""
    return (out_dir or i18n_dir()) / f"{TS_PREFIX}{language}.qm"


def _run_pyside_tool(tool: str, args: Sequence[str]) -> None:
    """Run a PySide6 Linguist tool through the interpreter, so it works without PATH set-up."""
    code = f"import sys; from PySide6.scripts.pyside_tool import {tool}; sys.exit({tool}())"
    try:
        result = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BmsFlasherError(f"pyside6-{tool} could not run: {exc}") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BmsFlasherError(f"pyside6-{tool} failed: {detail[-1] if detail else result.returncode}")


def is_stale(language: str, out_dir: Path | None = None) -> bool:
    """True when the ``.qm`` is missing or older than its ``.ts`` source."""
    source, built = ts_path(language), qm_path(language, out_dir)
    if not source.is_file():
        return False
    return not built.is_file() or built.stat().st_mtime < source.stat().st_mtime


def build(
    languages: Sequence[str] = LANGUAGES, *, out_dir: Path | None = None, only_stale: bool = False
) -> list[Path]:
    """Compile each language's ``.ts`` to ``.qm`` (next to it unless ``out_dir``); returns files written."""
    written: list[Path] = []
    for language in languages:
        source = ts_path(language)
        if not source.is_file():
            raise BmsFlasherError(f"the translation source {source} is missing")
        if only_stale and not is_stale(language, out_dir):
            continue
        target = qm_path(language, out_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        _run_pyside_tool("lrelease", ["-silent", str(source), "-qm", str(target)])
        written.append(target)
    return written


def gui_sources() -> list[Path]:
    """Python files whose strings go into the translation sources."""
    gui_root = Path(__file__).resolve().parent
    return sorted(p for p in gui_root.rglob("*.py") if "__pycache__" not in p.parts)


def update_sources(languages: Sequence[str] = LANGUAGES) -> None:
    """Re-extract translatable strings from the GUI code into every ``.ts`` (translations kept)."""
    i18n_dir().mkdir(parents=True, exist_ok=True)
    sources = [str(p) for p in gui_sources()]
    for language in languages:
        _run_pyside_tool(
            "lupdate",
            [
                "-no-obsolete",
                "-locations",
                "none",
                "-target-language",
                language,
                *sources,
                "-ts",
                str(ts_path(language)),
            ],
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m bmsflasher.gui.i18n_build [--update]``."""
    parser = argparse.ArgumentParser(description="Build the GUI translations (.qm) from the .ts sources.")
    parser.add_argument("--update", action="store_true", help="re-extract strings from the code first")
    args = parser.parse_args(argv)
    try:
        if args.update:
            update_sources()
        for path in build():
            print(f"built {path}")
    except BmsFlasherError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
