"""Proof over the RS485 link: ``info --all`` lists a rack-wired pack, a healthy campaign puts it on the set.

The pack runs in its own process behind a pty (Modbus RTU; units 1-3: the BCU and two BMUs; the
BMC tier is in the slow resume proof); the tool is the real CLI with ``--port``. The two BMUs take
the same package: it crosses the line once, as a broadcast to unit 0, and each BMU's own transfer
then only verifies it. What each node runs is asked of the nodes themselves.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from campaign_rs485_support import (
    NO_BMC_MINIMUM,
    NO_BMC_PACK,
    line_argv,
    rack_versions,
    rs485_argv,
    start_rack,
)
from campaign_slcan_support import bundle, home_env, run_cli


def _broadcast_steps(db: Path) -> list[tuple[str, int]]:
    """``(serial, ok)`` of every finished broadcast step in the service history."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT sessions.serial, steps.ok FROM steps JOIN sessions ON sessions.id = steps.session_id "
            "WHERE steps.step = 'broadcast' AND steps.ok IS NOT NULL ORDER BY steps.id"
        ).fetchall()
    return [(str(serial), int(ok)) for serial, ok in rows]


def test_info_all_then_a_healthy_campaign_over_rs485(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    with start_rack(NO_BMC_PACK) as pack:
        code, listed = run_cli(["info", "--all", *line_argv(pack), "--json"], capsys)
        assert code == 0, listed
        assert [
            (n["address"], n["tier"], n["model"], n["serial"], n["version"], n["state"])
            for n in listed["nodes"]
        ] == [(n["address"], n["tier"], n["model"], n["serial"], "1.0.0", "application") for n in pack.nodes]

        code, result = run_cli(rs485_argv(pack, bundle(home, "pack-1.1.0", NO_BMC_MINIMUM), home), capsys)
        assert code == 0, result
        assert result["outcome"] == "updated"
        assert [n["tier"] for n in result["nodes"]] == ["bmu", "bmu", "bcu"]
        assert {(n["running_version"], n["confirmed"], n["state"]) for n in result["nodes"]} == {
            ("1.1.0", True, "updated")
        }
        checks = {c["name"]: c for c in result["pack_checks"]}
        assert {name: c["passed"] for name, c in checks.items()} == {
            "pack_nodes_answer": True,
            "pack_versions": True,
            "pack_voltage_sum": True,
            "pack_communication": True,
        }
        assert checks["pack_communication"]["value"] == "not kept by these nodes"  # no Modbus register
        assert set(rack_versions(pack).values()) == {("1.1.0", True)}
        bmus = [str(n["serial"]) for n in pack.nodes if n["tier"] == "bmu"]
        assert _broadcast_steps(home / "history.sqlite3") == [(serial, 1) for serial in bmus]
