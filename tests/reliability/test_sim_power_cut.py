"""Power-loss proof of the virtual BMS's dual-bank update (issue 3).

Like MCUboot's own simulator: count the N flash operations of a clean update (upload, test boot,
confirm) and of a revert, then for every k cut the power before operation k, and separately tear
operation k (only part of it lands), power on, let the host finish, and check the invariants:
the device boots a valid image (old or new, as the state machine says), both images are
byte-exact, the configuration is intact and the security counter never went down.

The unmarked tests run a spread subset; ``-m slow`` runs every k on several flash geometries.

The same sweeps run on encrypted images (imgtool ``--encrypt`` for the demo device key): the new
image stays encrypted in the secondary slot, is decrypted into the primary slot by the swap, and
the old one (flagged encrypted, held in clear in the primary slot) is re-encrypted on its way out,
so after the update slot 1 holds the old image's original ciphertext byte for byte, and after a
revert slot 1 holds the uploaded ciphertext again.
"""

from __future__ import annotations

import hashlib
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.provisioning import image_verifier
from bmsflasher.sim.device.scenarios import (
    UpdateTrace,
    demo_signing_key,
    fast_options,
    finish_update,
    firmware_code,
    full_update,
    make_image,
    small_geometry,
    trace_update,
    upload,
)
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimPoweredOffError
from bmsflasher.sim.flash.images import build_signed_image, decrypted, parse_image
from bmsflasher.sim.options import FlashGeometry

OLD_COUNTER = 3
NEW_COUNTER = 4
FAST_CASES = 24  # per sweep in the unmarked run


@dataclass
class Bench:
    """A device state to clone for every case, and the two images."""

    geometry: FlashGeometry
    factory: Path
    old: bytes
    new: bytes
    initial_flash: bytes
    initial_config: dict[str, object]
    old_counter: int = OLD_COUNTER
    new_counter: int = NEW_COUNTER
    new_plain: bytes | None = None  # encrypted benches: the new image as the primary slot holds it
    old_encrypted: bytes | None = None  # encrypted benches: the old image as the secondary slot holds it

    @property
    def new_running(self) -> bytes:
        """The new image as it runs from the primary slot (decrypted when it was uploaded encrypted)."""
        return self.new if self.new_plain is None else self.new_plain

    @property
    def old_stored(self) -> bytes:
        """The old image as it waits in the secondary slot (re-encrypted when it is flagged encrypted)."""
        return self.old if self.old_encrypted is None else self.old_encrypted

    def device(self, contents: bytes | None = None, *, powered: bool = True) -> VirtualBms:
        return VirtualBms.create(
            fast_options(self.factory, self.geometry),
            flash_contents=contents or self.initial_flash,
            powered=powered,
        )


DEMO_ENC_PUB = resource_path("demo", "encryption", "demo-enc-key.pub.pem")


def encrypted_image(version: str, counter: int, size: int, aes_bits: int) -> bytes:
    """imgtool's ``sign --encrypt demo-enc-key.pub.pem`` through its library."""
    code = firmware_code(size, seed=size + counter)
    return build_signed_image(
        code,
        version,
        demo_signing_key(),
        security_counter=counter,
        encrypt_for=DEMO_ENC_PUB,
        aes_bits=aes_bits,
    )


def make_bench(
    tmp: Path, geometry: FlashGeometry, old_size: int = 5000, new_size: int = 7300, *, encrypted: bool = False
) -> Bench:
    old_encrypted = new_plain = None
    if encrypted:
        old_encrypted = encrypted_image("1.0.0", OLD_COUNTER, old_size, 128)
        new = encrypted_image("1.1.0", NEW_COUNTER, new_size, 256)
        verifier = image_verifier(fast_options(tmp / "unused.img", geometry))
        old = decrypted(old_encrypted, verifier)  # the factory holds it in clear, flagged encrypted
        new_plain = decrypted(new, verifier)
    else:
        old = make_image("1.0.0", security_counter=OLD_COUNTER, code_size=old_size)
        new = make_image("1.1.0", security_counter=NEW_COUNTER, code_size=new_size)
    factory = tmp / "factory.img"
    factory.write_bytes(old)
    device = VirtualBms.create(fast_options(factory, geometry))
    # A customised configuration that must survive everything.
    device.set_parameters({"balance_delta_mv": 25, "capacity_ah": 280.0, "can_node_id": 9})
    device.save_config()
    bench = Bench(
        geometry,
        factory,
        old,
        new,
        device.flash.snapshot(),
        dict(device.saved_config().parameters),
        parse_image(old).security_counter,
        parse_image(new).security_counter,
        new_plain,
        old_encrypted,
    )
    device.close()
    return bench


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    return make_bench(tmp_path_factory.mktemp("sweep"), small_geometry())


