"""SIGKILL the ``bmsflasher flash`` process at random points of an update, then rerun it.

The tool runs as its own process, exactly as a technician starts it (``flash --yes`` with the
history database, journal and keys of a workstation); the virtual BMS runs in this process behind
a real pty (SMP) or an emulated slcan adapter (UDS). At a random moment the tool is killed with
SIGKILL — no handler runs, nothing is flushed — and the same command is run again.

Claims, read from the device's flash afterwards: the update either completed (new image running,
confirmed) or the device still runs its old image, confirmed; 0 corrupted images accepted; the
configuration saved in flash is kept; the rerun never prints a traceback and ends within its
timeout.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_figures import record
from rel_support import DEMO_PUB, Release, Rig, Verdict, make_rig, small_release, verdict

KILLS = 100
RUN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class KillCase:
    protocol: str
    kill_at_s: float
    killed: bool
    rerun_code: int
    rerun_tail: str
    verdict: Verdict

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        if not (self.verdict.completed or self.verdict.unchanged):
            found.append(f"neither completed nor rolled back ({self.verdict})")
        if self.verdict.corrupt_accepted:
            found.append("corrupted image accepted")
        if not self.verdict.config_intact:
            found.append("configuration lost")
        if "Traceback" in self.rerun_tail:
            found.append(f"the rerun crashed: {self.rerun_tail[-300:]}")
        return found


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return small_release(tmp_path_factory.mktemp("release"))


def flash_command(rig: Rig, release: Release) -> list[str]:
    link = rig.link
    if link.kind == "serial":
        target = ["--port", str(link.port), "--baud", str(link.baud)]
    else:
        target = ["--interface", str(link.interface), "--channel", str(link.channel)]
        target += ["--bitrate", str(link.bitrate), "--node", "1"]
    return [
        sys.executable, "-m", "bmsflasher.cli.main", "flash", str(release.package), *target,
        "--trust", str(DEMO_PUB), "--db", str(rig.workdir / "history-cli.sqlite3"), "--yes",
    ]  # fmt: skip


def tool_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(workdir / "home" / var.lower())
    return env


def run_tool(
    rig: Rig, release: Release, kill_at_s: float | None, kill_when: Callable[[], bool] | None = None
) -> tuple[int, str, bool]:
    """Run ``bmsflasher flash``; SIGKILL it after ``kill_at_s`` (or once ``kill_when()`` holds, at most
    ``kill_at_s`` seconds in) if still running. (code, stderr, killed)."""
    proc = subprocess.Popen(
        flash_command(rig, release),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=tool_env(rig.workdir),
        text=True,
    )
    killed = False
    try:
        if kill_when is not None and kill_at_s is not None:
            deadline = time.monotonic() + kill_at_s
            while proc.poll() is None and time.monotonic() < deadline and not kill_when():
                time.sleep(0.005)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
        elif kill_at_s is not None:
            try:
                proc.wait(timeout=kill_at_s)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    return proc.returncode, stderr or "", killed


def kill_case(
    workdir: Path, protocol: str, release: Release, kill_at_s: float, *, mid_transfer: bool = False
) -> KillCase:
    with make_rig(workdir, protocol, release) as rig:
        config = rig.customise()
        when = (lambda: _half_uploaded(rig)) if mid_transfer else None
        _, _, killed = run_tool(rig, release, kill_at_s, when)
        time.sleep(0.5)  # the technician looks, sighs, and runs the same command again
        code, stderr, _ = run_tool(rig, release, None)
        seen = verdict(rig.dev, release, config)
    return KillCase(protocol, kill_at_s, killed, code, stderr[-2000:], seen)


def clean_cli_duration_s(workdir: Path, protocol: str, release: Release) -> float:
    with make_rig(workdir, protocol, release) as rig:
        started = time.monotonic()
        code, stderr, _ = run_tool(rig, release, None)
        elapsed = time.monotonic() - started
        assert code == 0, stderr
        return elapsed


def _half_uploaded(rig: Rig) -> bool:
    """The device holds half the image: the kill lands mid-transfer however fast the update got."""
    status = rig.dev.upload_status()
    return status.slot >= 0 and status.total > 0 and status.offset >= status.total // 2


def test_tool_kill_mid_update_fast(tmp_path: Path, release: Release) -> None:
    case = kill_case(tmp_path, "smp", release, kill_at_s=60.0, mid_transfer=True)
    assert case.killed
    assert not case.problems, case.problems


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_tool_killed_at_random_points(tmp_path: Path, release: Release) -> None:
    started = time.monotonic()
    spans = {p: clean_cli_duration_s(tmp_path / f"clean-{p}", p, release) for p in ("smp", "uds")}
    rng = random.Random("tool-kills")
    cases: list[KillCase] = []
    for index in range(KILLS):
        protocol = "smp" if index % 2 == 0 else "uds"
        at = rng.uniform(0.1, spans[protocol])
        cases.append(kill_case(tmp_path / f"kill{index}", protocol, release, at))
    failures = [
        f"{c.protocol} kill at {c.kill_at_s:.2f} s: {', '.join(c.problems)}" for c in cases if c.problems
    ]
    record(
        f"{KILLS} SIGKILLs of `bmsflasher flash` at random points, then the same command again "
        f"(half SMP on a pty, half UDS on slcan)",
        cases=len(cases),
        failures=len(failures),
        claim="every update completes or leaves the old image running; 0 corrupted images accepted; "
        "config kept; no traceback",
        detail=f"killed mid-run {sum(c.killed for c in cases)}, "
        f"completed {sum(c.verdict.completed for c in cases)}, "
        f"left on the old image {sum(c.verdict.unchanged for c in cases)}, "
        f"reruns exiting 0 {sum(c.rerun_code == 0 for c in cases)}; "
        f"clean CLI update takes {spans['smp']:.1f} s (SMP) / {spans['uds']:.1f} s (UDS)",
        elapsed_s=time.monotonic() - started,
    )
    assert not failures, failures
