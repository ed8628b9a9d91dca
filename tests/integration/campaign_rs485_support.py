"""Campaign runs against the virtual pack wired as an RS485 rack, in another process, behind its pty.

The pack is ``bmsflasher sim --protocol modbus --link pty --topology …`` (units 1, 2, 3, … in pack
order, the BCU first; :class:`pack_support.PackProcess`) at 460800 baud so a campaign's transfers stay
short; the tool is the real CLI (``bmsflasher campaign --port PTY …``). Homes, fast profiles,
bundles and the CLI runners are the slcan proofs' (:mod:`campaign_slcan_support`).
"""

from __future__ import annotations

from pathlib import Path

from campaign_slcan_support import DEMO_PUB
from pack_support import PackProcess

from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.protocols.modbus.target import ModbusTarget, open_link

NO_BMC_PACK = "bcu=1,bmu=2"
"""The fast suite's pack: a BCU and two BMUs (one package broadcast to two nodes, one sent alone)."""
NO_BMC_MINIMUM = {Tier.BCU: 1, Tier.BMC: 0, Tier.BMU: 2}
RACK_BAUD = 460_800
ADDRESSES = "1-5"
"""The unit addresses the campaigns look at: the pack's and two silent ones after them."""


def start_rack(topology: str, state: Path | None = None) -> PackProcess:
    """The pack on its RS485 pty (the last ``--baud`` given to ``sim`` wins)."""
    return PackProcess(topology, "--baud", str(RACK_BAUD), protocol="modbus", state=state)


def line_argv(pack: PackProcess) -> list[str]:
    """The link options naming the rack's line (no ``--address``: a pack command finds every node)."""
    return [
        "--port",
        str(pack.info["port"]),
        "--baud",
        str(pack.info["baud"]),
        "--parity",
        str(pack.info["parity"]),
        "--addresses",
        ADDRESSES,
    ]


def rs485_argv(pack: PackProcess, bundle_path: Path, home: Path) -> list[str]:
    return [
        "campaign",
        str(bundle_path),
        *line_argv(pack),
        "--trust",
        str(DEMO_PUB),
        "--yes",
        "--json",
        "--db",
        str(home / "history.sqlite3"),
    ]


def rack_slots(pack: PackProcess) -> dict[str, tuple[str, bool, tuple[tuple[int, str], ...]]]:
    """Each node's running version, whether it is confirmed, and every slot's image hash, over RS485."""
    found: dict[str, tuple[str, bool, tuple[tuple[int, str], ...]]] = {}
    port = open_link(pack.modbus_link(1))  # one port for every node, as the tool does
    try:
        for node in pack.nodes:
            target = ModbusTarget(port, pack.modbus_link(int(str(node["address"]))), reconnect_timeout_s=0.0)
            identity = target.identify()
            active = next(slot for slot in identity.slots if slot.active)
            slots = tuple((slot.slot, slot.image_hash.hex()) for slot in identity.slots)
            found[str(node["name"])] = (
                str(identity.firmware_version),
                active.confirmed or active.permanent,
                slots,
            )
    finally:
        port.close()
    return found


def rack_versions(pack: PackProcess) -> dict[str, tuple[str, bool]]:
    """Each node's running version and whether it is confirmed."""
    return {name: (version, confirmed) for name, (version, confirmed, _slots) in rack_slots(pack).items()}
