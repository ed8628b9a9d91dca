"""The UDS client's receive wait is not ended by other traffic (a BMS's cyclic broadcasts, other nodes).

can-isotp's relay thread treats an early "nothing" from the receive function as an idle bus and
sleeps up to its read timeout; when every broadcast frame ended the wait, the node's answer waited
behind that sleep and an update with broadcasts on lost about a quarter of its throughput.
"""

from __future__ import annotations

import threading
import uuid

import can

from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.protocols.uds.transport import IsoTpTransport


def test_a_broadcast_before_the_answer_does_not_end_the_wait() -> None:
    channel = f"rx-other-{uuid.uuid4().hex[:8]}"
    link = CanLink.open(CanLinkConfig(interface="virtual", channel=channel))
    peer = can.Bus(interface="virtual", channel=channel)
    try:
        transport = IsoTpTransport(link, 1)
        broadcast = can.Message(arbitration_id=0x351, is_extended_id=False, data=bytes(8))
        answer = can.Message(
            arbitration_id=0x7E8, is_extended_id=False, data=bytes([0x02, 0x50, 0x01]) + bytes(5)
        )
        peer.send(broadcast)
        timer = threading.Timer(0.005, peer.send, args=(answer,))
        timer.start()
        frame = transport._rxfn(0.5)  # what can-isotp's relay thread calls
        timer.join()
        assert frame is not None
        assert frame.arbitration_id == 0x7E8
        assert bytes(frame.data[:3]) == bytes([0x02, 0x50, 0x01])
        assert transport._rxfn(0.01) is None  # nothing more: the wait ends at its timeout
    finally:
        peer.shutdown()
        link.close()
