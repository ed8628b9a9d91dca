"""One image transfer into a module: prepare, resume what it holds, send the missing records, verify.

The image goes as records of the module's record length (238 bytes) written with Write Multiple
Registers into the transfer window — 98.9 % of the Modbus RTU payload ceiling, where Write File
Record's echoed answer would halve it (``docs/protocols/modbus.md`` gives the numbers). The file
functions are used where they pay: the missing-records report (file 2) and the read-back of the
last record the module holds before a resumed transfer goes on (function 14). A transfer broken by
the link raises the link's error; the target contract's one retry layer reconnects and calls
:meth:`ImageTransfer.run` again, which resumes through the same PREPARE (same size, hash, slot).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import DeviceRejectedError, IntegrityError, MalformedResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import ProgressCallback
from bmsflasher.protocols.modbus import vendor_map as vm
from bmsflasher.protocols.modbus.module_access import ModuleAccess, refusal
from bmsflasher.protocols.modbus.session import EXCEPTION_DEVICE_FAILURE

PREPARE_TIMEOUT_S: Final = 60.0
"""An erase of a whole slot at a slow flash's 50 ms per 4 KiB sector, with a large margin."""
REPAIR_ROUNDS: Final = 3
"""Times the missing-records report is read again when records are still missing after sending."""
REPREPARE_LIMIT: Final = 2
"""Times a transfer re-opens an upload the module forgot (it rebooted between two records)."""


@dataclass(frozen=True, slots=True)
class TransferReport:
    """What one transfer did (for logs and benchmarks)."""

    records_total: int
    records_held_at_start: int
    records_sent: int
    bytes_sent: int
    seconds: float
    function: int


