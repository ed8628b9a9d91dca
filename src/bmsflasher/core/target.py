"""The protocol-neutral interface the update procedure drives.

The UDS client (CAN) and the SMP client (serial) both implement :class:`Target`, so the procedure,
the CLI and the GUI never know which wire they talk over. Implementations translate every vendor
exception into :mod:`bmsflasher.core.errors` and bound every wait with a timeout.

Both derive from ``bmsflasher.protocols.base.TargetBase``, which owns the behaviour the two must
share (write policy, slot choice, the reconnect deadline and its error, the one retry layer around
a transfer, link statistics); this module stays the interface the rest of the tool sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol, runtime_checkable

from bmsflasher.core.config_schema import ConfigSchema
from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import Text, t
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceSelfTest,
    Dtc,
    LinkSettings,
    PackTelemetry,
)

ProgressCallback = Callable[[int, int], None]
"""Called as ``(bytes_done, bytes_total)`` during a transfer."""


@dataclass(frozen=True, slots=True)
class LinkStats:
    """Link health counters: used by the link-quality precondition and the diagnostics page."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    errors: int = 0
    last_round_trip_s: float = 0.0
    bytes_sent: int = 0
    bytes_received: int = 0

    def combined_with(self, later: LinkStats) -> LinkStats:
        """These counters followed by ``later``'s (a link reopened after a pull keeps its history)."""
        return LinkStats(
            requests=self.requests + later.requests,
            retries=self.retries + later.retries,
            timeouts=self.timeouts + later.timeouts,
            errors=self.errors + later.errors,
            last_round_trip_s=later.last_round_trip_s if later.requests else self.last_round_trip_s,
            bytes_sent=self.bytes_sent + later.bytes_sent,
            bytes_received=self.bytes_received + later.bytes_received,
        )


@dataclass(frozen=True, slots=True)
class ResumePolicy:
    """How :meth:`Target.upload_image` rides out a link that breaks mid-transfer.

    This is the one retry layer around a transfer: the target reconnects (within
    ``reconnect_timeout_s``) and resumes at the offset the device holds, at most ``attempts`` times;
    callers do not loop around ``upload_image`` themselves.

    Attributes:
        attempts: how many breaks one transfer may survive (0: the first break is raised).
        reconnect_timeout_s: how long each reconnect may wait for the port or adapter to return.
        on_break: told about each break before the reconnect (the procedure logs it).
    """

    attempts: int = 0
    reconnect_timeout_s: float = 0.0
    on_break: Callable[[BmsFlasherError], None] | None = None


NO_RESUME: Final = ResumePolicy()
"""Raise the first link break of a transfer (the caller decides what happens next)."""


@dataclass(frozen=True, slots=True)
class SecurityUnlock:
    """The tool unlocked a device's security access (UDS seed/key): who, when, for what.

    Every unlock is recorded (service history, log) because a key computed for a serial number is
    a credential for that battery: the record shows which battery was unlocked for which operation.

    Attributes:
        serial_number: the battery the key was computed for (the one selected when connecting).
        operation: what the unlock was for ("the firmware download", "a configuration write").
        at_s: when, as ``time.time()``.
        technician: the subject of the technician certificate the device authenticated (UDS 0x29);
            empty for a seed/key unlock.
        certificate_sha256: that certificate's SHA-256 fingerprint (hex), empty for seed/key.
    """

    serial_number: str
    operation: str
    at_s: float
    technician: str = ""
    certificate_sha256: str = ""

    def sentence(self) -> Text:
        """One line for the log and the service history: battery, operation and UTC time."""
        at = datetime.fromtimestamp(self.at_s, UTC).strftime("%Y-%m-%d %H:%M:%S")
        if self.technician:
            return t(
                "Technician {technician} (certificate SHA-256 {fingerprint}) authenticated on battery "
                "{serial_number} for {operation} at {time} UTC.",
                technician=self.technician,
                fingerprint=self.certificate_sha256,
                serial_number=self.serial_number,
                operation=self.operation,
                time=at,
            )
        return t(
            "Security access unlocked on battery {serial_number} for {operation} at {time} UTC.",
            serial_number=self.serial_number,
            operation=self.operation,
            time=at,
        )


UnlockListener = Callable[[SecurityUnlock], None]
"""Told about each unlock, in the thread that unlocked (must not block)."""


