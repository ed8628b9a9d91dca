"""The vendor block at 0xE000: identity and slots, image parameters, commands, status, files, sensors.

Everything ``docs/protocols/modbus.md`` lists under "The vendor block", served from one
:class:`~bmsflasher.sim.device.virtual_bms.VirtualBms`. Commands run on the module's worker
(:mod:`~bmsflasher.sim.modbus.commands`); the image arrives as records
(:mod:`~bmsflasher.sim.modbus.records`); files 3–7 come from :mod:`~bmsflasher.sim.modbus.device_files`.
Register reads and writes raise :class:`~bmsflasher.sim.modbus.pdu.ModbusException` for anything the
map does not have; device refusals of a command end up in the status block instead.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Final

from bmsflasher.core.types import DeviceMode, DeviceSelfTest, ParameterValue, SelfTestCheck
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import (
    SimDowngradeError,
    SimImageRejectedError,
    SimModeError,
    SimParameterError,
    SimStateError,
    SimUploadError,
)
from bmsflasher.sim.modbus import device_files
from bmsflasher.sim.modbus.commands import CommandFailed, CommandWorker, Status
from bmsflasher.sim.modbus.pdu import ExceptionCode, ModbusException
from bmsflasher.sim.modbus.records import MAX_RECORDS, ImageRecords
from bmsflasher.sim.modbus.vendor_map import (
    BALANCE_ON,
    CAPABILITIES,
    COMMAND,
    COMMAND_ARGUMENT,
    DIRECTORY,
    FILE_COUNT,
    IDENTITY,
    IDENTITY_REGISTERS,
    MAP_VERSION,
    MARKER,
    MAX_SENSORS,
    NO_TEMPERATURE,
    PARAMETER_REGISTERS,
    PARAMETERS,
    RECORD_BYTES,
    RECORD_REGISTERS,
    SENSORS,
    SLOTS_OFFSET,
    STATUS,
    STATUS_REGISTERS,
    WINDOW,
    WINDOW_REGISTERS,
    Command,
    CommandState,
    Error,
    File,
    Mode,
    UploadState,
    slot_registers,
    text_registers,
    u32_registers,
    version_registers,
)

RESET_DELAY_S: Final = 0.2
"""The module reboots this long after answering RESET, so the answer leaves the wire first."""
MAX_CONFIG_RECORDS: Final = 16
_MODES: Final = {
    DeviceMode.APPLICATION: Mode.APPLICATION,
    DeviceMode.BOOTLOADER: Mode.BOOTLOADER,
    DeviceMode.RECOVERY: Mode.RECOVERY,
}


def _address_error() -> ModbusException:
    return ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)


class UpdateBlock:
    """The vendor block of one module.

    Args:
        device: the virtual BMS.
        lock: the module's lock (the worker thread and the bus share this state).
    """

    def __init__(self, device: VirtualBms, lock: threading.RLock) -> None:
        self._device = device
        self._lock = lock
        self._status = Status()
        self._worker = CommandWorker(self._status, lock)
        self._parameters = [0] * PARAMETER_REGISTERS
        self._argument = 0
        self._records: ImageRecords | None = None
        self._snapshot: dict[File, bytes] | None = None
        self._last_self_test = b""
        self._config_buffer = bytearray()
        self.rebooting = False
        self.broken_balancing_on: str | None = None
        """Fault: under this firmware version the module's bleed circuit fails its self-test check."""

    # --- state ------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A command is running: only the status block is answered."""
        return self._worker.running

    def forget(self) -> None:
        """The device rebooted or lost power: everything in the module's RAM is gone."""
        with self._lock:
            self._records = None
            self._snapshot = None
            self._parameters = [0] * PARAMETER_REGISTERS
            self._argument = 0
            self._last_self_test = b""
            self._config_buffer = bytearray()
            self._status.last_command = 0
            self._status.state = CommandState.DONE
            self._status.error = Error.NONE
            self._status.text = ""

    def close(self) -> None:
        self._worker.stop()

    @staticmethod
    def is_status_read(address: int, count: int) -> bool:
        """True when a read lies within the status block (answered even while busy)."""
        return address >= STATUS and address + count <= STATUS + STATUS_REGISTERS

    # --- registers --------------------------------------------------------------------------------
    def read(self, address: int, count: int) -> list[int]:
        """``count`` registers from ``address``, which must lie within one block."""
        for start, length, reader in self._readable():
            if start <= address and address + count <= start + length:
                return reader()[address - start : address - start + count]
        raise _address_error()

    def _readable(self) -> tuple[tuple[int, int, Callable[[], list[int]]], ...]:
        return (
            (IDENTITY, IDENTITY_REGISTERS, self._identity),
            (PARAMETERS, PARAMETER_REGISTERS, lambda: list(self._parameters)),
            (COMMAND_ARGUMENT, 2, lambda: [self._argument, self._status.last_command]),
            (STATUS, STATUS_REGISTERS, self._status_registers),
            (DIRECTORY, 2 * FILE_COUNT, self._directory),
            (SENSORS, 1 + MAX_SENSORS, self._sensors),
        )

    def _identity(self) -> list[int]:
        identity = self._device.identity()
        slots = {slot.slot: slot for slot in identity.slots}
        registers = [
            *text_registers(MARKER, 2),
            MAP_VERSION,
            _MODES[identity.mode],
            *text_registers(identity.model, 16),
            *text_registers(identity.serial_number, 16),
            *text_registers(identity.hardware_revision, 8),
            *version_registers(identity.firmware_version),
            *version_registers(identity.bootloader_version),
            *u32_registers(identity.security_counter),
            RECORD_REGISTERS,
            CAPABILITIES,
        ]
        registers += [0] * (SLOTS_OFFSET - len(registers))
        return registers + slot_registers(slots.get(0)) + slot_registers(slots.get(1))

    def _status_registers(self) -> list[int]:
        with self._lock:
            records = self._records
            if records is None:
                return self._status.registers(UploadState.NONE, 0, 0, 0)
            state = UploadState.COMPLETE if records.complete else UploadState.RECEIVING
            held = records.total - len(records.missing())
            return self._status.registers(state, records.total, held, records.flushed)

    def _directory(self) -> list[int]:
        with self._lock:
            self._snapshot = device_files.snapshot(self._device, self._last_self_test)
            lengths = {number: len(content) for number, content in self._snapshot.items()}
            records = self._records
            lengths[File.IMAGE] = records.size if records else 0
            lengths[File.MISSING] = len(records.missing_bitmap()) if records else 0
        return [register for number in File for register in u32_registers(lengths[number])]

    def _sensors(self) -> list[int]:
        try:
            temperatures = self._device.telemetry().temperatures_c[:MAX_SENSORS]
        except SimModeError as exc:  # no application, no measurement
            raise _address_error() from exc
        values = [NO_TEMPERATURE if t is None else round(t * 100) & 0xFFFF for t in temperatures]
        return [len(temperatures), *values, *[NO_TEMPERATURE] * (MAX_SENSORS - len(values))]

    def write(self, address: int, values: list[int]) -> None:
        """Write ``values`` from ``address``: image parameters, the command, or a record (the window)."""
        end = address + len(values)
        if address >= PARAMETERS and end <= PARAMETERS + PARAMETER_REGISTERS:
            with self._lock:
                self._parameters[address - PARAMETERS : end - PARAMETERS] = values
            return
        if address >= COMMAND_ARGUMENT and end <= COMMAND + 1:
            words = dict(zip(range(address, end), values, strict=True))
            if COMMAND_ARGUMENT in words:
                self._argument = words[COMMAND_ARGUMENT]
            if COMMAND in words:
                self._command(words[COMMAND])
            return
        if address == WINDOW and 1 < len(values) <= WINDOW_REGISTERS:
            record = values[0]
            self.write_record(File.IMAGE, record, b"".join(v.to_bytes(2, "big") for v in values[1:]))
            return
        raise _address_error()

    # --- files ------------------------------------------------------------------------------------
    def read_record(self, file: int, record: int, registers: int) -> bytes:
        """The data of one record (its length in registers must be the record's)."""
        with self._lock:
            data = self._record_data(file, record)
        if registers != math.ceil(len(data) / 2):
            raise ModbusException(ExceptionCode.ILLEGAL_DATA_VALUE)
        return data + b"\x00" * (len(data) % 2)

    def _record_data(self, file: int, record: int) -> bytes:
        records = self._records
        if file == File.IMAGE:
            held = records.read_back(record) if records is not None and record < records.total else None
            if held is None:
                raise _address_error()
            return held
        if file == File.MISSING:
            content = records.missing_bitmap() if records is not None else b""
        elif file in (File.CONFIG, File.SCHEMA, File.DTCS, File.SELF_TEST, File.TRUSTED_KEYS):
            if self._snapshot is None:
                self._snapshot = device_files.snapshot(self._device, self._last_self_test)
            content = self._snapshot[File(file)]
        else:
            raise _address_error()
        start = record * RECORD_BYTES
        if start >= len(content):
            raise _address_error()
        return content[start : start + RECORD_BYTES]

    def write_record(self, file: int, record: int, data: bytes) -> None:
        """Take one record of the image (file 1) or of the configuration write buffer (file 3)."""
        if file == File.CONFIG:
            if record >= MAX_CONFIG_RECORDS or len(data) > RECORD_BYTES:
                raise _address_error()
            with self._lock:
                start = record * RECORD_BYTES
                buffer = self._config_buffer
                buffer.extend(b"\x00" * max(0, start + len(data) - len(buffer)))
                buffer[start : start + len(data)] = data
            return
        if file != File.IMAGE:
            raise _address_error()
        with self._lock:
            records = self._records
            if records is None:
                self._status.fail(
                    Error.STATE, "no upload is prepared: write the image parameters, then PREPARE"
                )
                raise ModbusException(ExceptionCode.SERVER_DEVICE_FAILURE)
            if record >= min(records.total, MAX_RECORDS):
                raise _address_error()
            expected = records.record_bytes(record)
            if len(data) != expected + expected % 2:
                raise ModbusException(ExceptionCode.ILLEGAL_DATA_VALUE)
            try:
                records.put(record, data[:expected])
            except SimUploadError as exc:
                self._records = None
                self._status.fail(Error.HASH_MISMATCH, str(exc))
                raise ModbusException(ExceptionCode.SERVER_DEVICE_FAILURE) from exc

    # --- commands ---------------------------------------------------------------------------------
    def _command(self, code: int) -> None:
        try:
            command = Command(code)
        except ValueError:
            raise ModbusException(ExceptionCode.ILLEGAL_DATA_VALUE) from None
        argument = self._argument
        actions: dict[Command, Callable[[], bool]] = {
            Command.PREPARE: self._prepare,
            Command.VERIFY: self._verify,
            Command.TEST: lambda: self._device_call(lambda: self._device.mark_pending(permanent=False)),
            Command.CONFIRM: lambda: self._device_call(self._device.confirm),
            Command.ROLLBACK: lambda: self._device_call(self._device.rollback),
            Command.RESET: self._reset,
            Command.SELF_TEST: self._self_test,
            Command.ABORT: self._abort,
            Command.CLEAR_DTCS: lambda: self._device_call(self._device.clear_dtcs),
            Command.APPLY_CONFIG: lambda: self._apply_config(argument),
            Command.BALANCE: lambda: self._balance(argument),
        }
        with self._lock:
            self._snapshot = None
        self._worker.submit(command, actions[command])

    def _prepare(self) -> bool:
        with self._lock:
            words = list(self._parameters)
        size = (words[0] << 16) | words[1]
        sha = b"".join(w.to_bytes(2, "big") for w in words[2:18])
        slot = words[18]
        if size == 0 or slot not in (0, 1):
            raise CommandFailed(Error.BAD_PARAMETERS, f"image size {size} or slot {slot} is not usable")
        if math.ceil(size / RECORD_BYTES) > MAX_RECORDS:
            raise CommandFailed(
                Error.BAD_PARAMETERS, f"an image of {size} bytes needs more than 10000 records"
            )
        try:
            held = self._device.upload_begin(size, sha, slot)
        except (SimStateError, SimModeError) as exc:
            raise CommandFailed(Error.SLOT_IN_USE, str(exc)) from exc
        except SimUploadError as exc:
            raise CommandFailed(Error.BAD_PARAMETERS, str(exc)) from exc
        with self._lock:
            records = self._records
            if records is not None and records.same_upload(slot, size, sha) and records.flushed == held:
                return True  # the same upload again: keep what waits in RAM
            self._records = ImageRecords(self._device, slot, size, sha, held)
        return True

    def _verify(self) -> bool:
        with self._lock:
            records = self._records
        if records is None or not records.complete:
            raise CommandFailed(Error.INCOMPLETE, "the image is not complete: send the missing records first")
        problem = self._device.image_problem(records.slot)
        if problem is None:
            return True
        if "anti-rollback" in problem:
            raise CommandFailed(Error.DOWNGRADE, problem)
        raise CommandFailed(Error.SIGNATURE, problem)

    def _device_call(self, call: Callable[[], None]) -> bool:
        """A device request whose refusals map onto the status block's codes."""
        try:
            call()
        except SimDowngradeError as exc:
            raise CommandFailed(Error.DOWNGRADE, str(exc)) from exc
        except SimImageRejectedError as exc:
            error = Error.NO_IMAGE if "holds no image" in str(exc) else Error.SIGNATURE
            raise CommandFailed(error, str(exc)) from exc
        except SimModeError as exc:
            raise CommandFailed(Error.NOT_IN_THIS_MODE, str(exc)) from exc
        except SimParameterError as exc:
            raise CommandFailed(Error.BAD_PARAMETERS, str(exc)) from exc
        except SimStateError as exc:
            raise CommandFailed(Error.STATE, str(exc)) from exc
        return True

    def _reset(self) -> bool:
        time.sleep(RESET_DELAY_S)
        self.rebooting = True
        try:
            self._device.reset()
        finally:
            self.rebooting = False
        return False  # the reboot cleared the status (forget)

    def _self_test(self) -> bool:
        try:
            result = self._device.self_test()
            running = self._device.identity().firmware_version
        except SimModeError as exc:
            raise CommandFailed(Error.NOT_IN_THIS_MODE, str(exc)) from exc
        if self.broken_balancing_on is not None and str(running) == self.broken_balancing_on:
            result = DeviceSelfTest(tuple(_broken_balancing(check) for check in result.checks))
        with self._lock:
            self._last_self_test = device_files.self_test(result)
        return True

    def _abort(self) -> bool:
        with self._lock:
            self._records = None
        return True

    def _apply_config(self, length: int) -> bool:
        with self._lock:
            text = bytes(self._config_buffer[:length])
            self._config_buffer = bytearray()
        try:
            values = json.loads(text.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise CommandFailed(Error.BAD_PARAMETERS, "the configuration written is not JSON") from exc
        if not isinstance(values, dict) or not all(_is_parameter_value(v) for v in values.values()):
            raise CommandFailed(Error.BAD_PARAMETERS, "the configuration written is not an object of values")
        changes: dict[str, ParameterValue] = values
        try:
            self._device.set_parameters(changes)
            self._device.save_config()
        except SimParameterError as exc:  # the text is the parameter's name: the tool words it
            raise CommandFailed(Error.CONFIG_REJECTED, exc.parameter) from exc
        except SimModeError as exc:
            raise CommandFailed(Error.NOT_IN_THIS_MODE, str(exc)) from exc
        return True

    def _balance(self, argument: int) -> bool:
        cell, on = argument & ~BALANCE_ON & 0xFFFF, bool(argument & BALANCE_ON)
        return self._device_call(lambda: self._device.set_balancing(cell, on))


def _broken_balancing(check: SelfTestCheck) -> SelfTestCheck:
    """The balancing check as a module with an open bleed resistor reports it."""
    if check.name != "balancing_circuit":
        return check
    return dataclasses.replace(check, passed=False, measured="bleed current absent")


def _is_parameter_value(value: object) -> bool:
    return isinstance(value, int | float | str | bool)
