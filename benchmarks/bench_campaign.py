"""Pack campaign: a 1 + 2 + 12 pack on one 500 kbit/s CAN bus against the sum of its bare transfers.
The pack is ``bmsflasher sim --protocol uds --link slcan --topology bcu=1,bmc=2,bmu=12 --bitrate
500000`` in its own process (the sim's defaults: 5 ms per 4 KiB sector erase, 0.2 s per boot
attempt, real-time pack model), behind its emulated USB-CAN adapter. The campaign updates it to the
demo bundle ``pack-1.1.0`` (BMU 49.8 KB, BMC 66 KB, BCU 99 KB images) and, as a second case
("256 KiB images" rows), to the same bundle rebuilt at benchmark time with every node's image the
size of the single-device demo package's (256 KiB of firmware body, a 262.8 KB image, 107.7 KB on
the bus after zlib; same models, hardware revisions, versions and demo key;
``benchmarks/sized_bundle.py``; the nodes' image slots are 512 KiB, so it fits), with the shipped
default profile (5 stability samples 0.2 s apart, 5 + 10 link round trips, balancing observed), through the
procedure API the CLI runs. The reference, measured in the same run on a second, fresh pack process:
every node's bare transfer of its package (adapter opened, node identified, then only the upload
timed; no checks, no reboot), summed over the 15 nodes. The issue's target: the campaign within
1.2x that sum. The host is shared: the best of two measurements is kept, both listed with the load.
Phase rows split the campaign by its own phase events; "discover and plan" is
everything before the first phase (bundle check, bus scan, identities), "read back" what follows the
confirm phase (the result's per-node state; the final pack check's readings are reused, so it asks no
node again). The "one request" row: the host's cost of one UDS round trip (20 TesterPresent to one
node of the bare pack, nothing else running). Before the campaign kept one adapter and ran its node
steps side by side (``procedure/campaign_bus.py``), the same run measured 65.3 s over 16.5 s, 3.97x
(prepare 17.4 s, transfer 20.7 s, test boot 15.8 s, confirm 5.1 s). Before the gates read each
identity once and the final pack check and the read-back reused readings already made (3,981 UDS
requests outside the transfers, now 3,515 by an instrumented run), this section read 27.8 s over
16.0 s, 1.74x at load 2.8 (prepare 3.22 s, confirm 2.86 s, read back 0.41 s); run in turns with the
old code on the same host at load 2, the old code took 30.5-30.8 s and the new 28.5-33.1 s: only the
read-back's 0.5 s stands out of the host's noise. The ratio is 1.86x with the small demo images
and 1.18x with the realistic 256 KiB images (78.2 s over 66.2 s, load 1.2), for one reason: the
campaign's required checks cost a fixed ~12 s whatever the image size (discovery, prepare, test
boot, self-tests and confirm: 12.9 s with the demo images, 11.0 s with the large ones, the
difference within the host's noise), while the transfer sum grows with the image size (16.1 s,
then 66.2 s; the transfer phase itself runs 2-6 % above the sum). The issue names no image size:
with this generator's images the 1.2x line is crossed at about 210-230 KiB per node, real BMS
firmware (typically 128-512 KiB) that compresses less than the demo payload (to 41 %) only lowers
the ratio, and at 128 KiB it would read about 1.35x. What stands between the small-image figure
and 1.2x: the uploads already fill the bus (a bare upload moves about 24 kB/s of 29-bit frames, the 500 kbit/s
ceiling), so the transfer phase cannot beat their sum; everything else is some 3,500 small requests
(per node about 78 for the gates with the backup's two reads, 30 for the test boot, 58 for the
self-tests, 57 for the confirm), and the host, not the bus, sets their pace: one node alone takes
about 2 ms a request (the "one request" row: python-can's slcan driver reads the adapter byte by
byte, can-isotp runs three threads a node, the virtual pack is Python too), and fifteen nodes side
by side take no less in sum (the prepare phase's 1,170 requests take about 3 s however they are
spread). Side by side only hides the waits: the 0.8 s stability window, one reboot (about 1.0-1.4 s
here), the balancing flag, and fifteen confirms journalled one at a time (about 0.1 s each).
Reading the backups beside the uploads instead of in the stability window was tried: the prepare
phase lost 1-2 s and the transfers gained as much (the reads share the adapter's one serial line and
the host with the uploads), so it was not kept.

Run: ``python -m benchmarks --only bench_campaign`` (or ``python -m benchmarks.bench_campaign``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.sized_bundle import write_sized_bundle
from bmsflasher.core.events import Event, StepFinished, StepStarted
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import CanAddressing, LinkSettings
from bmsflasher.firmware.bundle import load_bundle
from bmsflasher.firmware.demo_assets import DEMO_PAYLOAD_BYTES
from bmsflasher.procedure import build_keyring, open_target
from bmsflasher.procedure.campaign import Campaign, CampaignOptions
from bmsflasher.procedure.campaign_bundle import pack_links, release_loader, release_set
from bmsflasher.procedure.campaign_plan import ReleaseSet
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb

TOPOLOGY = "bcu=1,bmc=2,bmu=12"
BITRATE = 500_000
BUNDLE = resource_path("demo", "bundles", "pack-1.1.0.bmsbundle")
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
TARGET_RATIO = 1.2
REALISTIC_BYTES = DEMO_PAYLOAD_BYTES
"""Firmware body of every node in the second case: the single-device demo package's (256 KiB)."""
RUNS = 2
START_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def pack_process(workdir: Path) -> Iterator[dict[str, object]]:
    """The virtual pack in its own process; yields its ``listening`` line (channel, nodes)."""
    command = [
        sys.executable,
        "-m",
        "bmsflasher.cli.main",
        "sim",
        "--protocol",
        "uds",
        "--link",
        "slcan",
        "--topology",
        TOPOLOGY,
        "--bitrate",
        str(BITRATE),
        "--state",
        str(workdir / "pack"),
        "--json",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        listening: dict[str, object] = {}
        found = threading.Event()

        def reader() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                event = json.loads(line)
                if event.get("event") == "listening":
                    listening.update(event)
                    found.set()
                    return

        threading.Thread(target=reader, daemon=True).start()
        try:
            if not found.wait(START_TIMEOUT_S):
                stderr.seek(0)
                raise RuntimeError(f"the virtual pack did not start: {stderr.read()}")
            yield listening
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _bus(listening: dict[str, object]) -> LinkSettings:
    return LinkSettings(kind="can", interface="slcan", channel=str(listening["channel"]), bitrate=BITRATE)


def _nodes(listening: dict[str, object]) -> list[dict[str, object]]:
    nodes = listening["nodes"]
    assert isinstance(nodes, list)
    return nodes


def _node_link(bus: LinkSettings, node: dict[str, object]) -> LinkSettings:
    """The link to one node of the pack on ``bus`` (29-bit normal fixed addressing)."""
    return LinkSettings(
        kind="can",
        interface=bus.interface,
        channel=bus.channel,
        bitrate=BITRATE,
        node=int(str(node["address"])),
        addressing=CanAddressing.NORMAL_FIXED_29BIT,
    )


def bare_transfers(listening: dict[str, object], keys: Path, bundle: Path) -> dict[str, list[float]]:
    """Each node's bare upload of its package (seconds), by tier: open, identify, time the upload only."""
    release = release_set_of(keys, bundle)
    images = {entry.model: entry.package.image for entry in release.entries}
    bus = _bus(listening)
    seconds: dict[str, list[float]] = {}
    for node in _nodes(listening):
        target = open_target(_node_link(bus, node), timeout_s=10.0)
        try:
            model = target.identify().model
            started = time.perf_counter()
            target.upload_image(images[model], lambda _done, _total: None)
            seconds.setdefault(str(node["tier"]), []).append(time.perf_counter() - started)
        finally:
            target.close()
    return seconds


REQUESTS = 20


def one_request(listening: dict[str, object]) -> float:
    """The host's cost of one UDS round trip: :data:`REQUESTS` TesterPresent to one node, mean seconds."""
    node = _nodes(listening)[0]
    target = open_target(_node_link(_bus(listening), node), timeout_s=10.0)
    try:
        target.ping()
        started = time.perf_counter()
        for _ in range(REQUESTS):
            target.ping()
        return (time.perf_counter() - started) / REQUESTS
    finally:
        target.close()


def release_set_of(keys: Path, bundle: Path) -> ReleaseSet:
    """A bundle signed with the demo key, verified (each node type's package)."""
    return release_set(load_bundle(bundle, build_keyring([DEMO_PUB], folder=keys)))


class PhaseClock:
    """Seconds per campaign phase, from the campaign's own StepStarted/StepFinished events."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_phase: float | None = None
        self.last_end = started
        self.phases: dict[str, float] = {}
        self._open: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, StepStarted):
            self.first_phase = self.first_phase or now
            self._open[event.step] = now
        elif isinstance(event, StepFinished):
            began = self._open.pop(event.step, now)
            self.phases[event.step] = self.phases.get(event.step, 0.0) + now - began
            self.last_end = now


def campaign(
    listening: dict[str, object], workdir: Path, bundle: Path
) -> tuple[float, PhaseClock, int | None]:
    """The campaign's wall time, its phases and how many times it opened the adapter."""
    keyring = build_keyring([DEMO_PUB], folder=workdir / "no-user-keys")
    started = time.perf_counter()
    clock = PhaseClock(started)
    with RecordsDb.open(workdir / "history.sqlite3") as db:
        run = Campaign(
            release_loader(bundle, keyring),
            pack_links(_bus(listening)),
            lambda link: open_target(link, timeout_s=10.0),
            db,
            sink=clock,
            options=CampaignOptions(operator="benchmark", journal_dir=workdir / "journal"),
        )
        result = run.run()
        wall = time.perf_counter() - started
    if result.outcome is not State.UPDATED:
        raise RuntimeError(f"the campaign did not update the pack: {result.reason}")
    return wall, clock, run.adapter_opens


@dataclass
class Measured:
    """One measurement: bare transfers and a campaign, each on a fresh pack, and the host's load."""

    bare: dict[str, list[float]]
    wall: float
    clock: PhaseClock
    opens: int | None
    load: float
    request_s: float

    @property
    def ratio(self) -> float:
        return self.wall / sum(sum(values) for values in self.bare.values())


def measure_once(bundle: Path) -> Measured:
    """Bare transfers of ``bundle`` on one fresh pack, its campaign on another (never both at once)."""
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        folder = Path(tmp)
        (folder / "bare").mkdir()
        (folder / "campaign").mkdir()
        with pack_process(folder / "bare") as listening:
            bare = bare_transfers(listening, folder / "keys", bundle)
            request_s = one_request(listening)
        with pack_process(folder / "campaign") as listening:
            wall, clock, opens = campaign(listening, folder / "campaign", bundle)
    return Measured(bare, wall, clock, opens, os.getloadavg()[0], request_s)


def best_of(bundle: Path) -> tuple[Measured, str]:
    """The best of :data:`RUNS` measurements of ``bundle`` and every run's ratio with its load."""
    runs = [measure_once(bundle) for _ in range(RUNS)]
    every = ", ".join(f"{m.ratio:.2f}x at load {m.load:.1f}" for m in runs)
    return min(runs, key=lambda measured: measured.ratio), every


def run() -> list[dict[str, object]]:
    """The demo bundle's rows, then the same rows for :data:`REALISTIC_BYTES` images (best of each)."""
    small, small_every = best_of(BUNDLE)
    with tempfile.TemporaryDirectory(prefix="bench-campaign-bundle-") as tmp:
        large_bundle = write_sized_bundle(Path(tmp), REALISTIC_BYTES)
        large, large_every = best_of(large_bundle)
    kib = REALISTIC_BYTES // 1024
    rows = [_ratio_row(small, small_every, "")]
    rows += _phase_rows(small, "")
    rows.append(
        {
            "benchmark": "one request",
            "case": f"one UDS round trip, one node alone (mean of {REQUESTS} TesterPresent)",
            "value": round(small.request_s * 1000, 2),
            "unit": "ms",
            "ratio": None,
            "reference": "the host's pace for every small request",
        }
    )
    rows += _bare_rows(small, "")
    rows.append(_ratio_row(large, large_every, f"{kib} KiB images: "))
    rows += _phase_rows(large, f"{kib} KiB images: ")
    rows += _bare_rows(large, f"{kib} KiB images: ")
    return rows


def _ratio_row(best: Measured, every: str, prefix: str) -> dict[str, object]:
    bare_sum = sum(sum(values) for values in best.bare.values())
    return {
        "benchmark": "pack campaign vs bare transfers",
        "case": (
            f"{prefix}1 + 2 + 12 nodes, 500 kbit/s slcan: campaign {best.wall:.1f} s over the sum of the "
            f"15 bare transfers {bare_sum:.1f} s (adapter opened {best.opens} time(s); best of {RUNS}: "
            f"{every})"
        ),
        "value": round(best.wall / bare_sum, 3),
        "unit": "x",
        "ratio": round(best.wall / bare_sum / TARGET_RATIO, 3),
        "reference": f"target {TARGET_RATIO:g}x",
    }


def _phase_rows(best: Measured, prefix: str) -> list[dict[str, object]]:
    clock, wall = best.clock, best.wall
    before = (clock.first_phase or clock.started) - clock.started
    rows = [_phase(f"{prefix}discover and plan", before, wall)]
    rows += [_phase(f"{prefix}{phase}", seconds, wall) for phase, seconds in clock.phases.items()]
    rows.append(_phase(f"{prefix}read back", wall - (clock.last_end - clock.started), wall))
    return rows


def _bare_rows(best: Measured, prefix: str) -> list[dict[str, object]]:
    return [
        {
            "benchmark": "bare transfer",
            "case": f"{prefix}{tier.upper()} x{len(values)}: each node's package alone (mean per node)",
            "value": round(sum(values) / len(values), 2),
            "unit": "s",
            "ratio": None,
            "reference": f"sum {sum(values):.1f} s",
        }
        for tier, values in best.bare.items()
    ]


def _phase(name: str, seconds: float, wall: float) -> dict[str, object]:
    return {
        "benchmark": "pack campaign phase",
        "case": name,
        "value": round(seconds, 2),
        "unit": "s",
        "ratio": round(seconds / wall, 3),
        "reference": "share of the campaign",
    }


if __name__ == "__main__":
    for entry in run():
        print(entry)
