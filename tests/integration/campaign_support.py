"""A small pack of real virtual BMS nodes on one python-can virtual bus, for campaign tests.

Four independent virtual BMS devices (one "BCU" of 32 cells, one "BMC" of 8, two "BMUs" of 16)
served over UDS on one paced CAN bus (11-bit nodes 1..4), reached by the real UDS client. The
models differ by cell count (``VBMS-<cells>``), so each tier gets its own signed package; the
BCU's 32 cells and the two BMUs' 16 each make the pack-voltage check meaningful.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bmsflasher.core.events import Event
from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import Target
from bmsflasher.core.types import FirmwareVersion, LinkSettings
from bmsflasher.firmware.demo_assets import demo_firmware_payload
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.procedure import open_target
from bmsflasher.procedure.campaign import Campaign, CampaignOptions
from bmsflasher.procedure.campaign_plan import NodeRelease, ReleaseSet
from bmsflasher.procedure.campaign_result import CampaignResult
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.package_loading import UpdatePackage
from bmsflasher.procedure.profiles import DeviceProfile, profile_for_model
from bmsflasher.records import RecordsDb
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

TIERS: tuple[tuple[str, int], ...] = (("bcu", 32), ("bmc", 8), ("bmu", 16), ("bmu", 16))
HW = "C"
BITRATE = 1_000_000


def image(version: str, behaviour: str | None = None, counter: int = 1) -> bytes:
    parsed = FirmwareVersion.parse(version)
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    return build_image(
        demo_firmware_payload(parsed, size_bytes=8 * 1024),
        version=parsed,
        security_counter=counter,
        key=key,
        sim_behaviour=behaviour,
    )


def package(model: str, version: str, behaviour: str | None = None) -> UpdatePackage:
    from bmsflasher.firmware.mcuboot import parse_image

    data = image(version, behaviour)
    parsed = parse_image(data)
    facts = PackageFacts(
        model=model,
        hardware_revisions=(HW,),
        version=FirmwareVersion.parse(version),
        security_counter=1,
        min_bootloader_version=None,
        package_sha256=hashlib.sha256(model.encode() + data).hexdigest(),
        image_sha256=hashlib.sha256(data).hexdigest(),
        image_size=len(data),
        image_hash=parsed.declared_sha256,
    )
    return UpdatePackage(facts, data, f"{model}-{version}")


def release(
    version: str = "1.1.0", behaviours: Mapping[str, str] | None = None, **minimum: int
) -> ReleaseSet:
    """One package per tier model; ``behaviours`` gives a tier's image a sim behaviour."""
    given = behaviours or {}
    entries = tuple(
        NodeRelease(tier, f"VBMS-{cells}", (HW,), package(f"VBMS-{cells}", version, given.get(tier)))
        for tier, cells in dict(TIERS).items()
    )
    digest = hashlib.sha256("".join(e.package.facts.package_sha256 for e in entries).encode()).hexdigest()
    return ReleaseSet(f"pack-{version}", digest, entries, ("bmu", "bmc", "bcu"), dict(minimum))


def fast_profile(model: str) -> DeviceProfile:
    base = profile_for_model(model)
    stability = dataclasses.replace(base.preconditions.stability, interval_s=0.02, samples=2)
    return dataclasses.replace(
        base, preconditions=dataclasses.replace(base.preconditions, stability=stability)
    )


@dataclass
class Pack:
    devices: list[VirtualBms]
    links: list[LinkSettings]
    workdir: Path
    db: RecordsDb
    sim: can_frontend.CanSimulation
    events: list[tuple[str, Event]] = field(default_factory=list)
    opened: int = 0

    def open(self, link: LinkSettings) -> Target:
        self.opened += 1
        return open_target(link, timeout_s=5.0)

    def run(self, bundle: ReleaseSet, **options: object) -> CampaignResult:
        opts = CampaignOptions(
            operator="pytest", journal_dir=self.workdir / "journal", profile_for=fast_profile
        )
        opts = dataclasses.replace(opts, **options)  # type: ignore[arg-type]
        return Campaign(
            lambda: bundle,
            lambda: list(self.links),
            self.open,
            self.db,
            sink=lambda e: self.events.append(("pack", e)),
            sink_for=lambda serial: lambda e: self.events.append((serial, e)),
            options=opts,
        ).run()

    def versions(self) -> list[str]:
        return [str(d.identity().firmware_version) for d in self.devices]

    def confirmed(self) -> list[bool]:
        result = []
        for device in self.devices:
            active = next(s for s in device.identity().slots if s.active)
            result.append(active.confirmed or active.permanent)
        return result


@contextlib.contextmanager
def virtual_pack(workdir: Path, tiers: tuple[tuple[str, int], ...] = TIERS) -> Iterator[Pack]:
    devices = [
        VirtualBms.create(
            SimOptions(
                cells=cells,
                seed=10 + index,
                hardware_revision=HW,
                erase_time_s_per_sector=0.0,
                boot_time_s=0.0,
                noise_mv=0.0,
                state_file=workdir / f"node{index + 1}.state",
            )
        )
        for index, (_tier, cells) in enumerate(tiers)
    ]
    channel = f"campaign-{id(workdir)}"
    options = FrontEndOptions(
        bitrate=BITRATE, channel=channel, nodes=len(devices), extra_devices=tuple(devices[1:])
    )
    try:
        with (
            can_frontend.start(devices[0], options, "virtual") as sim,
            RecordsDb.open(workdir / "history.sqlite3") as db,
        ):
            links = [
                LinkSettings(kind="can", interface="virtual", channel=channel, bitrate=BITRATE, node=n + 1)
                for n in range(len(devices))
            ]
            yield Pack(devices, links, workdir, db, sim)
    finally:
        for device in devices:
            device.close()


class Killed(BaseException):
    """The tool dies here (like SIGKILL: nothing after this line of the campaign runs)."""


def run_until(pack: Pack, bundle: ReleaseSet, kill: Callable[[str, Event], bool]) -> None:
    """Run a campaign until ``kill(serial, event)`` says the tool dies there."""

    def sink_for(serial: str) -> Callable[[Event], None]:
        def sink(event: Event) -> None:
            if kill(serial, event):
                raise Killed

        return sink

    campaign = Campaign(
        lambda: bundle,
        lambda: list(pack.links),
        pack.open,
        pack.db,
        sink_for=sink_for,
        options=CampaignOptions(journal_dir=pack.workdir / "journal", profile_for=fast_profile),
    )
    with pytest.raises(Killed):
        campaign.run()