@runtime_checkable
class Target(Protocol):
    """A connected BMS, whatever protocol it speaks.

    Upload semantics follow MCUboot: :meth:`upload_image` writes the secondary slot (or, when only
    the bootloader answers, the primary slot it boots), :meth:`mark_for_test` asks the bootloader to
    boot it once, :meth:`reset` reboots, :meth:`confirm` makes the running image permanent,
    :meth:`rollback` reverts to the other slot.
    """

    @property
    def protocol(self) -> str:
        """``"uds"`` or ``"smp"``."""
        ...

    @property
    def link(self) -> LinkSettings:
        """How this target is reached (to reopen it after a reboot or in a later run)."""
        ...

    def identify(self) -> DeviceIdentity:
        """Read model, serial number, hardware revision, versions, mode and slot states."""
        ...

    def read_telemetry(self) -> PackTelemetry:
        """Read one snapshot of cells, temperatures and pack values."""
        ...

    def read_config(self) -> ConfigSnapshot:
        """Read every configuration parameter."""
        ...

    def read_config_schema(self) -> ConfigSchema:
        """What each parameter accepts: kind, unit, range, allowed values, writable.

        The same shape over every protocol, checked where it is parsed (``core.config_schema``),
        so a front-end validates a value against the device before anything is sent.

        Raises:
            UnsupportedOperationError: the device cannot describe its parameters.
            MalformedResponseError: the description is implausible (see ``checked_schema``).
        """
        ...

    def write_config(self, snapshot: ConfigSnapshot) -> None:
        """Write the parameters whose value differs from the device's and make them persistent.

        Raises:
            UnknownParameterError / ReadOnlyParameterError: a name the device lacks, or a change to a
                read-only parameter; checked before anything is written.
            ConfigValidationError: the device refused a value (out of range, wrong type).
        """
        ...

    def read_dtcs(self) -> list[Dtc]:
        """Read the stored diagnostic trouble codes."""
        ...

    def clear_dtcs(self) -> None:
        """Clear the stored diagnostic trouble codes."""
        ...

    def ping(self) -> float:
        """One round trip that changes nothing; returns its duration in seconds."""
        ...

    def upload_image(
        self,
        image: bytes,
        on_progress: ProgressCallback | None = None,
        *,
        resume: ResumePolicy | None = None,
    ) -> None:
        """Transfer an MCUboot image, resuming where a broken transfer of the same image stopped.

        ``resume`` says how many link breaks to ride out by reconnecting (None: the policy the
        target was opened with).
        """
        ...

    def mark_for_test(self) -> None:
        """Ask the bootloader to boot the uploaded image once, in test mode."""
        ...

    def reset(self) -> None:
        """Reboot the device. The link may drop; call :meth:`reconnect` afterwards."""
        ...

    def reconnect(self, timeout_s: float) -> DeviceIdentity:
        """Reopen the link after a reboot (ports may re-enumerate) and identify the device.

        Raises:
            ReconnectTimeoutError: the device did not come back within ``timeout_s``.
        """
        ...

    def run_self_test(self) -> DeviceSelfTest:
        """Run the device's own post-update self-test (sensors, calibration, balancing)."""
        ...

    def set_balancing(self, cell_index: int, enabled: bool) -> None:
        """Force balancing of one cell on or off (self-test: balancing actuated and observed)."""
        ...

    def confirm(self) -> None:
        """Make the running image permanent (MCUboot confirm); raises the security counter."""
        ...

    def rollback(self) -> None:
        """Revert to the image in the other slot; the device reboots into it."""
        ...

    def link_stats(self) -> LinkStats:
        """Counters since the link was opened."""
        ...

    def trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        """SHA-256 of each public key the device's bootloader trusts (MCUboot's KEYHASH values).

        None when the device cannot tell (an older bootloader, a protocol without the query):
        the bootloader then remains the only judge of an image's signer.
        """
        ...

    def add_unlock_listener(self, listener: UnlockListener) -> None:
        """Call ``listener`` after every security-access unlock (see :class:`SecurityUnlock`)."""
        ...

    def remove_unlock_listener(self, listener: UnlockListener) -> None:
        """Stop calling a listener added with :meth:`add_unlock_listener` (unknown ones are ignored)."""
        ...

    def close(self) -> None:
        """Release the port or bus. Safe to call twice."""
        ...
