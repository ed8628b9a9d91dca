"""Audit regressions: ``bmsflasher sim --link-path`` never destroys a file and never tracebacks.

The pty's stable name used to be created with an unconditional rename over ``--link-path`` (a
user's regular file was replaced by the link and then deleted at shutdown), and a link in a missing
folder ended in a FileNotFoundError traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmsflasher.sim.errors import SimError
from bmsflasher.sim.wire.pty_link import PtyPort


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_an_existing_file_is_refused_and_left_intact(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    before = _open_fds()
    port = PtyPort(precious)
    with pytest.raises(SimError, match="already exists and is not a link"):
        port.plug()
    port.unplug()
    assert precious.read_text() == "keep me"
    assert not port.connected
    assert _open_fds() == before  # the pty pair was closed again


def test_a_link_in_a_missing_folder_is_one_sentence(tmp_path: Path) -> None:
    port = PtyPort(tmp_path / "missing" / "ttyBMS")
    with pytest.raises(SimError, match="cannot create the port link"):
        port.plug()
    assert not port.connected


def test_a_stale_link_from_a_killed_run_is_replaced(tmp_path: Path) -> None:
    link = tmp_path / "ttyBMS"
    link.symlink_to("/dev/pts/does-not-exist")
    port = PtyPort(link)
    port.plug()
    try:
        assert os.path.realpath(link) == port.slave_name
    finally:
        port.unplug()
    assert not link.exists()
    assert not link.is_symlink()
