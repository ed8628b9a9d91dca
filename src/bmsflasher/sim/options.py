"""Everything that makes one virtual BMS differ from another.

A new device is built from these options (factory image, trusted key, pack size and scenario);
a device restored from a state file keeps what its flash holds (images, configuration, serial
number, security counter) and takes only the physical scenario (SOC, temperature, load, faults)
from the options, exactly as a real pack keeps its firmware when it is unplugged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bmsflasher.core.resources import resource_path

MIN_CELLS: Final = 1
MAX_CELLS: Final = 512
DEFAULT_CELLS: Final = 16
BOOTLOADER_VERSION: Final = "2.1.0"
DEFAULT_HARDWARE_REVISION: Final = "C"
DEFAULT_FACTORY_IMAGE: Final = ("demo", "factory-1.0.0.img")
DEFAULT_TRUSTED_KEY: Final = ("demo", "demo-key.pub.pem")
DEFAULT_SECURITY_MASTER: Final = ("demo", "security-master.key")
DEFAULT_AUTH_ANCHOR: Final = ("demo", "ca", "demo-root.crt")
DEFAULT_ENCRYPTION_KEY: Final = ("demo", "encryption", "demo-enc-key.pem")


class DeviceAuth(enum.Enum):
    """How the device authenticates the tester before programming, configuration writes and rollback.

    ``seed-key`` is UDS SecurityAccess (0x27) with the per-device HMAC secret (today's devices);
    ``certificate`` is UDS Authentication (0x29, ISO 14229-1:2020) with an X.509 certificate issued
    by the vendor CA the device trusts, and the SMP BMS group's signed challenge.
    """

    SEED_KEY = "seed-key"
    CERTIFICATE = "certificate"


class Chemistry(enum.Enum):
    """Cell chemistry: decides the open-circuit-voltage curve and the default protection limits."""

    LFP = "lfp"
    NMC = "nmc"


@dataclass(frozen=True, slots=True)
class FlashGeometry:
    """Layout of the device's flash (all sizes in bytes).

    The slots are equal in size (MCUboot requires it for swapping); the scratch sector, the
    boot-state area and the configuration area follow them.

    Attributes:
        sector_size: erase granularity.
        write_size: program granularity (alignment and length of every write).
        slot_sectors: sectors per image slot.
        boot_sectors: sectors of the boot-state log (at least 2, written alternately).
        config_sectors: sectors of the configuration area (2: the A and B records).
    """

    sector_size: int = 4096
    write_size: int = 8
    slot_sectors: int = 128
    boot_sectors: int = 2
    config_sectors: int = 2

    @property
    def slot_size(self) -> int:
        return self.sector_size * self.slot_sectors

    def slot_offset(self, slot: int) -> int:
        """Byte offset of slot 0 (primary) or 1 (secondary)."""
        return slot * self.slot_size

    @property
    def scratch_offset(self) -> int:
        return 2 * self.slot_size

    @property
    def boot_offset(self) -> int:
        return self.scratch_offset + self.sector_size

    @property
    def config_offset(self) -> int:
        return self.boot_offset + self.boot_sectors * self.sector_size

    @property
    def total_size(self) -> int:
        return self.config_offset + self.config_sectors * self.sector_size

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        if self.sector_size < 256 or self.sector_size & (self.sector_size - 1):
            raise ValueError(f"sector size {self.sector_size} must be a power of two of at least 256")
        if self.write_size not in (1, 2, 4, 8, 16, 32):
            raise ValueError(f"write size {self.write_size} must be 1, 2, 4, 8, 16 or 32 bytes")
        if self.slot_sectors < 2:
            raise ValueError("an image slot needs at least 2 sectors")
        if self.boot_sectors < 2 or self.config_sectors != 2:
            raise ValueError("the boot-state area needs 2 or more sectors and the config area exactly 2")


@dataclass(frozen=True, slots=True)
class SimOptions:
    """Options of one virtual BMS.

    Attributes:
        state_file: where the flash persists (a restart is a power cycle); None keeps it in memory.
        cells: series cell count, 1..512.
        chemistry: LFP or NMC.
        soc_pct: initial state of charge.
        soh_pct: state of health reported (capacity fade).
        ambient_c: ambient temperature.
        load_a: discharge current drawn by the load (negative charges the pack).
        noise_mv: standard deviation of the cell-voltage measurement noise (supply noise).
        failed_sensor: index of a temperature sensor that reads open circuit, or None.
        weak_cell: index of a cell with reduced capacity and higher resistance, or None.
        seed: seed of every random choice the device makes (serial number, noise, cell spread).
        serial_number: serial number of a new device; derived from ``seed`` when None.
        hardware_revision: hardware revision of a new device.
        trusted_key: PEM public key the bootloader verifies images with.
        factory_image: MCUboot image a new device holds in its primary slot.
        security_master: file holding the hex master secret of the UDS seed/key derivation.
        auth: how the device authenticates the tester (seed/key 0x27, or certificate 0x29).
        auth_anchor: PEM certificate of the CA the device trusts for certificate authentication
            (read when ``auth`` is ``certificate``; the demo CA by default).
        auth_crl: the anchor's certificate revocation list the device holds (PEM or DER, signed
            by the anchor); a technician certificate on it is refused with NRC 0x57. None: the
            device holds no list (it cannot learn of a revocation).
        encryption_key: the private image-encryption key of the device's family (ECIES-P256 or
            X25519 PEM) its bootloader decrypts images with; the demo key pair's private half by
            default, another file models another device family.
        recovery: start a new device with no valid image (the state emergency recovery fixes).
        reports_trusted_keys: the bootloader tells which signing key it trusts (SMP bootloader
            information query ``key_hashes``, UDS DID 0xFD06); False models an older bootloader
            that cannot tell.
        time_scale: simulated seconds per real second for the pack model.
        erase_time_s_per_sector: how long one sector erase takes (tests use 0).
        boot_time_s: how long one start of the MCU takes: at a reset and after each crash, not again
            when the bootloader goes on to the image after a swap (tests use 0).
        geometry: flash layout of a new device.
    """

    state_file: Path | None = None
    cells: int = DEFAULT_CELLS
    chemistry: Chemistry = Chemistry.LFP
    soc_pct: float = 60.0
    soh_pct: float = 96.0
    ambient_c: float = 25.0
    load_a: float = 0.0
    noise_mv: float = 1.0
    failed_sensor: int | None = None
    weak_cell: int | None = None
    seed: int = 1
    serial_number: str | None = None
    hardware_revision: str = DEFAULT_HARDWARE_REVISION
    trusted_key: Path = field(default_factory=lambda: resource_path(*DEFAULT_TRUSTED_KEY))
    factory_image: Path = field(default_factory=lambda: resource_path(*DEFAULT_FACTORY_IMAGE))
    security_master: Path = field(default_factory=lambda: resource_path(*DEFAULT_SECURITY_MASTER))
    auth: DeviceAuth = DeviceAuth.SEED_KEY
    auth_anchor: Path = field(default_factory=lambda: resource_path(*DEFAULT_AUTH_ANCHOR))
    auth_crl: Path | None = None
    encryption_key: Path = field(default_factory=lambda: resource_path(*DEFAULT_ENCRYPTION_KEY))
    recovery: bool = False
    reports_trusted_keys: bool = True
    time_scale: float = 1.0
    erase_time_s_per_sector: float = 0.005
    boot_time_s: float = 0.0
    geometry: FlashGeometry = field(default_factory=FlashGeometry)

    def default_serial(self) -> str:
        """The serial number a new device gets when none is given: stable for a seed."""
        return f"VB{2400000 + self.seed % 1_000_000:07d}"
