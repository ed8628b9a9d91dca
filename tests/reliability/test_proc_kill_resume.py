"""Kill the tool at every step boundary (and mid-transfer), optionally power-cycle the battery, rerun.

Whatever the kill point, the rerun with the same package must end with the device running a
confirmed image — the new one (UPDATED) or the old one (ROLLED_BACK, when the battery's reset
reverted an unconfirmed test boot) — its configuration equal to the backup, and no journal left.
The kill is a BaseException raised from the event sink: it unwinds through the engine without any
handler running, as SIGKILL would (the journal's own SIGKILL safety is a unit test).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from proc_support import HEALTHY, smp_bench, uds_bench

from bmsflasher.core.events import Event, Progress, StepFinished, StepStarted
from bmsflasher.procedure import Journal, State

STEPS = [s.value for s in State if not s.terminal and s not in (State.ROLLBACK, State.CONFIG_RESTORE)]
KILL_POINTS = (
    [("start", step) for step in STEPS]
    + [("end", step) for step in STEPS]
    + [("progress", pct) for pct in ("10", "50", "90")]
)
FAST_POINTS = [("start", "confirm")]  # mid-transfer kills are in tests/integration/test_proc_cli.py


class Killed(BaseException):
    """The process died here."""


def killer(kind: str, where: str, events: list[Event]):  # type: ignore[no-untyped-def]
    fired: list[bool] = []

    def sink(event: Event) -> None:
        events.append(event)
        if fired:
            return
        hit = (
            (kind == "start" and isinstance(event, StepStarted) and event.step == where)
            or (kind == "end" and isinstance(event, StepFinished) and event.step == where)
            or (
                kind == "progress"
                and isinstance(event, Progress)
                and event.done * 100 >= int(where) * event.total
            )
        )
        if hit:
            fired.append(True)
            raise Killed(f"{kind} {where}")

    return sink


def wait_for_port(port: Path, timeout_s: float = 10.0) -> None:
    """The USB port re-enumerates after the battery's reset; a technician reruns once it is back.

    The reset unplugs the port before ``power_cycle`` returns (checked by the caller), so the port
    existing again means it came back: no guessed sleep for it to vanish first.
    """
    deadline = time.monotonic() + timeout_s
    while not port.exists():
        assert time.monotonic() < deadline, "the port did not come back"
        time.sleep(0.05)


def run_kill_case(tmp_path: Path, kind: str, where: str, power_cycle: bool, protocol: str = "smp") -> None:
    bench_of = smp_bench(tmp_path) if protocol == "smp" else uds_bench(tmp_path)
    with bench_of as bench:
        serial = bench.device.serial_number
        first: list[Event] = []
        bench.sink = killer(kind, where, first)  # type: ignore[method-assign]
        with pytest.raises(Killed):
            bench.flash(HEALTHY)
        if power_cycle:
            bench.device.power_cycle()
            if protocol == "smp":
                assert not Path(bench.link.port).exists(), "the reset did not re-enumerate the port"
                wait_for_port(Path(bench.link.port))
        bench.events.clear()
        bench.sink = bench.events.append  # type: ignore[method-assign]
        result = bench.flash(HEALTHY)
        identity = bench.device.identity()
        config = dict(bench.device.saved_config().parameters)
        backups = bench.db.list_backups(serial)
        journal = Journal.load(serial, tmp_path / "journal")
    assert result.outcome in (State.UPDATED, State.ROLLED_BACK), (kind, where, result.reason)
    assert identity.firmware_version == result.running_version
    active = next(s for s in identity.slots if s.active)
    assert active.confirmed, (kind, where)
    if result.outcome is State.ROLLED_BACK:
        assert power_cycle, (
            f"rolled back without a battery reset after kill at {kind} {where}: {result.reason}"
        )
    assert backups
    assert config == dict(backups[-1].snapshot.parameters)  # the oldest backup: taken before any write
    assert journal is None


@pytest.mark.parametrize(("kind", "where"), FAST_POINTS, ids=[f"{k}-{w}" for k, w in FAST_POINTS])
def test_kill_then_rerun_fast_subset(tmp_path: Path, kind: str, where: str) -> None:
    run_kill_case(tmp_path, kind, where, power_cycle=False)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["smp", "uds"])
@pytest.mark.parametrize("power_cycle", [False, True], ids=["tool-only", "tool-and-battery"])
@pytest.mark.parametrize(("kind", "where"), KILL_POINTS, ids=[f"{k}-{w}" for k, w in KILL_POINTS])
def test_kill_then_rerun_every_point(
    tmp_path: Path, kind: str, where: str, power_cycle: bool, protocol: str
) -> None:
    run_kill_case(tmp_path, kind, where, power_cycle, protocol)
