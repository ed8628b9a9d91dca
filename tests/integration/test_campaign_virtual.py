"""Campaigns on a pack of real virtual BMS nodes (one CAN bus, the real UDS client): all or nothing.

The pack is four independent virtual BMS devices (BCU, BMC, two BMUs) on one paced python-can
virtual bus; nothing is mocked. Each test checks what the devices themselves run afterwards.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from campaign_support import Pack, fast_profile, release, virtual_pack

from bmsflasher.cli.main import main
from bmsflasher.core.events import Event, Measurement, Progress, StepFinished, StepStarted
from bmsflasher.procedure.campaign import (
    NODE_SESSION_KIND,
    PARENT_KEY,
    SESSION_KIND,
    Campaign,
    CampaignOptions,
)
from bmsflasher.procedure.campaign_journal import CampaignJournal, Phase, pack_id
from bmsflasher.procedure.preconditions import CELL_STABILITY
from bmsflasher.procedure.profiles import DeviceProfile
from bmsflasher.procedure.states import State
from bmsflasher.records.reports.content import build_content
from bmsflasher.records.reports.labels import Labels


def _transfers_started(pack: Pack) -> list[str]:
    return [who for who, e in pack.events if isinstance(e, Progress) and e.step == "transfer" and e.done == 0]


def test_healthy_campaign_puts_every_node_on_the_set_confirmed_and_records_one_session_per_node(
    tmp_path: Path,
) -> None:
    with virtual_pack(tmp_path) as pack:
        result = pack.run(release("1.1.0"))
        assert result.outcome is State.UPDATED, result.reason
        assert result.exit_code == 0
        assert pack.opened == 1  # one CAN adapter for every step of every node (campaign_bus)
        assert pack.versions() == ["1.1.0"] * 4
        assert pack.confirmed() == [True] * 4
        # tier order: the two BMUs (nodes 3, 4), then the BMC (2), then the BCU (1)
        serials = [d.serial_number for d in pack.devices]
        finished = [
            w for w, e in pack.events if w != "pack" and isinstance(e, StepFinished) and e.step == "transfer"
        ]
        assert finished == [serials[2], serials[3], serials[1], serials[0]]
        assert {m.name: m.passed for m in result.pack_checks} == {
            "pack_nodes_answer": True,
            "pack_versions": True,
            "pack_voltage_sum": True,
            "pack_communication": True,
        }
        campaign = pack.db.session_detail(result.session_id or -1).session
        assert campaign.kind == SESSION_KIND
        assert campaign.outcome == "updated"
        children = [s for s in pack.db.sessions() if s.details.get(PARENT_KEY) == campaign.id]
        assert sorted(s.serial for s in children) == sorted(serials)
        assert {(s.kind, s.outcome, s.to_version) for s in children} == {
            (NODE_SESSION_KIND, "updated", "1.1.0")
        }
        assert CampaignJournal.load(pack_id(serials), tmp_path / "journal") is None
        detail = pack.db.session_detail(campaign.id)
        assert [c.id for c in detail.children] == sorted(s.id for s in children)
        nodes_table = next(
            table for table in build_content(detail, Labels("en")).tables if table.title.startswith("Nodes")
        )
        assert [row[1] for row in nodes_table.rows] == [serials[2], serials[3], serials[1], serials[0]]
        assert nodes_table.row_ok == (True, True, True, True)
        again = pack.run(release("1.1.0"))  # the pack already runs the set: nothing to do
        assert again.outcome is State.REFUSED
        assert "already runs" in again.reason
        assert len(pack.db.sessions()) == 5


def test_a_bmu_failing_its_self_test_returns_the_whole_pack_to_the_old_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with virtual_pack(tmp_path) as pack:
        result = pack.run(release("1.1.0", {"bmu": "selftest-fail"}))
        assert result.outcome is State.ROLLED_BACK, result.reason
        assert result.exit_code == 10
        assert pack.versions() == ["1.0.0"] * 4
        assert pack.confirmed() == [True] * 4
        assert {n.state for n in result.nodes} == {"rolled_back"}
        assert {n.running_version for n in result.nodes} == {"1.0.0"}
        assert "self-test" in result.reason
    # the history shows the campaign as one session with its four node sessions under it
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["history", "--db", str(tmp_path / "history.sqlite3"), "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)["sessions"]
    campaign = next(s for s in sessions if s["kind"] == "campaign")
    assert campaign["outcome"] == "rolled_back"
    nodes = [s for s in sessions if s["parent_session"] == campaign["id"]]
    assert len(nodes) == 4
    assert {s["outcome"] for s in nodes} == {"rolled_back"}
    assert main(["history", "--db", str(tmp_path / "history.sqlite3")]) == 0
    lines = capsys.readouterr().out.splitlines()
    first = next(i for i, line in enumerate(lines) if "pack campaign" in line)
    assert all("└" in line for line in lines[first + 1 : first + 5])


def test_a_missing_node_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with virtual_pack(tmp_path) as pack:
        slots_before = [d.slots() for d in pack.devices]
        result = pack.run(release("1.1.0", bmu=3, bcu=1))
        assert result.outcome is State.REFUSED
        assert result.exit_code == 2
        assert "BMU: 2 of at least 3" in result.reason
        assert [d.slots() for d in pack.devices] == slots_before
        assert _transfers_started(pack) == []
        assert pack.db.sessions() == []


STABILITY_SAMPLES, STABILITY_INTERVAL_S = 6, 0.25
"""A stability window of 1.25 s per node: four nodes one after another take at least 5 s."""


def _slow_window(model: str) -> DeviceProfile:
    base = fast_profile(model)
    stability = dataclasses.replace(
        base.preconditions.stability, samples=STABILITY_SAMPLES, interval_s=STABILITY_INTERVAL_S
    )
    return dataclasses.replace(
        base, preconditions=dataclasses.replace(base.preconditions, stability=stability)
    )


def test_the_nodes_gates_run_side_by_side_on_the_shared_bus(tmp_path: Path) -> None:
    """Every node's stability window at once (its samples' spacing kept), not one node after another."""
    with virtual_pack(tmp_path) as pack:
        result = pack.run(release("1.1.0"), profile_for=_slow_window)
        assert result.outcome is State.UPDATED, result.reason
        started = next(e.at_s for w, e in pack.events if w == "pack" and isinstance(e, StepStarted))
        gates_done = max(
            e.at_s
            for w, e in pack.events
            if isinstance(e, StepFinished) and e.step == "prepare" and w != "pack"
        )
        window_s = (STABILITY_SAMPLES - 1) * STABILITY_INTERVAL_S
        # side by side: about one window (three allowed on a loaded host); one by one: at least four
        assert started + window_s <= gates_done < started + 3 * window_s
        stability = [m for _w, m in pack.events if isinstance(m, Measurement) and m.name == CELL_STABILITY]
        assert len(stability) == 4  # every node's own window
        assert all(m.passed for m in stability)


def test_the_result_asks_no_node_again_after_the_final_pack_check(tmp_path: Path) -> None:
    """Each node's state in the result is the final pack check's reading (made after the node's last
    write), so once the confirm phase has ended no node is asked anything again."""
    with virtual_pack(tmp_path) as pack:
        servers = pack.sim.servers
        at_confirm_end: list[int] = []

        def sink(event: Event) -> None:
            if isinstance(event, StepFinished) and event.step == Phase.CONFIRM.value:
                at_confirm_end.append(sum(server.requests_served for server in servers))

        result = Campaign(
            lambda: release("1.1.0"),
            lambda: list(pack.links),
            pack.open,
            pack.db,
            sink=sink,
            options=CampaignOptions(journal_dir=tmp_path / "journal", profile_for=fast_profile),
        ).run()
        assert result.outcome is State.UPDATED, result.reason
        assert at_confirm_end == [sum(server.requests_served for server in servers)]
        assert {(n.running_version, n.confirmed) for n in result.nodes} == {("1.1.0", True)}
