"""The command line's own words in the technician's language: argparse's usage errors and ``--lang``.

argparse builds its messages ("the following arguments are required: PKG", "invalid choice: …")
through ``gettext`` and Python ships no Dutch or French catalogue for them, so a usage error would
stay English in a Dutch session. argparse looks its ``_``/``ngettext`` up in its own module at call
time; :func:`localised_argparse` points them at bmsflasher's catalogue while the command line is
parsed, and puts them back afterwards. The messages are argparse's own ``%``-style templates, listed
below with :func:`~bmsflasher.core.i18n.t` so the catalogue test demands their translations.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any, Final

from bmsflasher.cli.console import language, say
from bmsflasher.core.i18n import Text, localise, t

LANG_HELP: Final = t(
    "language of the output: en, nl or fr (default: BMSFLASHER_LANG, then LANG); JSON stays English"
)

ARGPARSE_MESSAGES: Final = (
    t("usage: "),
    t("positional arguments"),
    t("options"),
    t("show this help message and exit"),
    t("argument %(argument_name)s: %(message)s"),
    t("the following arguments are required: %s"),
    t("unrecognized arguments: %s"),
    t("invalid choice: %(value)r (choose from %(choices)s)"),
    t("invalid %(type)s value: %(value)r"),
    t("expected one argument"),
    t("expected at most one argument"),
    t("expected at least one argument"),
    t("expected %s argument"),
    t("expected %s arguments"),
    t("not allowed with argument %s"),
    t("ignored explicit argument %r"),
    t("one of the arguments %s is required"),
    t("ambiguous option: %(option)s could match %(matches)s"),
    t("unknown parser %(parser_name)r (choices: %(choices)s)"),
    t("can't open '%(filename)s': %(error)s"),
)
"""argparse's messages a technician can meet (Python 3.11 wording), marked for translation."""

_KNOWN: Final = frozenset(message.template for message in ARGPARSE_MESSAGES)


def _gettext(message: str) -> str:
    if message not in _KNOWN:
        return message
    return localise(Text(message, {}), language())


def _ngettext(singular: str, plural: str, count: int) -> str:
    return _gettext(singular if count == 1 else plural)


@contextlib.contextmanager
def localised_argparse() -> Iterator[None]:
    """While the block runs, argparse's messages come from bmsflasher's catalogue (English: unchanged)."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = _gettext  # type: ignore[attr-defined]
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def add_language_option(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Accept ``--lang`` after the command too (``bmsflasher info --port X --lang nl``).

    The option's value only fills the top-level ``language``: its default is SUPPRESS, so a
    command that does not repeat it keeps the one given before the command (or none). A parser
    that already has its own ``--lang`` (the GUI's) keeps it.
    """
    for parser in subparsers.choices.values():
        if "--lang" not in parser._option_string_actions:
            parser.add_argument(
                "--lang",
                choices=("en", "nl", "fr"),
                dest="language",
                default=argparse.SUPPRESS,
                help=say(LANG_HELP),
            )
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                add_language_option(action)


def argparse_text(message: str) -> str:
    """One of argparse's messages (:data:`ARGPARSE_MESSAGES`) in the language of this run."""
    return _gettext(message)
