"""``bmsflasher sim``: run a virtual BMS from the command line.

The command builds the device (or restores it from ``--state``: stopping and restarting is a power
cycle) and hands it to the protocol front-end chosen with ``--protocol`` and ``--link``. Front-ends
are looked up lazily in :data:`FRONT_ENDS`, like python-can's interface registry, so a missing one
fails only when it is chosen. SIGINT and SIGTERM stop the front-end cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Final, Protocol

from bmsflasher.cli.console import say
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing
from bmsflasher.sim.device.technician_auth import load_anchor, load_revocation_list
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.flash.encryption import ImageDecryptor
from bmsflasher.sim.options import MAX_CELLS, MIN_CELLS, Chemistry, DeviceAuth, SimOptions
from bmsflasher.sim.topology.spec import PackTopology, parse_topology
from bmsflasher.sim.wire.frontend_options import DEFAULT_CAN_CHANNEL, FrontEndOptions
from bmsflasher.sim.wire.modbus_rack import (
    MAX_MODULES,
    create_rack_devices,
    parse_addresses,
    rack_addresses,
)
from bmsflasher.sim.wire.rack_options import DEFAULT_GATEWAY_TIMEOUT_S, DEFAULT_RACK_BAUD, RackOptions
from bmsflasher.sim.wire.rs485_line import Parity
from bmsflasher.sim.wire.rtu_framing import MAX_ADDRESS, MIN_ADDRESS

EmitJson = Callable[[dict[str, object]], None]


class FrontEnd(Protocol):
    """The launcher signature every front-end module exposes."""

    def __call__(
        self, device: VirtualBms, options: FrontEndOptions, emit_json: EmitJson, stop: threading.Event
    ) -> None: ...


FRONT_ENDS: Final[dict[tuple[str, str], str]] = {
    ("uds", "virtual"): "bmsflasher.sim.wire.can_frontend:run_virtual",
    ("uds", "slcan"): "bmsflasher.sim.wire.can_frontend:run_slcan",
    ("smp", "pty"): "bmsflasher.sim.wire.serial_frontend:run",
    ("smp", "tcp"): "bmsflasher.sim.wire.tcp_serial:run",
    ("modbus", "pty"): "bmsflasher.sim.wire.rack_frontend:run_pty",
    ("modbus", "tcp"): "bmsflasher.sim.wire.rack_frontend:run_tcp",
}
DEFAULT_LINK: Final = {"uds": "slcan", "smp": "pty", "modbus": "pty"}
DEFAULT_SERIAL_BAUD: Final = 115_200
"""The SMP device's and the slcan adapter's rate when ``--baud`` is not given (a rack: 19200)."""


def load_front_end(protocol: str, link: str) -> FrontEnd:
    """Import the launcher for ``(protocol, link)``; a clear SimError when none exists."""
    target = FRONT_ENDS.get((protocol, link))
    if target is None:
        offered = ", ".join(f"{p} over {k}" for p, k in sorted(FRONT_ENDS))
        raise SimError(
            t(
                "the virtual BMS does not serve {protocol} over {link}; it offers {offered}",
                protocol=protocol,
                link=link,
                offered=offered,
            )
        )
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise SimError(
            t(
                "the {protocol} front-end over {link} is not part of this build",
                protocol=protocol,
                link=link,
            )
        ) from exc
    launcher: FrontEnd = getattr(module, function)
    return launcher


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(say(t("'{text}' is not a whole number", text=text))) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                say(t("{number} is outside {low}..{high}", number=value, low=low, high=high))
            )
        return value

    return parse


def _float_range(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(say(t("'{text}' is not a number", text=text))) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                say(t("{number} is outside {low}..{high}", number=value, low=low, high=high))
            )
        return value

    return parse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sim`` subcommand."""
    parser = subparsers.add_parser(
        "sim",
        help=say(t("run a virtual BMS (demo device and test peer)")),
        description=say(
            t(
                "Run a virtual BMS with dual-bank flash and an MCUboot-style bootloader. Stop it with "
                "Ctrl+C; restarting it on the same --state file is a power cycle."
            )
        ),
    )
    device = parser.add_argument_group(say(t("device")))
    device.add_argument(
        "--state", type=Path, help=say(t("flash state file (kept between runs); memory only if omitted"))
    )
    device.add_argument(
        "--cells", type=_int_range(MIN_CELLS, MAX_CELLS), default=16, help=say(t("series cells (1-512)"))
    )
    device.add_argument(
        "--chemistry",
        choices=[c.value for c in Chemistry],
        default="lfp",
        help=say(t("cell chemistry (default lfp)")),
    )
    device.add_argument(
        "--soc", type=_float_range(0, 100), default=60.0, help=say(t("initial state of charge in %%"))
    )
    device.add_argument(
        "--ambient-c", type=_float_range(-40, 85), default=25.0, help=say(t("ambient temperature"))
    )
    device.add_argument(
        "--load-a", type=_float_range(-2000, 2000), default=0.0, help=say(t("discharge current (A)"))
    )
    device.add_argument(
        "--failed-sensor", type=_int_range(0, 15), help=say(t("temperature sensor that reads open"))
    )
    device.add_argument(
        "--weak-cell", type=_int_range(0, MAX_CELLS - 1), help=say(t("cell with low capacity"))
    )
    device.add_argument(
        "--seed", type=_int_range(0, 2**31), default=1, help=say(t("seed of all random behaviour"))
    )
    device.add_argument(
        "--serial", help=say(t("serial number of a new device (default derived from --seed)"))
    )
    device.add_argument(
        "--recovery", action="store_true", help=say(t("a new device starts with no valid image"))
    )
    device.add_argument(
        "--trust", type=Path, help=say(t("PEM public key the bootloader trusts (default: demo key)"))
    )
    device.add_argument("--factory-image", type=Path, help=say(t("MCUboot image a new device holds")))
    device.add_argument(
        "--auth",
        choices=[mode.value for mode in DeviceAuth],
        default=DeviceAuth.SEED_KEY.value,
        help=say(t("how the device authenticates the tester: seed-key (UDS 0x27) or certificate (UDS 0x29)")),
    )
    device.add_argument(
        "--auth-ca",
        type=Path,
        help=say(t("CA certificate the device trusts for --auth certificate (default: the demo CA)")),
    )
    device.add_argument(
        "--auth-crl",
        type=Path,
        metavar="FILE.crl",
        help=say(
            t(
                "revocation list of the --auth-ca the device holds: a revoked technician certificate is "
                "refused with NRC 0x57"
            )
        ),
    )
    device.add_argument(
        "--enc-key",
        type=Path,
        metavar="KEY.pem",
        help=say(
            t(
                "the device family's private image-encryption key, ECIES-P256 or X25519 (default: the "
                "demo encryption key)"
            )
        ),
    )
    device.add_argument(
        "--time-scale", type=_float_range(0, 10_000), default=1.0, help=say(t("sim seconds per second"))
    )
    device.add_argument(
        "--erase-ms",
        type=_float_range(0, 1000),
        default=5.0,
        help=say(t("time of one 4 KiB sector erase (ms)")),
    )
    link = parser.add_argument_group(say(t("link")))
    link.add_argument(
        "--protocol",
        choices=["uds", "smp", "modbus"],
        default="smp",
        help=say(t("smp (serial), uds (CAN) or modbus (an RS485 rack of battery modules); default smp")),
    )
    link.add_argument(
        "--link",
        choices=["virtual", "slcan", "pty", "tcp"],
        help=say(
            t(
                "default: slcan for uds, pty for smp; tcp serves smp on socket://127.0.0.1:PORT (systems "
                "without ptys, e.g. Windows)"
            )
        ),
    )
    link.add_argument(
        "--bitrate",
        type=_int_range(10_000, 1_000_000),
        default=500_000,
        help=say(t("CAN bitrate (default 500000)")),
    )
    link.add_argument(
        "--data-bitrate",
        type=_int_range(500_000, 8_000_000),
        default=2_000_000,
        help=say(t("CAN FD data-phase bitrate with --fd (default 2000000)")),
    )
    link.add_argument("--fd", action="store_true", help=say(t("CAN-FD")))
    link.add_argument("--channel", default=DEFAULT_CAN_CHANNEL, help=say(t("python-can virtual channel")))
    link.add_argument(
        "--node-id",
        type=_int_range(1, 127),
        default=1,
        help=say(t("UDS node number of the first device (default 1)")),
    )
    link.add_argument("--nodes", type=_int_range(1, 32), default=1, help=say(t("devices on the bus")))
    link.add_argument(
        "--addressing",
        choices=[mode.value for mode in CanAddressing],
        default=CanAddressing.NORMAL_11BIT.value,
        help=say(
            t(
                "UDS CAN addressing: 11bit (0x7E0+n-1/0x7E8+n-1, default) or 29bit normal fixed "
                "(0x18DA<node><tester>/0x18DA<tester><node>, functional 0x18DB33<tester>)"
            )
        ),
    )
    link.add_argument(
        "--node-address",
        type=_int_range(0, 0xFD),
        default=0x01,
        help=say(
            t(
                "29-bit addressing: the first device's address, e.g. 0x17 (default 0x01; further --nodes "
                "take the next addresses)"
            )
        ),
    )
    link.add_argument(
        "--tester-address",
        type=_int_range(0, 0xFD),
        default=DEFAULT_TESTER_ADDRESS,
        help=say(
            t(
                "29-bit addressing: the tester address the nodes answer (default 0x{default:02X})",
                default=DEFAULT_TESTER_ADDRESS,
            )
        ),
    )
    link.add_argument(
        "--baud",
        type=_int_range(300, 4_000_000),
        help=say(t("the device's serial baud rate (default 115200; a Modbus rack: 19200)")),
    )
    link.add_argument("--link-path", help=say(t("create this symlink to the pty")))
    link.add_argument(
        "--tcp-port",
        type=_int_range(0, 65_535),
        default=0,
        help=say(
            t(
                "with --link tcp: the TCP port on 127.0.0.1 (default 0: a free one, as the listening "
                "line says)"
            )
        ),
    )
    link.add_argument(
        "--drop-rate",
        type=_float_range(0, 1),
        default=0.0,
        help=say(t("probability a frame or chunk is lost (0-1)")),
    )
    link.add_argument(
        "--bit-error-rate",
        type=_float_range(0, 1),
        default=0.0,
        help=say(t("probability a serial bit flips (0-1)")),
    )
    link.add_argument(
        "--max-baud",
        type=_int_range(300, 4_000_000),
        help=say(t("the highest serial rate the adapter and cable hold; faster bytes are garbled")),
    )
    _register_can_tool_options(link)
    _register_rack_options(parser)
    link.add_argument(
        "--topology",
        type=_topology,
        help=say(
            t(
                "run a multi-node pack on one bus, e.g. bcu=1,bmc=2,bmu=12 (uds: one CAN bus behind the "
                "slcan adapter; modbus: one RS485 rack)"
            )
        ),
    )
    parser.add_argument("--json", action="store_true", help=say(t("print one JSON object per line")))
    parser.add_argument("--info", action="store_true", help=say(t("print the device identity and exit")))
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help=say(
            t("stop when standard input closes: a parent that started the device died (the demo uses it)")
        ),
    )
    parser.set_defaults(func=run_sim)