@pytest.fixture(scope="module")
def encrypted_bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    return make_bench(tmp_path_factory.mktemp("sweep-encrypted"), small_geometry(), encrypted=True)


def clean_trace(bench: Bench) -> UpdateTrace:
    device = bench.device()
    trace = trace_update(device, bench.new)
    device.close()
    return trace


def check_finished(device: VirtualBms, bench: Bench) -> None:
    """After the host finished: new image running confirmed, old one kept, config and counter right."""
    assert device.mode is DeviceMode.APPLICATION
    assert device.image_bytes(0) == bench.new_running
    assert device.image_bytes(1) == bench.old_stored
    slot0, slot1 = device.slots()
    assert slot0.active
    assert slot0.confirmed
    assert not slot0.pending
    assert not slot1.pending
    # The old image is intact but now below the stored security counter: refused (anti-rollback).
    assert not slot1.bootable
    assert "anti-rollback" in (device.image_problem(1) or "")
    assert device.identity().security_counter == bench.new_counter
    assert dict(device.saved_config().parameters) == bench.initial_config


def phase_of(trace: UpdateTrace, op: int) -> str:
    if op <= trace.upload_end:
        return "upload"
    if op <= trace.swap_end:
        return "swap"
    return "confirm" if op <= trace.end else "done"


def expected_after_cut(bench: Bench, trace: UpdateTrace, op: int) -> tuple[bytes, bool]:
    """(running image, confirmed) after power returns when the cut came before operation ``op``."""
    phase = phase_of(trace, op)
    if phase == "upload":
        return bench.old, True
    if phase == "swap":
        return bench.new_running, False  # the swap resumes and the new image boots on test
    if phase == "confirm":
        return bench.old, True  # unconfirmed at this power-on reset: reverted
    return bench.new_running, True


def run_update_case(bench: Bench, trace: UpdateTrace, k: int, *, tear: bool, keep: int | None = None) -> str:
    """Interrupt operation k of the update; returns the phase it fell in (for the report)."""
    device = bench.device()
    try:
        faults = device.flash.faults
        if tear:
            faults.tear_op = trace.start + k
            faults.tear_keep_bytes = keep
        else:
            faults.cut_before_op = trace.start + k
        with pytest.raises(SimPoweredOffError):
            full_update(device, bench.new)
        faults.clear()
        assert not device.powered
        device.power_on()
        # The state machine decides which image runs after the power returns. A torn operation
        # may have landed every byte that matters, so it may count as done.
        op = trace.start + k
        allowed = {expected_after_cut(bench, trace, op)}
        if tear:
            allowed.add(expected_after_cut(bench, trace, op + 1))
        assert device.mode is DeviceMode.APPLICATION, device.recovery_reason
        found = (device.image_bytes(0), device.slots()[0].confirmed)
        phase = phase_of(trace, op)
        assert found in allowed, f"op {k} ({phase}): wrong image or confirmation state"
        counter = device.identity().security_counter
        assert counter >= bench.old_counter
        assert dict(device.saved_config().parameters) == bench.initial_config
        finish_update(device, bench.new)
        check_finished(device, bench)
        assert device.identity().security_counter >= counter
        return phase
    finally:
        device.close()


def spread(n: int, count: int) -> list[int]:
    """``count`` indices spread over 1..n, always including the first and last."""
    if n <= count:
        return list(range(1, n + 1))
    return sorted({1, n, *(1 + round(i * (n - 1) / (count - 1)) for i in range(count))})


def test_clean_update_counts_operations(bench: Bench) -> None:
    trace = clean_trace(bench)
    assert trace.start < trace.upload_end < trace.swap_end < trace.end
    assert trace.total > 30  # the sweep below really covers many operations