class ImageTransfer:
    """Transfers one image into one slot of one module.

    Args:
        access: the module's register-map operations.
        use_file_records: send records with Write File Record (0x15) instead of the window (0x10);
            slower on a half-duplex line (its answer echoes the record), kept for comparison.
        prepare_timeout_s: how long PREPARE (an erase) may take.
    """

    def __init__(
        self,
        access: ModuleAccess,
        *,
        use_file_records: bool = False,
        prepare_timeout_s: float = PREPARE_TIMEOUT_S,
    ) -> None:
        self._access = access
        self._use_file_records = use_file_records
        self._prepare_timeout_s = prepare_timeout_s

    def run(
        self,
        slot: int,
        image: bytes,
        on_progress: ProgressCallback | None,
        *,
        missing: list[int] | None = None,
    ) -> TransferReport:
        """Transfer ``image`` into ``slot`` (resuming what the module holds) and have the module verify it.

        Args:
            slot: the slot to write (1 beside the application, 0 in recovery).
            image: the whole signed image.
            on_progress: ``(done_bytes, total_bytes)`` after each record.
            missing: the records the module misses, when the caller has just read its report for
                an upload of this image that is open (a broadcast's repair): the upload is not
                prepared again. None: prepare (or resume) it here.

        Raises:
            LinkLostError / NoResponseError: the link broke (call again after a reconnect: it resumes).
            IntegrityError: the module holds other data for this image, or the image arrived damaged.
            SignatureError / DowngradeError: the module's bootloader would not boot the image.
            DeviceRejectedError / UnsupportedOperationError: the module refused the upload.
        """
        started = time.monotonic()
        record_bytes = self._access.record_bytes
        total = math.ceil(len(image) / record_bytes)
        if missing is None:
            missing, held_at_start = self._prepare(slot, image, total)
        else:
            held_at_start = total - len(missing)
        sent = 0
        reprepared = 0
        for _round in range(REPAIR_ROUNDS + 1):
            done = len(image) - sum(self._length(image, record) for record in missing)
            if on_progress is not None:
                on_progress(done, len(image))
            for record in missing:
                try:
                    self._send(record, image)
                except DeviceRejectedError as exc:
                    if exc.code != EXCEPTION_DEVICE_FAILURE or reprepared >= REPREPARE_LIMIT:
                        raise
                    status = self._access.status()
                    if status.error != vm.Error.STATE:
                        raise refusal(status, t("the image record")) from exc
                    reprepared += 1  # the module forgot the upload (a reboot): open it again
                    missing, _held = self._prepare(slot, image, total)
                    break
                sent += 1
                done += self._length(image, record)
                if on_progress is not None:
                    on_progress(done, len(image))
            else:
                status = self._access.status()
                if status.complete:
                    break
                missing = self._missing(status, total)
        else:
            raise IntegrityError(
                t(
                    "The module still misses records of the image after {rounds} repairs.",
                    rounds=REPAIR_ROUNDS,
                )
            )
        self._access.command(vm.Command.VERIFY, t("the image verification"))
        return TransferReport(
            total,
            held_at_start,
            sent,
            sent * record_bytes,
            time.monotonic() - started,
            0x15 if self._use_file_records else 0x10,
        )

    def prepare(self, slot: int, image: bytes) -> list[int]:
        """Open (or resume) the upload of ``image`` into ``slot``; the records the module misses.

        A broadcast arms every module this way before it sends the records to unit 0.
        """
        total = math.ceil(len(image) / self._access.record_bytes)
        return self._prepare(slot, image, total)[0]

    def _prepare(self, slot: int, image: bytes, total: int) -> tuple[list[int], int]:
        """Write the image parameters and PREPARE; return the missing records and how many are held."""
        sha = hashlib.sha256(image).digest()
        parameters = [len(image) >> 16, len(image) & 0xFFFF]
        parameters += [int.from_bytes(sha[i : i + 2], "big") for i in range(0, 32, 2)]
        self._access.write(vm.PARAMETERS, [*parameters, slot], t("the image parameters"))
        status = self._access.command(
            vm.Command.PREPARE, t("the upload preparation"), timeout_s=self._prepare_timeout_s
        )
        if status.records_total != total:
            raise MalformedResponseError(
                t(
                    "The module expects {expected} records for an image of {size} bytes, not {total}.",
                    expected=status.records_total,
                    size=len(image),
                    total=total,
                )
            )
        missing = self._missing(status, total)
        if len(missing) < total:
            self._check_read_back(image, missing, total)
        return missing, total - len(missing)

    def report(self, image: bytes) -> list[int] | None:
        """The records of ``image`` the module misses, from its status and report (no PREPARE).

        None when the module has no upload of that many records open (it rebooted, or never
        prepared one): the caller prepares it again.
        """
        total = math.ceil(len(image) / self._access.record_bytes)
        status = self._access.status()
        if status.upload_state == 0 or status.records_total != total:
            return None
        return self._missing(status, total)

    def _missing(self, status: vm.Status, total: int) -> list[int]:
        if status.records_held == 0:
            return list(range(total))
        if status.records_held >= total and status.complete:
            return []
        bitmap_bytes = math.ceil(total / 8)
        bitmap = b""
        record_bytes = self._access.record_bytes
        for record in range(math.ceil(bitmap_bytes / record_bytes)):
            length = min(record_bytes, bitmap_bytes - len(bitmap))
            bitmap += self._access.read_record(
                vm.File.MISSING, record, length, t("the missing-records report")
            )
        return vm.missing_records(bitmap, total)

    def _check_read_back(self, image: bytes, missing: list[int], total: int) -> None:
        """Compare the last record held before the first gap with the image's own bytes.

        The module names an upload by size, SHA-256 and slot; reading one record back checks that
        what it says it holds is this image's data before the transfer builds on it.
        """
        first_gap = missing[0] if missing else total
        record = first_gap - 1 if first_gap > 0 else max(set(range(total)) - set(missing))
        record_bytes = self._access.record_bytes
        expected = image[record * record_bytes : (record + 1) * record_bytes]
        held = self._access.read_record(
            vm.File.IMAGE, record, len(expected), t("the read-back of a held record")
        )
        if held != expected:
            raise IntegrityError(
                t(
                    "The module holds other data in record {record} than this image has; it cannot "
                    "be resumed.",
                    record=record,
                ),
                hint=t("Run the update again; the module starts this image afresh after a reset."),
            )

    def _send(self, record: int, image: bytes) -> None:
        record_bytes = self._access.record_bytes
        data = image[record * record_bytes : (record + 1) * record_bytes]
        what = t("image record {record}", record=record)
        if self._use_file_records:
            self._access.write_record(vm.File.IMAGE, record, data, what)
            return
        padded = data + b"\x00" * (len(data) % 2)
        values = [record, *(int.from_bytes(padded[i : i + 2], "big") for i in range(0, len(padded), 2))]
        self._access.write(vm.WINDOW, values, what)

    def _length(self, image: bytes, record: int) -> int:
        """Bytes of ``record`` (the last one is shorter)."""
        record_bytes = self._access.record_bytes
        return min(record_bytes, len(image) - record * record_bytes)
