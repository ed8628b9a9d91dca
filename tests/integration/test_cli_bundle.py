"""``bmsflasher bundle`` and ``verify B.bmsbundle``: the round trip and every refusal, text and JSON."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_bundles import DemoNodeRelease, build_pack_package
from bmsflasher.firmware.demo_pack_models import DEMO_BCU, DEMO_BMC, DEMO_BMU, NEW_VERSION
from bmsflasher.firmware.keys import generate_key, load_private_key_file, private_key_pem, public_key_pem

DEMO = resource_path("demo")
DEMO_KEY = str(DEMO / "demo-key.pem")
DEMO_PUB = str(DEMO / "demo-key.pub.pem")


@pytest.fixture
def packages(data_home: Path) -> dict[str, str]:
    """The demo pack's three 1.1.0 packages and a BMU 1.0.0, as files signed with the demo key."""
    key = load_private_key_file(Path(DEMO_KEY))
    files: dict[str, str] = {}
    releases = [DemoNodeRelease(node, NEW_VERSION) for node in (DEMO_BCU, DEMO_BMC, DEMO_BMU)]
    releases.append(DemoNodeRelease(DEMO_BMU, FirmwareVersion(1, 0, 0)))
    for release in releases:
        path = data_home / f"{release.node.model}-{release.version}.bmspkg"
        path.write_bytes(build_pack_package(key, release))
        files[f"{release.node.model} {release.version}"] = str(path)
    return files


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exited:  # a usage error
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _bundle(packages: dict[str, str], out: Path, *extra: str) -> list[str]:
    return [
        "bundle",
        "--package", packages["VBCU-1 1.1.0"],
        "--package", f"bmc={packages['VBMC-4 1.1.0']}",
        "--package", packages["VBMU-16 1.1.0"],
        "--key", DEMO_KEY,
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def _built(packages: dict[str, str], tmp: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp / "pack-1.1.0.bmsbundle"
    code, _out, err = _run(_bundle(packages, out, "--min", "bcu=1,bmc=2,bmu=12"), capsys)
    assert code == 0, err
    return out


def _rewritten(path: Path, name: str, change: bytes | None) -> Path:
    """A copy of the bundle with member ``name`` replaced (or dropped when ``change`` is None)."""
    with zipfile.ZipFile(path) as archive:
        members = {member: archive.read(member) for member in archive.namelist()}
    if change is None:
        del members[name]
    else:
        members[name] = change
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, payload in members.items():
            archive.writestr(member, payload)
    copy = path.with_name("changed.bmsbundle")
    copy.write_bytes(buffer.getvalue())
    return copy


def _member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


# --- the round trip ---------------------------------------------------------------------------------
def test_bundle_then_verify_text_and_json(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_home / "pack-1.1.0.bmsbundle"
    code, text, err = _run(
        _bundle(packages, out, "--order", "bmu,bmc,bcu", "--min", "bcu=1,bmc=2,bmu=12"), capsys
    )
    assert code == 0, err
    assert f"Wrote {out}" in text
    assert "update order bmu, bmc, bcu; at least bcu=1, bmc=2, bmu=12" in text

    code, text, err = _run(["verify", str(out), "--trust", DEMO_PUB], capsys)
    assert code == 0, err
    assert "Valid bundle: 3 packages" in text
    assert "bmu VBMU-16 1.1.0 for hardware A" in text

    code, text, _err = _run(["verify", str(out), "--trust", DEMO_PUB, "--json"], capsys)
    result = json.loads(text)
    assert code == 0
    assert result["valid"] is True
    assert result["release"] == "pack-1.1.0"
    assert result["order"] == ["bmu", "bmc", "bcu"]
    assert result["minimum_nodes"] == {"bcu": 1, "bmc": 2, "bmu": 12}
    assert [(p["tier"], p["model"], p["version"]) for p in result["packages"]] == [
        ("bmu", "VBMU-16", "1.1.0"),
        ("bmc", "VBMC-4", "1.1.0"),
        ("bcu", "VBCU-1", "1.1.0"),
    ]


def test_bundle_json_and_a_custom_order(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_home / "p.bmsbundle"
    code, text, _err = _run(
        _bundle(packages, out, "--order", "bcu,bmc,bmu", "--release", "spring", "--json"), capsys
    )
    result = json.loads(text)
    assert code == 0
    assert result["bundle"] == str(out)
    assert result["release"] == "spring"
    assert result["order"] == ["bcu", "bmc", "bmu"]
    assert result["minimum_nodes"] == {"bcu": 1, "bmc": 1, "bmu": 1}


@pytest.mark.parametrize("name", ["pack-1.1.0", "pack-1.1.0-bmu-selftest-fail", "pack-1.1.0-bcu-rejects"])
def test_the_demo_bundles_verify(name: str, data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, err = _run(
        ["verify", str(DEMO / "bundles" / f"{name}.bmsbundle"), "--trust", DEMO_PUB], capsys
    )
    assert code == 0, err
    assert "Valid bundle" in text


@pytest.mark.parametrize(("language", "sentence"), [("nl", "Geldige bundel"), ("fr", "Lot valide")])
def test_verify_speaks_dutch_and_french(
    language: str, sentence: str, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = str(DEMO / "bundles" / "pack-1.1.0.bmsbundle")
    code, text, _err = _run(["--lang", language, "verify", bundle, "--trust", DEMO_PUB], capsys)
    assert code == 0
    assert sentence in text


# --- refusals ---------------------------------------------------------------------------------------
def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code, text, _err = _run([*argv, "--json"], capsys)
    document = json.loads(text)
    assert document["ok"] is False
    assert document["exit_code"] == code
    assert document["hint"]
    return code, document


def test_a_tampered_bundle_manifest_is_refused(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _built(packages, data_home, capsys)
    lowered = _member(built, "bundle.json").replace(b'"bmu": 12', b'"bmu": 1')
    code, document = _refused(
        ["verify", str(_rewritten(built, "bundle.json", lowered)), "--trust", DEMO_PUB], capsys
    )
    assert (code, document["error"], document["valid"]) == (3, "BundleSignatureError", False)


def test_a_tampered_package_inside_is_refused(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _built(packages, data_home, capsys)
    inner = bytearray(_member(built, "VBMC-4-1.1.0.bmspkg"))
    inner[-200] ^= 0xFF
    changed = _rewritten(built, "VBMC-4-1.1.0.bmspkg", bytes(inner))
    code, document = _refused(["verify", str(changed), "--trust", DEMO_PUB], capsys)
    assert (code, document["error"]) == (3, "BundleMismatchError")


def test_a_package_whose_own_signature_fails_is_named(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = generate_key()
    key_file = data_home / "other.pem"
    key_file.write_bytes(private_key_pem(stranger))
    out = data_home / "other.bmsbundle"
    argv = _bundle(packages, out)
    argv[argv.index(DEMO_KEY)] = str(key_file)
    code, document = _refused(argv, capsys)  # its maker's self-check: the packages' key is not trusted
    assert (code, document["error"]) == (3, "BundlePackageError")
    assert not out.exists()
    code, _text, err = _run([*argv, "--trust", DEMO_PUB], capsys)
    assert code == 0, err
    pub = data_home / "other.pub.pem"
    pub.write_bytes(public_key_pem(stranger))
    code, document = _refused(["verify", str(out), "--trust", str(pub)], capsys)
    assert (code, document["error"], document["cause"]) == (3, "BundlePackageError", "UntrustedKeyError")
    assert document["member"] == "VBMU-16-1.1.0.bmspkg"


def test_a_bundle_signed_by_another_key_is_refused(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _built(packages, data_home, capsys)
    pub = data_home / "stranger.pub.pem"
    pub.write_bytes(public_key_pem(generate_key()))
    code, document = _refused(["verify", str(built), "--trust", str(pub)], capsys)
    assert (code, document["error"]) == (3, "BundleUntrustedKeyError")


def test_a_missing_package_is_refused(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _built(packages, data_home, capsys)
    code, document = _refused(
        ["verify", str(_rewritten(built, "VBCU-1-1.1.0.bmspkg", None)), "--trust", DEMO_PUB], capsys
    )
    assert (code, document["error"]) == (3, "MissingBundlePackageError")
    without_bcu = _bundle(packages, data_home / "x.bmsbundle", "--min", "bcu=1,bmc=1,bmu=1")
    del without_bcu[1:3]
    code, document = _refused(without_bcu, capsys)
    assert (code, document["error"]) == (3, "MissingBundlePackageError")


def test_two_packages_for_one_node_type_are_refused(
    packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_bundle(packages, data_home / "x.bmsbundle"), "--package", packages["VBMU-16 1.0.0"]]
    code, document = _refused(argv, capsys)
    assert (code, document["error"]) == (3, "DuplicateBundleEntryError")


def test_a_model_of_unknown_tier_needs_its_tier(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = str(DEMO / "packages" / "VBMS-16-1.1.0.bmspkg")
    argv = ["bundle", "--package", package, "--key", DEMO_KEY, "--out", str(data_home / "x.bmsbundle")]
    code, document = _refused(argv, capsys)
    assert (code, document["error"]) == (3, "BundleSpecError")
    assert "--package bmu=" in str(document["hint"])
    argv[2] = f"bmu={package}"
    code, _text, err = _run(argv, capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--order", "bmu,bmu,bcu"),
        ("--order", "bmu,bms"),
        ("--order", ""),
        ("--min", "bmu"),
        ("--min", "bmu=-1"),
        ("--min", "bmu=x"),
        ("--min", "bmu=1,bmu=2"),
        ("--min", "bmu=99999"),
        ("--min", "cell=1"),
    ],
)
def test_bad_order_and_minimum_values_are_usage_errors(
    option: str, value: str, packages: dict[str, str], data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data_home / "x.bmsbundle"
    code, document = _refused(_bundle(packages, out, option, value), capsys)
    assert (code, document["error"]) == (8, "UsageError")
    assert option in str(document["message"])
    assert not out.exists()


def test_verify_refuses_device_options_with_a_bundle(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = str(DEMO / "bundles" / "pack-1.1.0.bmsbundle")
    code, document = _refused(["verify", bundle, "--trust", DEMO_PUB, "--model", "VBMU-16"], capsys)
    assert (code, document["error"]) == (8, "ConfigValidationError")
