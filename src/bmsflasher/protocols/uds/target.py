"""The UDS-on-CAN implementation of :class:`bmsflasher.core.target.Target`.

The procedure, CLI and GUI drive a BMS through ``Target`` without knowing it speaks UDS; this class
maps each operation onto the services and identifiers of ``docs/protocols/uds.md``: identity and
telemetry DIDs in the default session, configuration writes and image-state routines in the
extended session with security access, and the download in the programming session. Security
access is computed only for the battery selected when the target was opened (its serial number,
read then), refused when the node answering now claims another serial, and announced to the
unlock listeners every time it is granted. The policy
shared with every protocol (write only changed values, slot choice, reconnect and resume) lives in
:class:`~bmsflasher.protocols.base.TargetBase`; this class supplies the raw UDS operations.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from bmsflasher.core.config_schema import ConfigSchema, ParameterSpec
from bmsflasher.core.errors import (
    ConfigValidationError,
    DeviceRejectedError,
    DowngradeError,
    MalformedResponseError,
    NoResponseError,
    SecurityAccessDeniedError,
    SignatureError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.identity_checks import MAX_TEXT_CHARS
from bmsflasher.core.target import NO_RESUME, LinkStats, ProgressCallback, ResumePolicy
from bmsflasher.core.types import (
    DEFAULT_TESTER_ADDRESS,
    CanAddressing,
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
)
from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.protocols.base import TargetBase, resume_within
from bmsflasher.protocols.base.technician import credentials_from
from bmsflasher.protocols.uds import codec, ids
from bmsflasher.protocols.uds.auth import Authenticator
from bmsflasher.protocols.uds.client import UdsClient, answered
from bmsflasher.protocols.uds.download import DownloadReport, download
from bmsflasher.protocols.uds.security import HmacKeyProvider, SecurityKeyProvider, demo_key_provider
from bmsflasher.protocols.uds.transport import IsoTpTransport

DEMO_MODEL_PREFIX: Final = "VBMS-"
#: Every model the shipped demo key serves: the single demo BMS and the demo pack's nodes.
DEMO_MODEL_PREFIXES: Final = (DEMO_MODEL_PREFIX, "VBCU-", "VBMC-", "VBMU-")
_RECONNECT_POLL_S: Final = 0.2
_NRC_REQUEST_OUT_OF_RANGE: Final = 0x31
_NRC_AUTHENTICATION_REQUIRED: Final = 0x34


@dataclass
class UdsOptions:
    """Client behaviour that is a choice, not a device property.

    Attributes:
        compression: send zlib-compressed data when the device supports it (DID 0xFD04).
        use_fd: use CAN-FD frames when both the link and the device (DID 0xFD03) support them.
        allow_demo_key: use the shipped DEMO master secret for devices reporting the demo model.
    """

    compression: bool = True
    use_fd: bool = True
    allow_demo_key: bool = True
    reports: list[DownloadReport] = field(default_factory=list)


class UdsTarget(TargetBase):
    """A BMS node reached over UDS on ISO-TP on CAN.

    Open with :meth:`open`; the instance owns the CAN link it opened and closes it in :meth:`close`.
    ``resume`` is the default :class:`ResumePolicy` of :meth:`upload_image` (none: a pulled adapter
    is raised to the caller).
    """

    def __init__(
        self,
        link: CanLink,
        node: int = 1,
        *,
        key_provider: SecurityKeyProvider | None = None,
        options: UdsOptions | None = None,
        addressing: CanAddressing = CanAddressing.NORMAL_11BIT,
        tester_address: int = DEFAULT_TESTER_ADDRESS,
        resume: ResumePolicy = NO_RESUME,
        authenticator: Authenticator | None = None,
    ) -> None:
        super().__init__(resume=resume)
        self._link = link
        # 11-bit node 0 means node 1; a 29-bit node is an ECU address, where 0x00 is a real one.
        self._node = node if addressing is CanAddressing.NORMAL_FIXED_29BIT else node or 1
        self._addressing = addressing
        self._tester_address = tester_address
        self._explicit_key = key_provider
        self.options = options or UdsOptions()
        self._transport = self._new_transport(link)
        self._client = UdsClient(self._transport, link.config.bitrate, key_provider, authenticator)
        self._client.open()
        self._schema: tuple[int, tuple[codec.ParameterInfo, ...]] | None = None
        self._described: ConfigSchema | None = None
        self._compression: frozenset[int] | None = None
        self._selected_serial: str | None = None
        self._identity_checked = False

    @classmethod
    def open(
        cls,
        config: CanLinkConfig,
        node: int = 1,
        *,
        key_provider: SecurityKeyProvider | None = None,
        options: UdsOptions | None = None,
        addressing: CanAddressing = CanAddressing.NORMAL_11BIT,
        tester_address: int = DEFAULT_TESTER_ADDRESS,
        resume: ResumePolicy = NO_RESUME,
        authenticator: Authenticator | None = None,
    ) -> UdsTarget:
        """Open the adapter, start ISO-TP to ``node`` and negotiate transport parameters.

        ``node`` is the node number (11-bit normal addressing) or the ECU's target address (29-bit
        normal fixed addressing, with ``tester_address`` as the tool's source address).

        Raises:
            LinkError: the adapter cannot be opened (not found, busy, permission).
            NoResponseError: nothing answers at this node, bit rate and channel.
        """
        link = CanLink.open(config)
        target: UdsTarget | None = None
        try:
            target = cls(
                link,
                node,
                key_provider=key_provider,
                options=options,
                addressing=addressing,
                tester_address=tester_address,
                resume=resume,
                authenticator=authenticator,
            )
            target._negotiate()
            target._select_battery()
        except BaseException:
            if target is not None:
                target.close()  # stops the ISO-TP and keep-alive threads, then closes the link
            else:
                link.close()
            raise
        return target

    # --- Target: identity ----------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        return "uds"

    @property
    def link(self) -> LinkSettings:
        return replace(
            self._link.config.to_settings(node=self._node),
            addressing=self._addressing,
            tester_address=self._tester_address,
        )

    def _new_transport(self, link: CanLink) -> IsoTpTransport:
        """An ISO-TP channel to this node on ``link``, in the node's addressing mode."""
        return IsoTpTransport(
            link, self._node, addressing=self._addressing, tester_address=self._tester_address
        )

    @property
    def uses_fd(self) -> bool:
        """True once CAN-FD frames were negotiated (link opened as FD and DID 0xFD03 offers FD)."""
        return self._transport.fd

    @property
    def client(self) -> UdsClient:
        """The UDS session (for diagnostics tools and tests that send raw services)."""
        return self._client

    def _negotiate(self) -> None:
        """Learn the device's transport capabilities (FD frames) and compression support.

        Both DIDs are supplier-specific: a device that does not know them (NRC 0x31) gets classic
        frames and uncompressed downloads, the ISO 14229-1 / ISO 15765-2 baseline.
        """
        raw_caps = self._optional_did(ids.DID_TRANSPORT, t("the transport capabilities"))
        if raw_caps is not None:
            caps = codec.transport_caps(raw_caps)
            if caps.fd and self._link.config.fd and self.options.use_fd:
                self._transport.use_fd(True, bitrate_switch=bool(self._link.config.data_bitrate))
        raw_methods = self._optional_did(ids.DID_COMPRESSION, t("the compression capabilities"))
        self._compression = codec.compression_methods(raw_methods) if raw_methods is not None else frozenset()

    def _optional_did(self, did: int, what: str, *, response_bytes: int = 64) -> bytes | None:
        """A DID the device may lack: None when it answers requestOutOfRange (not supported)."""
        try:
            return self._client.read_did(did, what, response_bytes=response_bytes)
        except DeviceRejectedError as exc:
            if exc.code == _NRC_REQUEST_OUT_OF_RANGE:
                return None
            raise

    def _text(self, did: int, what: str) -> str:
        return codec.ascii_text(self._client.read_did(did, what))

    def _select_battery(self) -> None:
        """Remember which battery this target was opened for: the serial number it reports now.

        Security keys are computed for this serial only, whatever a node reports later: a node
        that claims another battery's serial afterwards (a rogue node on the bus collecting keys)
        gets none (:meth:`_unlock`). A node without the serial DID is selected at its first
        identity read instead.
        """
        raw = self._optional_did(ids.DID_SERIAL_NUMBER, t("the serial number"))
        if raw is not None:
            self._select_serial(codec.ascii_text(raw))

    def _select_serial(self, serial: str) -> None:
        if self._selected_serial is None:
            self._selected_serial = serial
        self._client.serial_number = self._selected_serial

    def _read_identity(self) -> DeviceIdentity:
        serial = self._text(ids.DID_SERIAL_NUMBER, t("the serial number"))
        model = self._text(ids.DID_SPARE_PART_NUMBER, t("the part number"))
        self._select_serial(serial)  # the key's serial stays the selected battery's
        self._client.model = model
        if (
            self._client.key_provider is None
            and self.options.allow_demo_key
            and model.startswith(DEMO_MODEL_PREFIXES)
        ):
            self._client.key_provider = demo_key_provider()
        mode = codec.device_mode(self._client.read_did(ids.DID_DEVICE_MODE, t("the operating mode")))
        counter_raw = self._client.read_did(ids.DID_SECURITY_COUNTER, t("the security counter"))
        if len(counter_raw) != 4:
            raise MalformedResponseError(t("The device's security counter is not four bytes."))
        return DeviceIdentity(
            model=model,
            serial_number=serial,
            hardware_revision=self._text(ids.DID_HARDWARE_NUMBER, t("the hardware revision")),
            firmware_version=codec.version_or_none(
                self._text(ids.DID_SOFTWARE_VERSION, t("the firmware version"))
            ),
            bootloader_version=codec.version_or_none(
                self._text(ids.DID_BOOT_SOFTWARE_ID, t("the bootloader version"))
            ),
            mode=mode,
            slots=codec.slots(self._client.read_did(ids.DID_SLOTS, t("the slot table"), response_bytes=96)),
            security_counter=int(struct.unpack(">I", counter_raw)[0]),
        )

    def _ensure_identity(self) -> None:
        """Identify once (validated: an implausible identity raises here, before any key is computed)."""
        if not self._identity_checked:
            self.identify()
            self._identity_checked = True

    def _read_trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        """DID 0xFD06 (any mode); None when the device does not know it (NRC 0x31)."""
        raw = self._optional_did(
            ids.DID_TRUSTED_KEYS, t("the trusted signing keys"), response_bytes=1 + 16 * codec.KEY_HASH_BYTES
        )
        return None if raw is None else codec.trusted_key_hashes(raw)

    def _unlock(self, operation: str) -> None:
        """Security access for the battery selected when connecting, and for no other; announced.

        The serial number is read again from the node that is about to be given a key: a node
        now claiming another serial (a rogue node on the bus, a battery swapped under the tester)
        is refused before a seed is even requested, and the key is always computed for the
        selected serial, never for one a node reports at unlock time.

        Raises:
            SecurityAccessDeniedError: the node claims another battery's serial, or the key is refused.
        """
        if self._client.unlocked:
            return
        self._ensure_identity()
        selected = self._selected_serial or ""
        claimed = self._text(ids.DID_SERIAL_NUMBER, t("the serial number"))
        if claimed != selected:
            raise SecurityAccessDeniedError(
                t(
                    "The node answering at {node} now reports serial {claimed}, not {selected}, the "
                    "battery selected when connecting; no security key is computed for another battery.",
                    node=ids.node_address(self._node, self._addressing, self._tester_address).describe(),
                    claimed=_shown(claimed),
                    selected=_shown(selected),
                ),
                hint=t(
                    "Another node answers at this address (a second battery or a rogue device on the "
                    "bus): check what is connected to the bus, then connect to the battery again."
                ),
            )
        self._client.serial_number = selected
        self._client.unlock()
        technician = self._client.authenticator.authenticated_as if self._client.certificate_auth else None
        if technician is None:
            self._announce_unlock(selected, operation)
        else:
            self._announce_unlock(selected, operation, technician.subject, technician.fingerprint)

    # --- Target: live data ---------------------------------------------------------------------
    def read_telemetry(self) -> PackTelemetry:
        pack = codec.pack_values(self._client.read_did(ids.DID_PACK, t("the pack values")))
        cells = codec.cells(self._client.read_did(ids.DID_CELLS, t("the cell voltages"), response_bytes=1100))
        temps = codec.temperatures(self._client.read_did(ids.DID_TEMPERATURES, t("the temperatures")))
        balancing = codec.balancing(self._client.read_did(ids.DID_BALANCING, t("the balancing flags")))
        return PackTelemetry(
            timestamp_s=time.time(),
            cell_voltages_mv=cells,
            balancing=balancing,
            temperatures_c=temps,
            pack_voltage_mv=pack.pack_voltage_mv,
            current_ma=pack.current_ma,
            soc_pct=pack.soc_pct,
            soh_pct=pack.soh_pct,
            alarms=pack.alarms,
        )

    def _config_schema(self) -> tuple[int, tuple[codec.ParameterInfo, ...]]:
        if self._schema is None:
            raw = self._client.read_did(
                ids.DID_CONFIG_SCHEMA, t("the configuration schema"), response_bytes=2048
            )
            self._schema = codec.config_schema(raw)
        return self._schema

    def _read_config_schema(self) -> ConfigSchema:
        """DID 0xFD20 (kinds, ranges, units) with the allowed values of DID 0xFD21 where the device has it."""
        if self._described is not None:
            return self._described
        version, params = self._config_schema()
        raw = self._optional_did(
            ids.DID_CONFIG_CHOICES, t("the allowed parameter values"), response_bytes=1024
        )
        choices = codec.config_choices(raw, params) if raw is not None else {}
        self._described = ConfigSchema.of(
            version,
            (
                ParameterSpec(
                    name=param.name,
                    kind=param.kind,
                    unit=param.unit,
                    minimum=param.minimum,
                    maximum=param.maximum,
                    choices=choices.get(param.name, ()),
                    writable=param.writable,
                )
                for param in params
            ),
        )
        return self._described

    def read_config(self) -> ConfigSnapshot:
        version, params = self._config_schema()
        values: dict[str, ParameterValue] = {}
        for param in params:
            raw = self._client.read_did(param.did, t("the parameter '{name}'", name=param.name))
            values[param.name] = codec.decode_param(param.kind, raw, param.name)
        return ConfigSnapshot(schema_version=version, parameters=values)

    def _write_parameters(self, changes: Mapping[str, ParameterValue]) -> None:
        """WriteDataByIdentifier per changed parameter (extended session, unlocked), then save."""
        _version, params = self._config_schema()
        by_name = {p.name: p for p in params}
        self._enter_service_session(t("a configuration write"))
        for name, value in changes.items():
            param = by_name[name]
            try:
                self._client.write_did(
                    param.did, codec.encode_param(param.kind, value), t("the parameter '{name}'", name=name)
                )
            except DeviceRejectedError as exc:
                if exc.code == 0x31:
                    raise ConfigValidationError(
                        t(
                            "The device refused the value {value} for '{name}' (out of range or wrong type).",
                            value=repr(value),
                            name=name,
                        )
                    ) from exc
                raise
        status = self._client.routine(ids.RID_SAVE_CONFIG, t("save the configuration"))
        if not status or status[0] != 0:
            raise DeviceRejectedError(t("The device could not save its configuration."))

    # --- Target: DTCs ------------------------------------------------------------------------
    def read_dtcs(self) -> list[Dtc]:
        action = t("read the diagnostic trouble codes")
        response = self._client.call(
            action,
            lambda c: c.get_dtc_by_status_mask(ids.DTC_STATUS_ALL),
            response_bytes=256,
            attempts=2,
        )
        texts = codec.dtc_texts(
            self._client.read_did(ids.DID_DTC_TEXTS, t("the DTC descriptions"), response_bytes=1024)
        )
        result = []
        for dtc in answered(response, action).service_data.dtcs:
            text = texts.get(int(dtc.id))
            result.append(
                Dtc(
                    code=int(dtc.id),
                    status=int(dtc.status.get_byte_as_int()),
                    severity=text.severity if text else codec.severity_of(0),
                    description=text.description if text else "",
                )
            )
        return result

    def clear_dtcs(self) -> None:
        self._client.call(t("clear the diagnostic trouble codes"), lambda c: c.clear_dtc(0xFFFFFF))

    # --- Target: link ----------------------------------------------------------------------------
    def ping(self) -> float:
        return self._client.tester_present()

    def _link_counters(self) -> LinkStats:
        return self._client.link_stats()

    # --- sessions --------------------------------------------------------------------------------
    def _enter_service_session(self, operation: str) -> None:
        """Extended session (or stay in programming) and unlocked: for writes and image routines."""
        self._ensure_identity()
        if self._client.session == ids.SESSION_DEFAULT:
            self._client.change_session(ids.SESSION_EXTENDED)
        self._unlock(operation)

    def _read_mode(self) -> DeviceMode:
        return codec.device_mode(self._client.read_did(ids.DID_DEVICE_MODE, t("the operating mode")))

    def _enter_programming(self) -> None:
        self._ensure_identity()
        if self._client.session != ids.SESSION_PROGRAMMING:
            if self._read_mode() is DeviceMode.APPLICATION and self._client.session == ids.SESSION_DEFAULT:
                self._client.change_session(ids.SESSION_EXTENDED)
            try:
                self._client.change_session(ids.SESSION_PROGRAMMING)
            except DeviceRejectedError as exc:
                # A device that authenticates by certificate opens programming to an
                # authenticated tester only (NRC 0x34): authenticate, then ask again.
                if exc.code != _NRC_AUTHENTICATION_REQUIRED:
                    raise
                self._unlock(t("the firmware download"))
                self._client.change_session(ids.SESSION_PROGRAMMING)
        self._unlock(t("the firmware download"))

    # --- raw operations: update --------------------------------------------------------------------
    def _update_beside_application(self) -> bool:
        """Anything but recovery: the programming session writes either slot.

        ``BOOTLOADER`` is that session, reached only from the application, which stays intact
        behind it; so an update keeps the old image to revert to.
        """
        self._ensure_identity()
        return self._read_mode() is not DeviceMode.RECOVERY

    def _upload_to_slot(self, slot: int, image: bytes, on_progress: ProgressCallback | None) -> None:
        """Download into ``slot`` (resuming at the device's offset), then CheckMemory."""
        if not image:
            raise ValueError("the image is empty")
        self._enter_programming()
        methods = self._compression or frozenset()
        compress = self.options.compression and ids.COMPRESSION_ZLIB in methods
        report = download(self._client, image, slot, compress=compress, on_progress=on_progress)
        self.options.reports.append(report)
        status = self._client.routine(ids.RID_CHECK_MEMORY, t("verify the uploaded image"), bytes([slot]))
        if len(status) > 1 and status[0] != 0 and status[1] == ids.REASON_DOWNGRADE:
            raise DowngradeError(
                t("The device refused the uploaded image: its security counter is below the device's."),
                hint=t("Anti-rollback protection: install a newer firmware package."),
            )
        if not status or status[0] != 0:
            raise SignatureError(
                t(
                    "The device rejected the uploaded image (hash, signature or security counter check "
                    "failed)."
                ),
                hint=t(
                    "Check that the package is signed for this device and is not older than its firmware."
                ),
            )

    def _image_routine(self, rid: int, what: str, data: bytes = b"") -> None:
        """Run an image-state routine; ``what`` is its translatable verb phrase (``t("confirm …")``)."""
        status = self._client.routine(rid, what, data)
        if not status:
            raise MalformedResponseError(t("The device gave no result when asked to {action}.", action=what))
        if status[0] == 0:
            return
        reason = status[1] if len(status) > 1 else ids.REASON_STATE
        if reason == ids.REASON_DOWNGRADE:
            raise DowngradeError(
                t(
                    "The device refused to {action}: the image is older than its security counter.",
                    action=what,
                )
            )
        if reason == ids.REASON_SIGNATURE:
            raise SignatureError(t("The device refused to {action}: the image does not verify.", action=what))
        if reason == ids.REASON_MODE:
            raise UnsupportedOperationError(t("The device cannot {action} in its current mode.", action=what))
        raise DeviceRejectedError(t("The device refused to {action} in its current state.", action=what))

    def _mark_for_test(self) -> None:
        operation = t("the test-boot request")
        if self._client.session not in (ids.SESSION_PROGRAMMING, ids.SESSION_EXTENDED):
            self._enter_service_session(operation)
        self._unlock(operation)
        self._image_routine(ids.RID_MARK_FOR_TEST, t("mark the new image for a test boot"), b"\x00")

    def _reset(self) -> None:
        try:
            self._client.ecu_reset()
        finally:
            self._client.forget_session()
            self._schema = None
            self._described = None

    def _reopen_link(self) -> None:
        """Reopen the adapter if it vanished, check the node answers, renegotiate its capabilities."""
        if self._transport.lost is not None:
            self._replace_link()
        self._client.tester_present(attempts=1)  # the reconnect loop is the retry: probe once per try
        self._client.forget_session()
        self._negotiate()

    def _replace_link(self) -> None:
        """The adapter vanished (cable pull): reopen the same channel, then a new ISO-TP stack."""
        config = self._link.config
        self._client.close()
        self._link.close()
        link = self._open_link(config)  # raises while the adapter is away: the next try comes back here
        self._retire_link_counters(self._client.link_stats())
        self._link = link
        self._transport = self._new_transport(self._link)
        previous = self._client
        self._client = UdsClient(
            self._transport, config.bitrate, previous.key_provider, previous.authenticator
        )
        self._client.certificate_auth = previous.certificate_auth
        self._client.serial_number, self._client.model = previous.serial_number, previous.model
        self._client.open()

    def _open_link(self, config: CanLinkConfig) -> CanLink:
        """The adapter again after a cable pull (a target on a shared adapter asks its owner instead)."""
        return CanLink.open(config)

    def run_self_test(self) -> DeviceSelfTest:
        self._ensure_identity()
        if self._client.session == ids.SESSION_DEFAULT:
            self._client.change_session(ids.SESSION_EXTENDED)
        status = self._client.routine(ids.RID_SELF_TEST, t("run the self-test"))
        if not status or status[0] != 0:
            raise DeviceRejectedError(t("The device could not run its self-test."))
        return codec.self_test(status[1:])

    def set_balancing(self, cell_index: int, enabled: bool) -> None:
        if not 0 <= cell_index <= 0xFFFF:
            raise ValueError(f"cell index {cell_index} is out of range")
        self._enter_service_session(t("a balancing command"))
        self._client.routine(
            ids.RID_SET_BALANCING,
            t("switch balancing of cell {cell} on", cell=cell_index)
            if enabled
            else t("switch balancing of cell {cell} off", cell=cell_index),
            struct.pack(">HB", cell_index, int(enabled)),
        )

    def confirm(self) -> None:
        self._enter_service_session(t("the confirmation of the running image"))
        self._image_routine(ids.RID_CONFIRM, t("confirm the running image"))

    def _request_rollback(self) -> None:
        self._enter_service_session(t("a rollback request"))
        self._image_routine(ids.RID_ROLLBACK, t("roll back to the previous image"))

    def _close_link(self) -> None:
        try:
            self._client.close()
        finally:
            self._link.close()


