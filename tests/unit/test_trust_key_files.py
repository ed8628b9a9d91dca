"""Issue 14: what a trusted key file may hold — one public key, never a private one.

``--trust`` silently accepted a private key (reducing it to its public half), a keyring folder
holding only a private ``.pem`` trusted it, and a ``.pub.pem`` with two keys trusted the first.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.core.errors import KeyFileError
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.keys import (
    Keyring,
    KeyType,
    PrivateKeyTrustedError,
    generate_key,
    key_id,
    load_private_key_pem,
    private_key_pem,
    public_key_pem,
)
from bmsflasher.procedure.package_loading import build_keyring

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")


def write(path: Path, data: bytes) -> Path:
    """A key file only its owner can write, whatever the runner's umask."""
    path.write_bytes(data)
    path.chmod(0o644)
    return path


def keyring_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "trusted-keys"
    folder.mkdir()
    folder.chmod(0o755)
    return folder


def test_trust_refuses_a_private_key_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    private = write(keys / "acme.pem", private_key_pem(generate_key()))
    with pytest.raises(PrivateKeyTrustedError) as refused:
        Keyring.from_paths([private])
    assert refused.value.message == (
        f"{private} is a private key; trust its public half ({keys / 'acme.pub.pem'}) "
        "— a private key must never leave the release machine."
    )
    # Every private PEM flavour, Ed25519 too, and a misnamed one: named after its content, not its name.
    misnamed = write(keys / "other.pub.pem", private_key_pem(generate_key(KeyType.ED25519)))
    with pytest.raises(PrivateKeyTrustedError, match=r"other\.pub\.pem is a private key"):
        build_keyring([misnamed], folder=tmp_path / "none")


def test_trust_of_a_private_key_is_one_sentence_with_the_key_file_exit_code(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = write(tmp_path / "acme.pem", private_key_pem(generate_key()))
    assert main(["verify", str(PACKAGE), "--trust", str(private)]) == KeyFileError.exit_code
    err = capsys.readouterr().err
    assert err.startswith(f"error: {private} is a private key; trust its public half")
    assert len(err.strip().splitlines()) == 1
    code = main(["flash", str(PACKAGE), "--port", str(tmp_path / "ttyX"), "--trust", str(private), "--yes"])
    assert code == KeyFileError.exit_code
    assert "must never leave the release machine" in capsys.readouterr().err


def test_keyring_folder_refuses_a_private_key(tmp_path: Path) -> None:
    folder = keyring_dir(tmp_path)
    key = generate_key()
    write(folder / "acme.pem", private_key_pem(key))
    with pytest.raises(PrivateKeyTrustedError, match=r"acme\.pem is a private key"):
        build_keyring([], folder=folder)  # alone: it used to be trusted
    write(folder / "acme.pub.pem", public_key_pem(key))
    with pytest.raises(PrivateKeyTrustedError, match=r"acme\.pem is a private key"):
        build_keyring([], folder=folder)  # beside its public half: still a leaked release key
    (folder / "acme.pem").unlink()
    assert [k.key_id for k in build_keyring([], folder=folder)] == [key_id(key)]


def test_trust_folder_skips_a_private_key_only_beside_its_public_half(tmp_path: Path) -> None:
    """``--trust keys/`` on the release machine: ``keygen`` wrote NAME.pem beside NAME.pub.pem."""
    keys = tmp_path / "keys"
    keys.mkdir()
    paired, lone = generate_key(), generate_key()
    write(keys / "acme.pem", private_key_pem(paired))
    write(keys / "acme.pub.pem", public_key_pem(paired))
    assert [k.key_id for k in Keyring.from_paths([keys])] == [key_id(paired)]
    write(keys / "lone.pem", private_key_pem(lone))
    with pytest.raises(PrivateKeyTrustedError, match=r"lone\.pem is a private key"):
        Keyring.from_paths([keys])


def test_a_pub_pem_with_two_keys_is_refused(tmp_path: Path) -> None:
    first, second = generate_key(), generate_key(KeyType.ED25519)
    two = write(tmp_path / "two.pub.pem", public_key_pem(first) + public_key_pem(second))
    with pytest.raises(KeyFileError) as refused:
        Keyring.from_paths([two])
    assert refused.value.message == (
        f"{two} holds 2 keys; put one key per file (a keyring folder may hold several files)."
    )
    folder = keyring_dir(tmp_path)
    write(folder / "vendor.pub.pem", public_key_pem(first) * 3)
    with pytest.raises(KeyFileError, match=r"vendor\.pub\.pem holds 3 keys; put one key per file"):
        build_keyring([], folder=folder)
    # A signing key file with two keys would sign with the first one just as silently.
    with pytest.raises(KeyFileError, match="holds 2 keys"):
        load_private_key_pem(private_key_pem(first) + private_key_pem(generate_key()), source="sign.pem")


def test_an_openssl_ec_key_with_its_parameters_block_is_one_key() -> None:
    """``openssl ecparam -genkey`` writes an EC PARAMETERS block before the key: not a second key."""
    key = generate_key()
    params = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    assert key_id(load_private_key_pem(params + private_key_pem(key))) == key_id(key)


def test_keygen_output_is_trusted_as_before(tmp_path: Path) -> None:
    assert main(["keygen", "--out", str(tmp_path / "vendor")]) == 0
    assert stat.S_IMODE((tmp_path / "vendor.pem").stat().st_mode) == 0o600
    ring = Keyring.from_paths([tmp_path / "vendor.pub.pem"])
    assert len(ring) == 1
