"""``bmsflasher gui [--demo] [--lang en|nl|fr] [PACKAGE.bmspkg]``: open the desktop application.

Qt is imported only when the command runs, so the rest of the CLI works on a machine without a
display or without the GUI libraries.
"""

from __future__ import annotations

import argparse

from bmsflasher.cli.console import say
from bmsflasher.core.i18n import t


def _run(args: argparse.Namespace) -> int:
    import os

    from bmsflasher.gui.display_check import display_problem, this_machine

    problem = display_problem(this_machine(os.environ))  # before Qt loads: it would abort the process
    if problem is not None:
        raise problem
    from bmsflasher.gui.app import run

    if args.lang is None:  # `bmsflasher --lang nl gui`: the command line's language is the window's
        args.lang = getattr(args, "language", None)
    return run(args)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``gui`` subcommand."""
    from bmsflasher.gui.options import add_arguments

    parser = subparsers.add_parser(
        "gui", help=say(t("open the desktop application (--demo: with a virtual BMS)"))
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)