@pytest.mark.parametrize("tear", [False, True], ids=["cut", "torn"])
def test_update_power_cut_subset(bench: Bench, tear: bool) -> None:
    trace = clean_trace(bench)
    phases = [run_update_case(bench, trace, k, tear=tear) for k in spread(trace.total, FAST_CASES)]
    assert set(phases) == {"upload", "swap", "confirm"}


def test_upload_resumes_after_power_cut_instead_of_restarting(bench: Bench) -> None:
    trace = clean_trace(bench)
    device = bench.device()
    try:
        device.flash.faults.cut_before_op = trace.start + (trace.upload_end - trace.start) * 3 // 4
        with pytest.raises(SimPoweredOffError):
            full_update(device, bench.new)
        device.flash.faults.clear()
        device.power_on()
        resumed_at = device.upload_begin(len(bench.new), hashlib.sha256(bench.new).digest())
        assert 0 < resumed_at < len(bench.new)
        assert resumed_at % bench.geometry.sector_size == 0
    finally:
        device.close()


# --- revert ----------------------------------------------------------------------------------
def on_test_state(bench: Bench) -> bytes:
    """Flash contents with the new image running on test (before confirm)."""
    device = bench.device()
    try:
        upload(device, bench.new)
        device.mark_pending()
        device.reset()
        assert device.image_bytes(0) == bench.new_running
        return device.flash.snapshot()
    finally:
        device.close()


def revert_ops(bench: Bench, on_test: bytes) -> int:
    """Flash operations of the revert a power cycle of the unconfirmed image performs."""
    device = bench.device(on_test, powered=False)
    start = device.flash.ops_done
    device.power_on()
    assert device.image_bytes(0) == bench.old
    count = device.flash.ops_done - start
    device.close()
    return count


def run_revert_case(bench: Bench, on_test: bytes, k: int, *, tear: bool) -> None:
    device = bench.device(on_test, powered=False)
    try:
        faults = device.flash.faults
        op = device.flash.ops_done + k
        if tear:
            faults.tear_op = op
        else:
            faults.cut_before_op = op
        with pytest.raises(SimPoweredOffError):
            device.power_on()
        faults.clear()
        device.power_on()
        assert device.mode is DeviceMode.APPLICATION
        assert device.image_bytes(0) == bench.old
        assert device.image_bytes(1) == bench.new
        assert device.slots()[0].confirmed
        assert device.identity().security_counter == bench.old_counter
        assert dict(device.saved_config().parameters) == bench.initial_config
    finally:
        device.close()


@pytest.mark.parametrize("tear", [False, True], ids=["cut", "torn"])
def test_revert_power_cut_subset(bench: Bench, tear: bool) -> None:
    on_test = on_test_state(bench)
    n = revert_ops(bench, on_test)
    assert n > 10
    for k in spread(n, FAST_CASES):
        run_revert_case(bench, on_test, k, tear=tear)


# --- encrypted images ------------------------------------------------------------------------
def test_encrypted_swap_decrypts_in_and_re_encrypts_out(encrypted_bench: Bench) -> None:
    """A clean encrypted update and revert, byte for byte (each direction of the swap's cipher)."""
    bench = encrypted_bench
    assert bench.new_running != bench.new
    assert bench.old_stored != bench.old
    device = bench.device()
    try:
        upload(device, bench.new)
        device.mark_pending()
        device.reset()
        assert device.image_bytes(0) == bench.new_running  # decrypted on its way in
        assert device.image_bytes(1) == bench.old_stored  # the old image went out re-encrypted
        device.reset()  # not confirmed: the revert brings the old image back
        assert device.image_bytes(0) == bench.old
        assert device.image_bytes(1) == bench.new  # exactly the ciphertext that was uploaded
    finally:
        device.close()


@pytest.mark.parametrize("tear", [False, True], ids=["cut", "torn"])
def test_encrypted_update_power_cut_subset(encrypted_bench: Bench, tear: bool) -> None:
    trace = clean_trace(encrypted_bench)
    cases = [run_update_case(encrypted_bench, trace, k, tear=tear) for k in spread(trace.total, FAST_CASES)]
    assert set(cases) == {"upload", "swap", "confirm"}


