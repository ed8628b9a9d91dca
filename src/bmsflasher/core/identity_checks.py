"""What a device may claim about itself: checked where the claim is parsed, before anyone trusts it.

A device's serial, model and hardware revision end up on the technician's terminal, in the
service history, in file names and in reports. A rogue or broken node sent ANSI escape sequences
(which repaint a terminal), a 300-character serial (which crashed ``flash``) and a negative
security counter (which passed the anti-rollback gate). Every protocol's identity goes through
:func:`validate_identity`, so none of these reaches the rest of the tool.
"""

from __future__ import annotations

from typing import Final

from bmsflasher.core.errors import MalformedResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity

MAX_TEXT_CHARS: Final = {"model": 64, "serial_number": 64, "hardware_revision": 16}
"""Longest value accepted per identity field (real devices use well under half of this)."""
MAX_SECURITY_COUNTER: Final = 0xFFFF_FFFF
"""MCUboot's security counter is an unsigned 32-bit value."""

_FIELD_NAMES: Final = {
    "model": t("model"),
    "serial_number": t("serial number"),
    "hardware_revision": t("hardware revision"),
}


def _check_text(field: str, value: str) -> None:
    name = _FIELD_NAMES[field]
    if len(value) > MAX_TEXT_CHARS[field]:
        raise MalformedResponseError(
            t(
                "the device reported a {name} of {count} characters (at most {limit} are accepted); "
                "it is not a trustworthy identity",
                name=name,
                count=len(value),
                limit=MAX_TEXT_CHARS[field],
            )
        )
    if not value.isprintable():
        raise MalformedResponseError(
            t(
                "the device reported a {name} containing control characters ({value}); "
                "it is not a trustworthy identity",
                name=name,
                value=ascii(value),
            )
        )


def validate_identity(identity: DeviceIdentity) -> DeviceIdentity:
    """Return ``identity`` unchanged when every field is plausible, else raise.

    Raises:
        MalformedResponseError: a text field is too long or holds control characters (ANSI escapes,
            newlines, NUL), or the security counter is outside 0..2^32-1.
    """
    for field in MAX_TEXT_CHARS:
        _check_text(field, getattr(identity, field))
    counter = identity.security_counter
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= MAX_SECURITY_COUNTER:
        raise MalformedResponseError(
            t(
                "the device reported the security counter {counter}, outside 0..{limit}; "
                "anti-rollback cannot be checked against it",
                counter=repr(counter),
                limit=MAX_SECURITY_COUNTER,
            )
        )
    return identity
