"""The resume journal: one small JSON file per device serial, written before and after every step.

A laptop that crashes, a technician who closes the lid, a SIGKILL: the next run must know where
the previous one stopped, or it cannot tell a half-transferred image from a test-booted one. So the
journal is written atomically (temporary file, ``fsync``, ``os.replace``, ``fsync`` of the folder)
before a step starts and after it ends; a reader sees either the old or the new content, never a
torn one. It lives in the user state folder (platformdirs) under the device's serial number —
identity is by serial, never by the port the battery happens to sit on.

A journal is resumable by a run with the same package (SHA-256) on the same serial. When an update
reaches its end (updated, rolled back, refused) the journal is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import platformdirs

from bmsflasher.core.errors import JournalError
from bmsflasher.core.i18n import t

JOURNAL_FORMAT: Final = 1
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def journal_dir() -> Path:
    """Default folder of the journals: ``<user state dir>/journal``."""
    return Path(platformdirs.user_state_dir("bmsflasher")) / "journal"


MAX_NAME_CHARS: Final = 64
"""Longest serial kept readable in a journal's file name (file systems allow 255 bytes)."""


def journal_name(serial: str) -> str:
    """A file name that belongs to exactly one serial number.

    A serial that is already a safe, short file name is used as it is (so journals written by
    earlier versions are still found). Anything else — ``A/B``, which would otherwise share
    ``A_B.json`` with the real serial ``A_B``, or a 300-character serial no file system accepts —
    keeps a readable prefix and adds a digest of the exact serial.
    """
    safe = _SAFE_NAME.sub("_", serial)
    if safe == serial and len(serial) <= MAX_NAME_CHARS and not serial.startswith("."):
        return f"{serial}.json"
    digest = hashlib.sha256(serial.encode("utf-8")).hexdigest()[:16]
    return f"{safe.lstrip('.')[:MAX_NAME_CHARS]}~{digest}.json"  # "~" never occurs in a safe serial