def _shown(text: str) -> str:
    """Device text fit for a sentence: as it is when printable and short, else quoted and cut."""
    if text.isprintable() and len(text) <= MAX_TEXT_CHARS["serial_number"]:
        return text
    return ascii(text[: MAX_TEXT_CHARS["serial_number"]])


def open_uds_target(
    link: LinkSettings,
    *,
    security: bytes | None = None,
    timeout_s: float = 5.0,
    options: UdsOptions | None = None,
    technician: Path | None = None,
) -> UdsTarget:
    """Open the UDS target that saved :class:`LinkSettings` describe (what ``procedure.connect`` calls).

    Args:
        link: CAN settings (interface, channel, bitrate, node; ``fd`` and ``data_bitrate`` for CAN-FD).
        security: the workshop's UDS master secret; None uses the DEMO secret for demo devices only.
        timeout_s: how long to keep trying when nothing answers at first (a device still booting),
            and how long an upload waits for a pulled adapter to return (as the serial client does).
        options: client choices (compression, CAN-FD, demo key); defaults when None.
        technician: the technician credentials folder (``NAME.crt`` + ``NAME.pem``) for devices
            that authenticate by certificate (UDS 0x29); None: the user's credentials folder,
            read only when such a device asks.

    Raises:
        LinkError: the adapter cannot be opened.
        NoResponseError / LinkTimeoutError: the node does not answer within ``timeout_s``.
    """
    provider = HmacKeyProvider(security) if security is not None else None
    authenticator = Authenticator(lambda: credentials_from(technician))
    config = CanLinkConfig.from_settings(link)
    resume = resume_within(timeout_s)
    deadline = time.monotonic() + max(timeout_s, 0.0)
    while True:
        try:
            return UdsTarget.open(
                config,
                link.node,
                key_provider=provider,
                options=options,
                addressing=link.addressing,
                tester_address=link.tester_address,
                resume=resume,
                authenticator=authenticator,
            )
        except NoResponseError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_RECONNECT_POLL_S)


__all__ = ["UdsOptions", "UdsTarget", "open_uds_target"]
