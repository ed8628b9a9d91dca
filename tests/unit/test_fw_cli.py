"""``bmsflasher keygen / package / verify`` as a user runs them: real processes, real files."""

from __future__ import annotations

import contextlib
import io
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from intelhex import IntelHex

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.keys import load_private_key_file, load_public_key_file
from bmsflasher.firmware.mcuboot import TlvType, parse_image
from bmsflasher.firmware.package import read_package

DEMO = resource_path("demo")
IMGTOOL = str(Path(sys.executable).parent / "imgtool")


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``cli.main`` in-process (same code path as the console script, no interpreter start-up)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(map(str, args)), code, out.getvalue(), err.getvalue())


def assert_one_sentence_error(result: subprocess.CompletedProcess[str], phrase: str) -> None:
    assert result.returncode not in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert phrase in lines[0]


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    result = run("keygen", "--out", folder / "vendor")
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fw") / "app.bin"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def package_args(firmware: Path, key: Path, out: Path, *extra: str) -> list[str | Path]:
    return [
        "package", "--firmware", firmware, "--model", "VBMS-16", "--hw-rev", "B,C", "--version", "1.4.0",
        "--security-counter", "4", "--key", key, "--out", out, *extra,
    ]  # fmt: skip


def test_keygen_writes_private_0600_and_public(vendor: Path) -> None:
    private, public = vendor / "vendor.pem", vendor / "vendor.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert load_private_key_file(private).public_key() is not None
    assert load_public_key_file(public) is not None
    assert_one_sentence_error(cli("keygen", "--out", vendor / "vendor"), "already exists")


def test_keygen_ed25519_and_force(tmp_path: Path) -> None:
    assert cli("keygen", "--out", tmp_path / "k", "--type", "ed25519").returncode == 0
    first = (tmp_path / "k.pub.pem").read_bytes()
    assert b"PRIVATE" in (tmp_path / "k.pem").read_bytes()
    result = cli("keygen", "--out", tmp_path / "k.pem", "--type", "ed25519", "--force")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "k.pub.pem").read_bytes() != first
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_package_then_verify(vendor: Path, firmware: Path, tmp_path: Path) -> None:
    out = tmp_path / "release.bmspkg"
    result = run(
        *package_args(
            firmware, vendor / "vendor.pem", out, "--release-notes", "Fixes.", "--expires", "2090-01-01"
        )
    )
    assert result.returncode == 0, result.stderr
    assert "VBMS-16 1.4.0" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release.bmspkg"]  # no temp files left behind

    ok = run("verify", out, "--trust", vendor / "vendor.pub.pem", "--model", "VBMS-16", "--hw-rev", "C")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("Valid: VBMS-16 1.4.0")

    as_json = cli("verify", out, "--trust", vendor, "--json", "--security-counter", "4")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["valid"] is True
    assert report["manifest"]["expires"] == "2090-01-01T23:59:59Z"
    assert report["manifest"]["release_notes"] == "Fixes."
    assert report["manifest"]["security_counter"] == 4


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        (["--model", "VBMS-8"], "is for model VBMS-16, not VBMS-8"),
        (["--hw-rev", "A"], "not revision A"),
        (["--security-counter", "5"], "anti-rollback"),
        (["--bootloader-version", "1.0.0"], None),
        # The package asks for 0.0.0 but the VBMS-16 profile 1.0.0: flash refused it, so verify does too.
        (["--bootloader-version", "0.0.0"], "profile needs bootloader 1.0.0 or newer; the device has 0.0.0"),
    ],
)
def test_verify_refusals_are_one_sentence(
    vendor: Path, firmware: Path, tmp_path: Path, extra: list[str], phrase: str | None
) -> None:
    out = tmp_path / "r.bmspkg"
    assert cli(*package_args(firmware, vendor / "vendor.pem", out)).returncode == 0
    result = cli("verify", out, "--trust", vendor / "vendor.pub.pem", *extra)
    if phrase is None:
        assert result.returncode == 0, result.stderr  # default --min-bootloader is 0.0.0; the profile's 1.0.0
        return
    assert_one_sentence_error(result, phrase)
    assert result.returncode == 3
    as_json = cli("verify", out, "--trust", vendor / "vendor.pub.pem", *extra, "--json")
    assert as_json.returncode == 3
    report = json.loads(as_json.stdout)
    assert report["valid"] is False
    assert phrase in report["message"]


