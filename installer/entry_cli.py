"""Frozen entry point of the ``bmsflasher`` command-line program.

PyInstaller freezes a script, not a console-script entry point, so this file stands in for the
``bmsflasher = bmsflasher.cli.main:main`` entry point of pyproject.toml.
"""

from __future__ import annotations

import multiprocessing
import sys

from bmsflasher.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not re-run the CLI
    sys.exit(main())
