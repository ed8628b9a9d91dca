"""Reproducible generator of the DEMO pack's firmware and release bundles (``resources/demo/bundles``).

Run ``python -m bmsflasher.firmware.demo_bundles [--out src/bmsflasher/resources/demo]``. Like the
single-device demo packages (:mod:`bmsflasher.firmware.demo_assets`) everything is signed with the
public demo key, is **never for production**, and is byte-identical on every run (seeded payloads,
fixed timestamps, RFC 6979 signatures, fixed ZIP dates).

The bundles, one package per node model of :mod:`bmsflasher.firmware.demo_pack_models`:

* ``pack-1.0.0``: the factory set (what the virtual pack's nodes run out of the box);
* ``pack-1.1.0``: the healthy new set;
* ``pack-1.1.0-bmu-selftest-fail``: the new set, but the BMU image carries the ``selftest-fail``
  behaviour (image TLV 0x00B1 and manifest ``sim_behaviour``, as the demo package
  ``VBMS-16-1.2.0-selftest-fail`` does): every BMU fails its self-test after the update;
* ``pack-1.1.0-bcu-rejects``: BCU and BMC 1.1.0 with BMU 1.2.0, a series no demo BCU accepts
  (:func:`~bmsflasher.firmware.demo_pack_models.bcu_accepts`): the BCU raises a DTC and fails.

Each asks for the issue's 1 + 2 + 12 pack (:data:`DEMO_MINIMUM_NODES`); tests that run smaller
packs build their own bundle with :func:`build_demo_bundle` and another ``minimum``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.bundle import BundleSpec, PackageInput, build_bundle
from bmsflasher.firmware.bundle_manifest import BUNDLE_SUFFIX
from bmsflasher.firmware.demo_assets import DEMO_CREATED, DEMO_EXPIRES, demo_firmware_payload
from bmsflasher.firmware.demo_pack_models import (
    DEMO_BCU,
    DEMO_BMC,
    DEMO_BMU,
    DEMO_PACK_BOOTLOADER,
    DEMO_PACK_SECURITY_COUNTER,
    FACTORY_VERSION,
    NEW_VERSION,
    REJECTED_BMU_VERSION,
    DemoNodeModel,
    Tier,
    demo_model,
)
from bmsflasher.firmware.keys import PrivateKey, load_private_key_file
from bmsflasher.firmware.mcuboot import DEFAULT_HEADER_SIZE, build_image
from bmsflasher.firmware.package import PackageSpec, build_package

BUNDLES_FOLDER: Final = "bundles"
DEMO_MINIMUM_NODES: Final = {Tier.BCU: 1, Tier.BMC: 2, Tier.BMU: 12}


@dataclass(frozen=True, slots=True)
class DemoNodeRelease:
    """One node model's firmware in a demo bundle: version and the virtual behaviour it carries."""

    node: DemoNodeModel
    version: FirmwareVersion
    behaviour: str = "healthy"


@dataclass(frozen=True, slots=True)
class DemoBundle:
    """A demo bundle: its release name (the file name without suffix), notes and node releases."""

    release: str
    notes: str
    nodes: tuple[DemoNodeRelease, ...]

    @property
    def file_name(self) -> str:
        return f"{self.release}{BUNDLE_SUFFIX}"


def _all_on(version: FirmwareVersion) -> tuple[DemoNodeRelease, ...]:
    return tuple(DemoNodeRelease(node, version) for node in (DEMO_BCU, DEMO_BMC, DEMO_BMU))


DEMO_BUNDLES: Final = (
    DemoBundle(
        "pack-1.0.0",
        "DEMO factory set of the virtual pack (BCU, BMC and BMU 1.0.0).",
        _all_on(FACTORY_VERSION),
    ),
    DemoBundle(
        "pack-1.1.0",
        "DEMO: the new set; BCU, BMC and BMU 1.1.0, released together. The pack ends on 1.1.0.",
        _all_on(NEW_VERSION),
    ),
    DemoBundle(
        "pack-1.1.0-bmu-selftest-fail",
        "DEMO: the BMU 1.1.0 image fails its self-test; the whole pack is returned to its previous set.",
        (
            DemoNodeRelease(DEMO_BCU, NEW_VERSION),
            DemoNodeRelease(DEMO_BMC, NEW_VERSION),
            DemoNodeRelease(DEMO_BMU, NEW_VERSION, "selftest-fail"),
        ),
    ),
    DemoBundle(
        "pack-1.1.0-bcu-rejects",
        "DEMO: BMU 1.2.0 is a series the BCU does not accept; the BCU raises a fault and the whole pack "
        "is returned to its previous set.",
        (
            DemoNodeRelease(DEMO_BCU, NEW_VERSION),
            DemoNodeRelease(DEMO_BMC, NEW_VERSION),
            DemoNodeRelease(DEMO_BMU, REJECTED_BMU_VERSION),
        ),
    ),
)


