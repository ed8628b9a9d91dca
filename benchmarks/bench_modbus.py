"""Modbus RTU image transfer on the virtual rack's paced RS485 bus: one module as a ratio to the Modbus
payload ceiling — Write Multiple Registers with 123 registers, 246 data bytes in a 255-byte request
plus an 8-byte reply and two 3.5-character gaps, i.e. 270 character times per 246 bytes: 1590 B/s at
19200 8E1 (11-bit characters), 10 496 B/s at 115200 8N1 (10-bit characters); target >= 85 % — and
eight modules by broadcast (arm each, every record once to unit 0, records lost on the line to unit
0 again, each module's own missing records, verify each) against one module's transfer (target <=
1.3x) and against the eight one after another, in the same run. Last, the negotiated line-rate
switch (vendor block 0xE1C0): one module's whole upload connected at 19200 8E1, switched to 115200
for the transfer and handed back, against the same upload staying at 19200, in the same run.

The one-module figure is the tool's whole transfer: PREPARE, every record through the transfer
window with function 10, VERIFY. The broadcast row also gives the time of its unit-0 phase.

The rack is ``sim/wire`` 's bus on a pty (line-rate pacing at the host's settings, 3.5-character
gaps, 1.75 ms above 19200 baud), erase time 0 (an erase adds the same to every case). The
simulation costs about 3.5 ms of CPU per record (bus, module and client in one Python process),
and each record wakes five threads in turn: on a machine other processes keep busy, scheduling
delays add to every record. So each case is the best of ``RUNS`` runs, every run is listed, and the
load average is given.

Run: ``python -m benchmarks.bench_modbus`` (or ``python -m benchmarks --only bench_modbus``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Iterator

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion, LinkSettings
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.modbus.broadcast import BroadcastTransfer
from bmsflasher.protocols.modbus.line_rate import LineRateOptions
from bmsflasher.protocols.modbus.session import ModbusSession, character_bits
from bmsflasher.protocols.modbus.target import ModbusTarget, open_link
from bmsflasher.protocols.modbus.transfer import ImageTransfer
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.modbus_rack import ModbusRack, create_rack_devices
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity
from bmsflasher.sim.wire.rs485_pty import PtyBusHost

SINGLE_CASES = ((19_200, "E", 24 * 1024), (115_200, "N", 64 * 1024))  # (baud, parity, image size)
RACK_CASE = (115_200, "N", 64 * 1024, 8)  # (baud, parity, image size, modules)
SWITCH_CASE = (19_200, "E", 24 * 1024, 115_200)  # (connect baud, parity, image size, rate asked for)
CEILING_TARGET = 0.85
RACK_TARGET = 1.3
CEILING_DATA_BYTES = 246
CEILING_CHARACTERS = 255 + 8 + 2 * 3.5
SLOT = 1
RUNS = 2


def ceiling_bps(baud: int, parity: str, stopbits: int = 1) -> float:
    """The issue's payload ceiling: 246 data bytes per 270 character times."""
    char_s = character_bits(parity, stopbits) / baud
    return CEILING_DATA_BYTES / (CEILING_CHARACTERS * char_s)


def _image(size: int) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"bench-modbus-{size}".encode()).digest(size - 1024)
    return build_image(payload, version=FirmwareVersion(1, 1, 0), security_counter=1, key=key)


@contextlib.contextmanager
def _rack(
    baud: int, parity: str, modules: int, line_rate: LineRateOptions | None = None
) -> Iterator[list[ModbusTarget]]:
    """``modules`` virtual modules (addresses 1..N) on one paced bus; one open line, a target per module."""
    options = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0, noise_mv=0.0)
    devices: list[VirtualBms] = create_rack_devices(options, modules)
    addresses = tuple(range(1, modules + 1))
    line = LineSettings(baud, Parity(parity), 1)
    host = PtyBusHost(even_or_none=line.parity)
    host.plug()
    try:
        with ModbusRack(devices, addresses, host, line, rack=RackOptions(parity=line.parity, stopbits=1)):
            link = LinkSettings(
                kind="modbus", port=host.path, baud=baud, parity=parity, stopbits=1, address=1
            )
            port = open_link(link)
            try:
                targets = [
                    ModbusTarget(port, dataclasses.replace(link, address=a), line_rate=line_rate)
                    for a in addresses
                ]
                for target in targets:
                    target.identify()
                yield targets
            finally:
                port.close()
    finally:
        host.close()
        for device in devices:
            device.close()


def _one_after_another(targets: list[ModbusTarget], image: bytes) -> float:
    started = time.monotonic()
    for target in targets:
        ImageTransfer(target.access).run(SLOT, image, None)
    return time.monotonic() - started


