"""The remote activation of routine functional unit: 0x31 RoutineControl and the device's routines.

The routines are the programming sequence (check preconditions, erase, prepare the download,
check memory, mark for test, confirm, roll back) plus service routines (self-test, cell
balancing, save configuration); their identifiers and status records are specified in
``docs/protocols/uds.md``. Every routine runs to completion within its startRoutine request
(answering 0x78 while it takes long), so this unit owns the last status record of each routine
and the last self-test result (read back through DID 0xFD40).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import DeviceMode, DeviceSelfTest, PackTelemetry
from bmsflasher.sim.uds import codec
from bmsflasher.sim.uds.device_calls import DeviceCalls
from bmsflasher.sim.uds.nrc import (
    NRC_CONDITIONS_NOT_CORRECT,
    NRC_GENERAL_PROGRAMMING_FAILURE,
    NRC_INCORRECT_LENGTH,
    NRC_REQUEST_OUT_OF_RANGE,
    NRC_REQUEST_SEQUENCE_ERROR,
    NegativeResponse,
    need_length,
)
from bmsflasher.sim.uds.services_download import TransferState
from bmsflasher.sim.uds.services_session import SESSION_EXTENDED, SESSION_PROGRAMMING, SessionState
from bmsflasher.sim.uds.transfer import (
    SLOT_BASE_ADDRESS,
    DownloadDescriptor,
    TransferRefused,
    slot_of_address,
)

# Routine identifiers (docs/protocols/uds.md).
RID_CHECK_MEMORY: Final = 0x0202
RID_CHECK_PRECONDITIONS: Final = 0x0203
RID_ERASE_MEMORY: Final = 0xFF00
RID_CHECK_DEPENDENCIES: Final = 0xFF01
RID_PREPARE_DOWNLOAD: Final = 0xF000
RID_MARK_FOR_TEST: Final = 0xF001
RID_CONFIRM: Final = 0xF002
RID_ROLLBACK: Final = 0xF003
RID_SELF_TEST: Final = 0xF004
RID_SET_BALANCING: Final = 0xF005
RID_SAVE_CONFIG: Final = 0xF006
#: The routines the bootloader (and recovery) offers; every other one is 0x31 there.
BOOTLOADER_ROUTINES: Final = frozenset(
    {
        RID_CHECK_MEMORY,
        RID_CHECK_PRECONDITIONS,
        RID_ERASE_MEMORY,
        RID_CHECK_DEPENDENCIES,
        RID_PREPARE_DOWNLOAD,
        RID_MARK_FOR_TEST,
        RID_ROLLBACK,
    }
)
# Device-side programming preconditions reported by routine 0x0203.
PRECONDITION_SOC_LOW: Final = 0x01
PRECONDITION_SOC_HIGH: Final = 0x02
PRECONDITION_TEMPERATURE: Final = 0x03
PRECONDITION_LOAD: Final = 0x04
# Rejection reasons in routine status records (status byte 0x01 followed by one of these).
REASON_SIGNATURE: Final = 0x01
REASON_DOWNGRADE: Final = 0x02
REASON_STATE: Final = 0x03
REASON_MODE: Final = 0x04


@dataclass(frozen=True, slots=True)
class _Routine:
    """A routine: the sessions it runs in, whether it needs security access, its start action.

    Every routine of this device runs to completion within its startRoutine request (answering
    0x78 while it takes long), so stopRoutine and requestRoutineResults are answered from the
    status record of the last start; before a start they are a request sequence error.
    """

    sessions: frozenset[int]
    secured: bool
    start: Callable[[bytes], bytes]


class RoutineServices:
    """The handler of 0x31 and the routines it starts.

    Args:
        session: the session state (the sessions a routine runs in, security access).
        transfer: the transfer state routine 0xF000 announces the image in.
        calls: the device.
    """

    def __init__(self, session: SessionState, transfer: TransferState, calls: DeviceCalls) -> None:
        self._session = session
        self._transfer = transfer
        self._calls = calls
        self._device = calls.device
        self.last_self_test: DeviceSelfTest | None = None
        self._results: dict[int, bytes] = {}
        self._routines = self._routine_table()

    def forget(self) -> None:
        """The device rebooted: no routine has run, no self-test result is held."""
        self.last_self_test = None
        self._results.clear()

    def _routine_table(self) -> dict[int, _Routine]:
        programming = frozenset({SESSION_PROGRAMMING})
        service = frozenset({SESSION_EXTENDED, SESSION_PROGRAMMING})
        return {
            RID_CHECK_MEMORY: _Routine(programming, False, self._rt_check_memory),
            RID_CHECK_PRECONDITIONS: _Routine(service, False, self._rt_preconditions),
            RID_ERASE_MEMORY: _Routine(programming, True, self._rt_erase),
            RID_CHECK_DEPENDENCIES: _Routine(service, False, self._rt_check_memory),
            RID_PREPARE_DOWNLOAD: _Routine(programming, True, self._rt_prepare_download),
            RID_MARK_FOR_TEST: _Routine(service, True, self._rt_mark_for_test),
            RID_CONFIRM: _Routine(service, True, self._rt_confirm),
            RID_ROLLBACK: _Routine(service, True, self._rt_rollback),
            RID_SELF_TEST: _Routine(service, False, self._rt_self_test),
            RID_SET_BALANCING: _Routine(service, True, self._rt_balancing),
            RID_SAVE_CONFIG: _Routine(service, True, self._rt_save_config),
        }

    def routine_control(self, request: bytes) -> bytes:
        """RoutineControl after the general checks (session 0x7F, control type 0x12/0x7E).

        ISO 14229-1 order: length (0x13), routine identifier supported in the active
        session and mode (0x31), security (0x33), sequence (0x24), then the routine's own checks.
        The response's first status byte is the routineInfo (00 done / 01 refused).
        """
        need_length(request, minimum=4)
        kind = request[1] & 0x7F
        rid = (request[2] << 8) | request[3]
        routine = self._routines.get(rid)
        if routine is None or (self._calls.bootloader_only and rid not in BOOTLOADER_ROUTINES):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if self._session.session not in routine.sessions:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if routine.secured:
            self._session.need_unlocked()
        option = request[4:]
        if kind == 0x01:
            status = routine.start(option)
            self._results[rid] = status
        else:
            if rid not in self._results:
                raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)  # stop/results before a start
            if option:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            # The routine already ran to completion: stopping it is a no-op reported as done.
            status = self._results[rid] if kind == 0x03 else bytes([0x00])
        return bytes([0x71, kind]) + request[2:4] + status

    # --- memory and download preparation -------------------------------------------------------
    def _option_slot(self, option: bytes) -> int:
        if len(option) > 1:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        if option:
            if option[0] not in SLOT_BASE_ADDRESS:
                raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
            return option[0]
        if self._transfer.descriptor is not None:
            return self._transfer.descriptor.slot
        return 0 if self._calls.mode() is DeviceMode.RECOVERY else 1

    def _rt_check_memory(self, option: bytes) -> bytes:
        slot = self._option_slot(option)
        ok = self._calls.slow(0x31, lambda: self._device.verify_slot(slot))
        if ok:
            return bytes([0x00])
        problem = getattr(self._device, "image_problem", None)
        text = str(self._calls.call(lambda: problem(slot))) if problem is not None else ""
        return bytes([0x01, REASON_DOWNGRADE if "anti-rollback" in text else REASON_SIGNATURE])

    def _rt_preconditions(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        try:
            telemetry: PackTelemetry = self._calls.call(self._device.telemetry)
        except NegativeResponse:
            return bytes([0x00, 0x00])  # a bootloader cannot measure: nothing to object to
        failed: list[int] = []
        if telemetry.soc_pct < 20.0:
            failed.append(PRECONDITION_SOC_LOW)
        if telemetry.soc_pct > 80.0:
            failed.append(PRECONDITION_SOC_HIGH)
        temps = [t for t in telemetry.temperatures_c if t is not None]
        if temps and (min(temps) < 0.0 or max(temps) > 45.0):
            failed.append(PRECONDITION_TEMPERATURE)
        if abs(telemetry.current_ma) > 1000:
            failed.append(PRECONDITION_LOAD)
        return bytes([0x01 if failed else 0x00, len(failed), *failed])

    def _rt_erase(self, option: bytes) -> bytes:
        if option:
            if len(option) < 1:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            address_len, size_len = option[0] & 0x0F, option[0] >> 4
            if len(option) != 1 + address_len + size_len or not 1 <= address_len <= 4:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            address = int.from_bytes(option[1 : 1 + address_len], "big")
            try:
                slot, offset = slot_of_address(address)
            except TransferRefused as exc:
                raise NegativeResponse(exc.nrc) from exc
            if offset:
                raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        else:
            slot = self._option_slot(b"")
        self._need_writable_slot(slot)
        try:
            self._calls.slow(0x31, lambda: self._device.erase_slot(slot))
        except BmsFlasherError as exc:
            raise NegativeResponse(NRC_GENERAL_PROGRAMMING_FAILURE) from exc
        return bytes([0x00])

    def _need_writable_slot(self, slot: int) -> None:
        mode = self._calls.mode()
        if slot == 0 and mode is not DeviceMode.RECOVERY:
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)  # never overwrite the running image

    def _rt_prepare_download(self, option: bytes) -> bytes:
        if len(option) != 1 + 4 + 32:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        slot = option[0]
        if slot not in SLOT_BASE_ADDRESS:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._need_writable_slot(slot)
        total = int.from_bytes(option[1:5], "big")
        sha256 = bytes(option[5:])
        if total == 0:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._transfer.descriptor = DownloadDescriptor(slot=slot, total_size=total, sha256=sha256)
        self._transfer.download = None
        try:
            # Starts the upload, or resumes it: the offset the flash already holds for this image.
            held, reason = self._calls.slow(0x31, lambda: self._begin_upload(total, sha256, slot))
        except BmsFlasherError as exc:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE) from exc  # e.g. does not fit the slot
        if reason:
            # The device cannot take an image now (e.g. the running image is still on test):
            # the routine ran and reports it; a RequestDownload would be refused with 0x70.
            return bytes([0x01, reason])
        return bytes([0x00]) + struct.pack(">I", held)

    def _begin_upload(self, total: int, sha256: bytes, slot: int) -> tuple[int, int]:
        """``upload_begin`` → (offset held, 0), or (0, reason) when the device refuses for now."""
        try:
            return int(self._device.upload_begin(total, sha256, slot)), 0
        except BmsFlasherError as exc:
            name = type(exc).__name__
            if name == "SimModeError":
                return 0, REASON_MODE
            if name == "SimStateError":
                return 0, REASON_STATE
            raise

    # --- image state ---------------------------------------------------------------------------
    def _image_call(self, fn: Callable[[], None]) -> bytes:
        """Run an image-state operation; a refusal becomes status 0x01 plus a reason byte."""
        try:
            self._calls.call(fn)
        except NegativeResponse:
            return bytes([0x01, REASON_STATE])
        except BmsFlasherError as exc:
            names = {cls.__name__ for cls in type(exc).__mro__}
            if "DowngradeError" in names:
                return bytes([0x01, REASON_DOWNGRADE])
            if "SignatureError" in names:
                return bytes([0x01, REASON_SIGNATURE])
            if "UnsupportedOperationError" in names:
                return bytes([0x01, REASON_MODE])
            return bytes([0x01, REASON_STATE])
        return bytes([0x00])

    def _rt_mark_for_test(self, option: bytes) -> bytes:
        if len(option) > 1:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        permanent = bool(option[0]) if option else False
        return self._image_call(lambda: self._device.mark_pending(permanent))

    def _rt_confirm(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        return self._image_call(self._device.confirm)

    def _rt_rollback(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        return self._image_call(self._device.rollback)

    # --- service routines ----------------------------------------------------------------------
    def _rt_self_test(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        result: DeviceSelfTest = self._calls.slow(0x31, self._device.self_test)
        self.last_self_test = result
        return bytes([0x00]) + codec.encode_self_test(result)

    def _rt_balancing(self, option: bytes) -> bytes:
        if len(option) != 3:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        cell = int.from_bytes(option[0:2], "big")
        on = option[2]
        if on > 1:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        try:
            self._calls.call(lambda: self._device.set_balancing(cell, bool(on)))
        except (BmsFlasherError, ValueError, IndexError) as exc:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE) from exc
        return bytes([0x00])

    def _rt_save_config(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        try:
            self._calls.slow(0x31, self._device.save_config)
        except BmsFlasherError as exc:
            raise NegativeResponse(NRC_GENERAL_PROGRAMMING_FAILURE) from exc
        return bytes([0x00])
