"""Command-line options of the GUI, shared by ``bmsflasher gui`` and ``bmsflasher-gui``.

Kept free of Qt so the CLI can list them (``bmsflasher gui --help``) without loading the GUI.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import ConfigValidationError

LANGUAGES: Final = ("en", "fr", "nl")
THEME_NAMES: Final = ("dark", "light")
QUIT_AFTER_ENV: Final = "BMSFLASHER_QUIT_AFTER_MS"
"""Older spelling of ``--quit-after-ms`` for smoke tests and benchmarks that set the environment."""


def _milliseconds(text: str) -> int:
    """A whole, non-negative number of milliseconds; one clear sentence otherwise."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of milliseconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} ms is negative; give 0 or more")
    return value


def quit_after_ms(args: argparse.Namespace) -> int | None:
    """When the application should quit by itself: ``--quit-after-ms``, else BMSFLASHER_QUIT_AFTER_MS.

    Raises:
        ConfigValidationError: the environment variable is not a whole non-negative number.
    """
    given: int | None = getattr(args, "quit_after_ms", None)
    if given is not None:
        return given
    text = os.environ.get(QUIT_AFTER_ENV, "").strip()
    if not text:
        return None
    try:
        return _milliseconds(text)
    except argparse.ArgumentTypeError as exc:
        raise ConfigValidationError(f"{QUIT_AFTER_ENV}: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the GUI's options to ``parser``."""
    parser.add_argument("--demo", action="store_true", help="start a virtual BMS and connect to it")
    parser.add_argument("--lang", choices=LANGUAGES, help="interface language (default: the system's)")
    parser.add_argument("--theme", choices=THEME_NAMES, default="light", help="light or dark theme")
    parser.add_argument("--cells", type=int, default=16, help="demo pack: number of series cells (1-512)")
    parser.add_argument("--soc", type=float, default=55.0, help="demo pack: state of charge in %%")
    parser.add_argument(
        "--trust", type=Path, action="append", default=[], help="also trust this public key (.pem)"
    )
    parser.add_argument("--db", type=Path, help="service history database (default: the user's one)")
    parser.add_argument(
        "--quit-after-ms",
        type=_milliseconds,
        metavar="N",
        help="quit by itself N milliseconds after the window opens (smoke tests of installed builds)",
    )
    parser.add_argument(
        "package",
        nargs="?",
        type=Path,
        metavar="PACKAGE.bmspkg",
        help="open the update wizard with this firmware package (what the .bmspkg file association passes)",
    )
