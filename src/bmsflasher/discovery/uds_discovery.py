"""Find every UDS server on a CAN bus with one functional request, and sniff a bus without transmitting.

Functional addressing (ISO 15765-2 §9.3, ISO 14229-1 §7.4) reaches all servers at once, so one
request and one short response window find every node, however many share the bus. The request is
TesterPresent (0x3E 0x00) with the positive response *not* suppressed: it changes nothing on the
device and every ISO 14229 server answers it in any session (default, programming, extended).

The single frame is built by can-isotp and responses are parsed by can-isotp's PDU decoder and
udsoncan's response parser: no hand-written ISO-TP or UDS coding here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import can
import isotp
from isotp.protocol import PDU
from udsoncan.Response import Response
from udsoncan.services.TesterPresent import TesterPresent

from bmsflasher.discovery.plan import UdsAddressing
from bmsflasher.links.can import CanLink

_ISOTP_SINGLE_FRAME = 0
_TX_PADDING = 0xCC  # ISO 15765-2 recommended filler for padded classic CAN frames
LATE_ANSWER_GRACE_S = 0.1
"""After each answer, keep listening at least this long (bounded by twice the window)."""


@dataclass(frozen=True, slots=True)
class UdsResponder:
    """One UDS server that answered the functional request.

    Attributes:
        addressing: the addressing scheme it answered in.
        response_id: the CAN ID it answers from.
        request_id: the physical CAN ID to send it requests on.
        positive: True for a positive response, False for a negative one (still a UDS server).
        nrc: the negative response code when not positive.
    """

    addressing: UdsAddressing
    response_id: int
    request_id: int
    positive: bool
    nrc: int = 0


@dataclass(slots=True)
class FunctionalScan:
    """Everything one functional request window saw."""

    responders: list[UdsResponder] = field(default_factory=list)
    frames_seen: int = 0
    undecodable_frames: int = 0


def functional_frame(addressing: UdsAddressing, payload: bytes) -> can.Message:
    """The padded single frame carrying ``payload`` to the functional ID (built by can-isotp)."""
    if addressing.extended_id:
        address = isotp.Address(
            isotp.AddressingMode.NormalFixed_29bits,
            target_address=(addressing.functional_id >> 8) & 0xFF,
            source_address=addressing.functional_id & 0xFF,
            functional_id=addressing.functional_id,
        )
    else:
        address = isotp.Address(
            isotp.AddressingMode.Normal_11bits,
            txid=addressing.functional_id,
            rxid=addressing.response_ids[0],
        )
    frames: list[isotp.CanMessage] = []
    layer = isotp.TransportLayerLogic(
        rxfn=lambda _timeout: None,
        txfn=frames.append,
        address=address,
        params={"tx_padding": _TX_PADDING, "tx_data_min_length": 8},
    )
    layer.send(payload, target_address_type=isotp.TargetAddressType.Functional)
    layer.process()
    if len(frames) != 1:
        raise ValueError(f"a functional request must fit one frame, can-isotp made {len(frames)}")
    frame = frames[0]
    return can.Message(
        arbitration_id=frame.arbitration_id,
        is_extended_id=frame.is_extended_id,
        data=bytes(frame.data),
        dlc=frame.dlc,
    )


def _response_to_tester_present(data: bytes) -> tuple[bool, int] | None:
    """(positive, nrc) if ``data`` is a single-frame UDS answer to TesterPresent, else None."""
    try:
        pdu = PDU(isotp.CanMessage(arbitration_id=0, data=data, dlc=len(data)))
    except ValueError:
        return None
    if pdu.type != _ISOTP_SINGLE_FRAME or pdu.data is None:
        return None
    try:
        response = Response.from_payload(bytes(pdu.data))
    except (ValueError, IndexError):
        return None
    if not response.valid or response.service is not TesterPresent:
        return None
    if response.positive:
        return True, 0
    return False, int(response.code or 0)


def functional_tester_present(
    link: CanLink,
    addressing: tuple[UdsAddressing, ...],
    window_s: float,
    expected_nodes: int | None = None,
) -> FunctionalScan:
    """Send TesterPresent functionally in every addressing scheme; collect answers for ``window_s``.

    The window stretches by a short grace after each answer (up to twice its length), so a node that
    answers a little after its neighbours is still counted. With ``expected_nodes`` (the count the
    last scan found), the window closes one grace after that many have answered: the warm path then
    costs one round trip, while a node added since still has the grace to be heard.

    Raises:
        LinkError: the adapter failed or could not send (bus-off at a wrong bitrate).
    """
    request = TesterPresent.make_request().get_payload()
    expected: dict[tuple[bool, int], UdsAddressing] = {}
    for scheme in addressing:
        for response_id in scheme.response_ids:
            expected[(scheme.extended_id, response_id)] = scheme
    scan = FunctionalScan()
    for scheme in addressing:
        link.send(functional_frame(scheme, request), timeout_s=window_s)
    found: set[tuple[bool, int]] = set()
    started = time.monotonic()
    deadline = started + window_s
    latest = started + 2 * window_s
    while (remaining := deadline - time.monotonic()) > 0:
        message = link.recv(remaining)
        if message is None:
            break
        if message.is_error_frame or message.is_remote_frame:
            continue
        scan.frames_seen += 1
        key = (message.is_extended_id, message.arbitration_id)
        scheme_for_id = expected.get(key)
        if scheme_for_id is None or key in found:
            continue
        verdict = _response_to_tester_present(bytes(message.data))
        if verdict is None:
            scan.undecodable_frames += 1
            continue
        found.add(key)
        # Answers are still arriving: give slower nodes (a loaded gateway) a little longer.
        deadline = min(latest, max(deadline, time.monotonic() + LATE_ANSWER_GRACE_S))
        if expected_nodes is not None and len(found) >= expected_nodes:
            deadline = min(deadline, time.monotonic() + LATE_ANSWER_GRACE_S)
        scan.responders.append(
            UdsResponder(
                addressing=scheme_for_id,
                response_id=message.arbitration_id,
                request_id=scheme_for_id.request_id_for(message.arbitration_id),
                positive=verdict[0],
                nrc=verdict[1],
            )
        )
    scan.responders.sort(key=lambda responder: (responder.addressing.extended_id, responder.response_id))
    return scan


def listen_for_traffic(link: CanLink, listen_s: float, enough_frames: int = 3) -> int:
    """Count valid frames heard within ``listen_s`` (stops early after ``enough_frames``).

    At a wrong bitrate a controller decodes no valid frame, so any valid frame proves the rate.

    Raises:
        LinkError: the adapter failed.
    """
    frames = 0
    deadline = time.monotonic() + listen_s
    while frames < enough_frames and (remaining := deadline - time.monotonic()) > 0:
        message = link.recv(remaining)
        if message is None:
            break
        if not message.is_error_frame:
            frames += 1
    return frames


__all__ = [
    "FunctionalScan",
    "UdsResponder",
    "functional_frame",
    "functional_tester_present",
    "listen_for_traffic",
]
