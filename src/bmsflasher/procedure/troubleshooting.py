"""The troubleshooting table, as data: what to check and what to do for each kind of failure.

The seeds' table (authentication rejection → verify the certificate chain → re-download from a
trusted source; boot loop → check hardware compatibility → roll back to the last stable version;
transfer timeout → test baud alignment → replace cables) lives in ``resources/troubleshooting.json``
so the CLI, the GUI's failure pages and the service report quote the same words, and a
manufacturer can extend it without touching code.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from functools import cache

from bmsflasher.core.errors import (
    BmsFlasherError,
    LinkError,
    NoResponseError,
    PreconditionError,
    SecurityAccessDeniedError,
    SignatureError,
)
from bmsflasher.core.resources import resource_path


class FailureKind(enum.StrEnum):
    """Rows of the troubleshooting table."""

    AUTHENTICATION_REJECTION = "authentication_rejection"
    BOOT_LOOP = "boot_loop"
    TRANSFER_TIMEOUT = "transfer_timeout"
    SELF_TEST_FAILURE = "self_test_failure"
    STUCK_IN_RECOVERY = "stuck_in_recovery"
    PRECONDITION_REFUSED = "precondition_refused"


@dataclass(frozen=True, slots=True)
class Advice:
    """One row: the failure pattern, what to check, and how to resolve it."""

    kind: FailureKind
    pattern: str
    diagnostic: str
    resolution: str

    def hint(self) -> str:
        """The row as one line for an error's hint."""
        return f"{self.diagnostic} {self.resolution}"


@cache
def _table() -> dict[FailureKind, Advice]:
    path = resource_path("troubleshooting.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        table = {
            FailureKind(entry["id"]): Advice(
                FailureKind(entry["id"]), entry["pattern"], entry["diagnostic"], entry["resolution"]
            )
            for entry in entries
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BmsFlasherError(
            f"the troubleshooting table {path} is unreadable; reinstall bmsflasher"
        ) from exc
    missing = [kind.value for kind in FailureKind if kind not in table]
    if missing:
        raise BmsFlasherError(f"the troubleshooting table {path} lacks rows: {', '.join(missing)}")
    return table


def advice(kind: FailureKind) -> Advice:
    """The troubleshooting row for one kind of failure."""
    return _table()[kind]


def all_advice() -> list[Advice]:
    """Every row, in table order (for documentation and the GUI's help page)."""
    return list(_table().values())


def kind_for_error(error: BaseException) -> FailureKind | None:
    """Which row applies to an error, if any (used when the procedure stops on an exception)."""
    if isinstance(error, SignatureError | SecurityAccessDeniedError):
        return FailureKind.AUTHENTICATION_REJECTION
    if isinstance(error, PreconditionError):
        return FailureKind.PRECONDITION_REFUSED
    if isinstance(error, LinkError | NoResponseError):
        return FailureKind.TRANSFER_TIMEOUT
    return None
