"""Entry point of the ``bmsflasher`` command.

Subcommands live in their own small modules (``cmd_*.py``); each exposes ``register(subparsers)``
which adds its parser and sets ``func`` to a callable taking the parsed namespace and returning an
exit code. Errors from the project's own tree are printed as one sentence (plus a hint), never as a
traceback; anything else is a bug and keeps its traceback.

``--lang en|nl|fr`` (before or after the command; default ``BMSFLASHER_LANG``, then the locale
variables) chooses the language of everything printed for a person, argparse's usage errors
included; ``--json`` output stays English (see docs/i18n.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

from bmsflasher import __version__
from bmsflasher.cli.console import say, set_language
from bmsflasher.cli.usage_text import LANG_HELP, add_language_option, localised_argparse
from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError
from bmsflasher.core.i18n import LANGUAGES, language_from_environment, t

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "bmsflasher.cli.cmd_firmware": ("keygen", "package"),
    "bmsflasher.cli.cmd_verify": ("verify",),
    "bmsflasher.cli.cmd_sim": ("sim",),
    "bmsflasher.cli.cmd_scan": ("scan",),
    "bmsflasher.cli.cmd_inspect": ("info", "monitor", "dtc", "config"),
    "bmsflasher.cli.cmd_update": ("flash", "recover", "rollback"),
    "bmsflasher.cli.cmd_backup": ("backup", "restore"),
    "bmsflasher.cli.cmd_history": ("history", "report"),
    "bmsflasher.cli.cmd_gui": ("gui",),
    "bmsflasher.cli.cmd_demo": ("demo",),
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


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit with :data:`USAGE_EXIT_CODE` (sub-parsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_EXIT_CODE, say(t("{prog}: error: {message}", prog=self.prog, message=message)) + "\n")


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    set_language(_language_in(arguments))
    with localised_argparse():
        parser = build_parser(arguments)
        args = parser.parse_args(arguments)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 0
    try:
        code: int = func(args)
    except BmsFlasherError as exc:
        print(say(t("error: {message}", message=exc.message)), file=sys.stderr)
        if exc.hint:
            print(say(t("hint: {hint}", hint=exc.hint)), file=sys.stderr)
        if getattr(args, "json", False):  # a script reading stdout gets the failure as JSON too
            error = {
                "ok": False,
                "error": type(exc).__name__,
                "message": exc.message,
                "hint": exc.hint,
                "exit_code": exc.exit_code,
            }
            sys.stdout.write(json.dumps(error) + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        print(say(t("interrupted")), file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
