"""Proof over the RS485 link: the tool killed (SIGKILL) in the middle of the BMUs' broadcast is resumed.

``bmsflasher campaign --port …`` runs as its own process against a rack-wired BCU, BMC and two BMUs
and is killed while the BMUs' image is on the line (their broadcast step started, no node's
transfer done). Every node still runs its confirmed old image; the same command run again finds the
journal, measures the gates again and goes on from the transfers (the broadcast sends only what
some BMU still misses) to the confirmed new set on every node. Then ``rollback --all --port …``
returns the pack to its previous set.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from campaign_rs485_support import rack_versions, rs485_argv, start_rack
from campaign_slcan_support import SMALL_PACK, bundle, home_env, run_cli, start_cli


def _broadcast_started(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db, timeout=0.1) as connection:
            started = connection.execute("SELECT COUNT(*) FROM steps WHERE step = 'broadcast' AND ok IS NULL")
            done = connection.execute("SELECT COUNT(*) FROM steps WHERE step = 'transfer' AND ok = 1")
            return bool(started.fetchone()[0]) and not done.fetchone()[0]
    except sqlite3.Error:
        return False  # being created or written right now: ask again


@pytest.mark.slow  # ~20 s: one and a half campaigns over the line (the other RS485 proofs are fast)
def test_a_campaign_killed_mid_broadcast_is_resumed_over_rs485(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = home_env(tmp_path, monkeypatch)
    env = {
        var: os.environ[var]
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    }
    with start_rack(SMALL_PACK) as pack:
        argv = rs485_argv(pack, bundle(home, "pack-1.1.0"), home)
        tool = start_cli(argv, env)
        deadline = time.monotonic() + 60
        while not _broadcast_started(home / "history.sqlite3"):
            assert tool.poll() is None, "the campaign ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # part of the image on the line
        tool.send_signal(signal.SIGKILL)
        tool.wait(timeout=10)
        assert set(rack_versions(pack).values()) == {("1.0.0", True)}  # nothing test-booted yet

        code, result = run_cli(argv, capsys)
        assert code == 0, result
        assert result["resumed"] is True
        assert [n["tier"] for n in result["nodes"]] == ["bmu", "bmu", "bmc", "bcu"]
        assert set(rack_versions(pack).values()) == {("1.1.0", True)}

        # and the whole pack back to its previous set from the command line, over the same line
        rollback = ["rollback", "--all", *argv[2:]]
        trust = rollback.index("--trust")
        del rollback[trust : trust + 2]
        code, result = run_cli(rollback, capsys)
        assert code == 0, result
        assert set(rack_versions(pack).values()) == {("1.0.0", True)}
