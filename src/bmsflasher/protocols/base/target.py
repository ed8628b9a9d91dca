"""The base class behind every protocol's :class:`~bmsflasher.core.target.Target`.

In the spirit of python-can's ``BusABC`` (the base owns timeouts and filtering, a driver fills
``_recv_internal``): :class:`TargetBase` implements the ``Target`` methods whose behaviour must be
the same whatever the wire, and a protocol implements the raw operations below them.

What the base owns, and why here:

* **Write policy** (:meth:`write_config`): only changed values are written; an unknown name or a
  change to a read-only parameter is refused before anything is written.
* **Configuration schema** (:meth:`read_config_schema`): one protocol-neutral description of every
  parameter (kind, unit, range, allowed values, writable), checked where it is parsed; the write
  policy takes "writable" from it, so there is one answer to "may this be written?".
* **Slot choice** (:meth:`upload_image`): the secondary slot, beside the intact application,
  whenever the device can take it; the primary slot the bootloader boots only when nothing
  bootable is left or the bootloader writes nothing else. :meth:`mark_for_test` after a primary
  upload has nothing to swap and does nothing.
* **Retry layering**: a transfer broken by the link is resumed here, and only here — reconnect,
  then continue at the offset the device holds — as often as the :class:`ResumePolicy` allows.
  The procedure passes its device profile's limits as that policy instead of looping around the
  call, so a break is never retried by two layers at once.
* **Reconnect deadline and error** (:meth:`reconnect`): poll until the device answers or the
  deadline passes, then raise :class:`ReconnectTimeoutError` — one error (one exit code) for "the
  device did not come back" over every protocol.
* **Reset** (:meth:`reset`): a reset whose answer is lost to the reboot is not a failure; whether
  the device came back is :meth:`reconnect`'s to say.
* **Link statistics** (:meth:`link_stats`): counters survive a link that was reopened.
* **Close**: safe to call twice.
* **Trusted signing keys** (:meth:`trusted_key_hashes`): a device that can say which keys its
  bootloader trusts is checked here (32-byte hashes, a bounded count), so an image it would refuse
  after a whole transfer is refused before the first write; a device that cannot tell reports None.
* **Unlock records** (:meth:`add_unlock_listener`): every security-access unlock a protocol performs
  is announced to the listeners, so the procedure can put it in the service history.
"""

from __future__ import annotations

import contextlib
import time
from abc import abstractmethod
from collections.abc import Mapping
from typing import Final, Self, final

from bmsflasher.core.config_schema import ConfigSchema, checked_schema
from bmsflasher.core.errors import (
    BmsFlasherError,
    LinkError,
    LinkLostError,
    LinkTimeoutError,
    MalformedResponseError,
    NoResponseError,
    ReconnectTimeoutError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.identity_checks import validate_identity
from bmsflasher.core.target import (
    NO_RESUME,
    LinkStats,
    ProgressCallback,
    ResumePolicy,
    SecurityUnlock,
    Target,
    UnlockListener,
)
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceSelfTest,
    Dtc,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
)
from bmsflasher.protocols.base.config_policy import changes_to_write
from bmsflasher.protocols.base.slots import PRIMARY_SLOT, upload_slot

DEFAULT_RESUME_ATTEMPTS: Final = 3
"""Link breaks one transfer rides out when a target is opened with a reconnect timeout."""
RECONNECT_POLL_S: Final = 0.01
"""Interval between the starts of two reconnect tries: a re-enumerated USB port is back within tens of
ms. A try that itself waited this long (a CAN node that did not answer its probe) is followed at once:
the device is seen as soon as it answers, not a fixed sleep later. A try at a port that is not back yet
is one failed open, so 10 ms costs nothing and sees the port at most 10 ms after it appears (50 ms lost
25 ms on average at every reboot)."""
RESUMABLE_ERRORS: Final = (LinkLostError, LinkTimeoutError, NoResponseError)
"""Failures of a transfer that a reconnect may cure (the link or the device went quiet)."""
RECONNECT_RETRY_ERRORS: Final = (LinkError, NoResponseError)
"""Failures of one reconnect try that mean "not back yet" (port absent, nothing answers)."""
KEY_HASH_BYTES: Final = 32
"""A trusted key is named by the SHA-256 of its public key (MCUboot's KEYHASH TLV)."""
MAX_TRUSTED_KEYS: Final = 16
"""More keys than this in one bootloader is a device bug or a hostile peer, not a key store."""


