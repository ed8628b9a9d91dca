"""Issue 14: an image signed by a key the device's bootloader does not trust is refused before any write.

The virtual BMS's bootloader trusts the P-256 demo key and says so (SMP bootloader information,
vendor query ``key_hashes``; UDS DID 0xFD06). A package signed with the Ed25519 demo key passes the
host's checks (the host trusts both demo keys) but would be refused by the bootloader after the
whole transfer: the update and the recovery refuse it before a byte is written, over both
protocols, through the real links (SMP on a pty, UDS behind an emulated slcan adapter). A device
whose bootloader cannot tell updates exactly as before.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import cbor2
import pytest
from proc_support import DEMO_PUB, HEALTHY, Bench, fast_profile, package, smp_bench, uds_bench
from smp.os_management import BootloaderInformationReadRequest
from smpclient import SMPClient
from smpclient.transport.serial import SMPSerialTransport

from bmsflasher.core.errors import UntrustedKeyError
from bmsflasher.core.events import Progress, StepStarted
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode, FirmwareVersion
from bmsflasher.firmware.keys import Keyring, key_id, load_private_key_file, load_public_key_file
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.procedure import FailureKind, State, UpdateOptions, UpdateProcedure, package_loader
from bmsflasher.procedure.package_loading import load_package
from bmsflasher.procedure.preconditions import SIGNING_KEY, preview
from bmsflasher.procedure.recovery import recover_recorded
from bmsflasher.protocols.uds import codec
from bmsflasher.sim.device.scenarios import make_image
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.uds.device_calls import DeviceCalls
from bmsflasher.sim.uds.server_config import UdsServerConfig
from bmsflasher.sim.uds.services_data import DataServices
from bmsflasher.sim.uds.services_session import SessionState

V = FirmwareVersion.parse
ED25519_KEY = resource_path("demo", "demo-key-ed25519.pem")
ED25519_PUB = resource_path("demo", "demo-key-ed25519.pub.pem")
DEVICE_KEY_ID = key_id(load_public_key_file(DEMO_PUB))  # the key the virtual BMS's bootloader trusts
IMAGE_KEY_ID = key_id(load_public_key_file(ED25519_PUB))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"


class BenchFactory(Protocol):
    def __call__(self, workdir: Path, **sim: object) -> AbstractContextManager[Bench]: ...


BENCHES: dict[str, BenchFactory] = {"smp": smp_bench, "uds": uds_bench}


def host_keyring() -> Keyring:
    """The host trusts both demo keys: only the device's bootloader can object to the signer."""
    keyring = Keyring(demo=True)
    for path in (DEMO_PUB, ED25519_PUB):
        keyring.add(load_public_key_file(path), path.name)
    return keyring


@pytest.fixture(scope="module")
def ed25519_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """VBMS-16 1.1.0 (counter 2): image and manifest signed with the Ed25519 demo key."""
    image = make_image("1.1.0", security_counter=2, signing_key=ED25519_KEY)
    spec = PackageSpec(model="VBMS-16", hardware_revisions=("C",), version=V("1.1.0"), security_counter=2)
    path = tmp_path_factory.mktemp("ed25519") / "VBMS-16-1.1.0-ed25519.bmspkg"
    path.write_bytes(build_package(spec, image, load_private_key_file(ED25519_KEY)))
    return path


def flash_state(device: VirtualBms) -> tuple[object, ...]:
    """What a write would change: flash operations, both slots, the upload in progress."""
    status = device.upload_status()
    return (
        device.flash.ops_done,
        device.image_bytes(0),
        device.image_bytes(1),
        (status.slot, status.offset, status.total),
    )


@pytest.mark.parametrize("protocol", ["smp", "uds"])
def test_an_image_signed_by_a_key_the_bootloader_does_not_trust_is_refused_before_any_write(
    tmp_path: Path, protocol: str, ed25519_package: Path
) -> None:
    with BENCHES[protocol](tmp_path) as bench:
        before = flash_state(bench.device)
        options = UpdateOptions(journal_dir=tmp_path / "journal", profile=fast_profile(), operator="pytest")
        result = UpdateProcedure(
            package_loader(ed25519_package, host_keyring()), bench.connect, bench.db, bench.sink, options
        ).run()
        bench.close_targets()
        after = flash_state(bench.device)
        identity = bench.device.identity()
    assert result.outcome is State.REFUSED, result.reason
    assert (
        f"the device's bootloader trusts key {DEVICE_KEY_ID[:16]}, but the image is signed by key "
        f"{IMAGE_KEY_ID[:16]}; it would be refused after the transfer" in result.reason
    )
    assert result.reason.startswith("Refused before anything was written")
    assert result.advice is not None
    assert result.advice.kind is FailureKind.AUTHENTICATION_REJECTION
    gate = bench.measurements()[SIGNING_KEY]
    assert not gate.passed
    assert not gate.overridable
    assert gate.value == f"key {IMAGE_KEY_ID[:16]}"
    assert gate.limit == f"key {DEVICE_KEY_ID[:16]}"
    # nothing was written and nothing was sent: no transfer step, no progress, the flash as it was
    assert not bench.progress()
    assert not [e for e in bench.events if isinstance(e, StepStarted) and e.step in ("backup", "transfer")]
    assert after == before
    assert identity.firmware_version == V("1.0.0")


