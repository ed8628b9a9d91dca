"""Who signed the firmware a session installed: key ids and, for chains, the signer's certificate.

Kept in the session's ``details`` JSON under :data:`SIGNERS_DETAIL` rather than in new columns: a
column would change the recorded shape (and audit hash) of every old session row, and a new table
would leave older histories unreadable until upgraded. A session recorded before certificate chains
simply has no signers (:func:`recorded_signers` returns ``()``); one signed by a plain key has its
key id and no certificate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bmsflasher.records.models import SessionRecord

SIGNERS_DETAIL: Final = "package_signers"


@dataclass(frozen=True, slots=True)
class RecordedSigner:
    """One signer of an installed package: what it signed, its key id, and its certificate if any."""

    role: str
    """``manifest`` or ``image``."""
    key_id: str
    certificate_subject: str | None = None
    certificate_fingerprint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "key_id": self.key_id,
            "certificate_subject": self.certificate_subject,
            "certificate_fingerprint": self.certificate_fingerprint,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RecordedSigner | None:
        """The signer a details entry describes, or None for an entry of another shape."""
        role, key = raw.get("role"), raw.get("key_id")
        subject, fingerprint = raw.get("certificate_subject"), raw.get("certificate_fingerprint")
        if not (isinstance(role, str) and isinstance(key, str)):
            return None
        return cls(
            role,
            key,
            subject if isinstance(subject, str) else None,
            fingerprint if isinstance(fingerprint, str) else None,
        )


def recorded_signers(session: SessionRecord) -> tuple[RecordedSigner, ...]:
    """The signers a session recorded (empty for sessions from before, or without a package)."""
    raw = session.details.get(SIGNERS_DETAIL)
    if not isinstance(raw, list):
        return ()
    found = (RecordedSigner.from_json(entry) for entry in raw if isinstance(entry, Mapping))
    return tuple(signer for signer in found if signer is not None)
