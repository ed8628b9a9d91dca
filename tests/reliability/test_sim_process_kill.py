"""Killing the sim process (SIGKILL) mid-upload or mid-swap is a power cut: it boots after restart.

The flash is a memory-mapped state file, so every finished operation survives the kill and an
operation in flight may be torn, exactly like hardware.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.scenarios import fast_options, finish_update, make_image, small_geometry
from bmsflasher.sim.device.virtual_bms import VirtualBms

CHILD = r"""
import sys, time
from dataclasses import replace
from pathlib import Path
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.device.scenarios import fast_options, full_update, small_geometry
factory, state, image = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]).read_bytes()
options = replace(fast_options(factory, small_geometry()), state_file=state, erase_time_s_per_sector=0.004)
device = VirtualBms.create(options)
print("ready", flush=True)
while True:
    full_update(device, image, chunk_bytes=256)
    device.rollback() if device.verify_slot(1) else None
    device.reset()
"""


@pytest.mark.parametrize("delay_s", [0.02, 0.07, 0.13, 0.21, 0.34])
def test_sigkill_at_any_moment_leaves_a_bootable_device(tmp_path: Path, delay_s: float) -> None:
    old = make_image("1.0.0", security_counter=1, code_size=5000)
    new = make_image("1.0.1", security_counter=1, code_size=6100)  # same counter: it can roll back
    factory = tmp_path / "factory.img"
    factory.write_bytes(old)
    image = tmp_path / "new.img"
    image.write_bytes(new)
    state = tmp_path / "bms.state"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(factory), str(state), str(image)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay_s)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    with VirtualBms.create(fast_options(factory, small_geometry(), state_file=state)) as device:
        assert device.mode is DeviceMode.APPLICATION, device.recovery_reason
        assert device.image_bytes(0) in (old, new)
        finish_update(device, new)
        assert device.image_bytes(0) == new
        assert device.slots()[0].confirmed
