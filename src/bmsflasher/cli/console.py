"""The terminal side of every command: consoles, the technician's language, JSON, yes/no questions.

One console factory so device and user text is shown as is everywhere (no emoji codes, no number
highlighting, no markup), and one rule for ``--json``: stdout carries exactly one JSON document (or
one object per line for a stream) while questions and progress go to stderr. A command that fails
with ``--json`` prints one error object of the shape :func:`error_json` builds, whatever the command.

Every sentence printed for a person passes through :func:`say`, which renders a
:func:`~bmsflasher.core.i18n.t` sentence in the language ``--lang`` (or the environment) chose;
JSON never does: it stays English and stable for scripts.

Text that did not come from our catalogue never reaches the terminal with its control characters
(a DTC description holding ``ESC [2J`` would clear the technician's screen; a newline in an
operator name would forge a line of the history): :func:`say` shows them as escapes in the values
it fills into a sentence, :func:`plain` does for a table cell, and every console this module makes
escapes what is left at the last step before the terminal (:class:`_VisibleConsole`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text as RichText

from bmsflasher.core.display_text import has_control, visible
from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError
from bmsflasher.core.i18n import LANGUAGES, Text, localise, t

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
    """``text`` as the technician reads it: a marked sentence in their language, anything else as is.

    The sentence's template is ours; the values filled into it may come from a device, a file or
    the history, so their control characters are shown as escapes (:func:`shown_values`). Text
    that is not a marked sentence keeps its newlines and tabs, and loses every other control
    character the same way.
    """
    if isinstance(text, Text):
        return localise(shown_values(text), _language)
    return visible(localise(text, _language), keep_layout=True)


def shown_values(text: Text) -> Text:
    """``text`` with every string value filled into it (at any depth) made :func:`visible`."""

    def shown(value: object) -> object:
        if isinstance(value, Text):
            return shown_values(value)
        if isinstance(value, str) and has_control(value):
            return visible(value)
        return value

    if not text.params:
        return text
    return Text(text.template, {name: shown(value) for name, value in text.params.items()})


def plain(text: object) -> RichText:
    """A table cell or line of text that did not come from our catalogue: no markup, no control characters."""
    return RichText(visible(str(text)))


class _VisibleConsole(Console):
    """A rich console that escapes control characters in everything it renders (the last safety net).

    Rich drops a few control codes (BEL, backspace, CR) but passes ESC and the C1 controls to the
    terminal. Whatever text reaches a renderable without going through :func:`say` or
    :func:`plain` is escaped here, segment by segment; rich's own styles and cursor movements are
    not text segments and are untouched.
    """

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and has_control(segment.text):
                yield Segment(visible(segment.text, keep_layout=True), segment.style)
            else:
                yield segment


def make_console(*, stderr: bool = False, **options: Any) -> Console:
    """A console showing device and user text as is: no emoji codes, number highlighting or controls."""
    return _VisibleConsole(highlight=False, emoji=False, stderr=stderr, **options)


def progress_console(as_json: bool) -> Console:
    """Where a command's progress goes: stdout, or stderr when stdout carries the ``--json`` result."""
    return make_console(stderr=as_json)


def _json_text(value: object, *, indent: int | None, ensure_ascii: bool) -> str:
    """JSON text; with ``ensure_ascii=False`` the C1 controls and bidi overrides are still escaped."""
    document = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    if ensure_ascii:
        return document
    # json.dumps escapes C0 controls always (a raw newline here is the indentation), the rest only
    # with ensure_ascii.
    return "".join(f"\\u{ord(ch):04x}" if ord(ch) >= 0x7F and has_control(ch) else ch for ch in document)


def print_json(value: object, *, ensure_ascii: bool = True) -> None:
    """One indented JSON document on stdout."""
    sys.stdout.write(_json_text(value, indent=2, ensure_ascii=ensure_ascii) + "\n")


def print_json_line(value: object) -> None:
    """One compact JSON object per line, flushed at once (a stream a script reads while it runs)."""
    sys.stdout.write(_json_text(value, indent=None, ensure_ascii=True) + "\n")
    sys.stdout.flush()


ERROR_KEYS: Final = ("ok", "error", "message", "hint", "exit_code")
"""The keys every ``--json`` failure carries, whatever the command (docs/update-procedure.md)."""


def error_json(
    error: str, message: object, hint: object, exit_code: int, /, **extra: object
) -> dict[str, object]:
    """The one ``--json`` failure shape: ``{"ok": false, "error", "message", "hint", "exit_code"}``.

    Args:
        error: a stable name: the error class (``PortNotFoundError``) or, for a failure without an
            exception, a word for it (``UsageError``, ``Declined``, ``NothingFound``).
        message: the sentence, in English (JSON stays English).
        hint: what to do, or None.
        exit_code: the process's exit code.
        extra: keys a command adds (``verify``'s ``valid``, ``flash``'s whole result); they never
            replace the five.
    """
    shape: dict[str, object] = {
        "ok": False,
        "error": error,
        "message": str(message),
        "hint": None if hint is None else str(hint),
        "exit_code": exit_code,
    }
    return {**shape, **{key: value for key, value in extra.items() if key not in shape}}


def exception_json(exc: BmsFlasherError, /, **extra: object) -> dict[str, object]:
    """:func:`error_json` for one of the project's errors."""
    return error_json(type(exc).__name__, exc.message, exc.hint, exc.exit_code, **extra)


def json_requested(argv: Sequence[str]) -> bool:
    """True when ``--json`` is on the command line (before any ``--``), even if parsing failed."""
    for word in argv:
        if word == "--":
            return False
        if word == "--json":
            return True
    return False


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


def declined(args: argparse.Namespace, sentence: Text, exit_code: int) -> int:
    """The operator answered no: say so (``--json``: as the one error object) and return ``exit_code``."""
    if getattr(args, "json", False):
        print_json(error_json("Declined", sentence, None, exit_code))
    else:
        print(say(sentence), file=sys.stderr)
    return exit_code


def require_interactive_or_yes(args: argparse.Namespace, what: str) -> None:
    """Refuse up front when ``what`` would ask a question nobody can answer (no terminal, no --yes)."""
    if not args.yes and not sys.stdin.isatty():
        raise ConfigValidationError(
            t("{command} asks for confirmation; pass --yes to run without a terminal", command=what)
        )
