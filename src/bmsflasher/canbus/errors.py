"""Errors a technician can cause with a log file, a DBC file or a signal map.

All are configuration errors (exit code 8, like any bad option value): the file is wrong or does
not fit, nothing on the bus is at fault. Each carries one sentence and a hint on what to change.
"""

from __future__ import annotations

from bmsflasher.core.errors import ConfigValidationError


class CanLogFormatError(ConfigValidationError):
    """A log file name whose format python-can cannot write or read (by its suffix)."""


class CanLogFileError(ConfigValidationError):
    """A log file that cannot be created, or read back (missing, unreadable, corrupt)."""


class DbcFileError(ConfigValidationError):
    """A DBC file that is missing or that cantools cannot parse."""


class SignalMapError(ConfigValidationError):
    """A signal map (MAP.json) that is not valid JSON, has the wrong shape or names unknown signals."""