def resume_within(reconnect_timeout_s: float) -> ResumePolicy:
    """The default resume policy of a target opened with a reconnect timeout (0: no resume)."""
    if reconnect_timeout_s <= 0:
        return NO_RESUME
    return ResumePolicy(DEFAULT_RESUME_ATTEMPTS, reconnect_timeout_s)


class TargetBase(Target):
    """A connected BMS: the shared policy over one protocol's raw operations.

    Subclasses implement the abstract methods only; the ``@final`` methods are the contract and
    are not overridden.

    Args:
        resume: how :meth:`upload_image` rides out link breaks when the caller passes no policy.
    """

    def __init__(self, *, resume: ResumePolicy = NO_RESUME) -> None:
        self.resume_policy = resume
        self._closed = False
        self._last_upload_slot: int | None = None
        self._retired_stats = LinkStats()
        self._unlock_listeners: list[UnlockListener] = []

    # --- raw operations a protocol implements -------------------------------------------------------
    @property
    @abstractmethod
    def protocol(self) -> str:
        """The protocol's name (``"uds"``, ``"smp"``)."""

    @property
    @abstractmethod
    def link(self) -> LinkSettings:
        """How this target is reached (to reopen it after a reboot or in a later run)."""

    # Operations with no policy to share: each protocol implements them as the interface says.
    @abstractmethod
    def _read_identity(self) -> DeviceIdentity:
        """Read model, serial number, hardware revision, versions, mode and slot states (raw)."""

    @final
    def identify(self) -> DeviceIdentity:
        """The device's identity, refused when a field is implausible (:mod:`core.identity_checks`).

        Owned here so every protocol's claims are checked where they are parsed: control
        characters, oversize text and impossible security counters never reach the terminal, the
        history, file names or the anti-rollback gate.
        """
        return validate_identity(self._read_identity())

    @abstractmethod
    def read_telemetry(self) -> PackTelemetry:
        """Read one snapshot of cells, temperatures and pack values."""

    @abstractmethod
    def read_config(self) -> ConfigSnapshot:
        """Read every configuration parameter."""

    @abstractmethod
    def read_dtcs(self) -> list[Dtc]:
        """Read the stored diagnostic trouble codes."""

    @abstractmethod
    def clear_dtcs(self) -> None:
        """Clear the stored diagnostic trouble codes."""

    @abstractmethod
    def ping(self) -> float:
        """One round trip that changes nothing; the answered try's duration in seconds."""

    @abstractmethod
    def run_self_test(self) -> DeviceSelfTest:
        """Run the device's own post-update self-test."""

    @abstractmethod
    def set_balancing(self, cell_index: int, enabled: bool) -> None:
        """Force balancing of one cell on or off."""

    @abstractmethod
    def confirm(self) -> None:
        """Make the running image permanent (MCUboot confirm)."""

    # Raw operations behind the shared policy.
    @abstractmethod
    def _read_config_schema(self) -> ConfigSchema:
        """Every configuration parameter as the device describes it (raw; the base checks it).

        Raises:
            UnsupportedOperationError: the device cannot describe its parameters.
        """

    @abstractmethod
    def _write_parameters(self, changes: Mapping[str, ParameterValue]) -> None:
        """Write ``changes`` (known, writable, different) and make them persistent.

        Raises:
            ConfigValidationError: the device refused a value.
        """

    @abstractmethod
    def _update_beside_application(self) -> bool:
        """True when the device can take an image beside an intact application (secondary slot).

        False when nothing bootable is left (recovery) or the bootloader that answers writes only
        the slot it boots (MCUboot serial recovery): the upload then goes to the primary slot.
        """

    @abstractmethod
    def _upload_to_slot(self, slot: int, image: bytes, on_progress: ProgressCallback | None) -> None:
        """Transfer ``image`` into ``slot`` once, resuming at the device's offset, and verify it.

        Raises:
            LinkLostError / LinkTimeoutError / NoResponseError: the link broke (the base may
                reconnect and call again: the transfer resumes).
        """

    @abstractmethod
    def _mark_for_test(self) -> None:
        """Ask the bootloader to test-boot the secondary slot's image once."""

    @abstractmethod
    def _reset(self) -> None:
        """Send the reset request and forget everything the reboot invalidates (session, caches)."""

    @abstractmethod
    def _request_rollback(self) -> None:
        """Ask the device to boot the other slot's image at the next reset (the base resets)."""

    @abstractmethod
    def _reopen_link(self) -> None:
        """One reconnect try: reopen the port or adapter if it went away, and check an answer.

        Raises:
            LinkError: the port or adapter is not there (yet).
            NoResponseError: it is there but nothing answers (yet).
        """

    @abstractmethod
    def _link_counters(self) -> LinkStats:
        """The counters of the link (or session) in use now."""

    @abstractmethod
    def _close_link(self) -> None:
        """Release the port or bus (called once)."""

    # An optional raw operation: a protocol whose devices cannot tell keeps this default.
    def _read_trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        """The key hashes the device's bootloader reports trusting (raw), or None when it cannot tell."""
        return None

    # --- trusted signing keys and security unlocks ---------------------------------------------------
    @final
    def trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        """SHA-256 of each public key the device's bootloader trusts, or None when it cannot tell.

        An empty list is "cannot tell" too (a bootloader that names no key gives nothing to compare).

        Raises:
            MalformedResponseError: the device's answer is not a list of 32-byte hashes of
                reasonable length.
        """
        hashes = self._read_trusted_key_hashes()
        if not hashes:
            return None
        if len(hashes) > MAX_TRUSTED_KEYS or any(len(h) != KEY_HASH_BYTES for h in hashes):
            raise MalformedResponseError(
                t(
                    "the device reported {count} trusted key hashes that are not all 32-byte SHA-256 "
                    "values (at most {limit} are accepted)",
                    count=len(hashes),
                    limit=MAX_TRUSTED_KEYS,
                )
            )
        return tuple(bytes(h) for h in hashes)

    @final
    def add_unlock_listener(self, listener: UnlockListener) -> None:
        """Call ``listener`` after every security-access unlock this target performs."""
        self._unlock_listeners.append(listener)

    @final
    def remove_unlock_listener(self, listener: UnlockListener) -> None:
        """Stop calling ``listener`` (a listener never added is ignored)."""
        if listener in self._unlock_listeners:
            self._unlock_listeners.remove(listener)

    def _announce_unlock(
        self, serial_number: str, operation: str, technician: str = "", certificate_sha256: str = ""
    ) -> None:
        """Tell the listeners that the device ``serial_number`` was unlocked for ``operation``.

        A certificate authentication (UDS 0x29) names the technician's certificate as well.
        """
        unlock = SecurityUnlock(serial_number, operation, time.time(), technician, certificate_sha256)
        for listener in list(self._unlock_listeners):
            listener(unlock)

    # --- configuration ------------------------------------------------------------------------------
    @final
    def read_config_schema(self) -> ConfigSchema:
        """Every parameter's kind, unit, range, allowed values and writability, checked.

        Owned here so every protocol's description is held to the same rules
        (:func:`~bmsflasher.core.config_schema.checked_schema`) before a front-end trusts it.

        Raises:
            UnsupportedOperationError: the device cannot describe its parameters.
            MalformedResponseError: a name, unit, range or allowed value is implausible.
        """
        return checked_schema(self._read_config_schema())

    @final
    def write_config(self, snapshot: ConfigSnapshot) -> None:
        """Write the values that differ from the device's; refuse unknown or read-only changes first.

        Raises:
            UnknownParameterError / ReadOnlyParameterError: nothing was written.
            ConfigValidationError: the device refused a value.
        """
        writable = self.read_config_schema().writable()
        current = self.read_config().parameters
        changes = changes_to_write(writable, current, snapshot.parameters)
        if changes:
            self._write_parameters(changes)

    # --- update ------------------------------------------------------------------------------------
    @final
    def upload_image(
        self,
        image: bytes,
        on_progress: ProgressCallback | None = None,
        *,
        resume: ResumePolicy | None = None,
    ) -> None:
        """Transfer ``image`` into the slot :func:`upload_slot` chooses, riding out link breaks.

        The slot is chosen once, from what the device can take, and kept across resumes.
        Each break (``RESUMABLE_ERRORS``) costs one of ``resume.attempts``: the target reconnects
        within ``resume.reconnect_timeout_s`` and transfers again from the device's offset.

        Raises:
            LinkLostError / LinkTimeoutError / NoResponseError: the link broke more often than
                the policy allows.
            ReconnectTimeoutError: a reconnect after a break did not find the device.
        """
        policy = resume if resume is not None else self.resume_policy
        slot = upload_slot(self._update_beside_application())
        self._last_upload_slot = slot
        breaks = 0
        while True:
            try:
                self._upload_to_slot(slot, image, on_progress)
                return
            except RESUMABLE_ERRORS as exc:
                breaks += 1
                if breaks > policy.attempts:
                    raise
                if policy.on_break is not None:
                    policy.on_break(exc)
                self.reconnect(policy.reconnect_timeout_s)

    @final
    def mark_for_test(self) -> None:
        """Ask for a test boot of the uploaded image; nothing to do after a recovery upload.

        A recovery upload wrote the primary slot, which the bootloader boots as it is: there is no
        image to swap in.
        """
        if self._last_upload_slot == PRIMARY_SLOT:
            return
        self._mark_for_test()

    @final
    def reset(self) -> None:
        """Reboot the device; an answer lost to the reboot itself is expected, not a failure."""
        with contextlib.suppress(LinkLostError, NoResponseError):
            self._reset()

    @final
    def rollback(self) -> None:
        """Ask for the other slot's image and reboot into it."""
        self._request_rollback()
        self.reset()

    @final
    def reconnect(self, timeout_s: float) -> DeviceIdentity:
        """Reopen the link and identify the device, trying until ``timeout_s`` has passed.

        At least one try is made, even with a timeout of 0.

        Raises:
            ReconnectTimeoutError: the device did not come back in time.
        """
        deadline = time.monotonic() + max(timeout_s, 0.0)
        last: BmsFlasherError | None = None
        while True:
            tried = time.monotonic()
            try:
                self._reopen_link()
                return self.identify()
            except RECONNECT_RETRY_ERRORS as exc:
                last = exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            pause = RECONNECT_POLL_S - (time.monotonic() - tried)
            if pause > 0:
                time.sleep(min(pause, remaining))
        where = {"link": self.link.describe(), "seconds": timeout_s}
        message = (
            t(
                "The device did not come back on {link} within {seconds:g} s: {reason}",
                reason=last.message,
                **where,
            )
            if last is not None  # the last try's own sentence, full stop included
            else t("The device did not come back on {link} within {seconds:g} s (no answer).", **where)
        )
        raise ReconnectTimeoutError(
            message,
            hint=t("Check the cable or adapter and the device's power, then run the command again."),
        ) from last

    # --- link --------------------------------------------------------------------------------------
    @final
    def link_stats(self) -> LinkStats:
        """Counters since the target was opened, across every reopened link."""
        return self._retired_stats.combined_with(self._link_counters())

    def _retire_link_counters(self, stats: LinkStats) -> None:
        """Keep the counters of a link about to be replaced (call before dropping it)."""
        self._retired_stats = self._retired_stats.combined_with(stats)

    @final
    def close(self) -> None:
        """Release the port or bus. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._close_link()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