def _broadcast(targets: list[ModbusTarget], image: bytes, baud: int, parity: str) -> tuple[float, float, int]:
    """Seconds for the whole broadcast transfer and for its unit-0 phase; records re-sent in repairs."""
    bits = character_bits(parity, 1)
    session = ModbusSession(targets[0].session.link, address=0, tcp=False, char_bits=bits, where="bench")
    report = BroadcastTransfer(session, [t.access for t in targets]).run(SLOT, image, char_s=bits / baud)
    if report.failures:
        raise RuntimeError(f"broadcast failed for {sorted(report.failures)}")
    return report.seconds, report.broadcast_seconds, sum(r.records_sent for r in report.repairs.values())


def _best(measure: Callable[[], float]) -> tuple[float, list[float]]:
    """The shortest of ``RUNS`` measurements (seconds), and all of them."""
    runs = [measure() for _run in range(RUNS)]
    return min(runs), runs


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def run() -> list[dict[str, object]]:
    """One module at each line; then the rack by broadcast, one module and one after another."""
    rows: list[dict[str, object]] = []
    for baud, parity, size in SINGLE_CASES:
        image = _image(size)

        def single(baud: int = baud, parity: str = parity, image: bytes = image) -> float:
            with _rack(baud, parity, 1) as targets:
                return _one_after_another(targets, image)

        seconds, runs = _best(single)
        ceiling = ceiling_bps(baud, parity)
        rates = ", ".join(f"{len(image) / r:.0f}" for r in runs)
        rows.append(
            {
                "benchmark": "modbus transfer",
                "case": (
                    f"one module, {baud} 8{parity}1, {size // 1024} KiB, function 10 window; "
                    f"best of {RUNS} runs ({rates} B/s), {_load()}"
                ),
                "value": round(len(image) / seconds),
                "unit": "B/s",
                "ratio": round(len(image) / seconds / ceiling, 3),
                "reference": f"payload ceiling {ceiling:.0f} B/s (target >= {CEILING_TARGET:.0%})",
            }
        )
    baud, parity, size, modules = RACK_CASE
    image = _image(size)

    def one_module() -> float:
        with _rack(baud, parity, modules) as targets:
            return _one_after_another(targets[:1], image)

    outcomes: list[tuple[float, float, int]] = []

    def by_broadcast() -> float:
        with _rack(baud, parity, modules) as targets:
            outcomes.append(_broadcast(targets, image, baud, parity))
        return outcomes[-1][0]

    one, ones = _best(one_module)
    broadcast, broadcasts = _best(by_broadcast)
    _seconds, unit0, repaired = min(outcomes)
    with _rack(baud, parity, modules) as targets:
        sequential = _one_after_another(targets, image)
    where = f"{modules} modules, {baud} 8{parity}1, {size // 1024} KiB"
    spread = (
        f"best of {RUNS} runs each (broadcast {', '.join(f'{b:.1f}' for b in broadcasts)} s, "
        f"one module {', '.join(f'{o:.1f}' for o in ones)} s), {_load()}"
    )
    rows += [
        {
            "benchmark": "modbus rack",
            "case": (
                f"{where}, broadcast (unit 0: {unit0:.1f} s; {repaired} records repaired) "
                f"vs one module ({one:.1f} s); {spread}"
            ),
            "value": round(broadcast, 1),
            "unit": "s",
            "ratio": round(broadcast / one, 2),
            "reference": f"one module's transfer (target <= {RACK_TARGET}x)",
        },
        {
            "benchmark": "modbus rack",
            "case": f"{where}, one after another vs broadcast",
            "value": round(sequential, 1),
            "unit": "s",
            "ratio": round(sequential / broadcast, 2),
            "reference": "speed-up of the broadcast",
        },
    ]
    return rows + _rate_switch_rows()


def _rate_switch_rows() -> list[dict[str, object]]:
    """One module's upload at the connect rate against the same upload with the line-rate switch."""
    baud, parity, size, wanted = SWITCH_CASE
    image = _image(size)
    settled: list[int] = []

    def upload(switch: bool) -> float:
        options = LineRateOptions(max_baud=wanted) if switch else None
        with _rack(baud, parity, 1, options) as targets:
            started = time.monotonic()
            targets[0].upload_image(image)
            seconds = time.monotonic() - started
            outcome = targets[0].last_line_rate
            if switch:
                settled.append(outcome.baud if outcome is not None else baud)
            return seconds

    switched, switched_runs = _best(lambda: upload(True))
    plain, plain_runs = _best(lambda: upload(False))
    where = f"one module, connect {baud} 8{parity}1, {size // 1024} KiB upload"
    return [
        {
            "benchmark": "modbus rate switch",
            "case": (
                f"{where}, switched to {wanted} for the transfer (settled at {sorted(set(settled))}) "
                f"vs staying at {baud} ({plain:.1f} s); best of {RUNS} runs each (switched "
                f"{', '.join(f'{r:.1f}' for r in switched_runs)} s, plain "
                f"{', '.join(f'{r:.1f}' for r in plain_runs)} s), {_load()}"
            ),
            "value": round(switched, 1),
            "unit": "s",
            "ratio": round(plain / switched, 2),
            "reference": f"speed-up over the same upload at {baud}",
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']}: {row['value']} {row['unit']} (ratio {row['ratio']}; {row['reference']})")
