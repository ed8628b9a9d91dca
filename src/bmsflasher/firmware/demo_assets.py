"""Reproducible generator of the DEMO firmware images and packages in the package's ``resources/demo/``.

Run ``python -m bmsflasher.firmware.demo_assets [--out src/bmsflasher/resources/demo]``. Everything
it writes is signed with the public demo keys and is **never for production**: anyone can sign
with them.

The payloads look like Cortex-M firmware (vector table, Thumb-like code, string tables, zero-filled
data) so that transfer times, compression ratios and hex dumps in the demo behave like the real
thing. They are generated from a seed derived from the version, and ECDSA signing is deterministic
(RFC 6979), so running the generator twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import PrivateKey, load_private_key_file
from bmsflasher.firmware.mcuboot import DEFAULT_HEADER_SIZE, build_image

DEMO_MODEL: Final = "VBMS-16"
DEMO_HW_REVISIONS: Final = ("B", "C")
DEMO_PAYLOAD_BYTES: Final = 256 * 1024
DEMO_CREATED: Final = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)
DEMO_EXPIRES: Final = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
DEMO_BOOTLOADER: Final = FirmwareVersion(1, 0, 0)
FACTORY_IMAGE_NAME: Final = "factory-1.0.0.img"

_STRINGS: Final = (
    "cell overvoltage",
    "cell undervoltage",
    "pack overcurrent (discharge)",
    "pack overcurrent (charge)",
    "overtemperature",
    "undertemperature",
    "temperature sensor open",
    "balancing active",
    "coulomb counter drift",
    "self-test: voltage calibration",
    "self-test: temperature sensors",
    "self-test: balancing FETs",
    "mcumgr: image upload",
    "uds: programming session",
    "afe: crc error",
    "nvs: config record A/B",
    "watchdog reset",
    "brown-out reset",
)


@dataclass(frozen=True, slots=True)
class DemoRelease:
    """One demo package: version, anti-rollback counter and the virtual BMS behaviour it carries.

    A release that keeps the factory counter (1.0.1) can be rolled back; one that raises it (1.1.0)
    shows the anti-rollback refusal of a rollback; one below it (0.9.0) is refused before a write.
    """

    version: str
    security_counter: int
    behaviour: str
    notes: str
    label: str = ""

    @property
    def file_name(self) -> str:
        label = self.label or ("" if self.behaviour == "healthy" else self.behaviour.replace(":", "-"))
        return f"{DEMO_MODEL}-{self.version}{'-' + label if label else ''}.bmspkg"


DEMO_RELEASES: Final = (
    DemoRelease("1.0.0", 1, "healthy", "DEMO factory firmware."),
    DemoRelease(
        "1.0.1",
        1,
        "healthy",
        "DEMO: bug-fix release that keeps the factory security counter (1); after it, Roll back returns "
        "to 1.0.0.",
    ),
    DemoRelease(
        "1.1.0",
        2,
        "healthy",
        "DEMO: improved balancing thresholds and a security fix that raises the security counter to 2; "
        "once it is confirmed the battery refuses to roll back to 1.0.0 (anti-rollback).",
    ),
    DemoRelease("1.2.0", 3, "selftest-fail", "DEMO: fails its post-update self-test; the update rolls back."),
    DemoRelease(
        "1.2.1", 3, "boot-loop", "DEMO: never confirms itself; the bootloader reverts after failed boots."
    ),
    DemoRelease(
        "1.3.0", 3, "voltage-offset:2.0", "DEMO: voltage calibration off by 2 %; the self-test must catch it."
    ),
    DemoRelease(
        "0.9.0",
        0,
        "healthy",
        "DEMO downgrade: security counter 0 is below every demo device's counter.",
        "downgrade",
    ),
)


def demo_firmware_payload(version: FirmwareVersion, size_bytes: int = DEMO_PAYLOAD_BYTES) -> bytes:
    """Deterministic, realistic-looking firmware bytes for a demo version."""
    seed = int.from_bytes(hashlib.sha256(f"{DEMO_MODEL} {version}".encode()).digest()[:8], "little")
    rng = random.Random(seed)
    out = bytearray()
    # Cortex-M vector table: initial stack pointer then odd (Thumb) handler addresses.
    out += struct.pack("<I", 0x20010000)
    out += b"".join(struct.pack("<I", 0x00000400 + 4 * rng.randrange(0x40, 0x4000) | 1) for _ in range(47))
    opcodes = [rng.randrange(0, 0x10000) for _ in range(96)]  # a small "instruction set" repeats
    banner = f"{DEMO_MODEL} firmware {version} (DEMO build, not for production)\0".encode()
    while len(out) < size_bytes:
        section = rng.random()
        if section < 0.7:  # code: Thumb-like halfwords with repeated idioms
            for _ in range(rng.randrange(64, 512)):
                out += struct.pack("<H", opcodes[min(int(rng.expovariate(0.08)), len(opcodes) - 1)])
        elif section < 0.85:  # read-only strings
            out += banner
            for _ in range(rng.randrange(4, 16)):
                out += rng.choice(_STRINGS).encode() + b"\0"
        elif section < 0.95:  # literal pools / lookup tables
            base = rng.randrange(0x08000000, 0x08080000, 4)
            out += b"".join(
                struct.pack("<I", base + 4 * rng.randrange(0, 256)) for _ in range(rng.randrange(8, 64))
            )
        else:  # zero-initialised data image
            out += bytes(rng.randrange(64, 1024))
    return bytes(out[:size_bytes])


def build_demo_image(key: PrivateKey, release: DemoRelease) -> bytes:
    """The signed MCUboot image of one demo release (hdr size 0x200, behaviour TLV when not healthy)."""
    version = FirmwareVersion.parse(release.version)
    return build_image(
        demo_firmware_payload(version),
        version=version,
        security_counter=release.security_counter,
        key=key,
        header_size=DEFAULT_HEADER_SIZE,
        sim_behaviour=None if release.behaviour == "healthy" else release.behaviour,
    )


def write_demo_assets(demo_dir: Path) -> list[Path]:
    """Regenerate the factory image and every demo package in ``demo_dir``; returns the files."""
    from bmsflasher.firmware.package import PackageSpec, build_package

    key = load_private_key_file(demo_dir / "demo-key.pem")
    written: list[Path] = []
    factory = build_demo_image(key, DEMO_RELEASES[0])
    factory_path = demo_dir / FACTORY_IMAGE_NAME
    factory_path.write_bytes(factory)
    written.append(factory_path)
    packages = demo_dir / "packages"
    packages.mkdir(exist_ok=True)
    for release in DEMO_RELEASES:
        image = build_demo_image(key, release)
        spec = PackageSpec(
            model=DEMO_MODEL,
            hardware_revisions=DEMO_HW_REVISIONS,
            version=FirmwareVersion.parse(release.version),
            security_counter=release.security_counter,
            min_bootloader_version=DEMO_BOOTLOADER,
            release_notes=release.notes,
            created=DEMO_CREATED,
            expires=DEMO_EXPIRES,
            sim_behaviour=release.behaviour,
        )
        path = packages / release.file_name
        path.write_bytes(build_package(spec, image, key))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: regenerate the demo assets."""
    parser = argparse.ArgumentParser(description="Regenerate the DEMO firmware images and packages.")
    default_dir = resource_path("demo")
    parser.add_argument("--out", type=Path, default=default_dir, help="the demo folder holding demo-key.pem")
    args = parser.parse_args(argv)
    for path in write_demo_assets(args.out):
        sys.stdout.write(f"{path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
