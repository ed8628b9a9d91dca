"""The tool's SMP client: a BMS reached over USB CDC, a USB-UART dongle or an RS485 adapter.

:class:`SmpTarget` implements :class:`bmsflasher.core.target.Target` with MCUmgr's standard groups
(OS, image, settings) wherever a standard command exists, so firmware updates also work against
any Zephyr/MCUboot device; pack data (identity details, telemetry, DTCs, self-test, balancing)
comes from the BMS vendor group (72). When a device answers only the bootloader's subset (MCUboot
serial recovery), the target reports ``DeviceMode.RECOVERY`` (no valid image) or
``DeviceMode.BOOTLOADER`` and uploads go to the primary slot: that is emergency USB recovery.
The policy shared with every protocol (write only changed values, slot choice, reconnect and
resume) lives in :class:`~bmsflasher.protocols.base.TargetBase`; this class supplies the raw SMP
operations.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Final

from bmsflasher.core.config_schema import ConfigSchema
from bmsflasher.core.errors import (
    BmsFlasherError,
    ConfigValidationError,
    DeviceRejectedError,
    ImageFormatError,
    IntegrityError,
    MalformedResponseError,
    NoResponseError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.names import mode_name
from bmsflasher.core.target import LinkStats, ProgressCallback
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
    SlotState,
)
from bmsflasher.firmware.mcuboot import parse_image
from bmsflasher.links.serial import SerialLink
from bmsflasher.protocols.base import PRIMARY_SLOT, SECONDARY_SLOT, TargetBase, resume_within
from bmsflasher.protocols.base.technician import CredentialsSource
from bmsflasher.protocols.smp import messages as msg
from bmsflasher.protocols.smp.auth import SmpAuthenticator
from bmsflasher.protocols.smp.codec import BmsCommand, SmpResponse
from bmsflasher.protocols.smp.compressed_upload import WORTHWHILE_RATIO, CompressedImageUploader, deflate
from bmsflasher.protocols.smp.link_rate import RateMemory, RateOutcome, RateSwitcher
from bmsflasher.protocols.smp.session import SmpSession
from bmsflasher.protocols.smp.upload import ImageUploader, UploadResult, max_message_bytes, window_for

DEFAULT_BAUD: Final = 115_200
PROBE_ATTEMPTS: Final = 3
REOPEN_PROBE_WAIT_S: Final = 0.05
"""Processing time allowed per try of the handshake after a reopen (a reboot, a replugged cable).

On a port that stays open across a reboot (a UART behind its own USB adapter) the device is silent
while it boots and what is sent then is lost: asked every 0.65 s (the usual wait at 115200 baud) it
was seen up to 0.65 s after it answered again, now within about 0.09 s. The tries share one wait
for an answer, so the answer to any earlier try still counts: a device slower than this is asked
again, never missed.
"""
IDEMPOTENT_WRITE_ATTEMPTS: Final = 5
"""Tries for writes that are safe to repeat (state writes, settings, self-test, DTC clear).

As many as a read gets: on a noisy line (bit error rate 1e-4 measured in tests/reliability) two
tries lost the self-test answer often enough to roll back a healthy firmware for want of a reply.
"""
FALLBACK_BUF_SIZE: Final = 384
"""Zephyr's default ``CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE``, assumed when a device hides its params."""
FALLBACK_BUF_COUNT: Final = 2
BOOT_RATE_RETURN_S: Final = 1.6
"""Longest a device left at a negotiated rate takes to return to its boot rate (``idle_ms`` + margin)."""
RECOVERY_MODEL: Final = "unknown (bootloader)"
GENERIC_MODEL: Final = "unknown MCUmgr device (no BMS group)"
SCHEMA_PAGE_ENTRIES: Final = 2
"""Schema entries per answer: about 300 bytes of CBOR, a frame a 1e-4 bit error line rarely loses."""
MAX_SCHEMA_ENTRIES: Final = 4096
"""A schema longer than this is a device bug (or a hostile peer), not a configuration."""


