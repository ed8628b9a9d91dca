"""How ``bmsflasher sim --protocol modbus`` lays out its rack: line framing, addresses, bus faults.

Parsed once by the command line and carried to the rack's front-end inside
:class:`~bmsflasher.sim.wire.frontend_options.FrontEndOptions` (the baud rate is that class's
``baud``). Plain data: no I/O, nothing platform-specific.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bmsflasher.sim.wire.rs485_line import Parity

DEFAULT_RACK_BAUD: Final = 19_200
"""The Modbus serial line's default rate (with even parity: Modbus over serial line v1.02, 2.5.1)."""
DEFAULT_GATEWAY_TIMEOUT_S: Final = 1.0
"""How long the TCP gateway waits for a module's answer before it answers 0x0B itself."""


@dataclass(frozen=True, slots=True)
class RackOptions:
    """The rack's serial framing, its modules' addresses and the bus faults to show.

    Attributes:
        parity: the modules' parity (the Modbus default is even).
        stopbits: the modules' stop bits (1 or 2).
        addresses: one unit address per module, in daisy-chain order; may repeat (the duplicate
            address fault). Empty: ``1..N``.
        echo: the host's USB-RS485 adapter echoes what it sends (the host reads its own request
            before the answer).
        late: ``(address, seconds)`` pairs: every module with that address answers that much later.
        chain_break_after: the daisy chain is broken after this many modules; the ones beyond are
            silent. None: intact.
        gateway_timeout_s: the Modbus TCP gateway's answer timeout (then exception 0x0B).
    """

    parity: Parity = Parity.EVEN
    stopbits: int = 1
    addresses: tuple[int, ...] = ()
    echo: bool = False
    late: tuple[tuple[int, float], ...] = ()
    chain_break_after: int | None = None
    gateway_timeout_s: float = DEFAULT_GATEWAY_TIMEOUT_S
