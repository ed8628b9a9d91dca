"""``bmsflasher sim --protocol smp --link tcp``: the virtual BMS's serial port as a loopback TCP socket.

Where the system has no pseudo-terminals (Windows) the SMP device is served on
``socket://127.0.0.1:PORT`` instead, which pyserial — and so the tool's ordinary serial link —
opens like any COM port. Everything behind the port is the pty front-end's, unchanged: the same
UART model (paced at the device's baud rate, with the same faults), the same SMP serial transport
and framing, the same server and firmware thread, the same reset that makes the port go away and
come back (:class:`~bmsflasher.sim.wire.serial_frontend.SerialFrontEnd` over a
:class:`~bmsflasher.sim.wire.tcp_port.TcpSerialPort`).

The ``listening`` line names ``port`` (the URL), ``host`` and ``tcp_port`` beside the usual fields.
"""

from __future__ import annotations

import threading

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import (
    EmitJson,
    SerialDeviceSettings,
    SerialFrontEnd,
    announcement,
    serve,
)
from bmsflasher.sim.wire.tcp_port import TcpSerialPort


def tcp_front_end(
    device: VirtualBms,
    options: FrontEndOptions,
    settings: SerialDeviceSettings | None = None,
    *,
    port: TcpSerialPort | None = None,
) -> SerialFrontEnd:
    """A serial front-end for ``device`` on ``port`` (default: 127.0.0.1:``options.tcp_port``), not started.

    Raises:
        SimError: the TCP port cannot be listened on.
    """
    port = port or TcpSerialPort(options.tcp_port)
    try:
        return SerialFrontEnd(device, options, settings, port=port)
    except BaseException:
        port.close()
        raise


def run(device: VirtualBms, options: FrontEndOptions, emit_json: EmitJson, stop: threading.Event) -> None:
    """Launcher for ``bmsflasher sim --protocol smp --link tcp`` (see docs/design/sim-api.md).

    Announces ``{"event": "listening", "protocol": "smp", "link": "tcp", "port":
    "socket://127.0.0.1:P", "host": "127.0.0.1", "tcp_port": P, "baud": ...}`` and serves until
    ``stop`` is set.
    """
    port = TcpSerialPort(options.tcp_port)
    front_end = tcp_front_end(device, options, port=port)
    listening = {**announcement(front_end, "tcp"), "host": port.host, "tcp_port": port.tcp_port}
    serve(front_end, listening, emit_json, stop)