@dataclass(frozen=True, slots=True)
class SpeedOptions:
    """How fast the tool may go on a serial link (docs/protocols/smp.md, *Line rate*, *Compressed upload*).

    Attributes:
        switch_rate: negotiate a faster line rate after connecting (the device must offer it).
        max_baud: the fastest rate to ask for (None: whatever the device offers).
        compress: send images as a deflate stream when the device inflates (BMS command 18).
        memory: per-adapter memory of the rate that held (the scan cache), or None.
    """

    switch_rate: bool = True
    max_baud: int | None = None
    compress: bool = True
    memory: RateMemory | None = None


@dataclass(frozen=True, slots=True)
class McumgrParams:
    """The device's SMP buffer pool (``buf_size`` bytes each, ``buf_count`` of them)."""

    buf_size: int
    buf_count: int


class SmpTarget(TargetBase):
    """A BMS spoken to with MCUmgr SMP over a serial port. Create with :meth:`connect`.

    Args:
        link: the open port.
        reconnect_timeout_s: during :meth:`upload_image`, how long to wait for a port that vanished
            to come back before giving up (0 disables the automatic reconnect-and-resume). It makes
            the default resume policy (:func:`~bmsflasher.protocols.base.resume_within`).
        window: chunks in flight during uploads; None sizes it from the device's ``buf_count``.
    """

    def __init__(
        self,
        link: SerialLink,
        *,
        reconnect_timeout_s: float = 10.0,
        window: int | None = None,
        exclusive: bool = True,
        technician: CredentialsSource | None = None,
        speed: SpeedOptions | None = None,
    ) -> None:
        super().__init__(resume=resume_within(reconnect_timeout_s))
        self._speed = speed or SpeedOptions()
        self.last_rate: RateOutcome | None = None
        self._rate_supported = True
        self._port = link.port
        self._baud = link.baud
        self._exclusive = exclusive
        self._session = SmpSession(link)
        # A device that requires the technician's signed challenge denies protected writes until
        # it gets it; the session authenticates then (sim/smp/bms_auth.py, docs/protocols/smp.md).
        self._serial = link.port
        self._auth = SmpAuthenticator(self._session, lambda: self._serial, technician)
        self._session.authenticate = self._authenticate
        self._window_override = window
        self._compress_supported = True
        self._params: McumgrParams | None = None
        self._mode: DeviceMode | None = None
        self.last_upload: UploadResult | None = None

    @classmethod
    def connect(
        cls,
        port: str,
        baud: int = DEFAULT_BAUD,
        *,
        reconnect_timeout_s: float = 10.0,
        window: int | None = None,
        exclusive: bool = True,
        technician: CredentialsSource | None = None,
        speed: SpeedOptions | None = None,
    ) -> SmpTarget:
        """Open ``port`` and check that an SMP device answers there.

        ``technician`` loads the technician's certificate and key for a device that requires its
        signed challenge (the user's credentials folder when None), only when the device asks.

        Raises:
            PortNotFoundError / PortBusyError / PortPermissionError: the port cannot be opened.
            NoResponseError: nothing answers SMP at this baud rate ("no answer at N baud").
        """
        link = SerialLink.open(port, baud, exclusive=exclusive)
        target = cls(
            link,
            reconnect_timeout_s=reconnect_timeout_s,
            window=window,
            exclusive=exclusive,
            technician=technician,
            speed=speed,
        )
        try:
            target._probe()
            target.switch_rate()
        except BaseException:
            target.close()
            raise
        return target

    def _probe(self) -> None:
        """The handshake at the connect rate; once more after a faster rate's idle timeout.

        A tool killed while the device ran at a negotiated rate leaves it there until the device's
        idle timeout (``idle_ms``, 1.5 s on the BMS) returns it to its boot rate: a tool started at
        once would otherwise report a silent device.
        """
        started = time.monotonic()
        try:
            self.params()
        except NoResponseError:
            stats = self._session.decoder.stats
            if not self._speed.switch_rate or stats.noise_bytes or stats.bad_frames:
                raise  # bytes came back: a device at another rate answering, not one waiting to return
            # One more try once the device has certainly returned (the tries so far took most of it).
            remaining = started + BOOT_RATE_RETURN_S - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
            self._session.drain(0.005, 0.05)
            self.params(attempts=1)

    # --- Target: identity and link -------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        return "smp"

    @property
    def link(self) -> LinkSettings:
        return LinkSettings(kind="serial", port=self._port, baud=self._baud)

    @property
    def session(self) -> SmpSession:
        """The underlying session (for diagnostics and benchmarks)."""
        return self._session

    def params(self, *, attempts: int = PROBE_ATTEMPTS, timeout_s: float | None = None) -> McumgrParams:
        """The device's SMP buffer pool (read once; a probe that the device answers at all)."""
        if self._params is None:
            try:
                body = self._session.transact(
                    msg.mcumgr_params, t("MCUmgr parameters read"), attempts=attempts, timeout_s=timeout_s
                )
            except UnsupportedOperationError:
                self._params = McumgrParams(FALLBACK_BUF_SIZE, FALLBACK_BUF_COUNT)
            else:
                size, count = body.body.get("buf_size"), body.body.get("buf_count")
                if not isinstance(size, int) or not isinstance(count, int) or size < 64 or count < 1:
                    self._params = McumgrParams(FALLBACK_BUF_SIZE, FALLBACK_BUF_COUNT)
                else:
                    self._params = McumgrParams(size, count)
        return self._params

    def switch_rate(self) -> RateOutcome | None:
        """Negotiate the fastest line rate that holds (docs/protocols/smp.md, *Line rate*).

        Does nothing when switching is off, the device lacks the command, or a faster rate is
        already in force; a rate that fails its proof falls back by itself (never raises for it).
        """
        session = self._session
        if not self._speed.switch_rate or not self._rate_supported or session.link.baud != self._baud:
            return None
        switcher = RateSwitcher(session, ceiling=self._speed.max_baud, memory=self._speed.memory)
        outcome = switcher.negotiate()
        self._rate_supported = outcome.supported
        self.last_rate = outcome
        return outcome

    def _authenticate(self) -> None:
        """The device denied a protected write: answer its challenge, and record who did."""
        self._auth.authenticate()
        technician = self._auth.authenticated_as
        if technician is not None:
            operation = t("a write the device protects")
            self._announce_unlock(self._serial, operation, technician.subject, technician.fingerprint)

    def _read_identity(self) -> DeviceIdentity:
        slots = self._slots()
        try:
            body = self._bms_read(BmsCommand.IDENTITY, t("identity read")).body
        except UnsupportedOperationError:
            if any(slot.active for slot in slots):
                return self._generic_identity(slots)
            return self._bootloader_identity(slots)
        mode = msg.parse_mode(body.get("mode", DeviceMode.APPLICATION.value))
        self._mode = mode
        counter = body.get("security_counter")
        if isinstance(counter, bool) or not isinstance(counter, int):
            # a missing counter used to become 0, which passes every anti-rollback check
            raise MalformedResponseError(
                t(
                    "the device's identity does not report its security counter, so anti-rollback "
                    "cannot be checked"
                )
            )
        self._serial = str(body.get("serial", "")) or self._port
        return DeviceIdentity(
            model=str(body.get("model", "")),
            serial_number=str(body.get("serial", "")),
            hardware_revision=str(body.get("hw_rev", "")),
            firmware_version=msg.parse_version(body.get("fw_version")),
            bootloader_version=msg.parse_version(body.get("bl_version")),
            mode=mode,
            slots=slots,
            security_counter=counter,
        )

    def _generic_identity(self, slots: tuple[SlotState, ...]) -> DeviceIdentity:
        """An MCUmgr application without the BMS group (a plain Zephyr device, another vendor's BMS).

        Its image manager flags the running slot ``active`` (MCUboot's serial recovery lists no
        flags), so it is an application: the standard groups (update, settings) still work, while
        pack data raises UnsupportedOperationError naming what the device lacks.
        """
        self._mode = DeviceMode.APPLICATION
        primary = next((s for s in slots if s.active), None)
        return DeviceIdentity(
            model=GENERIC_MODEL,
            serial_number="",
            hardware_revision="",
            firmware_version=primary.version if primary is not None else None,
            bootloader_version=None,
            mode=DeviceMode.APPLICATION,
            slots=slots,
        )

    def _bootloader_identity(self, slots: tuple[SlotState, ...]) -> DeviceIdentity:
        """Only the bootloader answers: recovery when no valid image is present."""
        primary = next((s for s in slots if s.slot == 0), None)
        valid = primary is not None and primary.version is not None and bool(primary.image_hash)
        self._mode = DeviceMode.BOOTLOADER if valid else DeviceMode.RECOVERY
        bootloader = "MCUboot"
        with contextlib.suppress(BmsFlasherError):
            name = self._session.transact(msg.bootloader_info, t("bootloader information read")).body.get(
                "bootloader"
            )
            bootloader = str(name) if name else bootloader
        return DeviceIdentity(
            model=f"{RECOVERY_MODEL}: {bootloader}",
            serial_number="",
            hardware_revision="",
            firmware_version=primary.version if valid and primary is not None else None,
            bootloader_version=None,
            mode=self._mode,
            slots=slots,
        )

    def _read_trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        """Bootloader information, vendor query ``key_hashes`` (application and serial recovery).

        A device whose bootloader information does not know the query (``QUERY_YIELDS_NO_ANSWER``,
        or no bootloader information at all) cannot tell: None.
        """
        try:
            response = self._session.transact(msg.trusted_keys, t("trusted key query"))
        except (UnsupportedOperationError, DeviceRejectedError):
            return None
        return msg.parse_key_hashes(response.body)

    def mode(self) -> DeviceMode:
        """The device's mode (identifies the device the first time)."""
        if self._mode is None:
            self.identify()
        assert self._mode is not None
        return self._mode

    def ping(self) -> float:
        """One echo; returns the round trip of the request that was answered.

        SMP over serial recovers a frame lost to a bit error by retransmitting it, so the time spent
        waiting for a lost frame is the retransmission timeout, not the device's responsiveness: the
        answered attempt's round trip is what the link-quality gate compares with its limit. A ping
        that is never answered (every retransmission lost) still raises and counts as a failure.
        """
        response = self._session.transact(lambda seq: msg.echo("ping", seq), t("echo"))
        if response.body.get("r") != "ping":
            raise DeviceRejectedError(t("The device echoed something other than what was sent."))
        return self._session.counters.last_round_trip_s

    def _link_counters(self) -> LinkStats:
        return self._session.stats()  # the session keeps counting across reopened ports

    def _close_link(self) -> None:
        # Hand the device back at its connect rate, so the next tool finds it at once instead of
        # after the device's idle timeout (a lost answer is harmless: that timeout still applies).
        session = self._session
        if session.link.is_open and session.link.baud != self._baud:
            with contextlib.suppress(BmsFlasherError):
                RateSwitcher(session).switch_back(self._baud)
        session.link.close()

    # --- Target: pack data ---------------------------------------------------------------------------
    def read_telemetry(self) -> PackTelemetry:
        return msg.parse_telemetry(self._bms_read(BmsCommand.TELEMETRY, t("telemetry read")).body)

    def read_dtcs(self) -> list[Dtc]:
        return msg.parse_dtcs(self._bms_read(BmsCommand.DTCS, t("DTC read")).body)

    def clear_dtcs(self) -> None:
        self._bms_write(BmsCommand.DTCS, {}, t("DTC clear"))

    def run_self_test(self) -> DeviceSelfTest:
        return msg.parse_self_test(self._bms_write(BmsCommand.SELF_TEST, {}, t("self-test")).body)

    def set_balancing(self, cell_index: int, enabled: bool) -> None:
        self._bms_write(BmsCommand.BALANCING, {"cell": cell_index, "on": enabled}, t("balancing command"))

    # --- Target: configuration (settings group) -----------------------------------------------------
    def config_schema(self) -> tuple[int, dict[str, dict[str, object]]]:
        """(schema version, name → spec) as the device describes its parameters."""
        version, entries = self._schema_pages()
        schema: dict[str, dict[str, object]] = {}
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                schema[entry["name"]] = dict(entry)
        return version, schema

    def _schema_pages(self) -> tuple[int, list[object]]:
        """Read the schema a few entries per request, so each answer survives a noisy line.

        A device that does not page (no ``total`` in its answer) sends the whole schema at once.
        Once the first page tells the total, the other pages are asked for together
        (:meth:`SmpSession.transact_reads`); a page that comes back short is followed one by one.
        """
        entries: list[object] = []
        while True:
            page: dict[str, object] = {"start": len(entries), "count": SCHEMA_PAGE_ENTRIES}
            body = self._bms_read(BmsCommand.CONFIG_SCHEMA, t("configuration schema read"), page).body
            version, params, total = _schema_page(body)
            entries.extend(params)
            if total is None or not params or len(entries) >= total:
                return version, entries
            if len(entries) > MAX_SCHEMA_ENTRIES:
                raise DeviceRejectedError(t("The device's configuration schema never ends."))
            starts = range(len(entries), min(total, MAX_SCHEMA_ENTRIES + 1), SCHEMA_PAGE_ENTRIES)
            answers = self._session.transact_reads(
                [(partial(_schema_request, start), t("configuration schema read")) for start in starts],
                window=window_for(self.params().buf_count),
            )
            for start, answer in zip(starts, answers, strict=True):
                if start != len(entries):
                    break  # an earlier page came back short: go on one page at a time
                version, params, total = _schema_page(answer.body)
                entries.extend(params)
                if total is None or not params:
                    return version, entries
            if len(entries) >= total:
                return version, entries
            if len(entries) > MAX_SCHEMA_ENTRIES:
                raise DeviceRejectedError(t("The device's configuration schema never ends."))

    def read_config(self) -> ConfigSnapshot:
        version, schema = self.config_schema()
        keys = [msg.SETTINGS_PREFIX + name for name in schema]
        answers = self._session.transact_reads(
            [(partial(msg.setting_read, key), t("read of setting {key}", key=key)) for key in keys],
            window=window_for(self.params().buf_count),
        )
        values: dict[str, ParameterValue] = {
            name: msg.decode_setting_value(key, answer.body.get("val"))
            for name, key, answer in zip(schema, keys, answers, strict=True)
        }
        return ConfigSnapshot(schema_version=version, parameters=values)

    def _read_config_schema(self) -> ConfigSchema:
        """The BMS group's schema entries as the protocol-neutral schema."""
        version, schema = self.config_schema()
        return ConfigSchema.of(version, (msg.parse_parameter_spec(entry) for entry in schema.values()))

    def _write_parameters(self, changes: Mapping[str, ParameterValue]) -> None:
        """One settings write per changed key, then commit and save (all safe to repeat)."""
        for name, value in changes.items():
            key = msg.SETTINGS_PREFIX + name
            raw = msg.encode_setting_value(value)
            try:
                self._session.transact(
                    partial(msg.setting_write, key, raw),
                    t("write of setting {key}", key=key),
                    attempts=IDEMPOTENT_WRITE_ATTEMPTS,
                )
            except DeviceRejectedError as exc:
                raise ConfigValidationError(
                    t("The device rejected {value} for parameter {name}.", value=repr(value), name=name)
                ) from exc
        self._session.transact(msg.settings_commit, t("settings commit"), attempts=IDEMPOTENT_WRITE_ATTEMPTS)
        self._session.transact(msg.settings_save, t("settings save"), attempts=IDEMPOTENT_WRITE_ATTEMPTS)

    # --- Target: firmware update (image group) ------------------------------------------------------
    def upload(self, image: bytes, on_progress: ProgressCallback | None = None) -> UploadResult:
        """:meth:`upload_image` with the default resume policy; returns the last transfer's figures.

        Raises:
            ImageFormatError: the file is not an MCUboot image.
            IntegrityError: the device holds a different image hash after the transfer.
            NoResponseError / LinkLostError: the device stopped answering for good.
        """
        self.last_upload = None
        self.upload_image(image, on_progress)
        if self.last_upload is None:  # pragma: no cover - upload_image returns only after a transfer
            raise DeviceRejectedError(t("The upload finished without a result."))
        return self.last_upload

    def _update_beside_application(self) -> bool:
        """Only a running application takes the secondary slot.

        MCUboot's serial recovery writes the primary slot, whatever it holds.
        """
        return self.mode() is DeviceMode.APPLICATION

    def _upload_to_slot(self, slot: int, image: bytes, on_progress: ProgressCallback | None) -> None:
        """Upload (pipelined, resumable at the device's offset) and verify the slot's image hash.

        The device picks the slot itself (MCUboot's serial recovery writes the primary slot, an
        application the secondary): a ``slot`` it would not write is refused before sending.
        """
        expected_hash = self._image_hash(image)
        device_slot = SECONDARY_SLOT if self.mode() is DeviceMode.APPLICATION else PRIMARY_SLOT
        if slot != device_slot:
            raise UnsupportedOperationError(
                t(
                    "In {mode} mode the device writes slot {device_slot}, not slot {slot}.",
                    mode=mode_name(self.mode().value),
                    device_slot=device_slot,
                    slot=slot,
                )
            )
        params = self.params()
        self.switch_rate()  # again if an idle spell sent both ends back to the connect rate
        max_message = max_message_bytes(params.buf_size)
        window = self._window_override or window_for(params.buf_count)
        stream = deflate(image) if self._speed.compress and self._compress_supported else b""
        if stream and len(stream) <= WORTHWHILE_RATIO * len(image):
            try:
                self.last_upload = CompressedImageUploader(
                    self._session,
                    image,
                    stream,
                    max_message=max_message,
                    window=window,
                    on_progress=on_progress,
                ).run()
            except UnsupportedOperationError:
                self._compress_supported = False  # an older firmware: the standard upload below
            else:
                self._verify_upload(expected_hash, slot)
                return
        uploader = ImageUploader(
            self._session, image, max_message=max_message, window=window, on_progress=on_progress
        )
        self.last_upload = uploader.run()
        self._verify_upload(expected_hash, slot)

    def _image_hash(self, image: bytes) -> bytes:
        try:
            return parse_image(image).declared_sha256
        except ImageFormatError:
            raise
        except (ValueError, IndexError) as exc:
            raise ImageFormatError(t("The file to upload is not an MCUboot image.")) from exc

    def _verify_upload(self, expected_hash: bytes, target_slot: int) -> None:
        slots = self._slots()
        slot = next((s for s in slots if s.slot == target_slot), None)
        if slot is None or not slot.image_hash:
            return  # the device does not report hashes (MCUboot built without them): `match` decided
        if slot.image_hash != expected_hash:
            raise IntegrityError(
                t(
                    "After the upload slot {slot} holds image hash {held}..., not the uploaded image's "
                    "{expected}...",
                    slot=target_slot,
                    held=slot.image_hash.hex()[:16],
                    expected=expected_hash.hex()[:16],
                ),
                hint=t("The device may have rejected the image (signature, downgrade); upload it again."),
            )

    def _mark_for_test(self) -> None:
        if self.mode() is not DeviceMode.APPLICATION:
            raise UnsupportedOperationError(
                t("Test-boot marking is not available while the bootloader runs.")
            )
        secondary = self._slot(1)
        if secondary is None or not secondary.image_hash:
            raise DeviceRejectedError(t("The device holds no image in its secondary slot to test."))
        self._session.transact(
            lambda seq: msg.image_state_write(secondary.image_hash, False, seq),
            t("image test request"),
            attempts=IDEMPOTENT_WRITE_ATTEMPTS,
        )

    def confirm(self) -> None:
        self._session.transact(
            lambda seq: msg.image_state_write(None, True, seq),
            t("image confirm"),
            attempts=IDEMPOTENT_WRITE_ATTEMPTS,
        )

    def _request_rollback(self) -> None:
        """Make the other slot's image permanent (standard MCUmgr state write); the base reboots."""
        slots = self._slots()
        secondary = next((s for s in slots if s.slot == 1), None)
        primary = next((s for s in slots if s.slot == 0), None)
        if secondary is not None and secondary.image_hash and secondary.version is not None:
            self._session.transact(
                lambda seq: msg.image_state_write(secondary.image_hash, True, seq),
                t("rollback request"),
                attempts=IDEMPOTENT_WRITE_ATTEMPTS,
            )
        elif primary is None or primary.confirmed:
            raise UnsupportedOperationError(t("The device holds no other image to roll back to."))
        # An unconfirmed test image is reverted by MCUboot at the next reset anyway.

    def _reset(self) -> None:
        # The device may reboot before its answer leaves the wire; the base ignores a lost answer.
        try:
            self._session.transact(msg.reset, t("reset"), attempts=1)
        finally:
            self._mode = None
            self._params = None
            self._session.link.close()

    def _reopen_link(self) -> None:
        """Reopen the port (it may vanish and re-enumerate while the device reboots) and probe it."""
        self._session.link.close()
        link = SerialLink.open(self._port, self._baud, exclusive=self._exclusive)
        self._session.replace_link(link)
        self._params = None
        self._mode = None
        try:
            self._probe_reopened()
            self.switch_rate()
        except BaseException:
            link.close()
            raise

    def _probe_reopened(self) -> None:
        """The handshake after a reopen: short tries within the usual bound (:data:`REOPEN_PROBE_WAIT_S`)."""
        session = self._session
        request_bytes = len(msg.mcumgr_params(0))
        usual = session.default_timeout_s(request_bytes)
        wait = session.default_timeout_s(request_bytes, REOPEN_PROBE_WAIT_S)
        self.params(attempts=max(PROBE_ATTEMPTS, math.ceil(PROBE_ATTEMPTS * usual / wait)), timeout_s=wait)

    # --- helpers -----------------------------------------------------------------------------------
    def _slots(self) -> tuple[SlotState, ...]:
        return msg.parse_slots(self._session.transact(msg.image_state_read, t("image state read")).body)

    def _slot(self, number: int) -> SlotState | None:
        return next((s for s in self._slots() if s.slot == number), None)

    def _bms_read(self, command: BmsCommand, what: str, body: dict[str, object] | None = None) -> SmpResponse:
        return self._session.transact(lambda seq: msg.bms_read(command, seq, body), what)

    def _bms_write(self, command: BmsCommand, body: dict[str, object], what: str) -> SmpResponse:
        # Every BMS-group write is idempotent (self-test, balancing on/off, DTC clear): a lost
        # answer may safely be retried.
        return self._session.transact(
            lambda seq: msg.bms_write(command, body, seq), what, attempts=IDEMPOTENT_WRITE_ATTEMPTS
        )


def _schema_request(start: int, sequence: int) -> bytes:
    """A configuration schema page request (BMS command 11 with ``start``/``count``)."""
    return msg.bms_read(BmsCommand.CONFIG_SCHEMA, sequence, {"start": start, "count": SCHEMA_PAGE_ENTRIES})


def _schema_page(body: Mapping[str, object]) -> tuple[int, list[object], int | None]:
    """(schema version, the page's entries, the total or None for a device that does not page).

    Raises:
        DeviceRejectedError: the answer is not a schema page.
    """
    version, params, total = body.get("schema_version"), body.get("params"), body.get("total")
    if not isinstance(version, int) or not isinstance(params, list):
        raise DeviceRejectedError(t("The device's configuration schema answer is malformed."))
    return version, params, total if isinstance(total, int) and not isinstance(total, bool) else None