def test_verify_with_untrusted_key_and_tampering(vendor: Path, firmware: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.bmspkg"
    assert cli(*package_args(firmware, vendor / "vendor.pem", out)).returncode == 0
    assert_one_sentence_error(run("verify", out, "--trust", DEMO / "demo-key.pub.pem"), "not a trusted key")
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.bmspkg"
    bad.write_bytes(bytes(data))
    result = cli("verify", bad, "--trust", vendor / "vendor.pub.pem", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"] in {"NotAZipError", "ImageHashMismatchError"}


def test_package_from_intel_hex_with_sim_behaviour(vendor: Path, tmp_path: Path) -> None:
    hex_path = tmp_path / "app.hex"
    hex_file = IntelHex()
    hex_file.puts(0x08000000, bytes(range(200)) * 10)
    hex_file.tofile(str(hex_path), format="hex")
    out = tmp_path / "hex.bmspkg"
    result = cli(*package_args(hex_path, vendor / "vendor.pem", out, "--sim-behaviour", "voltage-offset:1.5"))
    assert result.returncode == 0, result.stderr
    image = parse_image(read_package(out.read_bytes()).image_bytes)
    assert image.body == bytes(range(200)) * 10
    assert image.sim_behaviour == "voltage-offset:1.5"
    assert image.find(TlvType.SIM_BEHAVIOUR) is not None


def test_package_keeps_an_imgtool_signed_image(firmware: Path, tmp_path: Path) -> None:
    signed = tmp_path / "signed.bin"
    result = subprocess.run(
        [IMGTOOL, "sign", "-k", str(DEMO / "demo-key.pem"), "--version", "1.4.0", "-H", "0x200",
         "-S", "0x80000", "--pad-header", "-s", "4", str(firmware), str(signed)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "pre.bmspkg"
    done = cli(*package_args(signed, DEMO / "demo-key.pem", out))
    assert done.returncode == 0, done.stderr
    assert read_package(out.read_bytes()).image_bytes == signed.read_bytes()
    # A release key other than the build's image key: --image-key names the image's signer.
    ed_key = ("--image-key", DEMO / "demo-key-ed25519.pem")
    mismatch = cli(*package_args(signed, DEMO / "demo-key.pem", tmp_path / "x.bmspkg"), *ed_key)
    assert_one_sentence_error(mismatch, "already signed by key")


def test_demo_package_verifies_with_demo_key() -> None:
    result = cli(
        "verify", DEMO / "packages" / "VBMS-16-1.1.0.bmspkg", "--trust", DEMO / "demo-key.pub.pem", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["manifest"]["version"] == "1.1.0"


# In-process runs of cli.main for the many small argument errors (same code path, no process start-up).
@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["--version", "1.2"], "not a version"),
        (["--security-counter", "-1"], "not a security counter"),
        (["--sim-behaviour", "explode"], "not a sim behaviour"),
        (["--header-size", "8"], "not a header size"),
    ],
)
def test_argument_errors_exit_8(
    argv: list[str], phrase: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = [str(a) for a in package_args(tmp_path / "fw.bin", DEMO / "demo-key.pem", tmp_path / "o.bmspkg")]
    flag = argv[0]
    i = base.index(flag) if flag in base else len(base)
    args = base[:i] + argv + (base[i + 2 :] if flag in base else [])
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 8  # usage errors share the "bad option value" code
    assert phrase in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setup", "phrase"),
    [
        ("missing-firmware", "does not exist"),
        ("missing-key", "does not exist"),
        ("bad-suffix", "must end in .bmspkg"),
        ("bad-expiry", "is not an expiry"),
        ("not-a-key", "not a readable PEM private key"),
    ],
)
def test_package_input_errors(
    setup: str, phrase: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x01" * 100)
    key = DEMO / "demo-key.pem"
    out = tmp_path / "o.bmspkg"
    extra: list[str] = []
    if setup == "missing-firmware":
        fw = tmp_path / "none.bin"
    elif setup == "missing-key":
        key = tmp_path / "none.pem"
    elif setup == "bad-suffix":
        out = tmp_path / "o.zip"
    elif setup == "bad-expiry":
        extra = ["--expires", "tomorrow"]
    elif setup == "not-a-key":
        key = fw
    code = main([str(a) for a in package_args(fw, key, out, *extra)])
    err = capsys.readouterr().err
    assert code == 3
    assert phrase in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
