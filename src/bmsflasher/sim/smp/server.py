"""The virtual BMS's MCUmgr SMP server: request message in, response message out.

This is the firmware's management stack, written from the MCUmgr specification and Zephyr's
behaviour, never from the tool's client (the two agree only because both follow the standard and
``docs/protocols/smp.md``). This module is the serving core: it checks the envelope, picks the
handler by (group, command, op), maps device errors to SMP codes and encodes the answer. The groups
live one per module:

* ``os_group.py`` (0): echo, reset, MCUmgr parameters, OS/application info, bootloader info;
* ``image_group.py`` (1): state read/write, upload with resume, erase;
* ``settings_group.py`` (3): the configuration as ``bms/<parameter>``;
* ``bms_group.py`` (72, vendor range): identity, telemetry, DTCs, self-test, balancing, rollback,
  config schema.

``messages.py`` holds the envelope (header, ops, groups, request and outcome) and
``error_codes.py`` the error codes and their SMP v1 translation.

Errors follow SMP version 2 when the request is v2 (``rc`` for general management errors,
``err: {group, rc}`` for group errors) and version 1 otherwise (``rc`` only, with group errors
translated as Zephyr's groups translate them). Unknown groups and commands answer
``MGMT_ERR_ENOTSUP``. Where the specification leaves a choice, Zephyr's implementation decides
(``smp.c``, ``img_mgmt*.c``, ``os_mgmt.c``, ``settings_mgmt.c``); the deliberate differences are
listed in docs/protocols/smp.md, "Conformance".
While the bootloader runs (recovery, or serial recovery with a valid image) only MCUboot's serial
recovery subset answers: echo, reset, MCUmgr parameters, bootloader info, image state read, upload
(to the primary slot) and erase.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import cbor2

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import (
    SimDowngradeError,
    SimImageRejectedError,
    SimModeError,
    SimParameterError,
    SimPoweredOffError,
    SimStateError,
)
from bmsflasher.sim.options import DeviceAuth
from bmsflasher.sim.smp.answer_pieces import AnswerPieces
from bmsflasher.sim.smp.bms_auth import BmsAuth
from bmsflasher.sim.smp.bms_group import BmsGroup
from bmsflasher.sim.smp.compressed_upload import CompressedUpload
from bmsflasher.sim.smp.error_codes import MgmtErr, SmpRequestError, error_body
from bmsflasher.sim.smp.image_group import ImageGroup
from bmsflasher.sim.smp.link_rate import LinkRate
from bmsflasher.sim.smp.messages import (
    GROUP_IMAGE,
    GROUP_OS,
    HEADER,
    OP_READ,
    OP_READ_RSP,
    OP_WRITE,
    OP_WRITE_RSP,
    SMP_VERSION_MAX,
    Handler,
    HandlerTable,
    Outcome,
    Request,
    encode,
)
from bmsflasher.sim.smp.os_group import RESET_COMMAND, OsGroup
from bmsflasher.sim.smp.settings_group import SettingsGroup

DEFAULT_BUF_SIZE: Final = 2048
DEFAULT_BUF_COUNT: Final = 4

_BOOTLOADER_SUBSET: Final = frozenset(
    {
        (GROUP_OS, 0, OP_READ),
        (GROUP_OS, 0, OP_WRITE),
        (GROUP_OS, 5, OP_WRITE),
        (GROUP_OS, 6, OP_READ),
        (GROUP_OS, 8, OP_READ),
        (GROUP_IMAGE, 0, OP_READ),
        (GROUP_IMAGE, 1, OP_WRITE),
        (GROUP_IMAGE, 5, OP_WRITE),
    }
)


class SmpServer:
    """Answers SMP requests on behalf of one :class:`VirtualBms`.

    Args:
        device: the virtual BMS.
        buf_size: frame buffer size reported by the MCUmgr-parameters command.
        buf_count: frame buffer count reported by the MCUmgr-parameters command.
        program_s_per_byte: flash programming time of uploaded data (internal MCU flash programs
            roughly 100 KB/s, i.e. 1e-5 s per byte); 0 makes writes instant.
        link_rate: the UART's negotiable rate (BMS commands 16/17); None: a firmware without them.
    """

    def __init__(
        self,
        device: VirtualBms,
        *,
        buf_size: int = DEFAULT_BUF_SIZE,
        buf_count: int = DEFAULT_BUF_COUNT,
        program_s_per_byte: float = 0.0,
        link_rate: LinkRate | None = None,
    ) -> None:
        self._device = device
        self._buf_size = buf_size
        self._buf_count = buf_count
        # A device started with --auth certificate protects its writes with a signed challenge.
        self._auth: BmsAuth | None = None
        if device.options.auth is DeviceAuth.CERTIFICATE:
            self._auth = BmsAuth(device.options.auth_anchor, device.options.auth_crl)
            device.add_reset_listener(self._auth.forget)
        # Noisy lines: the last answer again, in pieces (BMS command 19).
        self._pieces = AnswerPieces()
        device.add_reset_listener(self._pieces.forget)
        self._handlers: HandlerTable = {
            **OsGroup(device, buf_size, buf_count).handlers(),
            **ImageGroup(device, program_s_per_byte).handlers(),
            **SettingsGroup(device).handlers(),
            **BmsGroup(device, self._auth).handlers(),
            # Speed (docs/protocols/smp.md): compressed upload; the line-rate switch where the UART has one.
            **CompressedUpload(device, program_s_per_byte).handlers(),
            **(link_rate.handlers() if link_rate is not None else {}),
            **self._pieces.handlers(),
        }

    @property
    def buf_size(self) -> int:
        return self._buf_size

    @property
    def buf_count(self) -> int:
        return self._buf_count

    def handle(self, message: bytes) -> Outcome | None:
        """Answer one request message; None when nothing must be sent (too short, or no power).

        The order of the checks is Zephyr's ``smp_process_request_packet``: a body shorter than the
        header announces is ``ECORRUPT``; anything that is not a read or write request (a response
        sent to a server, or an undefined op) is ``ENOTSUP``; a version above 2 is
        ``UNSUPPORTED_TOO_NEW``; an unknown group/command is ``ENOTSUP`` before the body is looked
        at; a body that is not a CBOR map is ``EINVAL``. The answer carries the request's version
        (capped at SMP version 2), group, sequence number and command, with flags 0.
        """
        if len(message) < HEADER.size or not self._device.powered:
            return None
        op_ver, _flags, length, group, sequence, command = HEADER.unpack_from(message)
        op, version = op_ver & 0x07, (op_ver >> 3) & 0x03
        reply_op = OP_READ_RSP if op == OP_READ else OP_WRITE_RSP  # Zephyr's smp_rsp_op()
        header = (reply_op, min(version, SMP_VERSION_MAX), group, sequence, command)
        payload = message[HEADER.size :]
        try:
            _check_envelope(op, version, length, payload)
            handler = self._handler_for(group, command, op)
            body = _decode_body(payload[:length])
            request = Request(op, version, group, sequence, command, body)
            if self._auth is not None:
                self._auth.require(request)
            answer = self._run(handler, request)
        except SimPoweredOffError:
            return None  # no power, no answer
        except SmpRequestError as failure:
            return self._kept(Outcome(encode(header, error_body(failure, version))))
        reset_after = (group, command, op) == RESET_COMMAND
        return self._kept(Outcome(encode(header, answer), reset_after=reset_after))

    def _kept(self, outcome: Outcome) -> Outcome:
        """Keep the answer for a client whose copy the line garbles (BMS command 19)."""
        self._pieces.keep(outcome.response)
        return outcome

    def _handler_for(self, group: int, command: int, op: int) -> Handler:
        key = (group, command, op)
        handler = self._handlers.get(key)
        if handler is None:
            raise SmpRequestError(MgmtErr.ENOTSUP, reason="unknown group or command")
        if self._device.mode is not DeviceMode.APPLICATION and key not in _BOOTLOADER_SUBSET:
            raise SmpRequestError(MgmtErr.ENOTSUP, reason="not available while the bootloader runs")
        return handler

    def _run(self, handler: Handler, request: Request) -> Mapping[str, Any]:
        try:
            return handler(request)
        except SmpRequestError:
            raise
        except SimPoweredOffError:
            raise
        except SimModeError as exc:
            raise SmpRequestError(MgmtErr.ENOTSUP, reason=str(exc)) from exc
        except (SimDowngradeError, SimImageRejectedError, SimStateError) as exc:
            raise SmpRequestError(MgmtErr.EBADSTATE, reason=str(exc)) from exc
        except SimParameterError as exc:
            raise SmpRequestError(MgmtErr.EINVAL, reason=str(exc)) from exc
        except BmsFlasherError as exc:
            raise SmpRequestError(MgmtErr.EUNKNOWN, reason=str(exc)) from exc


def _check_envelope(op: int, version: int, length: int, payload: bytes) -> None:
    """What Zephyr checks before it looks for a handler: body length, op, version."""
    if len(payload) < length:
        raise SmpRequestError(MgmtErr.ECORRUPT, reason="the body is shorter than the header says")
    if op not in (OP_READ, OP_WRITE):
        raise SmpRequestError(MgmtErr.ENOTSUP, reason="not a request")
    if version > SMP_VERSION_MAX:
        raise SmpRequestError(MgmtErr.UNSUPPORTED_TOO_NEW)


def _decode_body(payload: bytes) -> Mapping[str, Any]:
    """The request body: a CBOR map (an empty body is an empty map)."""
    if not payload:
        return {}
    try:
        body = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise SmpRequestError(MgmtErr.EINVAL, reason="the request body is not CBOR") from exc
    if not isinstance(body, dict):
        raise SmpRequestError(MgmtErr.EINVAL, reason="the request body is not a CBOR map")
    return body
