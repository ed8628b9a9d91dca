"""The protocol-neutral interface the update procedure drives.

The UDS client (CAN) and the SMP client (serial) both implement :class:`Target`, so the procedure,
the CLI and the GUI never know which wire they talk over. Implementations translate every vendor
exception into :mod:`bmsflasher.core.errors` and bound every wait with a timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class Target(Protocol):
    """A connected BMS, whatever protocol it speaks.

    Upload semantics follow MCUboot: :meth:`upload_image` writes the secondary slot (or the primary
    slot in recovery mode), :meth:`mark_for_test` asks the bootloader to boot it once, :meth:`reset`
    reboots, :meth:`confirm` makes the running image permanent, :meth:`rollback` reverts to the
    other slot.
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

    def write_config(self, snapshot: ConfigSnapshot) -> None:
        """Write the given parameters and make them persistent on the device."""
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

    def upload_image(self, image: bytes, on_progress: ProgressCallback | None = None) -> None:
        """Transfer an MCUboot image, resuming where a broken transfer of the same image stopped."""
        ...

    def mark_for_test(self) -> None:
        """Ask the bootloader to boot the uploaded image once, in test mode."""
        ...

    def reset(self) -> None:
        """Reboot the device. The link may drop; call :meth:`reconnect` afterwards."""
        ...

    def reconnect(self, timeout_s: float) -> DeviceIdentity:
        """Reopen the link after a reboot (ports may re-enumerate) and identify the device."""
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

    def close(self) -> None:
        """Release the port or bus. Safe to call twice."""
        ...
