"""Issue 14: warn when the public demo key is trusted outside demo mode, and say which keys are in use.

The demo keys' private halves ship with every copy of bmsflasher: a keyring that trusts one
accepts firmware from anyone. Trusting one is still allowed (the demo and the tests need it), but
outside a declared demo it comes with a warning the CLI prints and the GUI can show.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.demo_keys import DEMO_KEY_IDS
from bmsflasher.firmware.keys import Keyring, generate_key, key_id, load_public_key_file, public_key_pem
from bmsflasher.procedure.package_loading import build_keyring

DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
DEMO_ED_PUB = resource_path("demo", "demo-key-ed25519.pub.pem")
DEMO_ID = key_id(load_public_key_file(DEMO_PUB))
PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")


def test_the_demo_key_ids_are_the_shipped_demo_keys() -> None:
    """The ids are constants (a renamed copy is still the demo key); they must be the shipped keys."""
    shipped = {key_id(load_public_key_file(path)) for path in (DEMO_PUB, DEMO_ED_PUB)}
    assert shipped == DEMO_KEY_IDS


def test_trusting_a_demo_key_outside_demo_mode_warns(tmp_path: Path) -> None:
    ring = build_keyring([DEMO_PUB, DEMO_ED_PUB], folder=tmp_path / "none")
    assert len(ring) == 2  # a warning, not a refusal
    assert ring.warnings == tuple(
        f"{source} is bmsflasher's public demo key {trusted.key_id[:16]}: anyone can sign firmware with "
        "it, so trust it only for a demo, never for a real battery."
        for trusted, source in zip(ring, (DEMO_PUB, DEMO_ED_PUB), strict=True)
    )
    assert Keyring.from_paths([DEMO_PUB]).warnings != ()  # verify's --trust path too


def test_a_renamed_copy_of_the_demo_key_in_the_keyring_folder_still_warns(tmp_path: Path) -> None:
    folder = tmp_path / "trusted-keys"
    folder.mkdir()
    folder.chmod(0o755)
    copy = folder / "acme-release.pub.pem"
    copy.write_bytes(DEMO_PUB.read_bytes())
    copy.chmod(0o644)
    (warning,) = build_keyring([], folder=folder).warnings
    assert warning.startswith(f"{copy} is bmsflasher's public demo key {DEMO_ID[:16]}")


def test_demo_mode_trusts_the_demo_keys_quietly(tmp_path: Path) -> None:
    ring = build_keyring([DEMO_PUB, DEMO_ED_PUB], folder=tmp_path / "none", demo=True)
    assert len(ring) == 2
    assert ring.warnings == ()
    assert Keyring.from_paths([DEMO_PUB], demo=True).warnings == ()


def test_a_real_key_brings_no_warning(tmp_path: Path) -> None:
    vendor = tmp_path / "vendor.pub.pem"
    vendor.write_bytes(public_key_pem(generate_key()))
    vendor.chmod(0o644)
    assert build_keyring([vendor], folder=tmp_path / "none").warnings == ()


def test_the_keyring_says_which_keys_are_in_use(tmp_path: Path) -> None:
    key = generate_key()
    vendor = tmp_path / "vendor.pub.pem"
    vendor.write_bytes(public_key_pem(key))
    vendor.chmod(0o644)
    ring = build_keyring([vendor, DEMO_PUB], folder=tmp_path / "none")
    assert ring.describe() == [
        f"Trusted key {key_id(key)[:16]} (ecdsa-p256) from {vendor}",
        f"Trusted key {DEMO_ID[:16]} (ecdsa-p256, public demo key) from {DEMO_PUB}",
    ]


def test_flash_prints_the_trusted_keys_and_the_demo_warning_on_stderr(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_port = str(tmp_path / "ttyNOPE")
    code = main(["flash", str(PACKAGE), "--port", missing_port, "--trust", str(DEMO_PUB), "--yes"])
    assert code != 0  # no device there; the keys were announced before the port was opened
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert f"Trusted key {DEMO_ID[:16]} (ecdsa-p256, public demo key) from {DEMO_PUB}" in lines
    warning = f"warning: {DEMO_PUB} is bmsflasher's public demo key {DEMO_ID[:16]}: anyone can sign"
    assert warning in captured.err
    assert "Trusted key" not in captured.out


def test_flash_json_keeps_stdout_json_and_still_warns_on_stderr(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_port = str(tmp_path / "ttyNOPE")
    code = main(["flash", str(PACKAGE), "--port", missing_port, "--trust", str(DEMO_PUB), "--yes", "--json"])
    assert code != 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # nothing but the result object
    assert "Trusted key" not in captured.err  # the listing is for people reading text
    assert f"warning: {DEMO_PUB} is bmsflasher's public demo key" in captured.err


def test_verify_lists_the_trusted_keys_after_a_valid_package(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(PACKAGE), "--trust", str(DEMO_PUB)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Valid: VBMS-16 1.1.0")
    assert captured.err.splitlines() == [
        f"Trusted key {DEMO_ID[:16]} (ecdsa-p256, public demo key) from {DEMO_PUB}",
        f"warning: {Keyring.from_paths([DEMO_PUB]).warnings[0]}",
    ]
    assert main(["verify", str(PACKAGE), "--trust", str(DEMO_PUB), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["valid"] is True
    assert "Trusted key" not in captured.err


def test_a_verify_refusal_stays_one_sentence_even_with_the_demo_key(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.pub.pem"
    other.write_bytes(public_key_pem(generate_key()))
    other.chmod(0o644)
    assert main(["verify", str(PACKAGE), "--trust", str(other), "--trust", str(DEMO_ED_PUB)]) == 3
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ")
