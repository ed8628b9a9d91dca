"""Shared fixtures: every test runs offscreen and fails if it leaks a thread.

A leaked reader thread is how a real port or bus stays open after a test, so leaks are failures,
not warnings.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The CLI speaks the technician's language (BMSFLASHER_LANG, then LANG): tests assert English unless
# they ask for another language with --lang, whatever the machine running them is set to.
os.environ["BMSFLASHER_LANG"] = "en"

_LEAK_GRACE_S = 3.0
# Threads owned by libraries for the life of the process, not by a test.
_PROCESS_THREAD_PREFIXES = ("QDBus", "Dummy-", "pydevd", "asyncio_", "ThreadPoolExecutor-")


@pytest.fixture(autouse=True)
def _no_leaked_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("allow_thread_leak"):
        return
    deadline = time.monotonic() + _LEAK_GRACE_S
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith(_PROCESS_THREAD_PREFIXES)
        ]
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"test leaked threads: {[t.name for t in leaked]}")


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user data/config/cache directories at a temporary folder."""
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        folder = tmp_path / var.lower()
        folder.mkdir()
        monkeypatch.setenv(var, str(folder))
    return tmp_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Every failure of a module that draws a random ``SEED`` says which one (setup errors too).

    Assertion messages of such modules name the seed only where someone remembered to; this puts
    it in every failed or errored report (and in the JUnit XML properties), so any red run can be
    replayed with ``BMSFLASHER_TEST_SEED``.
    """
    outcome = yield
    seed = getattr(getattr(item, "module", None), "SEED", None)
    if seed is None:
        return
    report = outcome.get_result()  # type: ignore[attr-defined]
    if call.when == "setup":
        item.user_properties.append(("BMSFLASHER_TEST_SEED", seed))
    if report.failed:
        report.sections.append(
            ("random seed", f"BMSFLASHER_TEST_SEED={seed} replays this run's random choices")
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_thread_leak: the test owns a process-wide thread on purpose")
