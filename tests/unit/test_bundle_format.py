"""Release bundles: build/verify round trip, and every refusal of a bundle or a package inside it."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from bmsflasher.core.errors import UntrustedKeyError
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import bundle_errors as be
from bmsflasher.firmware.bundle import (
    BundleSpec,
    PackageInput,
    build_bundle,
    is_bundle,
    verify_bundle,
)
from bmsflasher.firmware.bundle_manifest import BUNDLE_MANIFEST_NAME, BUNDLE_SIGNATURE_NAME
from bmsflasher.firmware.demo_assets import DEMO_CREATED
from bmsflasher.firmware.demo_bundles import DemoNodeRelease, build_pack_package
from bmsflasher.firmware.demo_pack_models import DEMO_BCU, DEMO_BMC, DEMO_BMU, NEW_VERSION, Tier
from bmsflasher.firmware.errors import ManifestSignatureError
from bmsflasher.firmware.keys import Keyring, PrivateKey, generate_key, sign_message

NOW = datetime(2026, 12, 6, tzinfo=UTC)
V100 = FirmwareVersion(1, 0, 0)


@pytest.fixture(scope="module")
def vendor() -> PrivateKey:
    return generate_key()


@pytest.fixture(scope="module")
def packages(vendor: PrivateKey) -> dict[str, bytes]:
    """One package per demo node model at 1.1.0, plus a BMU 1.0.0, all signed by ``vendor``."""
    built = {
        node.model: build_pack_package(vendor, DemoNodeRelease(node, NEW_VERSION))
        for node in (DEMO_BCU, DEMO_BMC, DEMO_BMU)
    }
    built["VBMU-16 1.0.0"] = build_pack_package(vendor, DemoNodeRelease(DEMO_BMU, V100))
    return built


def _inputs(packages: Mapping[str, bytes]) -> list[PackageInput]:
    return [
        PackageInput(Tier.BCU, packages["VBCU-1"], "bcu.bmspkg"),
        PackageInput(Tier.BMC, packages["VBMC-4"], "bmc.bmspkg"),
        PackageInput(Tier.BMU, packages["VBMU-16"], "bmu.bmspkg"),
    ]


def _ring(*keys: PrivateKey) -> Keyring:
    ring = Keyring()
    for key in keys:
        ring.add(key)
    return ring


def _spec(**changes: object) -> BundleSpec:
    values: dict[str, object] = {"release": "pack-1.1.0", "created": DEMO_CREATED}
    values.update(changes)
    return BundleSpec(**values)  # type: ignore[arg-type]


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def _resigned(data: bytes, key: PrivateKey, edit: object) -> bytes:
    """The bundle with its manifest changed by ``edit(doc)`` and signed again with ``key``."""
    members = _members(data)
    doc = json.loads(members[BUNDLE_MANIFEST_NAME])
    edit(doc)  # type: ignore[operator]
    manifest = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    members[BUNDLE_MANIFEST_NAME] = manifest
    members[BUNDLE_SIGNATURE_NAME] = sign_message(key, manifest)
    return _zip(members)


# --- the round trip ---------------------------------------------------------------------------------
def test_round_trip_gives_the_campaign_its_entries_order_minimum_and_version_set(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    data = build_bundle(
        _spec(minimum_nodes={Tier.BCU: 1, Tier.BMC: 2, Tier.BMU: 12}), _inputs(packages), vendor
    )
    seen: list[tuple[int, int, str]] = []
    bundle = verify_bundle(data, _ring(vendor), now=NOW, progress=lambda *step: seen.append(step))
    assert is_bundle(data)
    assert not is_bundle(packages["VBMU-16"])
    assert bundle.order == [Tier.BMU, Tier.BMC, Tier.BCU]
    assert bundle.minimum_nodes == {Tier.BCU: 1, Tier.BMC: 2, Tier.BMU: 12}
    assert bundle.version_set == {"VBCU-1": NEW_VERSION, "VBMC-4": NEW_VERSION, "VBMU-16": NEW_VERSION}
    assert [entry.tier for entry in bundle.entries] == [Tier.BMU, Tier.BMC, Tier.BCU]
    entry = bundle.entry_for("VBMU-16", "A")
    assert entry.package.manifest.model == "VBMU-16"
    assert entry.package.version == NEW_VERSION
    assert entry.package_bytes == packages["VBMU-16"]
    assert entry.package_sha256 == hashlib.sha256(packages["VBMU-16"]).hexdigest()
    assert bundle.entries_of(Tier.BCU)[0].model == "VBCU-1"
    assert [step[:2] for step in seen] == [(1, 3), (2, 3), (3, 3)]
    assert bundle.sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(be.NodeNotInBundleError):
        bundle.entry_for("VBMU-16", "B")
    assert (
        build_bundle(_spec(minimum_nodes={Tier.BCU: 1, Tier.BMC: 2, Tier.BMU: 12}), _inputs(packages), vendor)
        == data
    )


def test_order_override_and_default_minimum(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    data = build_bundle(_spec(order=(Tier.BCU, Tier.BMC, Tier.BMU)), _inputs(packages), vendor)
    bundle = verify_bundle(data, _ring(vendor), now=NOW)
    assert bundle.order == [Tier.BCU, Tier.BMC, Tier.BMU]
    assert bundle.minimum_nodes == {Tier.BCU: 1, Tier.BMC: 1, Tier.BMU: 1}


# --- the bundle's own signature ---------------------------------------------------------------------
def test_a_tampered_bundle_manifest_is_refused(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    members = _members(build_bundle(_spec(), _inputs(packages), vendor))
    members[BUNDLE_MANIFEST_NAME] = members[BUNDLE_MANIFEST_NAME].replace(b'"bmu": 1', b'"bmu": 0')
    with pytest.raises(be.BundleSignatureError, match="altered"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


def test_an_unsigned_bundle_is_refused(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    members = _members(build_bundle(_spec(), _inputs(packages), vendor))
    del members[BUNDLE_SIGNATURE_NAME]
    with pytest.raises(be.BundleSignatureError, match="unsigned"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


def test_an_empty_bundle_signature_is_refused(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    members = _members(build_bundle(_spec(), _inputs(packages), vendor))
    members[BUNDLE_SIGNATURE_NAME] = b""
    with pytest.raises(be.BundleSignatureError, match="empty"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


def test_a_bundle_signed_by_an_untrusted_key_is_refused(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    stranger = generate_key()
    data = build_bundle(_spec(), _inputs(packages), stranger)
    with pytest.raises(be.BundleUntrustedKeyError) as caught:
        verify_bundle(data, _ring(vendor), now=NOW)
    assert caught.value.exit_code == 3
    assert caught.value.hint


def test_packages_inside_are_checked_against_the_keyring_too(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    releaser = generate_key()  # the bundle's signer is trusted, the packages' signer is not
    data = build_bundle(_spec(), _inputs(packages), releaser)
    with pytest.raises(be.BundlePackageError) as caught:
        verify_bundle(data, _ring(releaser), now=NOW)
    assert isinstance(caught.value.cause, UntrustedKeyError)
    assert caught.value.member == "VBMU-16-1.1.0.bmspkg"
    verify_bundle(data, _ring(releaser, vendor), now=NOW)


# --- the packages inside ----------------------------------------------------------------------------
def _tampered_package(data: bytes) -> bytes:
    """The package with its release notes changed and its manifest signature left as it was."""
    members = _members(data)
    members["manifest.json"] = members["manifest.json"].replace(b"DEMO VBMU-16", b"EVIL VBMU-16")
    return _zip(members)


def test_a_package_swapped_after_signing_is_refused(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    members = _members(build_bundle(_spec(), _inputs(packages), vendor))
    members["VBMU-16-1.1.0.bmspkg"] = _tampered_package(members["VBMU-16-1.1.0.bmspkg"])
    with pytest.raises(be.BundleMismatchError, match="altered or swapped"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


def test_a_tampered_package_signed_into_the_bundle_still_fails_its_own_signature(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    inputs = _inputs(packages)
    inputs[2] = PackageInput(Tier.BMU, _tampered_package(packages["VBMU-16"]), "evil.bmspkg")
    data = build_bundle(_spec(), inputs, vendor)
    with pytest.raises(be.BundlePackageError, match=r"VBMU-16-1\.1\.0\.bmspkg") as caught:
        verify_bundle(data, _ring(vendor), now=NOW)
    assert isinstance(caught.value.cause, ManifestSignatureError)


def test_an_entry_that_lies_about_its_package_is_refused(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    def claim_other_version(doc: dict[str, object]) -> None:
        entries = doc["packages"]
        assert isinstance(entries, list)
        entries[0]["version"] = "1.0.0"

    data = _resigned(build_bundle(_spec(), _inputs(packages), vendor), vendor, claim_other_version)
    with pytest.raises(be.BundleMismatchError, match=r"bundle manifest lists VBMU-16 1\.0\.0"):
        verify_bundle(data, _ring(vendor), now=NOW)


def test_a_package_listed_but_absent_is_refused(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    members = _members(build_bundle(_spec(), _inputs(packages), vendor))
    del members["VBMC-4-1.1.0.bmspkg"]
    with pytest.raises(be.MissingBundlePackageError, match="bmc VBMC-4"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


def test_a_member_the_manifest_does_not_list_is_refused(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    members = _members(build_bundle(_spec(), _inputs(packages), vendor))
    members["extra.bmspkg"] = packages["VBMU-16 1.0.0"]
    with pytest.raises(be.BundleFormatError, match="does not list"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


# --- declared node types and duplicates -------------------------------------------------------------
def test_a_tier_declared_without_a_package_is_refused_when_building(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    two_tiers = _inputs(packages)[1:]
    with pytest.raises(be.MissingBundlePackageError, match="bcu"):
        build_bundle(_spec(minimum_nodes={Tier.BCU: 1, Tier.BMC: 1, Tier.BMU: 1}), two_tiers, vendor)
    with pytest.raises(be.MissingBundlePackageError, match="bcu"):
        build_bundle(_spec(order=(Tier.BMU, Tier.BMC, Tier.BCU)), two_tiers, vendor)


def test_a_signed_manifest_declaring_a_tier_without_a_package_is_refused(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    def drop_bcu(doc: dict[str, object]) -> None:
        entries = doc["packages"]
        assert isinstance(entries, list)
        doc["packages"] = [entry for entry in entries if entry["tier"] != "bcu"]

    members = _members(_resigned(build_bundle(_spec(), _inputs(packages), vendor), vendor, drop_bcu))
    del members["VBCU-1-1.1.0.bmspkg"]
    with pytest.raises(be.MissingBundlePackageError, match="declares bcu nodes"):
        verify_bundle(_zip(members), _ring(vendor), now=NOW)


def test_two_packages_for_one_model_and_revision_are_refused(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    inputs = [*_inputs(packages), PackageInput(Tier.BMU, packages["VBMU-16 1.0.0"], "old.bmspkg")]
    with pytest.raises(be.DuplicateBundleEntryError, match="two packages for VBMU-16 hardware revision A"):
        build_bundle(_spec(), inputs, vendor)


def test_a_signed_manifest_listing_a_file_twice_is_refused(
    vendor: PrivateKey, packages: dict[str, bytes]
) -> None:
    def twice(doc: dict[str, object]) -> None:
        entries = doc["packages"]
        assert isinstance(entries, list)
        entries.append(dict(entries[0], model="VBMU-32"))

    data = _resigned(build_bundle(_spec(), _inputs(packages), vendor), vendor, twice)
    with pytest.raises(be.DuplicateBundleEntryError, match="twice"):
        verify_bundle(data, _ring(vendor), now=NOW)


# --- the manifest's schema --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc.update(order=["bmu", "bmc", "bcu", "bmu"]), "names a tier twice"),
        (lambda doc: doc.update(order=["bmu", "bms"]), "tier 'bms'"),
        (lambda doc: doc.update(order=["bmu", "bcu"]), "order leaves out tier bmc"),
        (lambda doc: doc["minimum_nodes"].update(bmu=-1), "from 0 to 4096"),
        (lambda doc: doc["minimum_nodes"].update(bmu=True), "from 0 to 4096"),
        (lambda doc: doc["minimum_nodes"].pop("bmc"), "minimum_nodes leaves out tier bmc"),
        (lambda doc: doc.update(surprise=1), "unknown field 'surprise'"),
        (lambda doc: doc.update(format_version=2), "not supported"),
        (lambda doc: doc["packages"][0].update(file="../evil.bmspkg"), "plain file name"),
        (lambda doc: doc.update(expires="2020-01-01T00:00:00Z"), "expires before it was created"),
    ],
)
def test_manifest_rules(vendor: PrivateKey, packages: dict[str, bytes], edit: object, message: str) -> None:
    data = _resigned(build_bundle(_spec(), _inputs(packages), vendor), vendor, edit)
    with pytest.raises(be.BundleManifestError, match=message):
        verify_bundle(data, _ring(vendor), now=NOW)


def test_an_expired_bundle_is_refused(vendor: PrivateKey, packages: dict[str, bytes]) -> None:
    data = build_bundle(_spec(expires=datetime(2026, 1, 1, tzinfo=UTC)), _inputs(packages), vendor)
    with pytest.raises(be.BundleExpiredError):
        verify_bundle(data, _ring(vendor), now=NOW)


def test_not_a_bundle(vendor: PrivateKey) -> None:
    with pytest.raises(be.BundleFormatError, match="not a complete ZIP"):
        verify_bundle(b"PK\x03\x04 not really", _ring(vendor))
    with pytest.raises(be.BundleFormatError, match="not a bundle"):
        verify_bundle(_zip({"manifest.json": b"{}"}), _ring(vendor))
