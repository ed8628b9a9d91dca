"""Cross-process: the tool's UDS client through python-can's real slcan driver to ``bmsflasher sim``.

The sim runs as a separate process (``python -m bmsflasher.cli.main sim --protocol uds --link
slcan --json``) exposing an emulated CANable on a pty; every frame in both directions is paced on
its bus timeline at the configured bit rate.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from uds_support import SimProcess, signed_image

from bmsflasher.core.errors import LinkLostError, SecurityAccessDeniedError
from bmsflasher.protocols.uds.security import HmacKeyProvider
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget


def test_identify_telemetry_dtcs_over_slcan_pty() -> None:
    with SimProcess(bitrate=500_000) as sim:
        assert sim.info["interface"] == "slcan"
        assert sim.info["bitrate"] == 500_000
        assert sim.info["nodes"] == [{"node": 1, "request_id": 0x7E0, "response_id": 0x7E8}]
        target = UdsTarget.open(sim.link_config())
        try:
            identity = target.identify()
            assert identity.serial_number.startswith("VB")
            assert str(identity.firmware_version) == "1.0.0"
            telemetry = target.read_telemetry()
            assert telemetry.cell_count == 16
            assert telemetry.pack_voltage_mv > 40_000
            assert target.read_dtcs() == []
            assert target.link_stats().timeouts == 0
        finally:
            target.close()


def test_full_update_over_slcan(tmp_path: Path) -> None:
    image = signed_image("1.1.0", size=48 * 1024, counter=2)
    with SimProcess(state=tmp_path / "bms.state") as sim:
        target = UdsTarget.open(sim.link_config())
        try:
            target.upload_image(image)
            target.mark_for_test()
            target.reset()
            identity = target.reconnect(10.0)
            assert str(identity.firmware_version) == "1.1.0"
            assert target.run_self_test().passed
            target.confirm()
            assert target.identify().security_counter == 2
        finally:
            target.close()


def test_update_with_one_percent_dropped_frames() -> None:
    image = signed_image("1.1.0", size=8 * 1024, counter=2)
    with SimProcess("--drop-rate", "0.01", "--seed", "7") as sim:
        target = UdsTarget.open(sim.link_config(), options=UdsOptions(compression=False))
        try:
            target.upload_image(image)  # CheckMemory inside: the device verified the whole image
            report = target.options.reports[-1]
            assert report.resyncs > 0  # frames were really lost, and the engine recovered
            assert min(report.block_sizes) < max(report.block_sizes)  # it shrank its blocks
            assert target.link_stats().timeouts > 0
        finally:
            target.close()


def test_adapter_unplugged_mid_download_then_resumed() -> None:
    image = signed_image("1.1.0", size=96 * 1024, counter=2)
    with SimProcess(bitrate=500_000) as sim:
        target = UdsTarget.open(sim.link_config(), options=UdsOptions(compression=False))
        try:
            pulled = threading.Event()

            def on_progress(done: int, total: int) -> None:
                if done > total // 3 and not pulled.is_set():
                    pulled.set()
                    sim.unplug()

            with pytest.raises(LinkLostError):
                target.upload_image(image, on_progress)
            time.sleep(0.3)
            sim.replug()
            target.reconnect(10.0)
            target.upload_image(image)
            report = target.options.reports[-1]
            assert report.start_offset > len(image) // 4  # resumed, not restarted
            assert not report.erased
            assert report.wire_bytes <= len(image) - report.start_offset
        finally:
            target.close()


def test_wrong_security_key_is_locked_out_over_slcan() -> None:
    with SimProcess() as sim:
        target = UdsTarget.open(sim.link_config(), key_provider=HmacKeyProvider(b"\x42" * 32))
        try:
            codes = []
            for _ in range(4):
                with pytest.raises(SecurityAccessDeniedError) as info:
                    target.set_balancing(1, True)
                codes.append(info.value.code)
            assert codes == [0x35, 0x35, 0x36, 0x37]
            assert "NRC 0x37 requiredTimeDelayNotExpired" in str(info.value)
        finally:
            target.close()
