"""Sweep: SMP uploads over noisy serial lines always finish with the image intact, or fail cleanly.

Each case is a fresh virtual BMS on a pty with seeded bit errors or byte drops in both directions.
The fast subset (one seed at BER 1e-4) runs in tests/integration/test_smp_pty.py.
"""

from __future__ import annotations

import hashlib

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

CASES = [
    (921_600, 1e-5, 0.0),
    (921_600, 1e-4, 0.0),
    (921_600, 3e-4, 0.0),
    (921_600, 0.0, 1e-4),
    (921_600, 1e-4, 1e-4),
    (115_200, 1e-4, 0.0),
]


def _image(seed: int) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"sweep-{seed}".encode()).digest(48_000)
    return build_image(payload, version=FirmwareVersion(1, 1, seed), security_counter=1, key=key)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("baud", "ber", "drop"), CASES)
def test_noisy_upload_completes_with_the_image_intact(baud: int, ber: float, drop: float, seed: int) -> None:
    image = _image(seed)
    options = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
    front = FrontEndOptions(baud=baud, bit_error_rate=ber, drop_rate=drop, seed=seed)
    with VirtualBms.create(options) as device, SerialFrontEnd(device, front) as sim:
        with SmpTarget.connect(sim.port, baud) as target:
            result = target.upload(image)
        assert device.image_bytes(1) == image
        assert result.match in (True, None)  # None: the final answer was lost; the slot hash decided
        rate_kib_s = len(image) / result.elapsed_s / 1024
        print(
            f"baud={baud} ber={ber:g} drop={drop:g} seed={seed}: {rate_kib_s:.1f} KiB/s, "
            f"{result.chunks_resent} resent, {result.timeouts} timeouts, "
            f"final chunk {result.final_chunk_bytes} B"
        )