def build_pack_image(
    key: PrivateKey,
    model: str,
    version: FirmwareVersion,
    behaviour: str = "healthy",
    image_bytes: int | None = None,
) -> bytes:
    """The signed MCUboot image of a demo node model at ``version``.

    The virtual pack builds its nodes' factory images (:data:`FACTORY_VERSION`) with this too.
    ``image_bytes`` overrides the model's firmware body size (the campaign benchmark's realistic
    images); the shipped bundles use the model table's.
    """
    node = demo_model(model)
    if node is None:
        raise ValueError(f"{model} is not a demo pack model")
    return build_image(
        demo_firmware_payload(version, node.image_bytes if image_bytes is None else image_bytes),
        version=version,
        security_counter=DEMO_PACK_SECURITY_COUNTER,
        key=key,
        header_size=DEFAULT_HEADER_SIZE,
        sim_behaviour=None if behaviour == "healthy" else behaviour,
    )


def build_pack_package(key: PrivateKey, release: DemoNodeRelease, image_bytes: int | None = None) -> bytes:
    """The signed ``.bmspkg`` of one node model's demo release (``image_bytes``: see build_pack_image)."""
    notes = f"DEMO {release.node.model} {release.version} ({release.behaviour})"
    if image_bytes is not None:
        notes += f", {image_bytes // 1024} KiB benchmark image"
    spec = PackageSpec(
        model=release.node.model,
        hardware_revisions=(release.node.hardware_revision,),
        version=release.version,
        security_counter=DEMO_PACK_SECURITY_COUNTER,
        min_bootloader_version=DEMO_PACK_BOOTLOADER,
        release_notes=f"{notes}.",
        created=DEMO_CREATED,
        expires=DEMO_EXPIRES,
        sim_behaviour=release.behaviour,
    )
    image = build_pack_image(key, release.node.model, release.version, release.behaviour, image_bytes)
    return build_package(spec, image, key)


def build_demo_bundle(
    key: PrivateKey, bundle: DemoBundle, minimum: Mapping[Tier, int] | None = None
) -> bytes:
    """The signed bundle of a demo release (default minimum: the 1 + 2 + 12 pack)."""
    packages = [
        PackageInput(release.node.tier, build_pack_package(key, release), release.node.model)
        for release in bundle.nodes
    ]
    spec = BundleSpec(
        release=bundle.release,
        minimum_nodes=DEMO_MINIMUM_NODES if minimum is None else minimum,
        release_notes=bundle.notes,
        created=DEMO_CREATED,
        expires=DEMO_EXPIRES,
    )
    return build_bundle(spec, packages, key)


def write_demo_bundles(demo_dir: Path) -> list[Path]:
    """Regenerate every demo bundle in ``demo_dir/bundles`` (``demo_dir`` holds demo-key.pem)."""
    key = load_private_key_file(demo_dir / "demo-key.pem")
    folder = demo_dir / BUNDLES_FOLDER
    folder.mkdir(exist_ok=True)
    written: list[Path] = []
    for bundle in DEMO_BUNDLES:
        path = folder / bundle.file_name
        path.write_bytes(build_demo_bundle(key, bundle))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: regenerate the demo bundles."""
    parser = argparse.ArgumentParser(description="Regenerate the DEMO pack's release bundles.")
    parser.add_argument(
        "--out", type=Path, default=resource_path("demo"), help="the demo folder holding demo-key.pem"
    )
    args = parser.parse_args(argv)
    for path in write_demo_bundles(args.out):
        sys.stdout.write(f"{path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
