"""Key roles and the declared signer: a build-server key alone must not re-issue a genuine image.

The attack (issue 17, item 5): the build key signs MCUboot images; the release key signs manifests.
Someone holding only the build key takes a genuine package, writes a new manifest that lists another
hardware revision, and signs that manifest with the build key. Before key roles the host accepted it
(any trusted key could sign a manifest, and the manifest's ``signing_key_id`` was never compared
with the key that actually signed it).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.certificate_errors import SignerMismatchError, SignerRoleError
from bmsflasher.firmware.keys import (
    Keyring,
    KeyRole,
    PrivateKey,
    generate_key,
    key_id,
    public_key_pem,
    sign_message,
)
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.firmware.policy import DeviceFacts, verify_package

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SPEC = PackageSpec(
    model="X-1",
    hardware_revisions=("B",),
    version=FirmwareVersion(2, 0, 0),
    security_counter=3,
    created=datetime(2026, 1, 1, tzinfo=UTC),
    expires=datetime(2030, 1, 1, tzinfo=UTC),
)


def _genuine(release: PrivateKey, build: PrivateKey) -> bytes:
    image = build_image(b"\x01" * 4096, version=SPEC.version, security_counter=3, key=build)
    return build_package(SPEC, image, release)


def _reissue(package: bytes, signer: PrivateKey, declared: str) -> bytes:
    """The attacker's package: the genuine image, a manifest for revision Z, signed by ``signer``."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    doc = json.loads(members["manifest.json"])
    doc["hardware_revisions"] = ["Z"]
    doc["signing_key_id"] = declared
    manifest = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    members["manifest.json"] = manifest
    members["manifest.sig"] = sign_message(signer, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _roles_folder(tmp_path: Path, release: PrivateKey, build: PrivateKey) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    (folder / "acme-release.pub.pem").write_bytes(public_key_pem(release))
    (folder / "acme-build.pub.pem").write_bytes(public_key_pem(build))
    (folder / "roles.json").write_text(
        json.dumps({"acme-release.pub.pem": ["release"], "acme-build.pub.pem": ["build"]})
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_the_genuine_package_verifies_with_role_keys(tmp_path: Path) -> None:
    release, build = generate_key(), generate_key()
    ring = Keyring.from_paths([_roles_folder(tmp_path, release, build)])
    assert {k.roles for k in ring} == {frozenset({KeyRole.RELEASE}), frozenset({KeyRole.BUILD})}
    verified = verify_package(_genuine(release, build), ring, DeviceFacts(hardware_revision="B"), now=NOW)
    assert verified.manifest_signer.key_id == key_id(release)
    assert verified.image_signer.key_id == key_id(build)


def test_build_key_reissue_claiming_the_release_key_is_refused(tmp_path: Path) -> None:
    release, build = generate_key(), generate_key()
    forged = _reissue(_genuine(release, build), build, declared=key_id(release))
    for ring in (Keyring.from_paths([_roles_folder(tmp_path, release, build)]), Keyring()):
        if not len(ring):  # a keyring of plain keys from before roles: the declared signer still counts
            ring.add(release)
            ring.add(build)
        with pytest.raises(SignerMismatchError, match=r"declares signing key .* but was signed by key"):
            verify_package(forged, ring, DeviceFacts(hardware_revision="Z"), now=NOW)


def test_build_key_reissue_naming_itself_is_refused_by_its_role(tmp_path: Path) -> None:
    release, build = generate_key(), generate_key()
    forged = _reissue(_genuine(release, build), build, declared=key_id(build))
    ring = Keyring.from_paths([_roles_folder(tmp_path, release, build)])
    with pytest.raises(SignerRoleError, match="may sign images only, not a release manifest"):
        verify_package(forged, ring, DeviceFacts(hardware_revision="Z"), now=NOW)


def test_a_release_key_may_not_sign_images_when_roles_say_so(tmp_path: Path) -> None:
    release, build = generate_key(), generate_key()
    image = build_image(b"\x01" * 4096, version=SPEC.version, security_counter=3, key=release)
    package = build_package(SPEC, image, release)
    ring = Keyring.from_paths([_roles_folder(tmp_path, release, build)])
    with pytest.raises(SignerRoleError, match="may sign release manifests only, not an image"):
        verify_package(package, ring, now=NOW)
