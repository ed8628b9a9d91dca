"""Proof over the slcan link: a BCU that rejects the BMUs' new version returns the whole pack to the old set.

The BMUs test-boot 1.2.0 fine on their own; the BCU (updated last) sees a series it does not
accept, raises its DTC and fails its own self-test — so nothing may be confirmed anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_slcan_support import bundle, campaign_argv, home_env, run_cli, start_pack, versions


def test_the_bcu_rejecting_the_bmu_version_returns_the_whole_pack_to_the_old_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    with start_pack() as pack:
        code, result = run_cli(campaign_argv(pack, bundle(home, "pack-1.1.0-bcu-rejects"), home), capsys)
        assert code == 10, result
        bcu = next(n for n in result["nodes"] if n["tier"] == "bcu")
        assert bcu["detail"], result  # the BCU's own self-test failure is named
        assert set(versions(pack).values()) == {("1.0.0", True)}
