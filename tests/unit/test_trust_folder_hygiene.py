"""Issue 14: the keyring folder was trusted whatever its permissions, owner or symlinks.

These tests check the *checks*, so they hold when the suite runs as root (CI does): root reads a
mode-000 file anyway, but the mode bits, links and owners examined here are what they are.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.core.errors import KeyFileError
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware import keyring_folder
from bmsflasher.firmware.keyring_folder import UnsafeKeyPathError
from bmsflasher.firmware.keys import Keyring, generate_key, public_key_pem
from bmsflasher.procedure.package_loading import build_keyring

OTHER_UID = 65534
"""``nobody``: an account other than the runner's (and not root)."""
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(not keyring_folder.POSIX_CHECKS, reason="POSIX mode/owner checks")


def safe_keyring(tmp_path: Path) -> tuple[Path, Path]:
    """A keyring folder (0755) with one public key (0644): what passes."""
    folder = tmp_path / "trusted-keys"
    folder.mkdir()
    folder.chmod(0o755)
    key = folder / "vendor.pub.pem"
    key.write_bytes(public_key_pem(generate_key()))
    key.chmod(0o644)
    return folder, key


def test_a_safe_keyring_folder_is_trusted(tmp_path: Path) -> None:
    folder, key = safe_keyring(tmp_path)
    ring = build_keyring([], folder=folder)
    assert [k.source for k in ring] == [str(key)]


@posix_only
@pytest.mark.parametrize(("mode", "who"), [(0o775, "its group"), (0o757, "all users"), (0o777, "all users")])
def test_a_keyring_folder_writable_by_others_is_refused(tmp_path: Path, mode: int, who: str) -> None:
    folder, _ = safe_keyring(tmp_path)
    folder.chmod(mode)
    with pytest.raises(UnsafeKeyPathError) as refused:
        build_keyring([], folder=folder)
    assert refused.value.message == (
        f"The folder {folder} is writable by {who}, so another account could plant or swap a trusted "
        f"key there; fix it with: chmod go-w {shlex.quote(str(folder))}"
    )
    assert refused.value.exit_code == KeyFileError.exit_code


@posix_only
@pytest.mark.parametrize(("mode", "who"), [(0o664, "its group"), (0o646, "all users")])
def test_a_key_file_writable_by_others_is_refused(tmp_path: Path, mode: int, who: str) -> None:
    folder, key = safe_keyring(tmp_path)
    key.chmod(mode)
    refusal = rf"The key file .*vendor\.pub\.pem is writable by {who}.*chmod go-w"
    with pytest.raises(UnsafeKeyPathError, match=refusal):
        build_keyring([], folder=folder)
    with pytest.raises(UnsafeKeyPathError, match="chmod go-w"):  # named with --trust: the same rule
        Keyring.from_paths([key])


@posix_only
def test_an_empty_world_writable_keyring_folder_is_refused_before_anything_is_planted(tmp_path: Path) -> None:
    folder, key = safe_keyring(tmp_path)
    key.unlink()
    folder.chmod(0o777)
    with pytest.raises(UnsafeKeyPathError, match="writable by all users"):
        build_keyring([resource_path("demo", "demo-key.pub.pem")], folder=folder, demo=True)


def test_a_symlink_in_the_keyring_folder_is_refused(tmp_path: Path) -> None:
    folder, _ = safe_keyring(tmp_path)
    elsewhere = tmp_path / "planted.pub.pem"
    elsewhere.write_bytes(public_key_pem(generate_key()))
    elsewhere.chmod(0o644)
    link = folder / "planted.pub.pem"
    link.symlink_to(elsewhere)
    with pytest.raises(UnsafeKeyPathError, match=rf"{re.escape(str(link))} is a symbolic link.*readlink -f"):
        build_keyring([], folder=folder)
    link.unlink()
    (folder / "notes").symlink_to(tmp_path)  # any link: the folder must hold only what it shows
    with pytest.raises(UnsafeKeyPathError, match="notes is a symbolic link"):
        build_keyring([], folder=folder)


def test_a_keyring_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    real, _ = safe_keyring(tmp_path)
    link = tmp_path / "linked-keys"
    link.symlink_to(real)
    with pytest.raises(UnsafeKeyPathError, match=rf"{re.escape(str(link))} is a symbolic link"):
        build_keyring([], folder=link)
    dangling = tmp_path / "dangling-keys"
    dangling.symlink_to(tmp_path / "gone")
    with pytest.raises(UnsafeKeyPathError, match="is a symbolic link"):
        build_keyring([resource_path("demo", "demo-key.pub.pem")], folder=dangling, demo=True)


