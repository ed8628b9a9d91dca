"""Guard against a reference-count bug of PySide6 6.12.0 on CPython 3.11.

PySide6 6.12.0 returns ``None`` (from every void method) and ``True`` (from ``Signal.emit``)
without taking a reference. On CPython 3.12+ those objects are immortal and nothing happens; on 3.11
each call lowers their count by one, and after a few thousand calls (a live chart makes that many
in seconds) the interpreter aborts with ``Fatal Python error: none_dealloc`` / ``bool_dealloc``.

``pyproject.toml`` keeps PySide6 below 6.12 on Python 3.11 so a normal install never meets the bug.
This module is the second line, for a machine where someone installed 6.12 by hand: it *measures*
whether the bug is present and, only then, does what CPython 3.12 does itself — gives ``None``,
``True`` and ``False`` a reference count so large it can never reach zero.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Final

from PySide6.QtCore import QObject, Signal

_IMMORTAL_BOOST: Final = 1 << 40
"""References added: 10^12 leaked references before a count could reach zero again."""

_log = logging.getLogger(__name__)


class _Probe(QObject):
    sig_probe = Signal()


def singleton_refcounts_leak() -> bool:
    """Measure whether a void Qt call or an ``emit()`` drops a reference to ``None`` or ``True``."""
    if sys.version_info >= (3, 12):
        return False  # immortal singletons: a missing reference is harmless
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    probe.setObjectName("probe")  # a void method: returns None
    probe.sig_probe.emit()  # returns True
    leaked = sys.getrefcount(None) < none_before or sys.getrefcount(True) < true_before
    probe.deleteLater()
    return leaked


_applied = False


def apply() -> bool:
    """Make ``None``/``True``/``False`` immortal if the bug is present; returns whether it is applied."""
    global _applied  # noqa: PLW0603 - one process-wide fix, applied once
    if _applied or not singleton_refcounts_leak():
        return _applied
    for value in (None, True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += _IMMORTAL_BOOST
    _applied = True
    _log.warning(
        "PySide6 %s leaks references on CPython 3.11; applied the immortal-singleton guard", _qt_version()
    )
    return True


def _qt_version() -> str:
    import PySide6

    return str(PySide6.__version__)
