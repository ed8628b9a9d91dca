"""One package-compatibility check for verify, the GUI and flash (issue 13).

``verify`` used to check only the package's own minimum bootloader while ``flash`` also applied the
model profile's; these tests pin that the shared check applies both, and that the precondition
gates ``flash`` shows are the very measurements ``verify`` and the GUI get.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from bmsflasher.core.errors import BootloaderTooOldError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion
from bmsflasher.firmware import errors as fe
from bmsflasher.firmware.keys import Keyring
from bmsflasher.procedure import compatibility as compat
from bmsflasher.procedure import preconditions as pre
from bmsflasher.procedure.package_check import check_package_file
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.profiles import profile_for_model

V = FirmwareVersion.parse
LIMITS = profile_for_model("any-model").preconditions
STRICT = dataclasses.replace(LIMITS, min_bootloader_version=V("2.0.0"))
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
HEALTHY = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")


def facts(**changes: object) -> PackageFacts:
    base = PackageFacts(
        model="BMS-16S",
        hardware_revisions=("A", "B"),
        version=V("1.1.0"),
        security_counter=2,
        min_bootloader_version=V("1.0.0"),
        package_sha256="ab" * 32,
        image_sha256="cd" * 32,
        image_size=1000,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def identity(**changes: object) -> DeviceIdentity:
    base = DeviceIdentity(
        model="BMS-16S",
        serial_number="SN1",
        hardware_revision="B",
        firmware_version=V("1.0.0"),
        bootloader_version=V("1.5.0"),
        mode=DeviceMode.APPLICATION,
        security_counter=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_profile_minimum_bootloader_refuses_even_when_the_package_minimum_is_met() -> None:
    device = compat.DeviceDescription(model="BMS-16S", bootloader_version=V("1.5.0"))
    report = compat.assess(facts(), device, STRICT)
    assert not report.ok
    error = report.error()
    assert isinstance(error, BootloaderTooOldError)
    assert "needs bootloader 2.0.0" in error.message
    assert "profile" in error.message  # the stricter minimum came from the model profile, say so


def test_package_minimum_is_named_when_it_is_the_stricter_one() -> None:
    device = compat.DeviceDescription(bootloader_version=V("1.5.0"))
    error = compat.assess(facts(min_bootloader_version=V("3.0.0")), device, STRICT).error()
    assert isinstance(error, BootloaderTooOldError)
    assert error.message.startswith("The package needs bootloader 3.0.0 or newer; the device has 1.5.0")


def test_unknown_facts_are_skipped_but_a_connected_device_must_report_its_bootloader() -> None:
    offline = compat.assess(facts(), compat.DeviceDescription(), STRICT)
    assert offline.ok
    assert offline.checks == ()
    unknown = compat.DeviceDescription.from_identity(identity(bootloader_version=None))
    connected = compat.assess(facts(), unknown)
    names = [m.name for m in connected.checks]
    assert names == list(compat.COMPATIBILITY_GATES)
    assert [m.name for m in connected.failures] == [compat.BOOTLOADER_VERSION]
    assert "does not report one" in str(connected.error())


@pytest.mark.parametrize(
    ("device", "error_class", "sentence"),
    [
        (compat.DeviceDescription(model="X-2"), fe.WrongModelError, "is for model BMS-16S, not X-2"),
        (compat.DeviceDescription(hardware_revision="Z"), fe.WrongHardwareRevisionError, "not revision Z"),
        (compat.DeviceDescription(security_counter=5), fe.DowngradeError, "below the device's 5"),
    ],
)
def test_each_failed_gate_gives_its_own_error(
    device: compat.DeviceDescription, error_class: type[Exception], sentence: str
) -> None:
    report = compat.assess(facts(), device, LIMITS)
    error = report.error()
    assert isinstance(error, error_class)
    assert sentence in str(error)
    with pytest.raises(error_class):
        report.raise_if_incompatible()


def test_flash_preconditions_show_the_same_measurements_as_the_shared_check() -> None:
    device = identity(bootloader_version=V("1.5.0"), hardware_revision="Z")
    inputs = pre.PreconditionInputs(device, (), (), (0.01,))
    gates = {m.name: m for m in pre.evaluate(inputs, facts(), STRICT).results}
    shared = compat.assess(facts(), compat.DeviceDescription.from_identity(device), STRICT)
    for measurement in shared.checks:
        assert gates[measurement.name] == measurement
    assert not gates[pre.BOOTLOADER_VERSION].passed
    assert not gates[pre.HARDWARE_REVISION].passed


def test_package_file_verdict_carries_host_and_device_checks() -> None:
    keyring = Keyring.from_paths([DEMO_PUB])
    fits = check_package_file(HEALTHY, keyring, compat.DeviceDescription(model="VBMS-16"))
    assert fits.ok
    assert fits.package is not None
    assert [m.name for m in fits.checks] == ["signature", "image_hash", "expiry", "model"]
    wrong = check_package_file(HEALTHY, keyring, compat.DeviceDescription(model="VBMS-8"))
    assert not wrong.ok
    assert isinstance(wrong.error, fe.WrongModelError)
    with pytest.raises(fe.WrongModelError):
        wrong.raise_if_refused()


def test_unreadable_or_untrusted_package_is_a_verdict_not_a_crash(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    keyring = Keyring.from_paths([DEMO_PUB])
    missing = check_package_file(folder / "nope.bmspkg", keyring)
    assert not missing.ok
    assert "does not exist" in str(missing.error)
    other = folder / "other.pub.pem"
    ed = resource_path("demo", "demo-key-ed25519.pub.pem")
    other.write_bytes(ed.read_bytes())
    untrusted = check_package_file(HEALTHY, Keyring.from_paths([other]))
    assert not untrusted.ok
    assert untrusted.package is None
