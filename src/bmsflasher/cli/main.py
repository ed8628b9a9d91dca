"""Entry point of the ``bmsflasher`` command.

Subcommands live in their own small modules (``cmd_*.py``); each exposes ``register(subparsers)``
which adds its parser and sets ``func`` to a callable taking the parsed namespace and returning an
exit code. Errors from the project's own tree are printed as one sentence (plus a hint), never as a
traceback; anything else is a bug and keeps its traceback.

``--lang en|nl|fr`` (before or after the command; default ``BMSFLASHER_LANG``, then the locale
variables) chooses the language of everything printed for a person, argparse's usage errors
included; ``--json`` output stays English (see docs/i18n.md).

A usage error names the parser it belongs to: ``bmsflasher info --bogus`` prints the usage of
``info``, not of ``bmsflasher`` (argparse leaves an unknown option of a sub-command to the top
level, which then shows its own, useless, usage). With ``--json`` anywhere on the command line
every failure — a usage error, an error of the project's tree, Ctrl-C — also prints the one JSON
error object (:func:`bmsflasher.cli.console.error_json`) on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

from bmsflasher import __version__
from bmsflasher.cli.console import (
    error_json,
    exception_json,
    json_requested,
    language,
    print_json_line,
    say,
    set_language,
)
from bmsflasher.cli.usage_text import LANG_HELP, add_language_option, argparse_text, localised_argparse
from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError
from bmsflasher.core.i18n import LANGUAGES, language_from_environment, t

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "bmsflasher.cli.cmd_firmware": ("keygen", "package"),
    "bmsflasher.cli.cmd_verify": ("verify",),
    "bmsflasher.cli.cmd_ca": ("ca",),
    "bmsflasher.cli.cmd_bundle": ("bundle",),
    "bmsflasher.cli.cmd_sim": ("sim",),
    "bmsflasher.cli.cmd_scan": ("scan",),
    "bmsflasher.cli.cmd_inspect": ("info", "monitor", "dtc", "config"),
    "bmsflasher.cli.cmd_update": ("flash", "rack-update", "recover", "rollback"),
    "bmsflasher.cli.cmd_campaign": ("campaign",),
    "bmsflasher.cli.cmd_backup": ("backup", "restore"),
    "bmsflasher.cli.cmd_history": ("history", "report"),
    "bmsflasher.cli.cmd_gui": ("gui",),
    "bmsflasher.cli.cmd_demo": ("demo",),
    "bmsflasher.cli.cmd_log": ("log",),
    "bmsflasher.cli.cmd_dbc": ("dbc",),
}
"""Command module → the subcommands it registers.

Only the module of the command being run is imported, so ``bmsflasher verify`` does not pay for Qt,
python-can or the PDF renderer; ``--help`` (or an unknown command) imports them all.
"""


USAGE_EXIT_CODE: Final = ConfigValidationError.exit_code
"""Exit code of a command-line usage error (unknown option, value that does not parse).

argparse's own code, 2, is what ``flash`` returns for "refused by a precondition"; a typo in an
option must never look like a battery out of range to a script, so usage errors share the
documented "bad option value" code instead.
"""


USAGE_ERROR: Final = "UsageError"
"""The ``error`` of a usage error's JSON object."""
EXIT_INTERRUPTED: Final = 130


class _UsageError(SystemExit):
    """A usage error found by ``parser``; :func:`main` reports it (text, and JSON when asked).

    A SystemExit with the usage exit code, so a caller of ``build_parser().parse_args`` other than
    :func:`main` still ends as argparse would have ended it.
    """

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(USAGE_EXIT_CODE)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are reported by :func:`main` with :data:`USAGE_EXIT_CODE`."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


class _CommandParser(_Parser):
    """A sub-command's parser: an option it does not know is its own usage error.

    argparse hands a sub-command's unknown words back to the top-level parser, whose error then
    shows ``usage: bmsflasher [-h] … COMMAND ...`` — nothing about the options of the command
    the technician typed. Refusing them here shows the command's own usage line.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(argparse_text("unrecognized arguments: %s") % " ".join(extras))
        return parsed, extras


def _modules_for(argv: Sequence[str]) -> list[str]:
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command is None and "--version" in argv:
        return []
    chosen = [module for module, names in COMMAND_MODULES.items() if command in names]
    return chosen or list(COMMAND_MODULES)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Build the top-level parser with the subcommands ``argv`` needs (all of them by default)."""
    parser = _Parser(
        prog="bmsflasher",
        description=say(t("Diagnose smart BMS and update their firmware safely over USB, RS485 and CAN.")),
    )
    parser.add_argument("--version", action="version", version=f"bmsflasher {__version__}")
    parser.add_argument("--lang", choices=LANGUAGES, dest="language", default=None, help=say(LANG_HELP))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    for name in _modules_for(argv):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module: not ours to hide
                raise
            continue
        module.register(subparsers)
    add_language_option(subparsers)
    return parser


def _language_in(argv: Sequence[str]) -> str:
    """The output language: the last valid ``--lang`` in ``argv``, else the environment's.

    Read before parsing, so that argparse's own usage errors are already in that language.
    """
    chosen = None
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and index + 1 < len(argv):
            chosen = argv[index + 1]
        elif word.startswith("--lang="):
            chosen = word.partition("=")[2]
    return chosen if chosen in LANGUAGES else language_from_environment()


def _usage_failure(error: _UsageError, arguments: Sequence[str]) -> NoReturn:
    """Print the usage of the parser that refused ``arguments`` and why; exit :data:`USAGE_EXIT_CODE`.

    With ``--json`` the same error is printed on stdout as the one JSON error object, in English
    (the text on stderr is in the technician's language).
    """
    error.parser.print_usage(sys.stderr)
    sys.stderr.write(say(t("{prog}: error: {message}", prog=error.parser.prog, message=error.message)) + "\n")
    if json_requested(arguments):
        prog, message = _english_usage_error(error, arguments)
        hint = t("Run '{prog} --help' to see its options.", prog=prog)
        print_json_line(
            error_json(
                USAGE_ERROR, t("{prog}: error: {message}", prog=prog, message=message), hint, USAGE_EXIT_CODE
            )
        )
    sys.exit(USAGE_EXIT_CODE)


def _english_usage_error(error: _UsageError, arguments: Sequence[str]) -> tuple[str, str]:
    """The usage error's parser name and message in English, for JSON (parsed again in English)."""
    chosen = language()
    if chosen == "en":
        return error.parser.prog, error.message
    set_language("en")
    try:
        build_parser(arguments).parse_args(arguments)
    except _UsageError as english:
        return english.parser.prog, english.message
    finally:
        set_language(chosen)
    return error.parser.prog, error.message  # pragma: no cover - the same words parse the same way


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    set_language(_language_in(arguments))
    with localised_argparse():
        parser = build_parser(arguments)
        try:
            args = parser.parse_args(arguments)
        except _UsageError as error:
            _usage_failure(error, arguments)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 0
    as_json = bool(getattr(args, "json", False))
    try:
        code: int = func(args)
    except BmsFlasherError as exc:
        print(say(t("error: {message}", message=exc.message)), file=sys.stderr)
        if exc.hint:
            print(say(t("hint: {hint}", hint=exc.hint)), file=sys.stderr)
        if as_json:  # a script reading stdout gets the failure as JSON too
            print_json_line(exception_json(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print(say(t("interrupted")), file=sys.stderr)
        if as_json:
            print_json_line(error_json("Interrupted", t("interrupted"), None, EXIT_INTERRUPTED))
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
