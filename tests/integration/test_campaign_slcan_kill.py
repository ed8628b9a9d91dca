"""Proof over the slcan link: the tool killed mid-campaign (SIGKILL) is resumed to completion.

Then ``rollback --all`` returns the pack to its previous set from the command line.

``bmsflasher campaign`` runs as its own process and is killed the moment its journal shows one
node's image transferred; the same command run again finds the journal, measures the gates again
and goes on from the transfers (the old set ran everywhere meanwhile) to the confirmed new set.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from campaign_slcan_support import bundle, campaign_argv, home_env, run_cli, start_cli, start_pack, versions


def _journal(home: Path) -> dict[str, object] | None:
    folder = home / "xdg_state_home" / "bmsflasher" / "journal"
    for path in folder.glob("campaign-*.json") if folder.is_dir() else ():
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None  # being replaced right now; the next poll reads it whole
    return None


def _one_node_transferred(journal: dict[str, object] | None) -> bool:
    if journal is None or journal["phase"] != "transfer":
        return False
    nodes = journal["nodes"]
    assert isinstance(nodes, list)
    return any("transfer" in node["done"] for node in nodes)


@pytest.mark.slow  # ~30 s: two campaigns' worth of bus time; the in-process kill cases run in the fast suite
def test_a_killed_campaign_is_resumed_to_completion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    env = {
        var: os.environ[var]
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    }
    with start_pack() as pack:
        argv = campaign_argv(pack, bundle(home, "pack-1.1.0"), home)
        tool = start_cli(argv, env)
        deadline = time.monotonic() + 60
        while not _one_node_transferred(_journal(home)):
            assert tool.poll() is None, "the campaign ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        tool.send_signal(signal.SIGKILL)
        tool.wait(timeout=10)
        assert {v for v, _ in versions(pack).values()} == {"1.0.0"}  # nothing test-booted yet

        code, result = run_cli(argv, capsys)
        assert code == 0, result
        assert result["resumed"] is True
        assert set(versions(pack).values()) == {("1.1.0", True)}
        assert _journal(home) is None

        # and the whole pack back to its previous set from the command line
        rollback = ["rollback", "--all", *argv[2:]]
        trust = rollback.index("--trust")
        del rollback[trust : trust + 2]
        code, result = run_cli(rollback, capsys)
        assert code == 0, result
        assert set(versions(pack).values()) == {("1.0.0", True)}
