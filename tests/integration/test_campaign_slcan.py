"""Proof over the slcan link: a healthy campaign puts every node of the pack on the set, confirmed.

The virtual pack runs in its own process behind an emulated USB-CAN adapter; the tool is the real
CLI with python-can's slcan driver. What each node runs is asked of the nodes themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_slcan_support import bundle, campaign_argv, home_env, run_cli, start_pack, versions


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return home_env(tmp_path, monkeypatch)


def test_healthy_campaign_over_slcan(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with start_pack() as pack:
        code, result = run_cli(campaign_argv(pack, bundle(home, "pack-1.1.0"), home), capsys)
        assert code == 0, result
        assert result["outcome"] == "updated"
        assert [n["tier"] for n in result["nodes"]] == ["bmu", "bmu", "bmc", "bcu"]
        assert {(n["running_version"], n["confirmed"], n["state"]) for n in result["nodes"]} == {
            ("1.1.0", True, "updated")
        }
        assert {c["name"]: c["passed"] for c in result["pack_checks"]} == {
            "pack_nodes_answer": True,
            "pack_versions": True,
            "pack_voltage_sum": True,
            "pack_communication": True,
        }
        communication = next(c for c in result["pack_checks"] if c["name"] == "pack_communication")
        assert communication["value"] == "4 nodes hear every peer, no frame error"  # their own counters
        assert set(versions(pack).values()) == {("1.1.0", True)}
