""" "The device did not come back" is one failure with one exit code, over CAN and over serial.

The technician's script sees the same exit code whichever wire the battery hangs on: the CLI runs
an emergency recovery against each virtual BMS, the device takes the image, resets and never
powers up again, and both runs must end with the link-failure code (4), not 4 over CAN and 5
over serial as before the target contract.
"""

from __future__ import annotations

import json
from pathlib import Path

import platformdirs
import pytest
from contract_benches import DEMO_PUB, contract_bench

from bmsflasher.cli.main import main
from bmsflasher.core.errors import LinkError, ReconnectTimeoutError
from bmsflasher.core.resources import resource_path

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")


def _fast_reboot_profile() -> None:
    """A user profile for the demo model that waits 1 s for a reboot (the shipped one waits 45 s)."""
    profile = json.loads(resource_path("profiles", "default.json").read_text(encoding="utf-8"))
    profile.update(name="contract-fast-reboot", models=["VBMS-16"])
    profile["reboot"].update(reconnect_timeout_s=1.0, settle_timeout_s=0.0)
    folder = Path(platformdirs.user_config_dir("bmsflasher")) / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contract-fast-reboot.json").write_text(json.dumps(profile), encoding="utf-8")


def _recover_with_a_device_that_never_comes_back(
    protocol: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    with contract_bench(protocol, workdir, recovery=True) as bench:
        bench.device.add_reset_listener(bench.device.power_off)  # the reset is its last act
        code = main(
            [
                "recover", str(PACKAGE), "--yes", "--trust", str(DEMO_PUB),
                "--db", str(workdir / f"{protocol}.sqlite3"), "--timeout", "1",
                "--model", "VBMS-16", "--hw-rev", "C",  # serial recovery cannot report them
                *bench.cli_link_args(),
            ]
        )  # fmt: skip
    return code, capsys.readouterr().err


FAST_PROTOCOLS = ("smp", "uds")
"""Over both CAN and serial (the issue's proof); Modbus joins in the slow variant."""


def test_a_device_that_does_not_come_back_exits_with_the_same_code_over_both_protocols(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del data_home  # the user profile above lives in this test's own config folder
    _fast_reboot_profile()
    results: dict[str, tuple[int, str]] = {}
    for protocol in FAST_PROTOCOLS:  # the Modbus rack's variant is the slow test below
        results[protocol] = _recover_with_a_device_that_never_comes_back(protocol, tmp_path, capsys)
    codes = {protocol: code for protocol, (code, _err) in results.items()}
    assert codes == dict.fromkeys(FAST_PROTOCOLS, ReconnectTimeoutError.exit_code), results
    assert ReconnectTimeoutError.exit_code == LinkError.exit_code == 4
    for _code, err in results.values():
        assert "did not come back" in err


@pytest.mark.slow
def test_a_modbus_module_that_does_not_come_back_exits_with_the_same_code(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del data_home
    code, err = _recover_with_a_device_that_never_comes_back("modbus", tmp_path, capsys)
    assert code == ReconnectTimeoutError.exit_code, err
    assert "did not come back" in err
