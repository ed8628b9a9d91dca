"""The UDS client against the virtual BMS's UDS server, in-process over python-can's virtual bus.

Covers every Target operation end to end and the server's negative-response table byte for byte
(raw ISO-TP requests, not the tool's client, so both sides are checked independently).
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import time
import zlib

import pytest
from uds_support import RawUds, signed_image, sim_options, uds_target, unlock, virtual_sim

from bmsflasher.core.errors import (
    ConfigValidationError,
    DeviceRejectedError,
    DowngradeError,
    SecurityAccessDeniedError,
    SignatureError,
)
from bmsflasher.core.target import Target
from bmsflasher.core.types import ConfigSnapshot, DeviceMode
from bmsflasher.protocols.uds.security import HmacKeyProvider
from bmsflasher.protocols.uds.target import UdsOptions
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.uds.server import UdsServerConfig


def test_identify_telemetry_config_dtcs_over_virtual_bus() -> None:
    with virtual_sim() as (device, sim), uds_target(sim) as target:
        assert isinstance(target, Target)
        identity = target.identify()
        expected = device.identity()
        assert identity.serial_number == expected.serial_number
        assert identity.model == expected.model
        assert identity.firmware_version == expected.firmware_version
        assert identity.bootloader_version == expected.bootloader_version
        assert identity.slots == expected.slots
        assert identity.security_counter == expected.security_counter
        telemetry = target.read_telemetry()
        assert telemetry.cell_count == 16
        assert abs(telemetry.cell_sum_mv - telemetry.pack_voltage_mv) < 200
        assert len(telemetry.temperatures_c) == len(device.telemetry().temperatures_c)
        assert 59.0 < telemetry.soc_pct < 61.0
        config = target.read_config()
        assert dict(config.parameters) == dict(device.config().parameters)
        assert target.read_dtcs() == device.dtcs()
        assert target.ping() < 1.0
        stats = target.link_stats()
        assert stats.requests > 10
        assert stats.timeouts == 0


def test_write_config_persists_and_rejects_bad_values() -> None:
    with virtual_sim() as (device, sim), uds_target(sim) as target:
        before = target.read_config()
        changed = dict(before.parameters, balance_delta_mv=15, overtemperature_c=50.0)
        target.write_config(ConfigSnapshot(before.schema_version, changed))
        assert device.saved_config().parameters["balance_delta_mv"] == 15
        assert device.saved_config().parameters["overtemperature_c"] == 50.0
        assert target.read_config().parameters["balance_delta_mv"] == 15
        with pytest.raises(ConfigValidationError, match="balance_delta_mv"):
            target.write_config(ConfigSnapshot(1, {"balance_delta_mv": 10_000_000}))
        with pytest.raises(ConfigValidationError, match="read-only"):
            target.write_config(ConfigSnapshot(1, {"serial_number": "OTHER"}))
        with pytest.raises(ConfigValidationError, match="no parameter"):
            target.write_config(ConfigSnapshot(1, {"no_such_thing": 1}))


def test_full_update_test_boot_confirm() -> None:
    image = signed_image("1.1.0", size=24 * 1024, counter=2)
    with virtual_sim() as (device, sim), uds_target(sim) as target:
        progress: list[tuple[int, int]] = []
        target.upload_image(image, lambda done, total: progress.append((done, total)))
        assert progress[-1] == (len(image), len(image))
        assert all(b[0] >= a[0] for a, b in itertools.pairwise(progress))
        assert device.image_bytes(1)[: len(image)] == image
        report = target.options.reports[-1]
        assert report.compressed
        assert report.wire_bytes < len(image)
        target.mark_for_test()
        target.reset()
        identity = target.reconnect(10.0)
        assert str(identity.firmware_version) == "1.1.0"
        assert not identity.slots[0].confirmed
        assert target.run_self_test().passed
        target.confirm()
        identity = target.identify()
        assert identity.slots[0].confirmed
        assert identity.security_counter == 2


def test_upload_resumes_from_device_offset_without_erasing() -> None:
    image = signed_image("1.1.0", size=32 * 1024, counter=2)
    with virtual_sim() as (device, sim), uds_target(sim, options=UdsOptions(compression=False)) as target:
        target.identify()
        # A previous session wrote the first 12 KiB of the same image, then the cable was pulled.
        assert device.upload_begin(len(image), hashlib.sha256(image).digest(), 1) == 0
        device.upload_write(0, image[: 12 * 1024])
        target.upload_image(image)
        report = target.options.reports[-1]
        assert report.start_offset == 12 * 1024
        assert not report.erased
        assert report.wire_bytes == len(image) - 12 * 1024
        assert device.verify_slot(1)


def test_downgrade_is_refused_when_marking_for_test() -> None:
    old = signed_image("0.9.0", size=8 * 1024, counter=0)
    with virtual_sim() as (device, sim), uds_target(sim) as target:
        with pytest.raises(DowngradeError, match="security counter"):
            target.upload_image(old)
        assert not device.slots()[1].pending


def test_balancing_rollback_and_clear_dtcs() -> None:
    with virtual_sim() as (device, sim), uds_target(sim) as target:
        target.set_balancing(3, True)
        assert target.read_telemetry().balancing[3]
        target.set_balancing(3, False)
        target.clear_dtcs()
        assert target.read_dtcs() == []
        with pytest.raises(SignatureError, match="roll back"):
            target.rollback()  # slot 1 is empty: nothing valid to roll back to
        assert device.mode is DeviceMode.APPLICATION


def test_wrong_key_provider_is_locked_out() -> None:
    with virtual_sim(server_config=UdsServerConfig(lockout_delay_s=0.5)) as (_device, sim):
        with uds_target(sim) as target:
            target.identify()
            target.client.key_provider = HmacKeyProvider(b"\x11" * 32)
            codes = []
            for _ in range(4):
                target.client.unlocked = False
                with pytest.raises(SecurityAccessDeniedError) as info:
                    target.set_balancing(0, True)
                codes.append(info.value.code)
            assert codes == [0x35, 0x35, 0x36, 0x37]
            assert "NRC 0x37 requiredTimeDelayNotExpired" in str(info.value)
            time.sleep(0.6)
            target.client.key_provider = HmacKeyProvider(bytes.fromhex(_demo_secret()))
            target.set_balancing(0, True)  # after the delay the right key unlocks


def _demo_secret() -> str:
    from bmsflasher.core.resources import resource_path

    return resource_path("demo", "security-master.key").read_text().strip()


def test_two_nodes_answer_on_their_own_ids() -> None:
    with virtual_sim(nodes=2) as (device, sim):
        assert [n["request_id"] for n in sim.connection()["nodes"]] == [0x7E0, 0x7E1]  # type: ignore[index]
        with uds_target(sim, node=1) as first, uds_target(sim, node=2) as second:
            a, b = first.identify(), second.identify()
            assert a.serial_number == device.identity().serial_number
            assert b.serial_number != a.serial_number


def test_functional_tester_present_and_suppressed_nrcs() -> None:
    with virtual_sim() as (_device, sim), RawUds(sim.channel) as raw:
        raw.send_functional(bytes([0x3E, 0x00]))
        assert raw.stack.recv(block=True, timeout=1.0) == bytearray([0x7E, 0x00])
        raw.send_functional(bytes([0x23, 0x00]))  # unknown service, functional: no NRC 0x11
        raw.send_functional(bytes([0x3E, 0x80]))  # suppressed positive response
        assert raw.stack.recv(block=True, timeout=0.3) is None


def test_response_pending_during_slow_erase() -> None:
    device = VirtualBms.create(sim_options(erase_time_s_per_sector=0.15))
    try:
        old = signed_image("1.0.5", size=6000)
        device.upload_begin(len(old), hashlib.sha256(old).digest(), 1)
        device.upload_write(0, old)  # slot 1 holds an image: erasing it takes 2 x 0.15 s
        with virtual_sim(device) as (_device, sim), RawUds(sim.channel) as raw:
            unlock(raw, device)
            assert _ask(raw, bytes([0x10, 0x02]))[:2] == b"\x50\x02"
            unlock_programming(raw, device)
            raw.stack.send(bytes([0x31, 0x01, 0xFF, 0x00, 0x44]) + struct.pack(">II", 0x2000_0000, 0))
            answers = []
            while True:
                answer = raw.stack.recv(block=True, timeout=2.0)
                assert answer is not None
                answers.append(bytes(answer))
                if answer[0] != 0x7F:
                    break
            assert answers[0] == bytes([0x7F, 0x31, 0x78])  # requestCorrectlyReceived-ResponsePending
            assert answers[-1] == bytes([0x71, 0x01, 0xFF, 0x00, 0x00])
            assert device.image_bytes(1) == b""
    finally:
        device.close()


def test_session_s3_timeout_relocks() -> None:
    # S3 (1 s) is five keep-alive gaps (0.2 s): a stretched gap on a loaded machine does not end
    # the session; the expiry wait (S3 + 0.3 s) only ever errs long.
    s3_s = 1.0
    with (
        virtual_sim(server_config=UdsServerConfig(s3_timeout_s=s3_s)) as (device, sim),
        RawUds(sim.channel) as raw,
    ):
        unlock(raw, device)
        assert raw.request(bytes([0x22, 0xF1, 0x86])) == bytes([0x62, 0xF1, 0x86, 0x03])
        time.sleep(s3_s + 0.3)
        assert raw.request(bytes([0x22, 0xF1, 0x86])) == bytes([0x62, 0xF1, 0x86, 0x01])
        unlock(raw, device)
        for _ in range(4):  # TesterPresent keeps the session alive
            time.sleep(0.2)
            assert raw.request(bytes([0x3E, 0x00])) == bytes([0x7E, 0x00])
        assert raw.request(bytes([0x22, 0xF1, 0x86])) == bytes([0x62, 0xF1, 0x86, 0x03])


def _nrc(sid: int, code: int) -> bytes:
    return bytes([0x7F, sid, code])


def _ask(raw: RawUds, payload: bytes) -> bytes:
    answer = raw.request(payload)
    assert answer is not None, f"no answer to {payload.hex()}"
    return answer


def test_nrcs_general_and_session() -> None:
    with virtual_sim() as (_device, sim), RawUds(sim.channel) as raw:
        assert _ask(raw, bytes([0x23, 0x00])) == _nrc(0x23, 0x11)  # serviceNotSupported
        assert _ask(raw, bytes([0x10, 0x05])) == _nrc(0x10, 0x12)  # subFunctionNotSupported
        assert _ask(raw, bytes([0x19, 0x42, 0xFF])) == _nrc(0x19, 0x12)
        assert _ask(raw, bytes([0x10])) == _nrc(0x10, 0x13)  # incorrectMessageLengthOrInvalidFormat
        assert _ask(raw, bytes([0x22, 0xF1])) == _nrc(0x22, 0x13)
        assert _ask(raw, bytes([0x22, 0x12, 0x34])) == _nrc(0x22, 0x31)  # requestOutOfRange
        assert _ask(raw, bytes([0x14, 0x12, 0x34, 0x56])) == _nrc(0x14, 0x31)
        assert _ask(raw, bytes([0x10, 0x02])) == _nrc(0x10, 0x7E)  # programming only from extended
        assert _ask(raw, bytes([0x27, 0x01])) == _nrc(0x27, 0x7F)  # serviceNotSupportedInActiveSession
        assert _ask(raw, bytes([0x34, 0x00, 0x44]) + bytes(8)) == _nrc(0x34, 0x7F)
        assert _ask(raw, bytes([0x2E, 0xFE, 0x08, 0, 0, 0, 15])) == _nrc(0x2E, 0x7F)
        answer = _ask(raw, bytes([0x10, 0x03]))
        assert answer[:2] == b"\x50\x03"
        assert struct.unpack(">HH", answer[2:]) == (50, 500)  # P2, P2*/10
        assert _ask(raw, bytes([0x2E, 0xFE, 0x08, 0, 0, 0, 15])) == _nrc(0x2E, 0x33)  # securityAccessDenied
        assert _ask(raw, bytes([0x31, 0x01, 0xF0, 0x05, 0x00, 0x00, 0x01])) == _nrc(0x31, 0x33)


def test_nrcs_security_lockout() -> None:
    config = UdsServerConfig(lockout_delay_s=0.4)
    with virtual_sim(server_config=config) as (device, sim), RawUds(sim.channel) as raw:
        _ask(raw, bytes([0x10, 0x03]))
        assert _ask(raw, bytes([0x27, 0x02]) + bytes(16)) == _nrc(0x27, 0x24)  # key without a seed
        assert _ask(raw, bytes([0x27, 0x05])) == _nrc(0x27, 0x12)
        codes = []
        for _ in range(3):
            assert _ask(raw, bytes([0x27, 0x01]))[:2] == b"\x67\x01"
            codes.append(_ask(raw, bytes([0x27, 0x02]) + bytes(16))[2])
        assert codes == [0x35, 0x35, 0x36]  # invalidKey twice, then exceededNumberOfAttempts
        assert _ask(raw, bytes([0x27, 0x01])) == _nrc(0x27, 0x37)  # requiredTimeDelayNotExpired
        time.sleep(0.5)
        unlock_programming(raw, device)  # the right key works once the delay expired


def test_nrcs_download_sequence() -> None:
    image = signed_image(size=4096)
    sha = hashlib.sha256(image).digest()
    prepare = bytes([0x31, 0x01, 0xF0, 0x00, 0x01]) + struct.pack(">I", len(image))
    download = bytes([0x34, 0x00, 0x44]) + struct.pack(">II", 0x2000_0000, len(image))
    with virtual_sim() as (device, sim), RawUds(sim.channel) as raw:
        unlock(raw, device)
        assert _ask(raw, bytes([0x31, 0x01, 0xF0, 0x05, 0x00, 0x00, 0x05])) == _nrc(0x31, 0x31)
        # prepare runs in the programming session only: a routine identifier not supported in
        # the active session is requestOutOfRange (ISO 14229-1 RoutineControl), not 0x7F.
        assert _ask(raw, prepare + sha) == _nrc(0x31, 0x31)
        assert _ask(raw, bytes([0x10, 0x02]))[:2] == b"\x50\x02"
        assert _ask(raw, bytes([0x19, 0x02, 0xFF])) == _nrc(0x19, 0x11)  # bootloader: programming subset
        assert _ask(raw, prepare + sha) == _nrc(0x31, 0x33)  # security relocked by the session change
        unlock_programming(raw, device)
        assert _ask(raw, bytes([0x36, 0x01, 0x00])) == _nrc(0x36, 0x24)  # requestSequenceError
        assert _ask(raw, bytes([0x37])) == _nrc(0x37, 0x24)
        assert _ask(raw, download) == _nrc(0x34, 0x22)  # conditionsNotCorrect: nothing announced
        assert _ask(raw, prepare + bytes(32)) == bytes([0x71, 0x01, 0xF0, 0x00, 0, 0, 0, 0, 0])
        assert _ask(raw, bytes([0x34, 0x30, 0x44]) + download[3:]) == _nrc(0x34, 0x31)  # compression 3
        assert _ask(raw, bytes([0x34, 0x00, 0x44]) + struct.pack(">II", 0x3000_0000, 4)) == _nrc(0x34, 0x31)
        answer = _ask(raw, download)
        assert answer[:2] == bytes([0x74, 0x20])
        assert struct.unpack(">H", answer[2:])[0] == 4095
        assert _ask(raw, bytes([0x36, 0x02]) + image[:100]) == _nrc(0x36, 0x73)  # wrongBlockSequenceCounter
        assert _ask(raw, bytes([0x36, 0x01]) + image[:2048]) == bytes([0x76, 0x01])
        assert _ask(raw, bytes([0x36, 0x02]) + image[2048:]) == _nrc(0x36, 0x72)  # SHA-256 mismatch
        # The flash now holds exactly this image: announcing it reports it complete (no re-download).
        assert _ask(raw, prepare + sha) == bytes([0x71, 0x01, 0xF0, 0x00, 0x00]) + struct.pack(
            ">I", len(image)
        )
        assert _ask(raw, download) == _nrc(0x34, 0x31)  # offset 0 is not where the flash stands
        # Another image, compressed: corrupt data is transferDataSuspended.
        image = signed_image("1.2.0", size=4096)
        prepare = bytes([0x31, 0x01, 0xF0, 0x00, 0x01]) + struct.pack(">I", len(image))
        download = bytes([0x34, 0x10, 0x44]) + struct.pack(">II", 0x2000_0000, len(image))
        announce = prepare + hashlib.sha256(image).digest()
        assert _ask(raw, announce) == bytes([0x71, 0x01, 0xF0, 0x00, 0x00, 0, 0, 0, 0])
        assert _ask(raw, download) == bytes([0x74, 0x20, 0x0F, 0xFF])
        assert _ask(raw, bytes([0x36, 0x01]) + b"this is not zlib data") == _nrc(0x36, 0x71)
        # A good compressed transfer; the counter wraps and a repeated block is acknowledged, not rewritten.
        assert _ask(raw, announce) == bytes([0x71, 0x01, 0xF0, 0x00, 0x00, 0, 0, 0, 0])
        assert _ask(raw, download) == bytes([0x74, 0x20, 0x0F, 0xFF])
        packed = zlib.compress(image)
        pieces = [packed[i : i + 8] for i in range(0, len(packed), 8)]
        for index, piece in enumerate(pieces):
            counter = (index + 1) & 0xFF
            assert _ask(raw, bytes([0x36, counter]) + piece) == bytes([0x76, counter])
            if index == 3:
                assert _ask(raw, bytes([0x36, counter]) + piece) == bytes([0x76, counter])  # repeat
        assert len(pieces) > 256  # the counter wrapped 0xFF -> 0x00
        assert _ask(raw, bytes([0x37])) == bytes([0x77]) + struct.pack(">I", len(image))
        assert _ask(raw, bytes([0x31, 0x01, 0x02, 0x02, 0x01])) == bytes([0x71, 0x01, 0x02, 0x02, 0x00])
        assert device.image_bytes(1)[: len(image)] == image


def test_nrc_upload_not_accepted_while_image_on_test() -> None:
    image = signed_image("1.1.0", size=8 * 1024)
    with virtual_sim() as (device, sim):
        with uds_target(sim) as target:
            target.upload_image(image)
            target.mark_for_test()
            target.reset()
            target.reconnect(5.0)  # now running 1.1.0 on test; slot 1 holds the image to revert to
        with RawUds(sim.channel) as raw:
            unlock(raw, device)
            assert _ask(raw, bytes([0x10, 0x02]))[:2] == b"\x50\x02"
            unlock_programming(raw, device)
            prepare = bytes([0x31, 0x01, 0xF0, 0x00, 0x01]) + struct.pack(">I", len(image))
            assert _ask(raw, prepare + hashlib.sha256(image).digest()) == bytes(
                [0x71, 0x01, 0xF0, 0x00, 0x01, 0x03]
            )
            download = bytes([0x34, 0x00, 0x44]) + struct.pack(">II", 0x2000_0000, len(image))
            assert _ask(raw, download) == _nrc(0x34, 0x70)  # uploadDownloadNotAccepted


def test_powered_off_device_is_silent() -> None:
    with virtual_sim() as (device, sim), RawUds(sim.channel) as raw:
        assert _ask(raw, bytes([0x3E, 0x00])) == bytes([0x7E, 0x00])
        device.power_off()
        assert raw.request(bytes([0x3E, 0x00]), timeout_s=0.3) is None
        device.power_on()
        assert _ask(raw, bytes([0x3E, 0x00])) == bytes([0x7E, 0x00])


def unlock_programming(raw: RawUds, device: VirtualBms) -> None:
    import hmac

    seed = _ask(raw, bytes([0x27, 0x01]))
    assert seed[:2] == b"\x67\x01"
    if any(seed[2:]):
        key = hmac.new(device.security_secret, seed[2:], hashlib.sha256).digest()[:16]
        assert _ask(raw, bytes([0x27, 0x02]) + key) == b"\x67\x02"


def test_recovery_mode_serves_the_programming_subset_and_flashes_the_primary_slot() -> None:
    device = VirtualBms.create(sim_options(recovery=True))
    try:
        with virtual_sim(device) as (_device, sim), uds_target(sim) as target:
            identity = target.identify()
            assert identity.mode is DeviceMode.RECOVERY
            assert identity.firmware_version is None
            with pytest.raises(DeviceRejectedError, match="NRC 0x31 requestOutOfRange"):
                target.read_telemetry()
            with pytest.raises(DeviceRejectedError, match="NRC 0x11 serviceNotSupported"):
                target.read_dtcs()
            image = signed_image("1.1.0", size=8 * 1024, counter=2)
            target.upload_image(image)  # straight into the primary slot
            target.mark_for_test()  # nothing to swap: a no-op in recovery
            target.reset()
            identity = target.reconnect(10.0)
            assert identity.mode is DeviceMode.APPLICATION
            assert str(identity.firmware_version) == "1.1.0"
    finally:
        device.close()


def test_can_fd_frames_are_negotiated_from_the_transport_did() -> None:
    from uds_support import unique_channel

    from bmsflasher.links.can import CanLinkConfig
    from bmsflasher.protocols.uds.target import UdsTarget
    from bmsflasher.sim.wire import can_frontend
    from bmsflasher.sim.wire.frontend_options import FrontEndOptions

    device = VirtualBms.create(sim_options())
    options = FrontEndOptions(bitrate=500_000, data_bitrate=2_000_000, fd=True, channel=unique_channel())
    try:
        with can_frontend.start(device, options, "virtual") as sim:
            config = CanLinkConfig(
                interface="virtual", channel=sim.channel, bitrate=500_000, data_bitrate=2_000_000, fd=True
            )
            target = UdsTarget.open(config)
            try:
                assert target.uses_fd  # the device announced FD in DID 0xFD03
                image = signed_image("1.1.0", size=16 * 1024, counter=2)
                target.upload_image(image)
                assert device.verify_slot(1)
                assert sim.bus.stats.frames < 700  # 64-byte frames: a fraction of the classic count
            finally:
                target.close()
    finally:
        device.close()
