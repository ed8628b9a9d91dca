"""Command-line options of the GUI, shared by ``bmsflasher gui`` and ``bmsflasher-gui``.

Kept free of Qt so the CLI can list them (``bmsflasher gui --help``) without loading the GUI.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

LANGUAGES: Final = ("en", "fr", "nl")
THEME_NAMES: Final = ("dark", "light")


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
