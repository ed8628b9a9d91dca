"""One virtual battery module's Modbus application layer: the seam the bus and the TCP gateway call.

The wire (:mod:`bmsflasher.sim.wire`) does the framing, the timing and the addressing; it hands
:meth:`ModbusModule.handle` a request PDU (function code and data, no unit id, no CRC) and sends
back whatever PDU it returns (``docs/protocols/modbus.md``). Exceptions are answered as Modbus
exception PDUs, never raised; a module without power, or rebooting, answers nothing; a broadcast
(unit 0) executes writes and answers nothing.
"""

from __future__ import annotations

import threading

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimModeError, SimPoweredOffError
from bmsflasher.sim.modbus import pdu
from bmsflasher.sim.modbus.line_rate import LineRate
from bmsflasher.sim.modbus.pdu import ExceptionCode, ModbusException
from bmsflasher.sim.modbus.sunspec_image import BASE_ADDRESS, SunSpecImage
from bmsflasher.sim.modbus.update_block import UpdateBlock

MIN_ADDRESS = 1
MAX_ADDRESS = 247
ALARM_RESET = 1


class ModbusModule:
    """One virtual battery module's Modbus application layer (no framing, no timing).

    Args:
        device: the virtual BMS behind it.
        address: its unit address on the bus, 1..247.
    """

    def __init__(self, device: VirtualBms, address: int) -> None:
        if not MIN_ADDRESS <= address <= MAX_ADDRESS:
            raise ValueError(f"a Modbus unit address is 1..247, not {address}")
        self.address = address
        self._device = device
        self._lock = threading.RLock()
        self._sunspec = SunSpecImage(device, address)
        self._vendor = UpdateBlock(device, self._lock)
        self._late_s = 0.0
        self._deaf_every = 0
        self._broadcasts_heard = 0
        self.missed_broadcasts = 0
        """Broadcast writes this module did not hear (the fault :meth:`miss_broadcasts`)."""
        self.line_rate: LineRate | None = None
        """The vendor line-rate block (None: a firmware without it, or a module not on a serial line)."""
        device.add_reset_listener(self._vendor.forget)
        device.add_reset_listener(self._line_reset)

    @property
    def device(self) -> VirtualBms:
        return self._device

    def late_by_s(self) -> float:
        """Extra delay this module adds before its answers (the fault "a module that answers late")."""
        return self._late_s

    def answer_late(self, seconds: float) -> None:
        """Make this module answer ``seconds`` late (0 restores it)."""
        self._late_s = max(0.0, seconds)

    def miss_broadcasts(self, every: int) -> None:
        """Miss every ``every``-th broadcast write (0: hear them all).

        A module at the far end of a long daisy chain, or one busy writing flash, loses frames it
        would have to answer to be noticed; broadcasts are never answered, so the host learns it
        only from the module's missing-records report.
        """
        self._deaf_every = max(0, every)
        self._broadcasts_heard = 0

    def configure_line(self, baud: int) -> None:
        """The module sits on a serial line configured at ``baud``: it offers the line-rate switch."""
        self.line_rate = LineRate(baud)

    def without_line_rate(self) -> None:
        """An older firmware: the line-rate block's registers answer exception 02."""
        self.line_rate = None

    def line_baud(self, now: float) -> int | None:
        """The rate this module's UART runs at ``now`` (None: the bus's configured rate, always)."""
        rate = self.line_rate
        return None if rate is None else rate.baud(now)

    def answer_left(self, end_s: float) -> None:
        """The bus put this module's answer on the line; it ends at ``end_s`` (a switch waits for it)."""
        rate = self.line_rate
        if rate is not None:
            rate.answer_left(end_s)

    def _line_reset(self) -> None:
        rate = self.line_rate
        if rate is not None:
            rate.reset()

    def fail_self_test_under(self, version: str | None) -> None:
        """Make the self-test's balancing check fail while firmware ``version`` runs (None: healthy)."""
        self._vendor.broken_balancing_on = version

    def close(self) -> None:
        """Stop the command worker and stop listening to the device's resets."""
        self._device.remove_reset_listener(self._vendor.forget)
        self._device.remove_reset_listener(self._line_reset)
        self._vendor.close()

    def handle(self, request: bytes, *, broadcast: bool) -> bytes | None:
        """A request PDU (function code + data, no unit id, no CRC) -> the response PDU, or None.

        broadcast=True (unit id 0): execute write functions, never answer (return None).
        Exceptions are answered as Modbus exception PDUs (function | 0x80, code); never raised.
        """
        if not request or not self._device.powered or self._vendor.rebooting:
            return None
        function = request[0]
        if broadcast and function not in pdu.WRITE_FUNCTIONS:
            return None
        if broadcast and self._deaf_every:
            self._broadcasts_heard += 1
            if self._broadcasts_heard % self._deaf_every == 0:
                self.missed_broadcasts += 1
                return None
        rate = self.line_rate
        if rate is not None and not broadcast:
            rate.frame_received()
        try:
            answer = self._dispatch(function, request[1:], broadcast)
        except ModbusException as refused:
            answer = pdu.exception_pdu(function, refused.code)
        except SimPoweredOffError:
            return None
        return None if broadcast else answer

    def _dispatch(self, function: int, data: bytes, broadcast: bool) -> bytes:
        if function == pdu.READ_HOLDING_REGISTERS:
            address, count = pdu.parse_read_registers(data)
            self._refuse_while_busy(status_read=self._vendor.is_status_read(address, count))
            return pdu.read_registers_answer(self._read(address, count))
        if function == pdu.WRITE_SINGLE_REGISTER:
            address, value = pdu.parse_write_single(data)
            self._refuse_while_busy()
            self._write(address, [value], broadcast)
            return bytes([function]) + data
        if function == pdu.WRITE_MULTIPLE_REGISTERS:
            address, values = pdu.parse_write_multiple(data)
            self._refuse_while_busy()
            self._write(address, values, broadcast)
            return pdu.write_multiple_answer(address, len(values))
        if function == pdu.READ_FILE_RECORD:
            refs = pdu.parse_read_file(data)
            self._refuse_while_busy()
            return pdu.read_file_answer(
                [self._vendor.read_record(r.file, r.record, r.registers) for r in refs]
            )
        if function == pdu.WRITE_FILE_RECORD:
            refs = pdu.parse_write_file(data)
            self._refuse_while_busy()
            for ref in refs:
                self._vendor.write_record(ref.file, ref.record, ref.data)
            return bytes([function]) + data  # the normal response is an echo of the request
        raise ModbusException(ExceptionCode.ILLEGAL_FUNCTION)

    def _refuse_while_busy(self, *, status_read: bool = False) -> None:
        if self._vendor.busy and not status_read:
            raise ModbusException(ExceptionCode.SERVER_DEVICE_BUSY)

    def _read(self, address: int, count: int) -> list[int]:
        rate = self.line_rate
        if rate is not None and rate.covers(address, count):
            return rate.read(address, count)
        if address >= BASE_ADDRESS and address < BASE_ADDRESS + 0x1000:
            chain = self._sunspec_registers()
            offset = address - BASE_ADDRESS
            if offset + count > len(chain):
                raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
            return chain[offset : offset + count]
        return self._vendor.read(address, count)

    def _sunspec_registers(self) -> list[int]:
        """The chain, which only the running application serves."""
        try:
            if self._device.mode is not DeviceMode.APPLICATION:
                raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
            with self._lock:
                return self._sunspec.registers()
        except SimModeError as exc:
            raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS) from exc

    def _write(self, address: int, values: list[int], broadcast: bool) -> None:
        rate = self.line_rate
        if rate is not None and rate.covers(address, len(values)):
            rate.write(address, values, broadcast=broadcast)
            return
        if address >= BASE_ADDRESS and address < BASE_ADDRESS + 0x1000:
            self._write_sunspec(address, values)
            return
        self._vendor.write(address, values)

    def _write_sunspec(self, address: int, values: list[int]) -> None:
        """Model 802's read-write points: kept (a controller reads back what it wrote); AlmRst acts."""
        names = [self._sunspec.writable.get(a) for a in range(address, address + len(values))]
        if None in names:
            raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        self._sunspec_registers()  # only while the application runs
        with self._lock:
            for offset, (name, value) in enumerate(zip(names, values, strict=True)):
                if name == "AlmRst" and value == ALARM_RESET:
                    self._device.clear_dtcs()
                self._sunspec.kept[address + offset] = value


def create_module(device: VirtualBms, address: int) -> ModbusModule:
    """The Modbus application layer of ``device`` at unit ``address`` (1..247)."""
    return ModbusModule(device, address)
