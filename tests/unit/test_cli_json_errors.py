"""Issue 14, "Three different --json error shapes": one shape everywhere, whatever failed.

``info`` and ``flash`` printed ``{"ok": false, "error", "message", "hint", "exit_code"}`` for an
error, ``verify`` its own ``{"valid": false, "error", "message", "package"}``, a refused or failed
``flash`` its result without any of those keys, a usage error nothing at all, ``scan`` finding
nothing only its result. A script must be able to read every failure the same way: each command
below fails with ``--json`` and must print exactly one JSON document holding the five keys (a
command may add its own, never drop one), with the exit code it returns.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest
from rec_support import populated_db

from bmsflasher.cli.console import ERROR_KEYS
from bmsflasher.cli.main import build_parser, main
from bmsflasher.core.resources import resource_path

DEMO_PUB = str(resource_path("demo", "demo-key.pub.pem"))
HEALTHY = str(resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg"))


def _failures(tmp: Path) -> dict[str, list[str]]:
    """One failing command line per command (``--json`` on each); ``tmp`` holds the files they name."""
    gone = str(tmp / "ttyGONE")
    no_db = str(tmp / "missing.sqlite3")
    tampered = tmp / "tampered.sqlite3"
    db, _session = populated_db(tampered)
    db.close()
    raw = sqlite3.connect(tampered)
    raw.execute("UPDATE sessions SET outcome = 'refused' WHERE id = 1")
    raw.commit()
    raw.close()
    broken_pkg = tmp / "broken.bmspkg"
    broken_pkg.write_bytes(b"PK\x03\x04 not a package")
    # fmt: off
    return {
        "info": ["info", "--port", gone],
        "monitor": ["monitor", "--port", gone, "--count", "1"],
        "dtc": ["dtc", "--port", gone, "--clear"],
        "config show": ["config", "show", "--port", gone],
        "config diff": ["config", "diff", "--backup", "1", "--against", "2", "--db", str(tmp / "h.sqlite3")],
        "flash": ["flash", HEALTHY, "--port", gone, "--trust", DEMO_PUB, "--yes", "--db", str(tmp / "f.db")],
        "recover": ["recover", HEALTHY, "--port", gone, "--trust", DEMO_PUB, "--yes"],
        "rack-update": ["rack-update", HEALTHY, "--port", gone, "--addresses", "1-2", "--trust", DEMO_PUB],
        "rollback": ["rollback", "--port", gone, "--yes"],
        "campaign": [
            "campaign", str(tmp / "none.bmsbundle"), "--interface", "slcan", "--channel", gone,
            "--trust", DEMO_PUB, "--yes",
        ],
        "backup": ["backup", "--port", gone],
        "restore": ["restore", "--port", gone, "--yes"],
        "verify": ["verify", str(broken_pkg), "--trust", DEMO_PUB],
        "bundle": [
            "bundle", "--package", str(broken_pkg), "--key", str(tmp / "k.pem"),
            "--out", str(tmp / "b.bmsbundle"),
        ],
        "scan": ["scan", "--port", gone, "--bauds", "9600", "--no-cache"],
        "history": ["history", "--db", no_db],
        "history verify": ["history", "verify", "--db", str(tampered)],
        "history show": ["history", "show", "1", "--db", no_db],
        "report": ["report", "1", "--out", str(tmp / "r.html"), "--db", no_db],
        "keygen": ["keygen", "--out", str(tmp / "no" / "such" / "folder" / "key")],
        "package": [
            "package", "--firmware", str(tmp / "none.bin"), "--model", "VBMS-16", "--hw-rev", "C",
            "--version", "1.0.0", "--security-counter", "1", "--key", str(tmp / "none.pem"),
            "--out", str(tmp / "p.bmspkg"),
        ],
        "sim": ["sim", "--protocol", "uds", "--link", "pty"],
        "ca init": ["ca", "init", "--out", str(tmp / "no" / "such" / "folder" / "root")],
        "ca issue": [
            "ca", "issue", "--ca", str(tmp / "none"), "--out", str(tmp / "signer"), "--role", "signer",
        ],
        "ca revoke": ["ca", "revoke", "--ca", str(tmp / "none"), str(tmp / "none.crt")],
        "log": ["log", "--interface", "slcan", "--channel", gone, "--out", str(tmp / "bus.log")],
        "dbc export": ["dbc", "export", "--out", str(tmp / "no" / "such" / "folder" / "vbms.dbc")],
        "demo": ["demo", "--bogus"],  # no --json of its own: a usage error, in the same shape
        "gui": ["gui", "--bogus"],
    }
    # fmt: on


COMMANDS = [
    "info", "monitor", "dtc", "config show", "config diff", "flash", "recover", "rollback", "backup",
    "restore", "verify", "scan", "history", "history verify", "history show", "report", "keygen", "package",
    "sim", "demo", "gui", "rack-update", "bundle", "ca init", "ca issue", "ca revoke", "campaign",
    "log", "dbc export",
]  # fmt: skip


def _command_names(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """Every runnable command: ``info``, ``config show``, ``history verify`` …"""
    names: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                inner = _command_names(sub, f"{full} ")
                names |= inner
                if not inner or sub.get_default("func") is not None:
                    names.add(full)
    return names


def test_every_command_is_in_the_list() -> None:
    """A new command joins the list below, so its failures are checked too."""
    assert _command_names(build_parser()) == set(COMMANDS)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exited:  # a usage error
        code = int(exited.code or 0)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_fails_with_the_one_json_error_shape(
    command: str, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_failures(data_home)[command], "--json"]
    code, out = _run(argv, capsys)
    assert code != 0, out
    document = json.loads(out)  # exactly one JSON document on stdout
    assert list(document)[: len(ERROR_KEYS)] == list(ERROR_KEYS), document
    assert document["ok"] is False
    assert isinstance(document["error"], str)
    assert isinstance(document["message"], str)
    assert document["error"]
    assert document["message"]
    assert document["hint"] is None or isinstance(document["hint"], str)
    assert document["exit_code"] == code


def test_commands_keep_their_own_keys_beside_the_five(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = _failures(data_home)
    _code, out = _run([*failures["verify"], "--json"], capsys)
    verify = json.loads(out)
    assert verify["valid"] is False
    assert verify["package"].endswith("broken.bmspkg")
    code, out = _run([*failures["flash"], "--json"], capsys)
    flash = json.loads(out)
    assert flash["outcome"] == "failed"
    assert flash["error"] == "PortNotFoundError"
    assert flash["exit_code"] == code == 4
    assert flash["hint"] == flash["advice"]["resolution"]
    code, out = _run([*failures["scan"], "--json"], capsys)
    scan = json.loads(out)
    assert (scan["error"], code) == ("NothingFound", 1)
    assert scan["adapters"][0]["status"] == "not_found"
    code, out = _run([*failures["history verify"], "--json"], capsys)
    tampered = json.loads(out)
    assert tampered["error"] == "RecordsTamperedError"
    assert tampered["record"] == "sessions row 1"
