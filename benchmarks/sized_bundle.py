"""The demo bundle ``pack-1.1.0`` rebuilt with node images of a chosen size, for ``bench_campaign``.

The shipped demo bundles keep their images small (BMU 48 KiB, BMC 64 KiB, BCU 96 KiB of firmware
body) so that the tests' 15-node campaigns stay quick. Real BMS firmware is typically 128-512 KiB,
and the campaign's fixed cost (gates, backups, self-tests, confirms, required waits) does not grow
with the image while the transfers do; so the campaign benchmark also measures a bundle whose every
node carries an image as large as the single-device demo package's (256 KiB of firmware body).

Everything else is ``pack-1.1.0``'s: the release name, models, hardware revisions, versions,
security counter, bootloader minimum, dates and the 1 + 2 + 12 minimum, signed with the demo key.
Only the firmware body's size differs (``build_pack_package``'s ``image_bytes``).
"""

from __future__ import annotations

from pathlib import Path

from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.bundle import BundleSpec, PackageInput, build_bundle
from bmsflasher.firmware.demo_assets import DEMO_CREATED, DEMO_EXPIRES
from bmsflasher.firmware.demo_bundles import (
    DEMO_BUNDLES,
    DEMO_MINIMUM_NODES,
    DemoNodeRelease,
    build_pack_image,
    build_pack_package,
)
from bmsflasher.firmware.keys import PrivateKey, load_private_key_file
from bmsflasher.sim.options import FlashGeometry

RELEASE = "pack-1.1.0"
DEMO_KEY = resource_path("demo", "demo-key.pem")


def _package(key: PrivateKey, release: DemoNodeRelease, payload_bytes: int) -> bytes:
    """The node release's package with a ``payload_bytes`` firmware body; refused if it cannot fit a slot."""
    model, version, behaviour = release.node.model, release.version, release.behaviour
    image = build_pack_image(key, model, version, behaviour, payload_bytes)
    slot = FlashGeometry().slot_size  # the pack nodes' flash: the sim's default geometry
    if len(image) > slot:
        raise ValueError(f"a {len(image)}-byte image does not fit the pack node's {slot}-byte slot")
    return build_pack_package(key, release, payload_bytes)


def sized_bundle(payload_bytes: int) -> bytes:
    """``pack-1.1.0`` with every node's firmware body ``payload_bytes`` long, signed with the demo key."""
    key = load_private_key_file(DEMO_KEY)
    bundle = next(candidate for candidate in DEMO_BUNDLES if candidate.release == RELEASE)
    packages = [
        PackageInput(release.node.tier, _package(key, release, payload_bytes), release.node.model)
        for release in bundle.nodes
    ]
    spec = BundleSpec(
        release=bundle.release,
        minimum_nodes=DEMO_MINIMUM_NODES,
        release_notes=f"{bundle.notes} Benchmark build: {payload_bytes // 1024} KiB images.",
        created=DEMO_CREATED,
        expires=DEMO_EXPIRES,
    )
    return build_bundle(spec, packages, key)


def write_sized_bundle(folder: Path, payload_bytes: int) -> Path:
    """Write :func:`sized_bundle` into ``folder``; its path."""
    path = folder / f"{RELEASE}-{payload_bytes // 1024}k.bmsbundle"
    path.write_bytes(sized_bundle(payload_bytes))
    return path
