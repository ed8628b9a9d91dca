"""The update procedure over the target contract: one retry layer, set by the device profile.

A cable pulled during the transfer is resumed by the target as often as the profile's
``transfer.max_resume_attempts`` allows, and no more: no second loop in the engine or inside a
protocol (SMP used to reconnect inside its upload while the engine retried around it, so a
profile allowing no resume still resumed over serial). Both protocols must end the same way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from contract_benches import DEMO_PUB, PROTOCOLS, ContractBench, contract_bench

from bmsflasher.core.errors import LinkLostError
from bmsflasher.core.events import Event, LogLevel, LogLine, Progress
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.procedure import (
    State,
    UpdateOptions,
    UpdateProcedure,
    UpdateResult,
    build_keyring,
    package_loader,
    profile_for_model,
)
from bmsflasher.procedure.profiles import DeviceProfile
from bmsflasher.records import RecordsDb

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")


def _profile(max_resume_attempts: int) -> DeviceProfile:
    base = profile_for_model("VBMS-16")
    stability = dataclasses.replace(base.preconditions.stability, interval_s=0.05)
    return dataclasses.replace(
        base,
        preconditions=dataclasses.replace(base.preconditions, stability=stability),
        transfer=dataclasses.replace(base.transfer, max_resume_attempts=max_resume_attempts),
    )


def _flash_with_one_cable_pull(
    bench: ContractBench, workdir: Path, attempts: int
) -> tuple[UpdateResult, list[Event]]:
    events: list[Event] = []

    def sink(event: Event) -> None:
        events.append(event)
        pulled = any(isinstance(e, LogLine) and e.message == "pulled" for e in events)
        if isinstance(event, Progress) and not pulled and event.done > event.total // 2:
            events.append(LogLine(LogLevel.DEBUG, "pulled"))
            bench.pull_cable(replug_after_s=0.3)

    keyring = build_keyring([DEMO_PUB], folder=workdir / "no-user-keys")
    options = UpdateOptions(journal_dir=workdir / "journal", profile=_profile(attempts), operator="pytest")
    with RecordsDb.open(workdir / "history.sqlite3") as db:
        result = UpdateProcedure(package_loader(PACKAGE, keyring), bench.open, db, sink, options).run()
    return result, events


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_profile_that_allows_no_resume_fails_on_the_first_pull(tmp_path: Path, protocol: str) -> None:
    with contract_bench(protocol, tmp_path) as bench:
        result, events = _flash_with_one_cable_pull(bench, tmp_path, attempts=0)
        running = bench.device.identity().firmware_version
    assert result.outcome is State.FAILED, result.reason
    assert result.failed_step is State.TRANSFER
    assert isinstance(result.error, LinkLostError)
    assert result.exit_code == LinkLostError.exit_code == 4
    assert running == FirmwareVersion(1, 0, 0)  # the old firmware never stopped running
    assert not [e for e in events if isinstance(e, LogLine) and "reconnecting to resume" in e.message]


# The demo package crosses the paced RS485 bus's bit-level simulation in about 25 s: slow.
WHOLE_UPDATE = [pytest.param(p, marks=pytest.mark.slow) if p == "modbus" else p for p in PROTOCOLS]


@pytest.mark.parametrize("protocol", WHOLE_UPDATE)
def test_a_profile_that_allows_a_resume_rides_out_the_pull_and_says_so(tmp_path: Path, protocol: str) -> None:
    with contract_bench(protocol, tmp_path) as bench:
        result, events = _flash_with_one_cable_pull(bench, tmp_path, attempts=1)
        running = bench.device.identity().firmware_version
    assert result.outcome is State.UPDATED, result.reason
    assert running == FirmwareVersion(1, 1, 0)
    warnings = [e.message for e in events if isinstance(e, LogLine) and e.level is LogLevel.WARNING]
    assert sum("reconnecting to resume" in m for m in warnings) == 1
    assert any(isinstance(e, LogLine) and e.message.startswith("Resuming the transfer") for e in events)
