"""Canonical JSON, and the JSON shapes of the domain types the history stores.

The shapes themselves are :mod:`bmsflasher.core.serialise` (shared with ``--json`` and the resume
journal); this module adds what storing needs: a backup refuses non-finite values, and its checksum
is taken over the canonical encoding.

Canonical JSON (sorted keys, no whitespace, UTF-8, no NaN) is what the audit chain and the backup
checksums hash, so the same content always gives the same bytes, in this program and in any
third-party verifier that follows docs/records.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

from bmsflasher.core import serialise
from bmsflasher.core.errors import StorageError
from bmsflasher.core.i18n import t
from bmsflasher.core.serialise import snapshot_from_json, telemetry_from_json, telemetry_to_json
from bmsflasher.core.types import ConfigSnapshot

__all__ = [
    "canonical_json",
    "format_time",
    "parse_time",
    "sha256_hex",
    "snapshot_from_json",
    "snapshot_sha256",
    "snapshot_to_json",
    "telemetry_from_json",
    "telemetry_to_json",
    "utc_now",
]


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes; raises StorageError for values JSON cannot hold."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(t("a value cannot be stored in the service history: {error}", error=exc)) from exc
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def utc_now() -> datetime:
    """The current time in UTC (records are stored in UTC and shown in local time)."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """ISO 8601 text with milliseconds, the form timestamps take in the database."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`."""
    return datetime.fromisoformat(text)


def snapshot_to_json(snapshot: ConfigSnapshot) -> dict[str, Any]:
    """The JSON shape of a configuration backup; non-finite floats are refused, not mangled."""
    for name, value in snapshot.parameters.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise StorageError(
                t(
                    "parameter '{name}' has the non-finite value {value} and cannot be backed up",
                    name=name,
                    value=value,
                )
            )
    return serialise.snapshot_to_json(snapshot)


def snapshot_sha256(snapshot: ConfigSnapshot) -> str:
    """The checksum a backup is stored and verified with."""
    return sha256_hex(canonical_json(snapshot_to_json(snapshot)))
