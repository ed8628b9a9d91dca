"""The configuration write policy: write only what changes, refuse what may not change.

UDS and SMP used to differ here (one wrote every value and skipped read-only ones silently), so a
restore could report success for a value it never wrote. The safer rule is the only rule now:
compare with the device, refuse an unknown name or a change to a read-only parameter before
anything is written, and write only the values that differ.
"""

from __future__ import annotations

from collections.abc import Mapping

from bmsflasher.core.errors import ReadOnlyParameterError, UnknownParameterError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import ParameterValue


def changes_to_write(
    writable: Mapping[str, bool],
    current: Mapping[str, ParameterValue],
    requested: Mapping[str, ParameterValue],
) -> dict[str, ParameterValue]:
    """The requested values that differ from the device's, after checking every name.

    Args:
        writable: parameter name → whether the device lets it be written (the device's schema).
        current: the values the device holds now.
        requested: the values the caller wants.

    Raises:
        UnknownParameterError: a requested name is not in the device's schema.
        ReadOnlyParameterError: a read-only parameter would change.
    """
    unknown = sorted(set(requested) - set(writable))
    if unknown:
        raise UnknownParameterError(
            t("The device has no parameter named '{name}'; nothing was written.", name=unknown[0]),
            hint=t("Read the device's configuration to see the parameters it has."),
        )
    changes = {name: value for name, value in requested.items() if current.get(name) != value}
    read_only = sorted(name for name in changes if not writable[name])
    if read_only:
        name = read_only[0]
        raise ReadOnlyParameterError(
            t(
                "The parameter '{name}' is read-only on this device (it holds {held}, not {requested}); "
                "nothing was written.",
                name=name,
                held=repr(current.get(name)),
                requested=repr(changes[name]),
            ),
            hint=t("Read-only parameters are set at the factory; leave them out of the values to write."),
        )
    return changes
