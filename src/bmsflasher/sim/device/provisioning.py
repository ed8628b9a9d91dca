"""Building a virtual BMS: the option checks, factory programming, the pack and the master secret.

What happens once, before a device first boots (or when one is restored from its state file), kept
apart from :class:`~bmsflasher.sim.device.virtual_bms.VirtualBms`, which runs the device afterwards.
Every refusal is a :class:`~bmsflasher.sim.errors.SimError` in one sentence, because ``bmsflasher
sim`` prints it to a technician as it is.
"""

from __future__ import annotations

from pathlib import Path

from bmsflasher.core.types import ConfigSnapshot, ParameterValue
from bmsflasher.sim.device.config import SCHEMA_VERSION, ConfigStore, factory_defaults
from bmsflasher.sim.device.pack import PackModel, PackScenario
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.flash.bootstate import BootState, BootStateStore
from bmsflasher.sim.flash.encryption import ImageDecryptor
from bmsflasher.sim.flash.images import ImageParseError, ImageVerifier, parse_image
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.options import MAX_CELLS, MIN_CELLS, SimOptions


def check_options(options: SimOptions) -> None:
    """Refuse options no device can be built from (cell count, negative times, flash geometry)."""
    if not MIN_CELLS <= options.cells <= MAX_CELLS:
        raise SimError(f"the cell count must be {MIN_CELLS}..{MAX_CELLS}, not {options.cells}")
    if options.time_scale < 0 or options.erase_time_s_per_sector < 0 or options.boot_time_s < 0:
        raise SimError("time scale, erase time and boot time must not be negative")
    try:
        options.geometry.validate()
    except ValueError as exc:
        raise SimError(f"invalid flash geometry: {exc}") from exc


def image_verifier(options: SimOptions) -> ImageVerifier:
    """The bootloader's verifier for the device's trusted key and its image decryption key.

    A virtual BMS holds its family's private encryption key (``options.encryption_key``, ``sim
    --enc-key``; by default the demo key pair's private half ``resources/demo/encryption/demo-enc-key.pem``,
    ECIES-P256), as a device family's bootloader holds its family key: images encrypted for its
    public half install, others are refused.
    """
    try:
        return ImageVerifier(options.trusted_key, ImageDecryptor(options.encryption_key))
    except ValueError as exc:
        raise SimError(str(exc)) from exc


def factory_parameters(options: SimOptions) -> dict[str, ParameterValue]:
    """The configuration a device leaves the factory with (and falls back to per parameter)."""
    serial = options.serial_number or options.default_serial()
    return factory_defaults(options.chemistry, options.cells, serial, options.hardware_revision)


def program_factory(flash: Flash, boot: BootStateStore, configs: ConfigStore, options: SimOptions) -> None:
    """Factory programming: the factory image, the boot state and the default configuration."""
    g = options.geometry
    if not options.recovery:
        try:
            image = options.factory_image.read_bytes()
        except OSError as exc:
            raise SimError(f"cannot read the factory image {options.factory_image}: {exc.strerror}") from exc
        try:
            info = parse_image(image)
        except ImageParseError as exc:
            raise SimError(
                f"the factory image {options.factory_image} is not an MCUboot image: {exc}"
            ) from exc
        if info.total_size > g.slot_size:
            raise SimError(
                f"the factory image ({info.total_size} bytes) does not fit a {g.slot_size}-byte slot"
            )
        unit = g.write_size
        padded = image[: info.total_size]
        padded += b"\xff" * (-len(padded) % unit)
        for start in range(0, len(padded), g.sector_size):
            flash.write(g.slot_offset(0) + start, padded[start : start + g.sector_size])
    boot.load()
    boot.save(BootState())
    configs.save(ConfigSnapshot(SCHEMA_VERSION, factory_parameters(options)))


def build_pack(options: SimOptions, configs: ConfigStore) -> PackModel:
    """The pack the device measures: as many cells as the stored configuration says, else the options."""
    stored = configs.load()
    cells = options.cells
    if stored is not None and isinstance(stored.parameters.get("cell_count"), int):
        cells = int(stored.parameters["cell_count"])
    o = options
    scenario = PackScenario(
        cells,
        o.chemistry,
        o.soc_pct,
        o.soh_pct,
        o.ambient_c,
        o.load_a,
        o.noise_mv,
        o.failed_sensor,
        o.weak_cell,
        o.seed,
    )
    try:
        return PackModel(scenario)
    except ValueError as exc:
        raise SimError(str(exc)) from exc


def read_master_secret(path: Path) -> bytes:
    """The UDS seed/key master secret (hex text of at least 16 bytes)."""
    try:
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise SimError(f"cannot read the security master secret {path} (expected hex text)") from exc
    if len(secret) < 16:
        raise SimError(f"the security master secret in {path} is shorter than 16 bytes")
    return secret
