"""An X25519-encrypted image through a whole link update: ``flash`` over SMP on a pty.

The device is ``bmsflasher sim --protocol smp --link pty --enc-key X25519.pem`` in another process
(its bootloader holds an X25519 family key); the package is made by ``bmsflasher package
--encrypt-for X25519.pub.pem`` (MCUboot's ENC_X25519 TLV, AES-128). The update runs the full
procedure (preconditions, backup, upload, test boot, self-test, confirm) and the device ends up
running the decrypted image, confirmed.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.protocols.smp.target import SmpTarget

BAUD = 921_600
DEMO_KEY = resource_path("demo", "demo-key.pem")
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


@contextlib.contextmanager
def smp_sim(tmp: Path, *extra: str) -> Iterator[str]:
    """The sim in another process; yields its pty."""
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "smp", "--link", "pty",
        "--baud", str(BAUD), "--json", "--erase-ms", "0", "--state", str(tmp / "bms.flash"), *extra,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        port = ""
        while not port and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"the sim exited: {process.stderr.read() if process.stderr else ''}")
            event = json.loads(line)
            port = str(event["port"]) if event.get("event") == "listening" else ""
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def x25519_pair(tmp: Path) -> tuple[Path, Path]:
    key = x25519.X25519PrivateKey.generate()
    private, public = tmp / "family-x25519.pem", tmp / "family-x25519.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_an_x25519_encrypted_image_updates_a_device_holding_an_x25519_key(
    tmp_path: Path, data_home: Path
) -> None:
    private, public = x25519_pair(tmp_path)
    firmware = tmp_path / "app.bin"
    raw = bytes(range(251)) * 60
    firmware.write_bytes(raw)
    package = tmp_path / "VBMS-16-1.4.0.bmspkg"
    code, text = cli(
        "package", "--firmware", str(firmware), "--model", "VBMS-16", "--hw-rev", "B,C",
        "--version", "1.4.0", "--security-counter", "2", "--key", str(DEMO_KEY),
        "--encrypt-for", str(public), "--out", str(package),
    )  # fmt: skip
    assert code == 0, text
    code, text = cli("verify", str(package), "--trust", str(DEMO_PUB))
    assert code == 0, text
    assert "Image encrypted (ECIES-X25519, AES-128)" in text
    with smp_sim(tmp_path, "--enc-key", str(private)) as port:
        code, text = cli(
            "flash", str(package), "--port", port, "--baud", str(BAUD), "--trust", str(DEMO_PUB),
            "--db", str(tmp_path / "history.sqlite3"), "--yes",
        )  # fmt: skip
        assert code == 0, text
        with SmpTarget.connect(port, BAUD) as target:
            identity = target.identify()
    assert identity.firmware_version == FirmwareVersion(1, 4, 0)
    (running,) = [slot for slot in identity.slots if slot.active]
    assert running.confirmed


@pytest.mark.parametrize("kind", ["missing", "public-half"])
def test_sim_refuses_an_unusable_enc_key_at_start(tmp_path: Path, kind: str) -> None:
    _private, public = x25519_pair(tmp_path)
    key = tmp_path / "missing.pem" if kind == "missing" else public
    code, text = cli("sim", "--protocol", "smp", "--link", "pty", "--enc-key", str(key))
    assert code != 0
    assert "does not exist" in text if kind == "missing" else "cannot be used" in text