def _register_can_tool_options(link: argparse._ArgumentGroup) -> None:
    """UDS on CAN only: the device's cyclic broadcasts and a replayed bus log (docs/can-tools.md)."""
    link.add_argument(
        "--broadcast",
        action="store_true",
        help=say(t("UDS: the first node also sends its cyclic CAN broadcasts (bmsflasher dbc export)")),
    )
    link.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help=say(t("UDS: a node replays this bus log (.log .asc .blf .trc .csv) with its recorded timing")),
    )
    link.add_argument(
        "--loop", action="store_true", help=say(t("with --replay: start the log again at its end"))
    )
    link.add_argument(
        "--replay-only",
        action="store_true",
        help=say(t("with --replay: serve no virtual BMS, only the replayed log")),
    )


def _check_can_tool_options(args: argparse.Namespace) -> None:
    """--loop and --replay-only need --replay; broadcasts and replay exist only on a CAN bus."""
    if (args.loop or args.replay_only) and args.replay is None:
        raise SimError(t("--loop and --replay-only need --replay FILE"))
    if (args.broadcast or args.replay is not None) and args.protocol != "uds":
        raise SimError(t("--broadcast and --replay need --protocol uds (a CAN bus)"))


def _register_rack_options(parser: argparse.ArgumentParser) -> None:
    """The RS485 rack's options (``--protocol modbus``): modules, addresses, framing, bus faults."""
    rack = parser.add_argument_group(say(t("RS485 rack (--protocol modbus)")))
    rack.add_argument(
        "--modules",
        type=_int_range(1, MAX_MODULES),
        help=say(t("battery modules on the bus (default 1, or as many as --addresses names)")),
    )
    rack.add_argument(
        "--first-address",
        type=_int_range(MIN_ADDRESS, MAX_ADDRESS),
        default=1,
        help=say(t("unit address of the first module; the next ones count up (default 1)")),
    )
    rack.add_argument(
        "--addresses",
        type=_address_list,
        default=(),
        help=say(
            t("unit addresses in daisy-chain order, e.g. 1-4,7 (a repeated address: two modules collide)")
        ),
    )
    rack.add_argument(
        "--parity",
        choices=[Parity.NONE.value, Parity.EVEN.value, Parity.ODD.value],
        default=Parity.EVEN.value,
        help=say(t("the modules' parity (default E)")),
    )
    rack.add_argument(
        "--stopbits", type=int, choices=[1, 2], default=1, help=say(t("the modules' stop bits (default 1)"))
    )
    rack.add_argument(
        "--echo",
        action="store_true",
        help=say(t("the USB-RS485 adapter echoes what the host sends (pty only)")),
    )
    rack.add_argument(
        "--late",
        type=_late_module,
        action="append",
        default=[],
        metavar="ADDRESS:SECONDS",
        help=say(t("the modules at ADDRESS answer SECONDS late (repeatable)")),
    )
    rack.add_argument(
        "--chain-break-after",
        type=_int_range(0, MAX_MODULES),
        help=say(t("the daisy chain is broken after this many modules: the ones beyond stay silent")),
    )
    rack.add_argument(
        "--gateway-timeout-ms",
        type=_float_range(1, 60_000),
        default=DEFAULT_GATEWAY_TIMEOUT_S * 1000,
        help=say(t("with --link tcp: how long the gateway waits for a module before exception 0x0B")),
    )