def test_a_trusted_path_named_on_the_command_line_may_be_a_link_to_a_safe_file(tmp_path: Path) -> None:
    _, key = safe_keyring(tmp_path)
    link = tmp_path / "current.pub.pem"
    link.symlink_to(key)
    assert len(Keyring.from_paths([link])) == 1
    if keyring_folder.POSIX_CHECKS:
        key.chmod(0o666)  # but the file it points to is checked
        with pytest.raises(UnsafeKeyPathError, match=rf"{re.escape(str(key))} is writable by all users"):
            Keyring.from_paths([link])


@posix_only
@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another account needs root (os.chown)")
def test_a_key_file_or_folder_owned_by_another_account_is_refused(tmp_path: Path) -> None:
    folder, key = safe_keyring(tmp_path)
    os.chown(key, OTHER_UID, -1)
    with pytest.raises(UnsafeKeyPathError) as refused:
        build_keyring([], folder=folder)
    message = refused.value.message
    assert message.startswith(f"The key file {key} belongs to user ")
    assert f"(uid {OTHER_UID}), not to you (root), so that account could swap the key" in message
    assert message.endswith(f"fix it with: sudo chown root {shlex.quote(str(key))}")
    os.chown(key, 0, -1)
    os.chown(folder, OTHER_UID, -1)
    with pytest.raises(
        UnsafeKeyPathError, match=rf"The folder {re.escape(str(folder))} belongs to user .*uid {OTHER_UID}"
    ):
        build_keyring([], folder=folder)
    os.chown(folder, 0, -1)  # root-owned: root could change anything anyway
    assert len(build_keyring([], folder=folder)) == 1


def test_the_installed_demo_keys_are_exempt_from_the_owner_and_mode_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout made with umask 002 (group-writable files) must still run its own demo."""
    shipped = tmp_path / "resources"
    (shipped / "demo").mkdir(parents=True)
    demo_key = shipped / "demo" / "demo-key.pub.pem"
    demo_key.write_bytes(resource_path("demo", "demo-key.pub.pem").read_bytes())
    demo_key.chmod(0o664)
    monkeypatch.setenv("BMSFLASHER_RESOURCES", str(shipped))
    assert len(Keyring.from_paths([demo_key], demo=True)) == 1
    copied = tmp_path / "copied.pub.pem"  # the same bytes outside the installation are checked
    copied.write_bytes(demo_key.read_bytes())
    copied.chmod(0o664)
    if keyring_folder.POSIX_CHECKS:
        with pytest.raises(UnsafeKeyPathError, match="writable by its group"):
            Keyring.from_paths([copied])


def test_on_windows_only_the_link_check_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no POSIX mode bits or owners; the profile folder's ACL keeps others out."""
    monkeypatch.setattr(keyring_folder, "POSIX_CHECKS", False)
    folder, key = safe_keyring(tmp_path)
    folder.chmod(0o777)
    key.chmod(0o666)
    assert [k.source for k in build_keyring([], folder=folder)] == [str(key)]
    (folder / "link.pub.pem").symlink_to(key)
    with pytest.raises(UnsafeKeyPathError, match="is a symbolic link"):
        build_keyring([], folder=folder)


def test_an_unsafe_keyring_folder_stops_flash_in_one_sentence(
    data_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = data_home / "xdg_config_home" / "bmsflasher" / "trusted-keys"
    folder.mkdir(parents=True)
    (folder / "vendor.pub.pem").write_bytes(public_key_pem(generate_key()))
    (folder / "vendor.pub.pem").chmod(0o644)
    (folder / "sneaky.pub.pem").symlink_to(folder / "vendor.pub.pem")
    package = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
    code = main(["flash", str(package), "--port", str(tmp_path / "ttyX"), "--yes"])
    assert code == KeyFileError.exit_code
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder / 'sneaky.pub.pem'} is a symbolic link")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_a_device_named_as_a_key_is_refused_as_a_device_not_with_chmod_advice() -> None:
    """/dev/null is world-writable, but "chmod go-w /dev/null" would be the wrong advice."""
    with pytest.raises(KeyFileError) as refused:
        Keyring.from_paths([Path("/dev/null")])
    assert refused.value.message == "The key file /dev/null cannot be read: a device, not a file."
