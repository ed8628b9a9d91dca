"""Translate sqlite3 failures into the project's StorageError sentences.

A technician facing a full disk or a read-only USB stick needs to hear that, not "OperationalError
code 13". The translation keys on SQLite's primary result code, which Python 3.11 exposes on every
sqlite3 exception.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import StorageError
from bmsflasher.core.i18n import t

_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_IOERR: Final = 10
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_NOTADB: Final = 26


class RecordNotFoundError(StorageError):
    """A session, backup or device asked for by id or serial is not in the history."""


def translate(exc: sqlite3.Error, path: Path, doing: str) -> StorageError:
    """One sentence for ``exc``, which happened while ``doing`` something with the history at ``path``."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    where = t("the service history {path}", path=path)
    if code == _SQLITE_FULL:
        return StorageError(
            t(
                "the disk holding {where} is full, so {doing} was not saved",
                where=where,
                doing=doing,
            ),
            hint=t("Free some disk space and try again; nothing was half-written."),
        )
    if code == _SQLITE_READONLY:
        return StorageError(
            t("{where} is read-only, so {doing} was not saved", where=where, doing=doing),
            hint=t("Check the file and folder permissions, or point --db at a writable copy."),
        )
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageError(
            t(
                "{where} is locked by another program, so {doing} did not happen",
                where=where,
                doing=doing,
            ),
            hint=t("Close the other bmsflasher window or command and try again."),
        )
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StorageError(
            t(
                "{where} is corrupt or not a bmsflasher database ({error})",
                where=where,
                error=exc,
            ),
            hint=t("Move the file aside (keep it for inspection); bmsflasher starts a new history."),
        )
    if code == _SQLITE_CANTOPEN:
        return StorageError(
            t("{where} cannot be opened ({error})", where=where, error=exc),
            hint=t("Check that the folder exists and is writable."),
        )
    if code == _SQLITE_IOERR:
        return StorageError(
            t(
                "a disk error hit {where} while {doing} ({error})",
                where=where,
                doing=doing,
                error=exc,
            ),
            hint=t("Check the disk or USB stick."),
        )
    return StorageError(t("{where} failed while {doing}: {error}", where=where, doing=doing, error=exc))