@pytest.mark.parametrize("protocol", ["smp", "uds"])
def test_a_device_that_cannot_tell_its_trusted_key_still_updates_as_before(
    tmp_path: Path, protocol: str
) -> None:
    with BENCHES[protocol](tmp_path, reports_trusted_keys=False) as bench:
        result = bench.flash(HEALTHY)
        identity = bench.device.identity()
    assert result.outcome is State.UPDATED, result.reason
    assert identity.firmware_version == V("1.1.0")
    assert SIGNING_KEY not in bench.measurements()  # no gate without the device's answer
    assert bench.progress()


def test_a_package_signed_by_the_trusted_key_passes_the_signing_key_gate(tmp_path: Path) -> None:
    with smp_bench(tmp_path) as bench:
        target = bench.connect()
        assert target.trusted_key_hashes() == (bytes.fromhex(DEVICE_KEY_ID),)
        loaded = load_package(package(HEALTHY), host_keyring())
        report = preview(target, loaded.facts, fast_profile().preconditions)
    gate = next(m for m in report.results if m.name == SIGNING_KEY)
    assert gate.passed
    assert gate.value == gate.limit == f"key {DEVICE_KEY_ID[:16]}"


def label_of_the_unit() -> dict[str, object]:
    """The model and revision a technician reads from the unit, where recovery takes them.

    MCUboot's serial recovery cannot report the model; the recovery's compatibility check (another
    bullet of issue 14) then wants it named, so the run reaches the signing-key check this tests.
    """
    if "declared" not in inspect.signature(recover_recorded).parameters:
        return {}
    from bmsflasher.procedure import recovery_checks

    declared = recovery_checks.DeclaredIdentity(model="VBMS-16", hardware_revision="C")  # type: ignore[attr-defined]
    return {"declared": declared}


@pytest.mark.parametrize("protocol", ["smp", "uds"])
def test_recovery_refuses_an_image_the_bootloader_does_not_trust_before_any_write(
    tmp_path: Path, protocol: str, ed25519_package: Path
) -> None:
    with BENCHES[protocol](tmp_path, recovery=True) as bench:
        assert bench.device.mode is DeviceMode.RECOVERY
        before = flash_state(bench.device)
        target = bench.connect()
        loaded = load_package(ed25519_package, host_keyring())
        with pytest.raises(UntrustedKeyError) as refused:
            recover_recorded(target, loaded, bench.db, bench.sink, **label_of_the_unit())
        bench.close_targets()
        after = flash_state(bench.device)
        session = bench.db.sessions()[0]
    assert f"trusts key {DEVICE_KEY_ID[:16]}, but the image is signed by key {IMAGE_KEY_ID[:16]}" in str(
        refused.value
    )
    assert refused.value.hint  # the authentication-rejection advice
    assert not [e for e in bench.events if isinstance(e, Progress | StepStarted)]
    assert after == before
    assert session.kind == "recovery"
    assert session.outcome == "failed"


# --- the answers, pinned to the documented bytes and names ---------------------------------------------
@pytest.fixture
def device_read() -> Iterator[tuple[VirtualBms, DataServices]]:
    with VirtualBms.create(SimOptions(erase_time_s_per_sector=0, boot_time_s=0)) as device:
        services = DataServices(
            SessionState(), DeviceCalls(device, lambda _sid: None), UdsServerConfig(), lambda: None
        )
        yield device, services


def test_did_fd06_is_the_documented_count_and_key_hashes(
    device_read: tuple[VirtualBms, DataServices],
) -> None:
    doc = (DOCS / "uds.md").read_text(encoding="utf-8")
    row = (
        "| `FD06` | trusted signing keys: count u8, then per key the SHA-256 of its public key "
        "(32 bytes: the DER SubjectPublicKeyInfo hashed, MCUboot's KEYHASH value) |"
    )
    assert row in doc
    _device, services = device_read
    answer = services.read_dids(bytes.fromhex("22FD06"))
    assert answer == bytes.fromhex("62FD06" + "01" + DEVICE_KEY_ID)
    assert codec.trusted_key_hashes(answer[3:]) == (bytes.fromhex(DEVICE_KEY_ID),)
    assert "`FD06`" in doc.split("every other service gets NRC 0x11")[0]  # answered by the bootloader too


def bootloader_info_body(port: str, query: str) -> object:
    """The body of a bootloader-information answer, asked with smpclient and the ``smp`` package's
    own request model (independent of the tool's client)."""

    async def ask() -> object:
        transport = SMPSerialTransport(baudrate=2_000_000)
        client = SMPClient(transport, port, timeout_s=3.0)
        await client.connect(3.0)
        try:
            request = BootloaderInformationReadRequest(query=query, sequence=7)
            frame = await transport.send_and_receive(bytes(request.BYTES))
        finally:
            await client.disconnect()
        return cbor2.loads(frame[8:])

    return asyncio.run(asyncio.wait_for(ask(), 20.0))


@pytest.mark.parametrize("reports", [True, False])
def test_the_smp_query_answers_as_documented(tmp_path: Path, reports: bool) -> None:
    doc = (DOCS / "smp.md").read_text(encoding="utf-8")
    assert "`{query: \"key_hashes\"}` → `{key_hashes: [h'…32 bytes…', …]}`" in doc
    assert f"{{key_hashes: [h'{DEVICE_KEY_ID}']}}" in doc
    with smp_bench(tmp_path, reports_trusted_keys=reports) as bench:
        assert bench.front_end is not None
        body = bootloader_info_body(bench.front_end.port, "key_hashes")
    if reports:
        assert body == {"key_hashes": [bytes.fromhex(DEVICE_KEY_ID)]}
    else:  # a bootloader built without the vendor query: QUERY_YIELDS_NO_ANSWER
        assert body == {"err": {"group": 0, "rc": 3}}
