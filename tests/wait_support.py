"""Wait for a condition instead of sleeping a fixed time and hoping (a loaded 2-core CI box is slow).

Importable from every test module: ``tests/`` is on ``sys.path`` because pytest inserts the folder
of the root ``conftest.py`` (rootdir-relative, no ``__init__.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

DEFAULT_TIMEOUT_S: Final = 10.0
"""Generous: a condition that holds at all holds well within this even on a loaded machine."""

_POLL_S: Final = 0.01


def wait_until(condition: Callable[[], object], timeout_s: float = DEFAULT_TIMEOUT_S, what: str = "") -> None:
    """Return as soon as ``condition()`` is truthy; raise AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what or condition!r}")
        time.sleep(_POLL_S)
