"""Negotiated line-rate switch over real ptys: it holds, falls back, settles below what a cable holds.

The virtual BMS connects at 115200 baud and offers 230400, 460800 and 921600 (BMS commands 16/17);
``max_baud`` makes the wire garble whatever is sent faster than the adapter and cable hold
(``sim --max-baud``). Every case ends with a complete, verified upload.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.discovery.cache import AdapterRateMemory, ScanCache
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.target import SmpTarget, SpeedOptions
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.smp import link_rate
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialDeviceSettings, SerialFrontEnd

CONNECT = 115_200
SIM_OPTIONS = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)


def _image(size: int = 4_000) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(b"rate-switch").digest(size)
    return build_image(payload, version=FirmwareVersion(1, 4, 0), security_counter=2, key=key)


@pytest.fixture
def device() -> Iterator[VirtualBms]:
    with VirtualBms.create(SIM_OPTIONS) as made:
        yield made


def _front(device: VirtualBms, max_baud: int | None = None, *, rate_switch: bool = True) -> SerialFrontEnd:
    return SerialFrontEnd(
        device,
        FrontEndOptions(baud=CONNECT, max_baud=max_baud),
        SerialDeviceSettings(rate_switch=rate_switch),
    )


def test_the_fastest_offered_rate_holds_and_the_upload_runs_there(device: VirtualBms) -> None:
    image = _image()
    with _front(device) as sim:
        with SmpTarget.connect(sim.port, CONNECT) as target:
            assert target.last_rate is not None
            assert target.last_rate.tried == [(921_600, True)]
            assert target.session.link.baud == 921_600
            assert sim.wire.device_baud == 921_600
            target.upload(image)
            assert target.link.baud == CONNECT  # a resume command repeats the connect rate
        # Closing hands the device back at its boot rate (right after its answer left, well before
        # the idle timeout): the next tool finds it at once.
        closed = time.monotonic()
        while sim.wire.device_baud != CONNECT and time.monotonic() - closed < link_rate.IDLE_MS / 2000:
            time.sleep(0.01)
        assert sim.wire.device_baud == CONNECT
    assert device.image_bytes(1) == image


def test_a_switch_that_fails_its_proof_falls_back_and_the_update_completes(device: VirtualBms) -> None:
    image = _image()
    with _front(device, max_baud=CONNECT) as sim, SmpTarget.connect(sim.port, CONNECT) as target:
        outcome = target.last_rate
        assert outcome is not None
        assert outcome.tried == [(921_600, False), (460_800, False), (230_400, False)]
        assert outcome.baud == CONNECT
        assert sim.link_rate is not None
        assert sim.link_rate.fallbacks == 3
        assert sim.wire.device_baud == CONNECT == target.session.link.baud
        result = target.upload(image)
        assert result.match is True
    assert device.image_bytes(1) == image


def test_a_device_that_never_switches_keeps_the_connect_rate(device: VirtualBms) -> None:
    image = _image()
    with _front(device, rate_switch=False) as sim, SmpTarget.connect(sim.port, CONNECT) as target:
        outcome = target.last_rate
        assert outcome is not None
        assert not outcome.supported
        assert outcome.tried == []
        target.upload(image)
        assert sim.wire.device_baud == CONNECT == target.session.link.baud
    assert device.image_bytes(1) == image


def test_a_cable_that_holds_230400_settles_there_and_is_remembered(
    device: VirtualBms, tmp_path: Path
) -> None:
    image = _image()
    memory = AdapterRateMemory(ScanCache(tmp_path / "cache.json"))
    speed = SpeedOptions(memory=memory)
    with _front(device, max_baud=230_400) as sim:
        with SmpTarget.connect(sim.port, CONNECT, speed=speed) as target:
            assert target.last_rate is not None
            assert target.last_rate.baud == 230_400
            assert sim.wire.device_baud == 230_400
            target.upload(image)
        assert memory.held_rate(sim.port) == 230_400
        time.sleep(link_rate.IDLE_MS / 1000 + 0.2)  # the device is back at its boot rate
        assert sim.wire.device_baud == CONNECT
        with SmpTarget.connect(sim.port, CONNECT, speed=speed) as target:
            assert target.last_rate is not None
            assert target.last_rate.tried == [(230_400, True)]
    assert device.image_bytes(1) == image


def test_after_an_idle_spell_both_ends_are_back_at_the_connect_rate(device: VirtualBms) -> None:
    with _front(device) as sim, SmpTarget.connect(sim.port, CONNECT) as target:
        assert target.session.link.baud == 921_600
        time.sleep(link_rate.IDLE_MS / 1000 * 0.8)  # idle: the device may or may not have gone back
        target.ping()  # the tool waits until it certainly has, goes back too, and is answered
        assert target.session.link.baud == CONNECT == sim.wire.device_baud


def test_sim_max_baud_from_the_command_line(tmp_path: Path) -> None:
    """``bmsflasher sim --max-baud 230400`` (a separate process): the tool settles at 230400."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "smp", "--link", "pty", "--json",
         "--baud", str(CONNECT), "--max-baud", "230400", "--link-path", str(tmp_path / "tty")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        listening = {}
        while listening.get("event") != "listening":
            line = process.stdout.readline()
            assert line, "the sim ended before listening"
            listening = json.loads(line)
        with SmpTarget.connect(str(listening["port"]), CONNECT) as target:
            assert target.last_rate is not None
            assert target.last_rate.baud == 230_400
            assert target.ping() < 1.0
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_a_tool_started_right_after_a_killed_one_still_connects(device: VirtualBms) -> None:
    """The killed tool left the device at 921600 (no switch back): the next one waits out its idle time."""
    with _front(device) as sim:
        target = SmpTarget.connect(sim.port, CONNECT)
        assert sim.wire.device_baud == 921_600
        target.session.link.close()  # as a SIGKILL leaves it: no switch back
        started = time.monotonic()
        with SmpTarget.connect(sim.port, CONNECT) as again:
            assert time.monotonic() - started < 6.0
            assert again.ping() < 1.0
        target.close()
