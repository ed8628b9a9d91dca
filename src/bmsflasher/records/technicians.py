"""Which technician certificates a device authenticated in a session (UDS 0x29, SMP signed challenge).

Every certificate unlock is recorded as a ``security_access`` step whose detail is the English
sentence of :meth:`bmsflasher.core.target.SecurityUnlock.sentence` ("Technician SUBJECT (certificate
SHA-256 HEX) authenticated on battery ..."). Steps are append-only audit rows, so the subject and
fingerprint are read back from that sentence instead of being stored a second time: histories
written before this module read the same way. A seed/key unlock names no technician and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from bmsflasher.records.models import StepRecord

UNLOCK_STEP: Final = "security_access"
"""The step name the procedure records unlocks under (``procedure.unlock_records.UNLOCK_STEP``)."""

_SENTENCE: Final = re.compile(
    r"^Technician (?P<subject>.+) \(certificate SHA-256 (?P<fingerprint>[0-9a-f]{64})\) authenticated on "
)


@dataclass(frozen=True, slots=True)
class RecordedTechnician:
    """One technician certificate a device authenticated: its subject and SHA-256 fingerprint (hex)."""

    subject: str
    fingerprint: str


def recorded_technicians(steps: Iterable[StepRecord]) -> tuple[RecordedTechnician, ...]:
    """The technicians of a session's ``security_access`` steps, each once, in the order first seen."""
    found: list[RecordedTechnician] = []
    for step in steps:
        match = _SENTENCE.match(step.detail) if step.step == UNLOCK_STEP else None
        if match is None:
            continue
        technician = RecordedTechnician(match["subject"], match["fingerprint"])
        if technician not in found:
            found.append(technician)
    return tuple(found)
