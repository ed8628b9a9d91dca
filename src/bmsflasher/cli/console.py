"""The terminal side of every command: consoles, JSON on stdout, yes/no questions.

One console factory so device and user text is shown as is everywhere (no emoji codes, no number
highlighting, no markup), and one rule for ``--json``: stdout carries exactly one JSON document (or
one object per line for a stream) while questions and progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from bmsflasher.core.errors import ConfigValidationError


def make_console(*, stderr: bool = False) -> Console:
    """A console that shows device and user text as is (no emoji codes, no number highlighting)."""
    return Console(highlight=False, emoji=False, stderr=stderr)


def progress_console(as_json: bool) -> Console:
    """Where a command's progress goes: stdout, or stderr when stdout carries the ``--json`` result."""
    return make_console(stderr=as_json)


def print_json(value: object, *, ensure_ascii: bool = True) -> None:
    """One indented JSON document on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=ensure_ascii) + "\n")


def print_json_line(value: object) -> None:
    """One compact JSON object per line, flushed at once (a stream a script reads while it runs)."""
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes is no.

    The question goes to stderr, so ``--json`` output on stdout stays one clean JSON document.
    """
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def require_interactive_or_yes(args: argparse.Namespace, what: str) -> None:
    """Refuse up front when ``what`` would ask a question nobody can answer (no terminal, no --yes)."""
    if not args.yes and not sys.stdin.isatty():
        raise ConfigValidationError(f"{what} asks for confirmation; pass --yes to run without a terminal")
