"""The terminal side of every command: consoles, the technician's language, JSON, yes/no questions.

One console factory so device and user text is shown as is everywhere (no emoji codes, no number
highlighting, no markup), and one rule for ``--json``: stdout carries exactly one JSON document (or
one object per line for a stream) while questions and progress go to stderr.

Every sentence printed for a person passes through :func:`say`, which renders a
:func:`~bmsflasher.core.i18n.t` sentence in the language ``--lang`` (or the environment) chose;
JSON never does: it stays English and stable for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import LANGUAGES, localise, t

_language = "en"
"""The language of this run's output, set once by ``main`` from ``--lang`` or the environment."""


def set_language(language: str) -> None:
    """Choose the language every :func:`say` renders in (``en``, ``nl`` or ``fr``)."""
    global _language  # noqa: PLW0603 -- one process runs one command for one technician
    if language not in LANGUAGES:
        raise ConfigValidationError(
            t("'{language}' is not a language of bmsflasher; choose en, nl or fr", language=language)
        )
    _language = language


def language() -> str:
    """The language chosen for this run's output."""
    return _language


def say(text: object) -> str:
    """``text`` as the technician reads it: a marked sentence in their language, anything else as is."""
    return localise(text, _language)


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


_YES = {"en": ("y", "yes"), "nl": ("y", "yes", "j", "ja"), "fr": ("y", "yes", "o", "oui")}
"""Answers that mean yes: English always, plus the language's own word (Dutch "ja", French "oui")."""


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes is no.

    The question goes to stderr, so ``--json`` output on stdout stays one clean JSON document.
    """
    sys.stderr.write(f"{say(question)} {say(t('[y/N]'))} ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in _YES[_language]


def require_interactive_or_yes(args: argparse.Namespace, what: str) -> None:
    """Refuse up front when ``what`` would ask a question nobody can answer (no terminal, no --yes)."""
    if not args.yes and not sys.stdin.isatty():
        raise ConfigValidationError(
            t("{command} asks for confirmation; pass --yes to run without a terminal", command=what)
        )
