"""Encrypted MCUboot images end to end: imgtool's and our own, over SMP (pty) and UDS (slcan on a pty).

The images are encrypted for the demo device key (``resources/demo/encryption``) by ``imgtool sign
--encrypt`` itself or by ``bmsflasher package --encrypt-for``; the virtual BMS keeps them encrypted
in the secondary slot, checks hash and signature over the plaintext, decrypts into the primary slot
and boots. A ciphertext bit flip, an image wrapped for another key and an encrypted image signed for
another device are refused by the device without being booted, and the old image keeps running.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from proc_support import Bench, smp_bench, uds_bench

from bmsflasher.cli.main import main
from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import Target
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.mcuboot import parse_image
from bmsflasher.procedure import State

DEMO_KEY = resource_path("demo", "demo-key.pem")
DEMO_ENC_PUB = resource_path("demo", "encryption", "demo-enc-key.pub.pem")
FACTORY = resource_path("demo", "factory-1.0.0.img").read_bytes()
V = FirmwareVersion.parse


def raw_firmware(seed: str, size: int = 12_000) -> bytes:
    return hashlib.shake_256(seed.encode()).digest(size)


def imgtool_encrypt(
    tmp: Path,
    raw: bytes,
    version: str,
    *,
    keylen: int = 128,
    encrypt_for: Path = DEMO_ENC_PUB,
    signing_key: Path = DEMO_KEY,
) -> bytes:
    """``imgtool sign --encrypt`` (the real command line) for the demo device key."""
    source = tmp / f"app-{version}-{keylen}.bin"
    source.write_bytes(raw)
    out = tmp / f"app-{version}-{keylen}.enc.img"
    imgtool = Path(sys.executable).with_name("imgtool")
    subprocess.run(
        [
            str(imgtool), "sign", "--key", str(signing_key), "--encrypt", str(encrypt_for),
            "--encrypt-keylen", str(keylen), "--header-size", "0x200", "--pad-header", "--align", "8",
            "--version", version, "--slot-size", "0x40000", "--security-counter", "2",
            str(source), str(out),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def package(tmp: Path, firmware: Path, version: str, *extra: str) -> Path:
    out = tmp / f"VBMS-16-{version}.bmspkg"
    code, text = cli(
        "package", "--firmware", str(firmware), "--model", "VBMS-16", "--hw-rev", "B,C",
        "--version", version, "--security-counter", "2", "--key", str(DEMO_KEY), "--out", str(out), *extra,
    )  # fmt: skip
    assert code == 0, text
    return out


@contextlib.contextmanager
def bench_for(protocol: str, tmp: Path) -> Iterator[Bench]:
    with (smp_bench if protocol == "smp" else uds_bench)(tmp) as bench:
        yield bench


def assert_booted_decrypted(bench: Bench, uploaded: bytes, raw: bytes, version: str) -> None:
    """The new image runs from plaintext in slot 0; the old image waits in slot 1."""
    device = bench.device
    identity = device.identity()
    assert identity.firmware_version == V(version)
    assert device.slots()[0].confirmed
    running = device.image_bytes(0)
    assert running != uploaded  # not the ciphertext ...
    assert running[0x200 : 0x200 + len(raw)] == raw  # ... but the decrypted firmware
    assert parse_image(running).declared_sha256 == parse_image(uploaded).declared_sha256
    assert device.image_bytes(1) == FACTORY


# --- accepted: imgtool's images and our own packages -------------------------------------------------
@pytest.mark.parametrize(("protocol", "keylen"), [("smp", 128), ("uds", 256), ("smp", 256), ("uds", 128)])
def test_imgtool_encrypted_image_installs_and_boots(tmp_path: Path, protocol: str, keylen: int) -> None:
    raw = raw_firmware(f"imgtool-{keylen}")
    image = imgtool_encrypt(tmp_path, raw, "1.4.0", keylen=keylen)
    assert parse_image(image).is_encrypted
    firmware = tmp_path / "imgtool.img"
    firmware.write_bytes(image)
    pkg = package(tmp_path, firmware, "1.4.0")  # a pre-signed, pre-encrypted image, kept byte for byte
    with bench_for(protocol, tmp_path) as bench:
        result = bench.flash(pkg)
        assert result.outcome is State.UPDATED, result.reason
        assert_booted_decrypted(bench, image, raw, "1.4.0")


@pytest.mark.parametrize(("protocol", "aes"), [("smp", "256"), ("uds", "128")])
def test_our_encrypt_for_package_installs_and_boots(tmp_path: Path, protocol: str, aes: str) -> None:
    raw = raw_firmware(f"ours-{aes}")
    firmware = tmp_path / "app.bin"
    firmware.write_bytes(raw)
    pkg = package(tmp_path, firmware, "1.5.0", "--encrypt-for", str(DEMO_ENC_PUB), "--aes", aes)
    code, text = cli("verify", str(pkg), "--trust", str(resource_path("demo", "demo-key.pub.pem")))
    assert code == 0, text
    assert f"Image encrypted (ECIES-P256, AES-{aes})" in text
    assert "only the device can check" in text
    with zipfile_image(pkg) as image, bench_for(protocol, tmp_path) as bench:
        assert parse_image(image).is_encrypted
        result = bench.flash(pkg)
        assert result.outcome is State.UPDATED, result.reason
        assert_booted_decrypted(bench, image, raw, "1.5.0")


@contextlib.contextmanager
def zipfile_image(pkg: Path) -> Iterator[bytes]:
    import zipfile

    with zipfile.ZipFile(pkg) as archive:
        yield archive.read(next(n for n in archive.namelist() if n.endswith(".img")))


# --- refused by the device, not booted ---------------------------------------------------------------
def other_key(tmp: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp / "other-device-enc.pub.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def other_signer(tmp: Path) -> Path:
    """Another device family's signing key: its images are encrypted for us but not ours to boot."""
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp / "other-device-sign.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def bad_image(kind: str, tmp: Path) -> tuple[bytes, str]:
    """An encrypted image the device must refuse, and the reason it gives."""
    raw = raw_firmware(kind)
    if kind == "ciphertext-bit-flip":
        image = bytearray(imgtool_encrypt(tmp, raw, "1.6.0"))
        image[0x200 + 4321] ^= 0x10
        return bytes(image), "hash does not match"
    if kind == "wrong-encryption-key":
        return imgtool_encrypt(
            tmp, raw, "1.6.0", encrypt_for=other_key(tmp)
        ), "encrypted for another device key"
    return imgtool_encrypt(tmp, raw, "1.6.0", signing_key=other_signer(tmp)), "signature"


def upload_and_request_test(target: Target, image: bytes) -> None:
    """UDS: CheckMemory refuses the image at the end of the download; SMP: the upload lands and the
    test request is refused."""
    target.upload_image(image)
    target.mark_for_test()


@pytest.mark.parametrize("protocol", ["smp", "uds"])
@pytest.mark.parametrize("kind", ["ciphertext-bit-flip", "wrong-encryption-key", "signed-for-another-device"])
def test_bad_encrypted_image_is_refused_and_the_old_image_keeps_running(
    tmp_path: Path, protocol: str, kind: str
) -> None:
    image, reason = bad_image(kind, tmp_path)
    with bench_for(protocol, tmp_path) as bench:
        target = bench.connect()
        with pytest.raises(BmsFlasherError):
            upload_and_request_test(target, image)
        assert reason in (bench.device.image_problem(1) or ""), bench.device.image_problem(1)
        target.reset()
        identity = target.reconnect(10.0)
        assert identity.firmware_version == V("1.0.0")
        assert bench.device.slots()[0].confirmed
        assert bench.device.image_bytes(0) == FACTORY
        bench.close_targets()
