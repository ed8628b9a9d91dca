"""Proof over the slcan link: a pack with a node missing is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_slcan_support import bundle, campaign_argv, home_env, run_cli, start_pack, versions

from bmsflasher.firmware.demo_pack_models import Tier


def test_a_missing_node_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    with start_pack() as pack:
        before = versions(pack)
        needs_three = bundle(home, "pack-1.1.0", {Tier.BCU: 1, Tier.BMC: 1, Tier.BMU: 3})
        code, result = run_cli(campaign_argv(pack, needs_three, home), capsys)
        assert code == 2
        assert result["error"] == "CampaignRefusedError"
        assert "BMU: 2 of at least 3" in result["message"]
        assert versions(pack) == before
