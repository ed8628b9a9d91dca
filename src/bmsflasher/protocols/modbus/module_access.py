"""The operations of the published register map, over one session: registers, files, commands.

Each is one or a few Modbus requests built with pymodbus's PDU classes (Read Holding Registers,
Write Single / Multiple Registers, Read / Write File Record) and sent by
:class:`~bmsflasher.protocols.modbus.session.ModbusSession`. A command is written, then the status
block is polled until it is no longer running (every poll bounded, the whole wait by the caller's
deadline), and a failure becomes the project's error for its code, carrying the module's sentence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Final

from pymodbus.pdu.file_message import FileRecord, ReadFileRecordRequest, WriteFileRecordRequest
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)

from bmsflasher.core.errors import (
    BmsFlasherError,
    ConfigValidationError,
    DeviceRejectedError,
    DowngradeError,
    IntegrityError,
    MalformedResponseError,
    SignatureError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import Text, t
from bmsflasher.protocols.modbus import vendor_map as vm
from bmsflasher.protocols.modbus.session import ModbusSession

MAX_WRITE_REGISTERS: Final = 123
COMMAND_POLL_S: Final = 0.05
"""The longest pause between two status polls while a command runs (an erase: seconds)."""
FIRST_POLL_S: Final = 0.002
"""The first pause: most commands (VERIFY of a small image, TEST, CONFIRM) end within milliseconds,
and a fixed 50 ms per command was a visible share of a rack's update (eight modules, three
commands each); the pause doubles up to :data:`COMMAND_POLL_S`."""
COMMAND_TIMEOUT_S: Final = 30.0
"""A command other than an erase finishes within this (a self-test, a configuration save)."""
MAX_FILE_BYTES: Final = 256 * 1024
"""Files 3–7 are small JSON documents; more than this is a device bug or a hostile peer."""


class ModuleAccess:
    """The register map's operations for one module.

    Args:
        session: the conversation with the module.
        record_registers: registers per record (the module's RecLen; 119 in the published map).
    """

    def __init__(self, session: ModbusSession, record_registers: int = vm.RECORD_REGISTERS) -> None:
        self.session = session
        self.record_registers = record_registers
        self.last_failure: vm.Status | None = None
        """The status block of the last command that failed (its error code and text)."""

    @property
    def record_bytes(self) -> int:
        return 2 * self.record_registers

    # --- registers --------------------------------------------------------------------------------
    def read(self, address: int, count: int, what: Text, *, attempts: int = 3) -> list[int]:
        """``count`` holding registers from ``address`` (function 03)."""
        answer = self.session.execute(
            ReadHoldingRegistersRequest(address=address, count=count),
            what,
            attempts=attempts,
            response_bytes=5 + 2 * count,
        )
        registers = list(answer.registers)
        if len(registers) != count:
            raise MalformedResponseError(
                t(
                    "The module answered {what} with {got} registers instead of {count}.",
                    what=what,
                    got=len(registers),
                    count=count,
                )
            )
        return registers

    def write(self, address: int, values: Sequence[int], what: Text, *, attempts: int = 3) -> None:
        """Write registers from ``address`` (function 06 for one, 10 for more)."""
        request = (
            WriteSingleRegisterRequest(address=address, registers=[values[0]])
            if len(values) == 1
            else WriteMultipleRegistersRequest(address=address, registers=list(values))
        )
        self.session.execute(request, what, attempts=attempts, response_bytes=8)

    # --- files ------------------------------------------------------------------------------------
    def read_record(self, file: int, record: int, length: int, what: Text) -> bytes:
        """``length`` bytes of ``record`` of ``file`` (function 14, one sub-request)."""
        registers = math.ceil(length / 2)
        request = ReadFileRecordRequest(
            records=[FileRecord(file_number=file, record_number=record, record_length=2 * registers)]
        )
        answer = self.session.execute(request, what, response_bytes=5 + 2 * registers)
        records = getattr(answer, "records", [])
        if len(records) != 1 or len(records[0].record_data) != 2 * registers:
            raise MalformedResponseError(
                t("The module answered {what} with a record of the wrong length.", what=what)
            )
        return bytes(records[0].record_data[:length])

    def write_record(self, file: int, record: int, data: bytes, what: Text) -> None:
        """One record of ``file`` (function 15; its answer is an echo)."""
        padded = data + b"\x00" * (len(data) % 2)
        request = WriteFileRecordRequest(
            records=[FileRecord(file_number=file, record_number=record, record_data=padded)]
        )
        self.session.execute(request, what, response_bytes=12 + len(padded))

    def directory(self) -> dict[int, int]:
        """File number → length in bytes (reading it makes the module snapshot files 3–7)."""
        registers = self.read(vm.DIRECTORY, 2 * vm.FILE_COUNT, t("the file directory read"))
        return {number: vm.u32_of(registers[2 * (number - 1) :]) for number in range(1, vm.FILE_COUNT + 1)}

    def read_file(self, file: int, what: Text) -> bytes:
        """A whole file (3–7): its length from the directory, then its records in order.

        Raises:
            UnsupportedOperationError: the module offers the file's content not in its current mode.
        """
        length = self.directory()[file]
        if length > MAX_FILE_BYTES:
            raise MalformedResponseError(
                t(
                    "The module announces {length} bytes for {what}; that is not a plausible file.",
                    length=length,
                    what=what,
                )
            )
        if length == 0:
            raise UnsupportedOperationError(t("The module offers no {what} in its current mode.", what=what))
        data = b""
        for record in range(math.ceil(length / self.record_bytes)):
            data += self.read_record(file, record, min(self.record_bytes, length - len(data)), what)
        return data

    def write_file(self, file: int, data: bytes, what: Text) -> None:
        """A whole file, record by record (function 15)."""
        for record in range(math.ceil(len(data) / self.record_bytes)):
            self.write_record(file, record, data[record * self.record_bytes :][: self.record_bytes], what)

    # --- commands and status ----------------------------------------------------------------------
    def status(self) -> vm.Status:
        return vm.status_of(self.read(vm.STATUS, vm.STATUS_REGISTERS, t("the status read")))

    def command(
        self,
        command: vm.Command,
        what: Text,
        *,
        argument: int | None = None,
        timeout_s: float = COMMAND_TIMEOUT_S,
    ) -> vm.Status:
        """Send ``command`` and wait until it has run; the module's refusal becomes our error.

        Raises:
            DeviceRejectedError / UnsupportedOperationError / SignatureError / DowngradeError /
                IntegrityError / ConfigValidationError: the module refused (its sentence attached).
            NoResponseError: the module went silent.
        """
        if argument is None:
            self.write(vm.COMMAND, [command], what)
        else:
            self.write(vm.COMMAND_ARGUMENT, [argument, command], what)
        deadline = time.monotonic() + timeout_s
        pause = FIRST_POLL_S
        while True:
            status = self.status()
            if status.last_command == command and status.state != vm.CommandState.RUNNING:
                break
            if time.monotonic() > deadline:
                raise DeviceRejectedError(
                    t("The module did not finish {what} within {seconds:g} s.", what=what, seconds=timeout_s)
                )
            time.sleep(pause)
            pause = min(2 * pause, COMMAND_POLL_S)
        if status.state == vm.CommandState.FAILED:
            self.last_failure = status
            raise refusal(status, what)
        return status


def refusal(status: vm.Status, what: Text) -> BmsFlasherError:
    """The project's error for a failed command (the status block's error code and text)."""
    reason = status.text or t("no reason given")
    sentence = t("The module refused {what}: {reason}", what=what, reason=reason)
    error = status.error
    if error == vm.Error.SIGNATURE:
        return SignatureError(
            sentence,
            hint=t("Check that the package is signed for this module with a key its bootloader trusts."),
        )
    if error == vm.Error.DOWNGRADE:
        return DowngradeError(sentence, hint=t("Anti-rollback protection: install a newer firmware package."))
    if error == vm.Error.HASH_MISMATCH:
        return IntegrityError(sentence, hint=t("The image arrived damaged; run the update again."))
    if error in (vm.Error.NOT_IN_THIS_MODE, vm.Error.NO_IMAGE):
        return UnsupportedOperationError(sentence)
    if error == vm.Error.CONFIG_REJECTED:
        return ConfigValidationError(sentence)
    return DeviceRejectedError(sentence, code=error)
