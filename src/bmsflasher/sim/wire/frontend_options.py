"""Options shared by every protocol front-end of the virtual BMS.

``bmsflasher sim`` parses the command line once and hands one :class:`FrontEndOptions` to whichever
front-end serves the chosen protocol and link (UDS over a virtual CAN bus or an emulated slcan
adapter, SMP over a pseudo-terminal or a loopback TCP socket, a Modbus rack on an RS485 bus). A
front-end ignores the fields that do not apply to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing
from bmsflasher.sim.wire.rack_options import RackOptions

if TYPE_CHECKING:
    from bmsflasher.sim.device.virtual_bms import VirtualBms

DEFAULT_CAN_CHANNEL: Final = "bmsflasher-sim"


@dataclass(frozen=True, slots=True)
class FrontEndOptions:
    """How a front-end exposes the device(s).

    Attributes:
        bitrate: CAN nominal (arbitration) bit rate in bit/s.
        data_bitrate: CAN-FD data-phase bit rate in bit/s (used only when ``fd``).
        fd: serve CAN-FD frames (ISO-TP with up to 64-byte frames).
        channel: python-can ``virtual`` channel name the UDS front-end joins.
        node_id: UDS node number of ``device`` with 11-bit addressing (1..8; nodes follow it).
        addressing: UDS CAN addressing of every node: 11-bit normal or 29-bit normal fixed.
        node_address: one-byte address of ``device`` with 29-bit addressing (0x00..0xFD); further
            nodes take the following addresses.
        tester_address: the tester's one-byte address the nodes answer (29-bit addressing only).
        nodes: number of nodes on the bus; ``device`` is the first, ``extra_devices`` the rest.
        extra_devices: further devices sharing the bus (a pack with several modules); may be empty.
        baud: serial line rate in baud for the pty (SMP) and the slcan adapter's host side.
        link_path: optional path of a symlink to create to the pty (a stable name for scripts).
        tcp_port: TCP port the SMP device listens on over ``--link tcp`` (127.0.0.1 only; 0 lets
            the OS choose a free one, which the ``listening`` line reports).
        drop_rate: probability in 0..1 that one frame or serial chunk is silently lost.
        bit_error_rate: probability in 0..1 per transmitted bit of a flip (serial garbling).
        max_baud: the highest serial rate the adapter and cable hold (None: any); bytes sent faster
            are garbled (``sim/wire/serial_port.overspeed_bit_error_rate``), as a long RS485 run or
            a cheap USB-serial bridge does. A negotiated rate switch must then settle below it.
        response_delay_s: extra delay before every response (a slow device or gateway).
        seed: seed for the link's random faults, so a faulty run can be replayed.
        rack: the Modbus rack's framing, addresses and bus faults (``--protocol modbus``; its
            baud rate is ``baud``).
        broadcast: the first UDS node also sends its cyclic CAN broadcasts (pack values, cell
            voltages, temperatures, alarms; ``resources/dbc/vbms.dbc``). Off by default, so the
            bus carries only what a test or benchmark put on it.
        replay: a bus log whose frames a replay node sends with their recorded timing.
        replay_loop: start the log again after its last frame.
        replay_only: serve no UDS node, only the replay (a field capture examined at the desk).
    """

    bitrate: int = 500_000
    data_bitrate: int = 2_000_000
    fd: bool = False
    channel: str = DEFAULT_CAN_CHANNEL
    node_id: int = 1
    addressing: CanAddressing = CanAddressing.NORMAL_11BIT
    node_address: int = 0x01
    tester_address: int = DEFAULT_TESTER_ADDRESS
    nodes: int = 1
    extra_devices: tuple[VirtualBms, ...] = ()
    baud: int = 115_200
    link_path: str | None = None
    tcp_port: int = 0
    drop_rate: float = 0.0
    bit_error_rate: float = 0.0
    max_baud: int | None = None
    response_delay_s: float = 0.0
    seed: int = 0
    rack: RackOptions = field(default_factory=RackOptions)
    broadcast: bool = False
    replay: Path | None = None
    replay_loop: bool = False
    replay_only: bool = False
