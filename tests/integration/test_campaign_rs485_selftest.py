"""Proof over the RS485 link: a missing node is refused before any write; a BMU failing its self-test
sends the whole pack back to its old set.

One rack-wired pack (BCU and two BMUs behind a pty, in another process) serves both: the refusal
writes nothing, so the second campaign starts from the factory set. In it the set's BMU image fails
its self-test (the demo bundle ``pack-1.1.0-bmu-selftest-fail``): every node was transferred (the
BMUs by broadcast) and test-booted, the failed self-test reverts them all, last-updated first, and
each node is asked over RS485 what it runs afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from campaign_rs485_support import (
    NO_BMC_MINIMUM,
    NO_BMC_PACK,
    rack_slots,
    rack_versions,
    rs485_argv,
    start_rack,
)
from campaign_slcan_support import bundle, home_env, run_cli
from pack_support import PackProcess

from bmsflasher.firmware.demo_pack_models import Tier


@pytest.fixture(scope="module")
def rack() -> Iterator[PackProcess]:
    with start_rack(NO_BMC_PACK) as pack:
        yield pack


def test_a_missing_node_is_refused_before_anything_is_written_over_rs485(
    rack: PackProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    before = rack_slots(rack)
    needs_three = bundle(home, "pack-1.1.0", {**NO_BMC_MINIMUM, Tier.BMU: 3})
    code, result = run_cli(rs485_argv(rack, needs_three, home), capsys)
    assert code == 2, result
    assert result["error"] == "CampaignRefusedError"
    assert "BMU: 2 of at least 3" in result["message"]
    assert rack_slots(rack) == before  # versions, confirmation and every slot's image untouched


def test_a_bmu_failing_its_self_test_rolls_the_whole_pack_back_over_rs485(
    rack: PackProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    failing = bundle(home, "pack-1.1.0-bmu-selftest-fail", NO_BMC_MINIMUM)
    code, result = run_cli(rs485_argv(rack, failing, home), capsys)
    assert code == 10, result
    assert result["outcome"] == "rolled_back"
    assert result["failed_phase"] == "self_test"
    assert [n["tier"] for n in result["nodes"]] == ["bmu", "bmu", "bcu"]
    assert {(n["running_version"], n["confirmed"], n["state"]) for n in result["nodes"]} == {
        ("1.0.0", True, "rolled_back")
    }
    assert set(rack_versions(rack).values()) == {("1.0.0", True)}  # asked of the nodes themselves
