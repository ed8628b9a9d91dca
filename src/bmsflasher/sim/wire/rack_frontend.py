"""``bmsflasher sim --protocol modbus --link pty|tcp``: the virtual rack on a pty or behind a TCP gateway.

``--link pty`` puts the rack's RS485 bus behind one pseudo-terminal, the USB-RS485 adapter the tool
opens (:mod:`~bmsflasher.sim.wire.rs485_pty`); ``--link tcp`` puts the same bus behind a Modbus TCP
gateway on 127.0.0.1 (:mod:`~bmsflasher.sim.wire.modbus_tcp_gateway`). Both announce one
``listening`` JSON line with what a script needs to reach every module::

    {"event": "listening", "protocol": "modbus", "link": "pty", "port": "/tmp/.../ttyRS485",
     "baud": 19200, "parity": "E", "stopbits": 1, "addresses": [1, 2, 3], ...}
    {"event": "listening", "protocol": "modbus", "link": "tcp", "host": "127.0.0.1",
     "tcp_port": 40123, "baud": 19200, "parity": "E", "stopbits": 1, "addresses": [1, 2, 3], ...}

then serve until ``stop`` is set. This module loads where ``termios`` does not (Windows): the pty
is imported only by :func:`run_pty`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.modbus_rack import ModbusRack, ModuleFactory
from bmsflasher.sim.wire.modbus_tcp_gateway import GatewayHost, ModbusTcpGateway
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity
from bmsflasher.sim.wire.tcp_port import LOOPBACK

EmitJson = Callable[[dict[str, object]], None]
_POLL_S: Final = 0.1


def rack_settings(options: FrontEndOptions) -> LineSettings:
    """The modules' line settings: ``options.baud`` with the rack's parity and stop bits."""
    return LineSettings(options.baud, options.rack.parity, options.rack.stopbits)


def rack_devices(device: VirtualBms, options: FrontEndOptions) -> tuple[VirtualBms, ...]:
    """The modules in chain order: the launcher's ``device`` first, then ``options.extra_devices``."""
    return (device, *options.extra_devices)


def rack_address_list(devices: Sequence[VirtualBms], rack: RackOptions) -> tuple[int, ...]:
    """The configured addresses, or ``1..N`` when none were given."""
    return rack.addresses or tuple(range(1, len(devices) + 1))


def announcement(
    rack: ModbusRack, settings: LineSettings, link: str, options: RackOptions
) -> dict[str, object]:
    """The ``listening`` line's common part: the bus's framing, the modules and the faults shown."""
    return {
        "event": "listening",
        "protocol": "modbus",
        "link": link,
        "baud": settings.baud,
        "parity": settings.parity.value,
        "stopbits": settings.stopbits,
        "addresses": list(rack.addresses),
        "serials": [device.serial_number for device in rack.devices],
        "echo": options.echo,
        "chain_break_after": options.chain_break_after,
        "late": [[address, seconds] for address, seconds in options.late],
    }


def serve_until(stop: threading.Event) -> None:
    """Serve (the rack's own threads do the work) until ``stop`` is set."""
    while not stop.wait(_POLL_S):
        pass


def run_pty(
    device: VirtualBms,
    options: FrontEndOptions,
    emit_json: EmitJson,
    stop: threading.Event,
    *,
    factory: ModuleFactory | None = None,
) -> None:
    """Launcher for ``bmsflasher sim --protocol modbus --link pty`` (see docs/design/sim-api.md)."""
    from bmsflasher.sim.wire.rs485_pty import PtyBusHost  # POSIX only (termios)

    settings = rack_settings(options)
    devices = rack_devices(device, options)
    hidden = settings.parity if settings.parity in (Parity.NONE, Parity.EVEN) else Parity.NONE
    host = PtyBusHost(options.link_path, even_or_none=hidden)
    host.plug()
    try:
        rack = ModbusRack(
            devices,
            rack_address_list(devices, options.rack),
            host,
            settings,
            rack=options.rack,
            factory=factory,
            seed=options.seed,
            max_baud=options.max_baud,
        )
        with rack:
            emit_json({**announcement(rack, settings, "pty", options.rack), "port": host.path})
            serve_until(stop)
    finally:
        host.close()


def run_tcp(
    device: VirtualBms,
    options: FrontEndOptions,
    emit_json: EmitJson,
    stop: threading.Event,
    *,
    factory: ModuleFactory | None = None,
) -> None:
    """Launcher for ``bmsflasher sim --protocol modbus --link tcp`` (see docs/design/sim-api.md).

    The echo fault belongs to a USB adapter, so the gateway's serial side never echoes.
    """
    settings = rack_settings(options)
    devices = rack_devices(device, options)
    addresses = rack_address_list(devices, options.rack)
    host = GatewayHost(settings)
    rack_options = replace(options.rack, echo=False)
    rack = ModbusRack(
        devices, addresses, host, settings, rack=rack_options, factory=factory, seed=options.seed
    )
    try:
        gateway = ModbusTcpGateway(
            rack.bus, host, addresses, timeout_s=options.rack.gateway_timeout_s, tcp_port=options.tcp_port
        )
    except OSError as exc:
        raise SimError(
            t(
                "the virtual BMS cannot listen on {host}:{tcp_port}: {reason}",
                host=LOOPBACK,
                tcp_port=options.tcp_port,
                reason=exc.strerror or exc,
            )
        ) from exc
    with rack, gateway:
        listening = {
            **announcement(rack, settings, "tcp", rack_options),
            "host": gateway.host,
            "tcp_port": gateway.tcp_port,
            "gateway_timeout_s": options.rack.gateway_timeout_s,
        }
        emit_json(listening)
        serve_until(stop)
