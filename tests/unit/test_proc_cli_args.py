"""Target options, override parsing and event rendering of the device commands (no device needed)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from rich.console import Console

from bmsflasher.cli import cmd_update
from bmsflasher.cli.main import main
from bmsflasher.cli.render import EventRenderer
from bmsflasher.cli.target_args import add_target_arguments, add_trust_argument, link_from_args
from bmsflasher.core.errors import ConfigValidationError, KeyFileError
from bmsflasher.core.events import LogLevel, LogLine, Measurement, Progress, StepFinished, StepStarted
from bmsflasher.procedure.connect import load_security_key
from bmsflasher.procedure.package_loading import build_keyring


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    add_trust_argument(parser)
    return parser.parse_args(list(argv))


def test_serial_and_can_targets() -> None:
    serial = link_from_args(parse("--port", "/dev/ttyUSB0", "--baud", "921600"))
    assert (serial.kind, serial.port, serial.baud) == ("serial", "/dev/ttyUSB0", 921600)
    can = link_from_args(parse("--interface", "slcan", "--channel", "/dev/ttyACM0", "--bitrate", "250000"))
    assert (can.kind, can.interface, can.channel, can.bitrate, can.node) == (
        "can",
        "slcan",
        "/dev/ttyACM0",
        250000,
        1,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "choose a device"),
        (("--port", "a", "--interface", "b"), "not both"),
        (("--interface", "slcan"), "--channel"),
        (("--port", "a", "--baud", "0"), "--baud must be between 50 and"),
        (("--interface", "x", "--channel", "y", "--node", "300"), "--node must be 0..255"),
    ],
)
def test_bad_target_options_are_one_sentence(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigValidationError, match=message):
        link_from_args(parse(*argv))


def test_override_parsing() -> None:
    assert cmd_update._parse_overrides(["link_quality=long cable", " supply_stability = generator "]) == {
        "link_quality": "long cable",
        "supply_stability": "generator",
    }
    with pytest.raises(ConfigValidationError, match="GATE=REASON"):
        cmd_update._parse_overrides(["link_quality"])


def test_keyring_without_keys_says_where_to_put_one(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="--trust"):
        build_keyring([], folder=tmp_path / "none")
    (tmp_path / "keys").mkdir()
    with pytest.raises(KeyFileError, match="does not exist"):
        build_keyring([tmp_path / "missing.pem"], folder=tmp_path / "keys")


def test_security_key_file_is_validated(tmp_path: Path, data_home: Path) -> None:
    assert load_security_key() is None  # none configured
    good = tmp_path / "good.key"
    good.write_text("00" * 32 + "\n", encoding="ascii")
    assert load_security_key(good) == bytes(32)
    short = tmp_path / "short.key"
    short.write_text("abcd", encoding="ascii")
    with pytest.raises(ConfigValidationError, match="shorter than 16 bytes"):
        load_security_key(short)
    with pytest.raises(ConfigValidationError, match="does not exist"):
        load_security_key(tmp_path / "nope.key")


def test_renderer_shows_steps_measurements_progress_and_failures() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    render = EventRenderer(console)
    render(StepStarted("preconditions", "Check the preconditions"))
    render(Measurement("state_of_charge", "15.0 %", "20..80 %", False, "why"))
    render(Progress("transfer", 512, 1024, 2048.0, 0.25))
    render(LogLine(LogLevel.WARNING, "link broke"))
    render(StepFinished("transfer", False, "cable pulled"))
    render(StepFinished("report", False, "said once elsewhere"))
    render.close()
    text = out.getvalue()
    assert "▶ Check the preconditions" in text
    assert "✗ state of charge: 15.0 %" in text
    assert "2.0 KiB/s" in text
    assert "link broke" in text
    assert "✗ transfer: cable pulled" in text
    assert "said once elsewhere" not in text


def test_quiet_renderer_prints_nothing() -> None:
    out = io.StringIO()
    render = EventRenderer(Console(file=out), quiet=True)
    render(StepStarted("identify", "Identify the device"))
    assert out.getvalue() == ""


def test_flash_without_terminal_needs_yes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    key = tmp_path / "k.pub.pem"
    from bmsflasher.core.resources import resource_path

    key.write_bytes(resource_path("demo", "demo-key.pub.pem").read_bytes())
    package = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
    code = main(["flash", str(package), "--port", "/dev/null", "--trust", str(key)])
    assert code == 8
    assert "pass --yes" in capsys.readouterr().err


def test_a_command_line_demo_forced_onto_a_pty_refuses_without_ptys_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_home: Path
) -> None:
    """Without the variable the demo runs over TCP on Windows (tests/integration/test_sim_tcp_demo.py)."""
    from bmsflasher.sim import demo_bench

    monkeypatch.setattr(demo_bench, "_os_name", lambda: "nt")  # what os.name is on Windows
    monkeypatch.setenv("BMSFLASHER_DEMO_LINK", "pty")
    code = main(["demo", "--workdir", str(data_home / "demo")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: The demo's virtual battery needs a pseudo-terminal (pty)")
    assert "not available on Windows" in err
    assert "Traceback" not in err


def test_recover_is_listed_with_its_module_so_only_that_module_loads() -> None:
    from bmsflasher.cli.main import COMMAND_MODULES, _modules_for

    assert "recover" in COMMAND_MODULES["bmsflasher.cli.cmd_update"]
    assert _modules_for(["recover", "pkg.bmspkg"]) == ["bmsflasher.cli.cmd_update"]
