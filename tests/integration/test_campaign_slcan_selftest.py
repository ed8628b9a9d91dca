"""Proof over the slcan link: a BMU image that fails its self-test returns the whole pack to the old set."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_slcan_support import bundle, campaign_argv, home_env, run_cli, start_pack, versions


def test_a_bmu_failing_its_self_test_returns_the_whole_pack_to_the_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    with start_pack() as pack:
        code, result = run_cli(
            campaign_argv(pack, bundle(home, "pack-1.1.0-bmu-selftest-fail"), home), capsys
        )
        assert code == 10, result
        assert result["error"] == "CampaignRolledBack"
        assert result["failed_phase"] == "self_test"
        assert {n["state"] for n in result["nodes"]} == {"rolled_back"}
        assert set(versions(pack).values()) == {("1.0.0", True)}
