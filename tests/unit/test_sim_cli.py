"""``bmsflasher sim``: options, the front-end registry, clean stop on signals."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from bmsflasher.cli import cmd_sim
from bmsflasher.cli.main import main
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.wire.frontend_options import FrontEndOptions


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_info_prints_the_device_as_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        ["sim", "--info", "--json", "--cells", "24", "--serial", "SN-1", "--state", str(tmp_path / "s")]
    )
    assert code == 0
    (event,) = json_lines(capsys.readouterr().out)
    assert event["model"] == "VBMS-24"
    assert event["serial"] == "SN-1"
    assert event["firmware"] == "1.0.0"
    assert event["bootloader"] == "2.1.0"
    assert event["mode"] == "application"


def test_registry_names_the_six_front_ends() -> None:
    assert set(cmd_sim.FRONT_ENDS) == {
        ("uds", "virtual"),
        ("uds", "slcan"),
        ("smp", "pty"),
        ("smp", "tcp"),
        ("modbus", "pty"),
        ("modbus", "tcp"),
    }
    for target in cmd_sim.FRONT_ENDS.values():
        module, _, function = target.partition(":")
        assert module.startswith("bmsflasher.sim.")
        assert function.startswith("run")


def test_unknown_or_missing_front_end_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SimError, match="does not serve smp over slcan"):
        cmd_sim.load_front_end("smp", "slcan")
    monkeypatch.setitem(cmd_sim.FRONT_ENDS, ("smp", "pty"), "bmsflasher.sim.no_such_module:run")
    with pytest.raises(SimError, match="not part of this build"):
        cmd_sim.load_front_end("smp", "pty")


def test_bad_option_values_are_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--cells", "0"])
    assert "outside 1..512" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sim", "--soc", "abc"])
    assert "not a number" in capsys.readouterr().err


def test_failed_sensor_beyond_the_pack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sim", "--info", "--failed-sensor", "9"])
    assert code != 0
    assert "failed sensor 9 does not exist" in capsys.readouterr().err


def test_serves_until_sigterm_then_stops_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    def fake_launcher(
        device: VirtualBms, options: FrontEndOptions, emit: cmd_sim.EmitJson, stop: threading.Event
    ) -> None:
        seen["serials"] = [device.serial_number] + [d.serial_number for d in options.extra_devices]
        seen["baud"] = options.baud
        emit({"event": "listening", "protocol": "smp", "port": "/dev/null"})
        os.kill(os.getpid(), signal.SIGTERM)
        seen["stopped"] = stop.wait(5)

    monkeypatch.setattr(cmd_sim, "load_front_end", lambda protocol, link: fake_launcher)
    state = tmp_path / "bms.state"
    code = main(
        ["sim", "--json", "--nodes", "2", "--serial", "PACK", "--baud", "9600", "--state", str(state)]
    )
    assert code == 0
    assert seen["stopped"] is True
    assert seen["serials"] == ["PACK", "PACK-2"]
    assert seen["baud"] == 9600
    events = [e["event"] for e in json_lines(capsys.readouterr().out)]
    assert events == ["device", "device", "listening", "stopped"]
    assert state.exists()
    assert (tmp_path / "bms.node2.state").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))