def journal_path(serial: str, folder: Path | None = None) -> Path:
    """Path of the journal of one device (see :func:`journal_name`)."""
    if not serial:
        raise JournalError(t("a journal needs the device's serial number"))
    return (folder or journal_dir()) / journal_name(serial)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One line of the step history: a step started (``ok`` None) or ended (True/False)."""

    step: str
    ok: bool | None
    detail: str
    at_s: float


@dataclass(frozen=True, slots=True)
class JournalState:
    """The content of one journal file.

    Attributes:
        serial: the device's serial number.
        package_sha256: SHA-256 of the package being installed (the resume key, with the serial).
        state: the state machine's current state (its ``value``).
        from_version: firmware version running before the update.
        to_version: version being installed.
        session_id: the records session this update logs to (reused on resume).
        backup_id: records id of the configuration backup taken before the transfer.
        backup_sha256: its checksum, to verify the backup used for the post-update check.
        data: small extra facts a step needs on resume (e.g. DTCs before the update).
        history: every step start/end, oldest first.
    """

    serial: str
    package_sha256: str
    state: str
    from_version: str | None = None
    to_version: str | None = None
    session_id: int | None = None
    backup_id: int | None = None
    backup_sha256: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[JournalEntry, ...] = ()
    created_s: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": JOURNAL_FORMAT,
            "serial": self.serial,
            "package_sha256": self.package_sha256,
            "state": self.state,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "session_id": self.session_id,
            "backup_id": self.backup_id,
            "backup_sha256": self.backup_sha256,
            "data": dict(self.data),
            "history": [
                {"step": e.step, "ok": e.ok, "detail": e.detail, "at_s": e.at_s} for e in self.history
            ],
            "created_s": self.created_s,
        }

    @classmethod
    def from_json(cls, raw: Any, where: str) -> JournalState:
        if not isinstance(raw, dict) or raw.get("format") != JOURNAL_FORMAT:
            raise JournalError(
                t(
                    "the journal {where} is not a bmsflasher journal of format {format}",
                    where=where,
                    format=JOURNAL_FORMAT,
                )
            )
        try:
            history = tuple(
                JournalEntry(str(e["step"]), e["ok"], str(e["detail"]), float(e["at_s"]))
                for e in raw["history"]
            )
            data = raw.get("data") or {}
            return cls(
                serial=str(raw["serial"]),
                package_sha256=str(raw["package_sha256"]),
                state=str(raw["state"]),
                from_version=raw.get("from_version"),
                to_version=raw.get("to_version"),
                session_id=raw.get("session_id"),
                backup_id=raw.get("backup_id"),
                backup_sha256=raw.get("backup_sha256"),
                data=dict(data),
                history=history,
                created_s=float(raw.get("created_s", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalError(
                t(
                    "the journal {where} is damaged ({error}); delete it to start over",
                    where=where,
                    error=exc,
                )
            ) from exc

    def last_started(self) -> str | None:
        """The last step that started, whether or not it ended."""
        for entry in reversed(self.history):
            if entry.ok is None:
                return entry.step
        return None

    def finished(self, step: str) -> bool:
        """True when ``step`` ended successfully at least once."""
        return any(e.step == step and e.ok is True for e in self.history)


def _fsync_dir(folder: Path) -> None:
    # Directory fsync makes the rename itself durable; not every OS allows opening a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` so that a crash leaves the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise JournalError(
            t(
                "cannot write the journal {path}: {reason}",
                path=path,
                reason=exc.strerror or exc,
            )
        ) from exc
    _fsync_dir(path.parent)


def read_journal_json(path: Path) -> object | None:
    """The parsed JSON of a journal file, None when there is none; JournalError when unreadable.

    Shared by the single-device and the campaign journals, so both say the same sentences.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalError(
            t("cannot read the journal {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from exc
    try:
        return json.loads(text)  # type: ignore[no-any-return]
    except json.JSONDecodeError as exc:
        raise JournalError(
            t("the journal {path} is not valid JSON; delete it to start over", path=path)
        ) from exc


class Journal:
    """The journal of one device, with durable writes on every change.

    It holds the current :class:`JournalState`; every mutation writes it to disk before returning,
    so the file is always at least as new as what the procedure has done to the device.
    """

    def __init__(self, path: Path, state: JournalState) -> None:
        self._path = path
        self._state = state

    @property
    def path(self) -> Path:
        return self._path

    @property
    def state(self) -> JournalState:
        return self._state

    @classmethod
    def load(cls, serial: str, folder: Path | None = None) -> Journal | None:
        """The journal of ``serial`` if one exists, else None; raises JournalError if it is damaged."""
        path = journal_path(serial, folder)
        raw = read_journal_json(path)
        if raw is None:
            return None
        state = JournalState.from_json(raw, str(path))
        if state.serial != serial:
            raise JournalError(
                t(
                    "the journal {path} belongs to device {owner}, not {serial}",
                    path=path,
                    owner=state.serial,
                    serial=serial,
                )
            )
        return cls(path, state)

    @classmethod
    def create(cls, state: JournalState, folder: Path | None = None) -> Journal:
        """Start a new journal (replacing any old one) and write it durably."""
        journal = cls(journal_path(state.serial, folder), state)
        journal._flush()
        return journal

    def _flush(self) -> None:
        payload = json.dumps(self._state.to_json(), indent=1, sort_keys=True).encode("utf-8")
        write_atomically(self._path, payload)

    def _replace(self, state: JournalState) -> None:
        self._state = state
        self._flush()

    def set_session(self, session_id: int | None) -> None:
        """Remember the records session this update logs to, so a resumed run continues it."""
        self._replace(replace(self._state, session_id=session_id))

    def set_backup(self, backup_id: int | None, backup_sha256: str) -> None:
        """Remember the configuration backup taken before the transfer."""
        self._replace(replace(self._state, backup_id=backup_id, backup_sha256=backup_sha256))

    def set_data(self, key: str, value: Any) -> None:
        """Store one extra fact (must be JSON-serialisable) and write durably."""
        data = dict(self._state.data)
        data[key] = value
        self._replace(replace(self._state, data=data))

    def step_started(self, step: str, state: str) -> None:
        """Record that ``step`` is about to run while in ``state``; written before the step acts."""
        entry = JournalEntry(step, None, "", time.time())
        self._replace(replace(self._state, state=state, history=(*self._state.history, entry)))

    def step_finished(self, step: str, ok: bool, detail: str, next_state: str) -> None:
        """Record how ``step`` ended and the state it leads to; written after the step acted."""
        entry = JournalEntry(step, ok, detail, time.time())
        self._replace(replace(self._state, state=next_state, history=(*self._state.history, entry)))

    def remove(self) -> None:
        """Delete the journal (the update reached an end); missing files are fine."""
        try:
            self._path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise JournalError(
                t(
                    "cannot remove the journal {path}: {reason}",
                    path=self._path,
                    reason=exc.strerror or exc,
                )
            ) from exc
        _fsync_dir(self._path.parent)
