"""The one target contract every protocol client implements.

:class:`TargetBase` owns what must not differ between protocols (configuration write policy, slot
choice, the reconnect deadline and its error, the single retry layer around a transfer, link
statistics); a protocol implements only the raw operations it declares abstract. The list of raw
operations is in ``docs/architecture.md`` ("The target contract").
"""

from bmsflasher.protocols.base.config_policy import changes_to_write
from bmsflasher.protocols.base.slots import PRIMARY_SLOT, SECONDARY_SLOT, upload_slot
from bmsflasher.protocols.base.target import (
    DEFAULT_RESUME_ATTEMPTS,
    RECONNECT_POLL_S,
    RESUMABLE_ERRORS,
    TargetBase,
    resume_within,
)

__all__ = [
    "DEFAULT_RESUME_ATTEMPTS",
    "PRIMARY_SLOT",
    "RECONNECT_POLL_S",
    "RESUMABLE_ERRORS",
    "SECONDARY_SLOT",
    "TargetBase",
    "changes_to_write",
    "resume_within",
    "upload_slot",
]
