"""After Ctrl-C: where the update stopped, what state the battery is in, and the command that goes on.

What the interruption means for the battery is decided once, by
:func:`bmsflasher.procedure.interruption.advise_interruption` (the GUI shows the same advice); this
module adds what only a terminal needs: the exact command.

The printed command must run as it is. It once dropped ``--db`` and ``--operator`` (the resumed run
then looked for its session in another history: "there is no session 6") and, before that, the
29-bit addressing (it reached the wrong node). So it is not written by hand: the link part comes
from :func:`bmsflasher.core.link_options.link_argv` (the link the options describe, written back
the way the parser reads it) and every other option from the command's own parser, so an option
added to the command later is repeated without anyone remembering to.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from rich.markup import escape

from bmsflasher.cli.console import error_json, make_console, print_json, say
from bmsflasher.cli.target_args import link_from_args
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.link_options import CAN_SHORTHAND_DEST, LINK_OPTIONS, link_argv, option_words
from bmsflasher.procedure.interruption import advise_interruption

EXIT_INTERRUPTED: Final = 130
"""Ctrl-C (SIGINT), as shells report it: 128 + signal 2."""
PROGRAM: Final = "bmsflasher"
_LINK_DESTS: Final = frozenset(option.field for option in LINK_OPTIONS) | {CAN_SHORTHAND_DEST}
"""Options the link part writes (``--can`` comes back as ``--interface`` and ``--channel``)."""


def _flag(action: argparse.Action) -> str:
    return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])


def _positional(value: object) -> str:
    text = str(value)
    if text.startswith("-") and isinstance(value, Path):
        return f"./{text}"  # the same file, not read as an option
    return text


def _option_argv(action: argparse.Action, value: object) -> list[str]:
    """The words that give ``action`` the value ``value`` (none when it is the default)."""
    if value == action.default or value is None:
        return []
    flag = _flag(action)
    if action.nargs == 0:  # store_true and friends: the flag alone
        return [flag]
    if isinstance(value, list):  # a repeatable option: once per value
        return [word for item in value for word in option_words(flag, str(item))]
    return option_words(flag, str(value))


def command_argv(
    command: Sequence[str], add_arguments: Callable[[argparse.ArgumentParser], None], args: argparse.Namespace
) -> list[str]:
    """``bmsflasher COMMAND …`` with every option ``args`` holds that is not the default.

    ``add_arguments`` is the function that adds the command's options to its parser; the words
    parse back to the same options (the link options to an equal link).
    """
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    actions = [action for action in parser._actions if action.dest not in _LINK_DESTS]
    words = [PROGRAM, *command]
    words += [_positional(getattr(args, a.dest)) for a in actions if not a.option_strings]
    # A run stopped before its options were checked has no link; its rerun says what is wrong.
    with contextlib.suppress(ConfigValidationError):
        words += link_argv(link_from_args(args))
    for action in actions:
        if action.option_strings:
            words += _option_argv(action, getattr(args, action.dest, action.default))
    return words


def report_interrupt(args: argparse.Namespace, step: str | None, rerun: str) -> int:
    """Say where Ctrl-C stopped the update, what state the device is in, and how to go on."""
    advice = advise_interruption(step)
    resume = advice.next_step(rerun)
    if args.json:
        extra = {"outcome": "interrupted", "step": step, "reason": str(advice.reason), "resume": str(resume)}
        print_json(error_json("Interrupted", advice.reason, resume, EXIT_INTERRUPTED, **extra, command=rerun))
    else:
        err = make_console(stderr=True)
        err.print(f"[bold red]✗[/bold red] {escape(say(advice.reason))}", highlight=False, soft_wrap=True)
        err.print(f"  {say(resume)}", highlight=False, markup=False, soft_wrap=True)
    return EXIT_INTERRUPTED