def _topology(text: str) -> PackTopology:
    try:
        return parse_topology(text)
    except SimError as exc:
        raise argparse.ArgumentTypeError(say(exc.message)) from None


def _address_list(text: str) -> tuple[int, ...]:
    try:
        return parse_addresses(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(say(exc.args[0])) from None


def _late_module(text: str) -> tuple[int, float]:
    address_text, colon, seconds_text = text.partition(":")
    try:
        address = int(address_text, 0)
        seconds = float(seconds_text)
    except ValueError:
        address, seconds, colon = 0, 0.0, ""
    if not colon or not MIN_ADDRESS <= address <= MAX_ADDRESS or not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(say(t("'{text}' is not ADDRESS:SECONDS, e.g. 3:0.5", text=text)))
    return address, seconds


def _rack_options(args: argparse.Namespace, addresses: tuple[int, ...]) -> RackOptions:
    """The rack's layout and faults; a fault naming a module that is not there is refused."""
    for address, _seconds in args.late:
        if address not in addresses:
            raise SimError(t("--late names address {address}, which no module has", address=address))
    if args.chain_break_after is not None and args.chain_break_after > len(addresses):
        raise SimError(
            t(
                "--chain-break-after {count} is beyond the {modules} modules",
                count=args.chain_break_after,
                modules=len(addresses),
            )
        )
    return RackOptions(
        parity=Parity(args.parity),
        stopbits=args.stopbits,
        addresses=addresses,
        echo=args.echo,
        late=tuple(args.late),
        chain_break_after=args.chain_break_after,
        gateway_timeout_s=args.gateway_timeout_ms / 1000.0,
    )


def _sim_options(args: argparse.Namespace) -> SimOptions:
    options = SimOptions(
        state_file=args.state,
        cells=args.cells,
        chemistry=Chemistry(args.chemistry),
        soc_pct=args.soc,
        ambient_c=args.ambient_c,
        load_a=args.load_a,
        failed_sensor=args.failed_sensor,
        weak_cell=args.weak_cell,
        seed=args.seed,
        serial_number=args.serial,
        recovery=args.recovery,
        time_scale=args.time_scale,
        erase_time_s_per_sector=args.erase_ms / 1000.0,
        boot_time_s=0.2,
    )
    if args.trust is not None:
        options = replace(options, trusted_key=_existing_file(args.trust, t("trusted key file")))
    if args.factory_image is not None:
        options = replace(options, factory_image=_existing_file(args.factory_image, t("factory image")))
    options = replace(options, auth=DeviceAuth(args.auth))
    if args.auth_ca is not None:
        options = replace(options, auth_anchor=_existing_file(args.auth_ca, t("CA certificate")))
    if args.auth_crl is not None:
        options = replace(options, auth_crl=_revocation_list(args.auth_crl, options))
    if args.enc_key is not None:
        options = replace(options, encryption_key=_encryption_key(args.enc_key))
    return options


def _revocation_list(path: Path, options: SimOptions) -> Path:
    """``--auth-crl``: a list the trusted CA signed; refused at start, not at the first technician."""
    _existing_file(path, t("revocation list"))
    if options.auth is not DeviceAuth.CERTIFICATE:
        raise SimError(t("--auth-crl needs --auth certificate (a seed/key device checks no certificate)"))
    try:
        load_revocation_list(path, load_anchor(options.auth_anchor))
    except (OSError, ValueError) as exc:
        raise SimError(
            t("the revocation list {path} cannot be used: {reason}", path=path, reason=str(exc))
        ) from exc
    return path


def _encryption_key(path: Path) -> Path:
    """``--enc-key``: a P-256 or X25519 private key, checked at start."""
    _existing_file(path, t("encryption key"))
    try:
        ImageDecryptor(path)
    except ValueError as exc:
        raise SimError(
            t("the encryption key {path} cannot be used: {reason}", path=path, reason=str(exc))
        ) from exc
    return path


def _existing_file(path: Path, what: str) -> Path:
    """``path`` if it is a regular file; a device node (/dev/zero) would be read forever."""
    if not path.exists():
        raise SimError(t("the {what} {path} does not exist", what=what, path=path))
    if not path.is_file():
        raise SimError(t("the {what} {path} is not a regular file", what=what, path=path))
    return path


def _node_options(base: SimOptions, node: int) -> SimOptions:
    """Options of node ``node`` (0-based) of a multi-device bus: its own serial, seed and state file."""
    if node == 0:
        return base
    state = base.state_file
    if state is not None:
        state = state.with_name(f"{state.stem}.node{node + 1}{state.suffix}")
    serial = f"{base.serial_number}-{node + 1}" if base.serial_number else None
    return replace(base, state_file=state, seed=base.seed + node, serial_number=serial)


def _emitter(as_json: bool) -> EmitJson:
    lock = threading.Lock()

    def emit(event: dict[str, object]) -> None:
        line = (
            json.dumps(event, default=str)
            if as_json
            else " ".join(f"{key}={value}" for key, value in event.items())
        )
        with lock:
            print(line, flush=True)

    return emit


def _describe(device: VirtualBms) -> dict[str, object]:
    identity = device.identity()
    return {
        "event": "device",
        "model": identity.model,
        "serial": identity.serial_number,
        "hardware": identity.hardware_revision,
        "firmware": str(identity.firmware_version) if identity.firmware_version else None,
        "bootloader": str(identity.bootloader_version),
        "mode": identity.mode.value,
        "security_counter": identity.security_counter,
        "state_file": str(device.options.state_file) if device.options.state_file else None,
    }


def run_sim(args: argparse.Namespace) -> int:
    """Build the device(s), serve until SIGINT/SIGTERM, close everything; returns the exit code."""
    link = args.link or DEFAULT_LINK[args.protocol]
    _check_can_tool_options(args)
    emit = _emitter(args.json)
    base = _sim_options(args)
    if args.topology is not None:
        return _run_pack(args, args.topology, base, link, emit)
    launcher = None if args.info else load_front_end(args.protocol, link)
    rack = args.protocol == "modbus"
    addresses = rack_addresses(args.modules, args.first_address, args.addresses) if rack else ()
    rack_options = _rack_options(args, addresses) if rack else RackOptions()
    baud = args.baud or (DEFAULT_RACK_BAUD if rack else DEFAULT_SERIAL_BAUD)
    devices: list[VirtualBms] = []
    try:
        if rack:
            devices = create_rack_devices(base, len(addresses))
        else:
            for node in range(args.nodes):
                devices.append(VirtualBms.create(_node_options(base, node)))
        for index, device in enumerate(devices):
            described = _describe(device)
            emit({**described, "address": addresses[index]} if rack else described)
        if launcher is None:
            return 0
        options = FrontEndOptions(
            bitrate=args.bitrate,
            data_bitrate=args.data_bitrate,
            fd=args.fd,
            channel=args.channel,
            node_id=args.node_id,
            addressing=CanAddressing(args.addressing),
            node_address=args.node_address,
            tester_address=args.tester_address,
            nodes=len(devices),
            extra_devices=tuple(devices[1:]),
            baud=baud,
            link_path=args.link_path,
            tcp_port=args.tcp_port,
            drop_rate=args.drop_rate,
            bit_error_rate=args.bit_error_rate,
            max_baud=args.max_baud,
            seed=args.seed,
            rack=rack_options,
            broadcast=args.broadcast,
            replay=args.replay,
            replay_loop=args.loop,
            replay_only=args.replay_only,
        )
        stop = threading.Event()
        if args.stop_on_stdin_eof:
            _stop_at_end_of_input(stop)
        _serve(launcher, devices[0], options, emit, stop)
        emit({"event": "stopped"})
        return 0
    finally:
        for device in devices:
            device.close()


PACK_FRONT_ENDS: Final[dict[tuple[str, str], str]] = {
    ("uds", "virtual"): "bmsflasher.sim.topology.can_pack:run",
    ("uds", "slcan"): "bmsflasher.sim.topology.can_pack:run",
    ("modbus", "pty"): "bmsflasher.sim.topology.rack_pack:run",
    ("modbus", "tcp"): "bmsflasher.sim.topology.rack_pack:run",
}
"""The front-ends that serve a whole pack (``--topology``), looked up lazily like :data:`FRONT_ENDS`."""


def _run_pack(
    args: argparse.Namespace, topology: PackTopology, base: SimOptions, link: str, emit: EmitJson
) -> int:
    """``sim --topology``: every node of the pack on one bus; each node announces itself, then the link."""
    if args.nodes != 1 or args.modules is not None or args.addresses:
        raise SimError(t("--topology sets the nodes itself: leave out --nodes, --modules and --addresses"))
    if args.info:
        from bmsflasher.sim.topology.can_pack import describe

        describe(topology, base, emit)
        return 0
    target = PACK_FRONT_ENDS.get((args.protocol, link))
    if target is None:
        offered = ", ".join(f"{p} over {k}" for p, k in sorted(PACK_FRONT_ENDS))
        raise SimError(t("a pack (--topology) is served as {offered}", offered=offered))
    module_name, _, function = target.partition(":")
    launcher = getattr(importlib.import_module(module_name), function)
    rack = args.protocol == "modbus"
    options = FrontEndOptions(
        bitrate=args.bitrate,
        data_bitrate=args.data_bitrate,
        fd=args.fd,
        channel=args.channel,
        tester_address=args.tester_address,
        baud=args.baud or (DEFAULT_RACK_BAUD if rack else DEFAULT_SERIAL_BAUD),
        link_path=args.link_path,
        tcp_port=args.tcp_port,
        drop_rate=args.drop_rate,
        bit_error_rate=args.bit_error_rate,
        seed=args.seed,
        rack=_rack_options(args, tuple(range(1, topology.total + 1))) if rack else RackOptions(),
    )
    stop = threading.Event()
    if args.stop_on_stdin_eof:
        _stop_at_end_of_input(stop)
    _until_stopped(lambda: launcher(topology, base, options, link=link, emit_json=emit, stop=stop), stop)
    emit({"event": "stopped"})
    return 0


def _stop_at_end_of_input(stop: threading.Event) -> None:
    """Set ``stop`` once standard input reaches its end (portable: Windows has no parent-death signal)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # no standard input at all: nothing to watch
        return

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            while stream.read(4096):
                pass
        stop.set()

    threading.Thread(target=watch, name="sim-stdin-watch", daemon=True).start()


def _serve(
    launcher: FrontEnd, device: VirtualBms, options: FrontEndOptions, emit: EmitJson, stop: threading.Event
) -> None:
    """Run the launcher with SIGINT/SIGTERM setting ``stop`` (handlers restored afterwards)."""
    _until_stopped(lambda: launcher(device, options, emit, stop), stop)


def _until_stopped(body: Callable[[], None], stop: threading.Event) -> None:
    """Run ``body`` with SIGINT/SIGTERM setting ``stop`` (handlers restored afterwards)."""

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        body()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not stop.is_set():
            stop.set()
        sys.stdout.flush()