@pytest.mark.parametrize("tear", [False, True], ids=["cut", "torn"])
def test_encrypted_revert_power_cut_subset(encrypted_bench: Bench, tear: bool) -> None:
    on_test = on_test_state(encrypted_bench)
    n = revert_ops(encrypted_bench, on_test)
    assert n > 10
    for k in spread(n, FAST_CASES):
        run_revert_case(encrypted_bench, on_test, k, tear=tear)


# --- the full sweep (-m slow) -----------------------------------------------------------------
SLOW_GEOMETRIES = {
    "1k-sector-8B-write": (FlashGeometry(sector_size=1024, write_size=8, slot_sectors=16), 5000, 7300),
    "4k-sector-4B-write": (FlashGeometry(sector_size=4096, write_size=4, slot_sectors=8), 13000, 9000),
    "1k-sector-16B-write": (FlashGeometry(sector_size=1024, write_size=16, slot_sectors=24), 15000, 11000),
    "512B-sector-1B-write": (FlashGeometry(sector_size=512, write_size=1, slot_sectors=24), 6000, 9000),
}


def _sweep(label: str, n: int, case: object) -> tuple[int, list[str]]:
    failures: list[str] = []
    runs = 0
    for k in range(1, n + 1):
        runs += 1
        try:
            case(k)  # type: ignore[operator]
        except AssertionError as exc:
            failures.append(f"{label} k={k}: {exc}")
    return runs, failures


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
@pytest.mark.parametrize("layout", sorted(SLOW_GEOMETRIES))
def test_full_power_cut_sweep(
    tmp_path: Path, layout: str, encrypted: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    geometry, old_size, new_size = SLOW_GEOMETRIES[layout]
    bench = make_bench(tmp_path, geometry, old_size, new_size, encrypted=encrypted)
    trace = clean_trace(bench)
    on_test = on_test_state(bench)
    n_revert = revert_ops(bench, on_test)
    rng = random.Random(layout)
    results = [
        _sweep("update cut", trace.total, lambda k: run_update_case(bench, trace, k, tear=False)),
        _sweep(
            "update torn (random part)",
            trace.total,
            lambda k: run_update_case(bench, trace, k, tear=True, keep=rng.randrange(0, 4096)),
        ),
        _sweep(
            "update torn (all but last byte)",
            trace.total,
            lambda k: run_update_case(bench, trace, k, tear=True, keep=1 << 30),
        ),
        _sweep("revert cut", n_revert, lambda k: run_revert_case(bench, on_test, k, tear=False)),
        _sweep("revert torn", n_revert, lambda k: run_revert_case(bench, on_test, k, tear=True)),
    ]
    cases = sum(r[0] for r in results)
    failures = [f for r in results for f in r[1]]
    with capsys.disabled():
        print(
            f"\n[sim power-cut sweep] layout={layout} encrypted={encrypted} update_ops={trace.total} "
            f"revert_ops={n_revert} "
            f"cases={cases} failures={len(failures)}"
        )
    assert not failures, failures[:5]


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_full_power_cut_sweep_demo_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped demo images (257 KiB) on the default flash layout: cut before every operation."""
    from bmsflasher.core.resources import resource_path
    from bmsflasher.sim.options import SimOptions

    factory = resource_path("demo", "factory-1.0.0.img")
    packages = resource_path("demo", "packages")

    with zipfile.ZipFile(packages / "VBMS-16-1.1.0.bmspkg") as archive:
        name = next(n for n in archive.namelist() if n.endswith(".img"))
        new = archive.read(name)
    old = factory.read_bytes()
    geometry = SimOptions().geometry
    device = VirtualBms.create(fast_options(factory, geometry))
    bench = Bench(
        geometry,
        factory,
        old,
        new,
        device.flash.snapshot(),
        dict(device.saved_config().parameters),
        parse_image(old).security_counter,
        parse_image(new).security_counter,
    )
    device.close()
    trace = clean_trace(bench)
    runs, failures = _sweep("demo cut", trace.total, lambda k: run_update_case(bench, trace, k, tear=False))
    runs_t, failures_t = _sweep(
        "demo torn", trace.total, lambda k: run_update_case(bench, trace, k, tear=True)
    )
    with capsys.disabled():
        print(
            f"\n[sim power-cut sweep] layout=default-demo update_ops={trace.total} "
            f"cases={runs + runs_t} failures={len(failures) + len(failures_t)}"
        )
    assert not failures + failures_t, (failures + failures_t)[:5]
