"""The tool's Modbus client: one battery module of an energy-storage rack, over RS485 or a TCP gateway.

:class:`ModbusTarget` joins the target contract by implementing the raw operations of
:class:`~bmsflasher.protocols.base.TargetBase` only (``docs/architecture.md``, "The target
contract"). Live data comes from the SunSpec chain (models 1, 802 and 805, decoded by their
published definitions), so it works with any SunSpec storage battery; identity, configuration,
trouble codes, self-test and the firmware update come from the vendor block at 0xE000
(``docs/protocols/modbus.md``). A SunSpec device without that block is still readable (identity
from model 1, live data); what needs the vendor block then says so.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, Final

from bmsflasher.core.config_schema import PARAMETER_KINDS, ConfigSchema, ParameterSpec
from bmsflasher.core.errors import (
    BmsFlasherError,
    ConfigValidationError,
    DeviceRejectedError,
    ImageFormatError,
    IntegrityError,
    LinkError,
    MalformedResponseError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import Text, t
from bmsflasher.core.target import LinkStats, ProgressCallback
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
    SelfTestCheck,
)
from bmsflasher.firmware.mcuboot import parse_image
from bmsflasher.links.serial import SerialLink
from bmsflasher.protocols.base import TargetBase, resume_within
from bmsflasher.protocols.modbus import vendor_map as vm
from bmsflasher.protocols.modbus.line_rate import LineRateOptions, LineRateOutcome, LineRateSwitcher
from bmsflasher.protocols.modbus.live_data import COMMON, identity_from_common, telemetry_from
from bmsflasher.protocols.modbus.module_access import ModuleAccess
from bmsflasher.protocols.modbus.session import ModbusSession, character_bits
from bmsflasher.protocols.modbus.sunspec import (
    DecodedModel,
    ModelLocation,
    decode_model,
    find_chain,
    model_definition,
    read_model,
)
from bmsflasher.protocols.modbus.transfer import ImageTransfer, TransferReport

TCP_NOMINAL_BAUD: Final = 115_200
"""A socket has no baud rate; the link needs one, and Modbus TCP timeouts do not use it."""
LIVE_MODELS: Final = (1, 802, 805)
KEY_HASH_BYTES: Final = 32
PROBE_ATTEMPTS: Final = 3
RECONNECT_ATTEMPTS: Final = 2


def open_link(link: LinkSettings, *, exclusive: bool = True) -> SerialLink:
    """The port (RTU, at the module's line settings) or the gateway's socket (TCP) of ``link``."""
    if link.tcp:
        return SerialLink.open(f"socket://{link.tcp}", TCP_NOMINAL_BAUD, exclusive=False)
    return SerialLink.open(
        link.port, link.baud, exclusive=exclusive, parity=link.parity, stopbits=link.stopbits
    )


class ModbusTarget(TargetBase):
    """One battery module reached with Modbus RTU or Modbus TCP. Create with :meth:`connect`.

    Args:
        port: the open link.
        settings: how the module is reached (kept to reopen it and to name it in messages).
        reconnect_timeout_s: the default resume policy's reconnect wait (0: no automatic resume).
        exclusive: open local ports exclusively (two programs never share an RS485 adapter).
        line_rate: switch this one module to a faster line rate for the image transfer (the
            single-module update over RTU only; None: never switch — a rack, a broadcast, TCP).
    """

    def __init__(
        self,
        port: SerialLink,
        settings: LinkSettings,
        *,
        reconnect_timeout_s: float = 10.0,
        exclusive: bool = True,
        line_rate: LineRateOptions | None = None,
    ) -> None:
        super().__init__(resume=resume_within(reconnect_timeout_s))
        self._settings = settings
        self._exclusive = exclusive
        session = ModbusSession(
            port,
            address=settings.address,
            tcp=bool(settings.tcp),
            char_bits=character_bits(settings.parity, settings.stopbits),
            where=_where(settings),
        )
        self._access = ModuleAccess(session)
        self._vendor: bool | None = None
        self._chain: tuple[ModelLocation, ...] | None = None
        self._mode: DeviceMode | None = None
        self.use_file_records = False
        self.last_transfer: TransferReport | None = None
        self._line_rate = None if settings.tcp else line_rate
        self.last_line_rate: LineRateOutcome | None = None

    @classmethod
    def connect(
        cls,
        link: LinkSettings,
        *,
        reconnect_timeout_s: float = 10.0,
        exclusive: bool = True,
        line_rate: LineRateOptions | None = None,
    ) -> ModbusTarget:
        """Open the link and check that the module answers at its address.

        Raises:
            PortNotFoundError / PortBusyError / PortPermissionError: the port cannot be opened.
            NoResponseError: nothing answers at this address with these line settings.
            UnsupportedOperationError: a Modbus device answers but publishes neither map.
        """
        port = open_link(link, exclusive=exclusive)
        target = cls(
            port, link, reconnect_timeout_s=reconnect_timeout_s, exclusive=exclusive, line_rate=line_rate
        )
        try:
            target._probe(PROBE_ATTEMPTS)
        except BaseException:
            target.close()
            raise
        return target

    # --- identity and link --------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        return "modbus"

    @property
    def link(self) -> LinkSettings:
        return self._settings

    @property
    def session(self) -> ModbusSession:
        """The underlying session (diagnostics and benchmarks)."""
        return self._access.session

    @property
    def access(self) -> ModuleAccess:
        """The register-map operations (a rack's broadcast arms and repairs modules through them)."""
        return self._access

    def _probe(self, attempts: int) -> None:
        """One answer proves the module is there: the vendor marker, else the SunSpec chain."""
        try:
            marker = self._access.read(vm.IDENTITY, 2, t("the identity read"), attempts=attempts)
        except UnsupportedOperationError:
            self._vendor = False
        else:
            self._vendor = vm.has_marker(marker)
        if not self._vendor:
            self._sunspec_chain()

    def _has_vendor_block(self) -> bool:
        if self._vendor is None:
            self._probe(PROBE_ATTEMPTS)
        return bool(self._vendor)

    def _require_vendor_block(self, what: Text) -> None:
        if not self._has_vendor_block():
            raise UnsupportedOperationError(
                t(
                    "The device publishes SunSpec live data but no vendor update block at 0xE000: "
                    "{what} is not available.",
                    what=what,
                )
            )

    def _read_identity(self) -> DeviceIdentity:
        if not self._has_vendor_block():
            common = self._models((COMMON,)).get(COMMON)
            if common is None:
                raise UnsupportedOperationError(t("The device publishes no SunSpec common model (1)."))
            self._mode = DeviceMode.APPLICATION
            return identity_from_common(common)
        registers = self._access.read(vm.IDENTITY, vm.IDENTITY_REGISTERS, t("the identity read"))
        module = vm.identity_of(registers)
        if not 1 <= module.record_registers <= vm.RECORD_REGISTERS + 3:
            raise MalformedResponseError(
                t("The module reports records of {count} registers.", count=module.record_registers)
            )
        self._access.record_registers = module.record_registers
        self._mode = module.identity.mode
        return module.identity

    def _mode_now(self) -> DeviceMode:
        if self._mode is None:
            self.identify()
        assert self._mode is not None
        return self._mode

    def ping(self) -> float:
        """One register read that changes nothing; the answered try's round trip."""
        if self._has_vendor_block():
            self._access.read(vm.IDENTITY, 2, t("the ping"))
        else:
            self._access.read(self._sunspec_chain()[0].address, 2, t("the ping"))
        return self._access.session.counters.last_round_trip_s

    def _link_counters(self) -> LinkStats:
        return self._access.session.stats()

    def _close_link(self) -> None:
        self._hand_back_line_rate()
        self._access.session.link.close()

    # --- live data (SunSpec) ------------------------------------------------------------------------
    def _sunspec_chain(self) -> tuple[ModelLocation, ...]:
        if self._chain is None:
            self._chain = find_chain(self._read)
        return self._chain

    def _read(self, address: int, count: int) -> list[int]:
        return self._access.read(address, count, t("the SunSpec registers"))

    def _models(self, wanted: tuple[int, ...]) -> dict[int, DecodedModel]:
        models: dict[int, DecodedModel] = {}
        try:
            for location in self._sunspec_chain():
                definition = model_definition(location.model_id)
                if location.model_id in wanted and definition is not None and location.model_id not in models:
                    registers = read_model(self._read, location)
                    models[location.model_id] = decode_model(definition, registers)
        except BmsFlasherError:
            self._chain = None  # the module may have rebooted into its bootloader: find it again
            raise
        return models

    def read_telemetry(self) -> PackTelemetry:
        models = self._models(LIVE_MODELS)
        vendor = self._has_vendor_block()
        return telemetry_from(models, sensors_c=self._sensors() if vendor else None, vendor_events=vendor)

    def _sensors(self) -> tuple[float | None, ...]:
        registers = self._access.read(vm.SENSORS, 1 + vm.MAX_SENSORS, t("the temperature sensors"))
        count = min(registers[0], vm.MAX_SENSORS)
        return tuple(
            None if raw == vm.NO_TEMPERATURE else (raw - 0x10000 if raw & 0x8000 else raw) / 100.0
            for raw in registers[1 : 1 + count]
        )

    # --- configuration, trouble codes, self-test (vendor files) -------------------------------------
    def _json_file(self, file: vm.File, what: Text) -> Any:
        self._require_vendor_block(what)
        data = self._access.read_file(file, what)
        try:
            return json.loads(data.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedResponseError(
                t("The module's answer to {what} is not valid JSON.", what=what)
            ) from exc

    def read_config(self) -> ConfigSnapshot:
        body = self._json_file(vm.File.CONFIG, t("the configuration"))
        version, parameters = (
            (body.get("schema_version"), body.get("parameters")) if isinstance(body, dict) else (None, None)
        )
        if not isinstance(version, int) or not isinstance(parameters, dict):
            raise MalformedResponseError(
                t("The module's configuration file has no schema version or values.")
            )
        values: dict[str, ParameterValue] = {}
        for name, value in parameters.items():
            if not isinstance(value, int | float | str | bool):
                raise MalformedResponseError(
                    t("The module's parameter {name} has no usable value.", name=name)
                )
            values[str(name)] = value
        return ConfigSnapshot(schema_version=version, parameters=values)

    def _read_config_schema(self) -> ConfigSchema:
        """File 4's entries (the SMP BMS group's shape) as the protocol-neutral schema."""
        body = self._json_file(vm.File.SCHEMA, t("the configuration schema"))
        params = body.get("params") if isinstance(body, dict) else None
        version = body.get("schema_version") if isinstance(body, dict) else None
        if not isinstance(version, int) or not isinstance(params, list):
            raise MalformedResponseError(t("The module's configuration schema is malformed."))
        return ConfigSchema.of(version, (_parameter_spec(entry) for entry in params))

    def _write_parameters(self, changes: Mapping[str, ParameterValue]) -> None:
        """The changed values as one JSON object (file 3), applied and saved by one command."""
        try:
            data = json.dumps(dict(changes), separators=(",", ":"), allow_nan=False).encode()
        except ValueError as exc:
            raise ConfigValidationError(t("A value to write is not a finite number.")) from exc
        what = t("the configuration write")
        self._access.write_file(vm.File.CONFIG, data, what)
        try:
            self._access.command(vm.Command.APPLY_CONFIG, what, argument=len(data))
        except ConfigValidationError as exc:
            failure = self._access.last_failure
            name = failure.text if failure is not None else ""
            if name not in changes:
                raise
            raise ConfigValidationError(
                t("The device rejected {value} for parameter {name}.", value=repr(changes[name]), name=name)
            ) from exc

    def read_dtcs(self) -> list[Dtc]:
        body = self._json_file(vm.File.DTCS, t("the trouble codes"))
        if not isinstance(body, list):
            raise MalformedResponseError(t("The module's trouble codes are not a list."))
        try:
            return [
                Dtc(int(d["code"]), int(d["status"]), DtcSeverity(d["severity"]), str(d["description"]))
                for d in body
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponseError(t("The module's trouble codes are malformed.")) from exc

    def clear_dtcs(self) -> None:
        self._require_vendor_block(t("the trouble-code clear"))
        self._access.command(vm.Command.CLEAR_DTCS, t("the trouble-code clear"))

    def run_self_test(self) -> DeviceSelfTest:
        self._require_vendor_block(t("the self-test"))
        self._access.command(vm.Command.SELF_TEST, t("the self-test"))
        body = self._json_file(vm.File.SELF_TEST, t("the self-test result"))
        try:
            checks = tuple(
                SelfTestCheck(
                    str(c["name"]),
                    bool(c["passed"]),
                    str(c["measured"]),
                    str(c["limit"]),
                    str(c.get("detail", "")),
                )
                for c in body["checks"]
            )
        except (KeyError, TypeError) as exc:
            raise MalformedResponseError(t("The module's self-test result is malformed.")) from exc
        return DeviceSelfTest(checks)

    def set_balancing(self, cell_index: int, enabled: bool) -> None:
        self._require_vendor_block(t("the balancing command"))
        if not 0 <= cell_index < vm.BALANCE_ON:
            raise ConfigValidationError(t("Cell {cell} does not exist.", cell=cell_index))
        argument = cell_index | (vm.BALANCE_ON if enabled else 0)
        self._access.command(vm.Command.BALANCE, t("the balancing command"), argument=argument)

    def _read_trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        if not self._has_vendor_block():
            return None
        try:
            data = self._access.read_file(vm.File.TRUSTED_KEYS, t("trusted key hashes"))
        except (UnsupportedOperationError, DeviceRejectedError):
            return None
        if len(data) % KEY_HASH_BYTES:
            raise MalformedResponseError(t("The module's trusted key file is not a list of 32-byte hashes."))
        return tuple(data[i : i + KEY_HASH_BYTES] for i in range(0, len(data), KEY_HASH_BYTES))

    # --- the update ---------------------------------------------------------------------------------
    def _update_beside_application(self) -> bool:
        """The module's bootloader writes either slot; only recovery (nothing bootable) takes the primary."""
        self._require_vendor_block(t("the firmware update"))
        return self._mode_now() is not DeviceMode.RECOVERY

    def _upload_to_slot(self, slot: int, image: bytes, on_progress: ProgressCallback | None) -> None:
        self._require_vendor_block(t("the firmware update"))
        try:
            declared = parse_image(image).declared_sha256
        except ImageFormatError:
            raise
        except (ValueError, IndexError) as exc:
            raise ImageFormatError(t("The file to upload is not an MCUboot image.")) from exc
        if self._vendor and self._mode is None:
            self.identify()
        transfer = ImageTransfer(self._access, use_file_records=self.use_file_records)
        self._switch_line_rate()
        try:
            self.last_transfer = transfer.run(slot, image, on_progress)
        finally:
            self._hand_back_line_rate()
        held = next((s for s in self.identify().slots if s.slot == slot), None)
        if held is not None and held.image_hash and held.image_hash != declared:
            raise IntegrityError(
                t(
                    "After the upload slot {slot} holds image hash {held}..., not the uploaded "
                    "image's {declared}...",
                    slot=slot,
                    held=held.image_hash.hex()[:16],
                    declared=declared.hex()[:16],
                ),
                hint=t("The module may have rejected the image; upload it again."),
            )

    def _switch_line_rate(self) -> None:
        """A faster rate for the transfer, with this one module (docs/protocols/modbus.md, *Line rate*).

        Only when the target was opened for one module (``line_rate`` given, RTU) and the module
        offered the block the last time; never raises for a rate that fails (it falls back).
        """
        options = self._line_rate
        if options is None or self._access.session.link.baud != self._settings.baud:
            return
        outcome = LineRateSwitcher(self._access, options).negotiate()
        self.last_line_rate = outcome
        if not outcome.supported:
            self._line_rate = None  # an older firmware: do not ask again

    def _hand_back_line_rate(self) -> None:
        """Return the module (and the port) to the bus rate, so the bus is one rate again."""
        link = self._access.session.link
        if self._line_rate is None or not link.is_open or link.baud == self._settings.baud:
            return
        with contextlib.suppress(BmsFlasherError):
            LineRateSwitcher(self._access, self._line_rate).switch_back(self._settings.baud)

    def _mark_for_test(self) -> None:
        self._require_vendor_block(t("the test-boot request"))
        self._access.command(vm.Command.TEST, t("the test-boot request"))

    def confirm(self) -> None:
        self._require_vendor_block(t("the image confirm"))
        self._access.command(vm.Command.CONFIRM, t("the image confirm"))

    def _request_rollback(self) -> None:
        self._require_vendor_block(t("the rollback request"))
        self._access.command(vm.Command.ROLLBACK, t("the rollback request"))

    def _reset(self) -> None:
        """Ask for the reboot (answered, then done 200 ms later); forget what it invalidates."""
        self._require_vendor_block(t("the reset"))
        try:
            self._access.write(vm.COMMAND, [vm.Command.RESET], t("the reset"), attempts=1)
        finally:
            self._forget()

    def _reopen_link(self) -> None:
        """Ask the module again on the port still open; reopen the port or socket only if it went away.

        A module's reboot leaves the RS485 adapter (or the gateway's socket) where it was, so the
        link is kept; a pulled adapter fails the first request with a link error, and is reopened.
        """
        session = self._access.session
        self._forget()
        if session.link.is_open:
            try:
                self._probe(RECONNECT_ATTEMPTS)
            except LinkError:
                pass  # the port went away: reopen it below
            else:
                return
        session.link.close()
        port = open_link(self._settings, exclusive=self._exclusive)
        session.replace_link(port)
        self._forget()
        try:
            self._probe(RECONNECT_ATTEMPTS)
        except BaseException:
            port.close()
            raise

    def _forget(self) -> None:
        self._vendor = None
        self._chain = None
        self._mode = None


def _parameter_spec(entry: object) -> ParameterSpec:
    """One schema entry ``{name, type, unit, min?, max?, writable, description, choices?}``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise MalformedResponseError(t("The module's configuration schema has an entry without a name."))
    name = entry["name"]
    kind = PARAMETER_KINDS.get(str(entry.get("type")))
    if kind is None:
        raise MalformedResponseError(
            t(
                "The module's configuration schema gives the parameter {name} the unknown type {kind}.",
                name=name,
                kind=ascii(entry.get("type")),
            )
        )
    unit, description, choices = entry.get("unit", ""), entry.get("description", ""), entry.get("choices", ())
    return ParameterSpec(
        name=name,
        kind=kind,
        unit=unit if isinstance(unit, str) else "",
        minimum=_bound(entry.get("min")),
        maximum=_bound(entry.get("max")),
        choices=tuple(choices) if isinstance(choices, list) else (),
        writable=entry.get("writable") is not False,
        description=description if isinstance(description, str) else "",
    )


def _bound(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _where(link: LinkSettings) -> str:
    """The line as the technician named it, for messages."""
    if link.tcp:
        return f"Modbus TCP {link.tcp}"
    return f"{link.port} @ {link.baud} baud 8{link.parity}{link.stopbits}"
