"""A campaign stopped half-way (tool killed, pack power-cut) resumes or reverts on the next run.

The decision per phase is ``campaign_journal.RESUME_ACTIONS``; these runs prove it on real virtual
nodes: the pack always ends entirely on the new set or entirely on the old one.
"""

from __future__ import annotations

import json
from pathlib import Path

from campaign_support import Pack, release, run_until, virtual_pack

from bmsflasher.core.events import Progress, StepFinished, StepStarted
from bmsflasher.procedure.campaign_journal import CampaignJournal, Phase, campaign_journal_path, pack_id
from bmsflasher.procedure.states import State


def _phase(pack: Pack) -> Phase:
    journal = CampaignJournal.load(pack_id([d.serial_number for d in pack.devices]), pack.workdir / "journal")
    assert journal is not None
    return journal.state.phase


def _reenumerate(pack: Pack) -> None:
    """Make the journal name an adapter that no longer exists (a re-plugged USB adapter's old path)."""
    path = campaign_journal_path(pack_id([d.serial_number for d in pack.devices]), pack.workdir / "journal")
    raw = json.loads(path.read_text(encoding="utf-8"))
    for node in raw["nodes"]:
        node["link"]["channel"] = "campaign-adapter-unplugged"
    path.write_text(json.dumps(raw), encoding="utf-8")


def test_killed_during_a_transfer_resumes_to_completion(tmp_path: Path) -> None:
    with virtual_pack(tmp_path) as pack:
        second_bmu = pack.devices[3].serial_number
        bundle = release("1.1.0")
        run_until(pack, bundle, lambda who, e: who == second_bmu and isinstance(e, Progress) and e.done > 0)
        assert _phase(pack) is Phase.TRANSFER
        assert pack.versions() == ["1.0.0"] * 4  # nothing marked: the old set runs everywhere
        result = pack.run(bundle)
        assert result.outcome is State.UPDATED, result.reason
        assert result.resumed
        assert pack.versions() == ["1.1.0"] * 4
        assert pack.confirmed() == [True] * 4


def test_killed_during_the_self_tests_reverts_the_pack_on_the_next_run(tmp_path: Path) -> None:
    with virtual_pack(tmp_path) as pack:
        bmc = pack.devices[1].serial_number
        bundle = release("1.1.0")
        run_until(
            pack, bundle, lambda who, e: who == bmc and isinstance(e, StepStarted) and e.step == "self_test"
        )
        assert _phase(pack) is Phase.SELF_TEST
        assert pack.versions() == ["1.1.0"] * 4  # every node in its (unconfirmed) test boot
        _reenumerate(pack)  # the journal's adapter path is gone: the nodes are reached as found now
        result = pack.run(bundle)
        assert result.outcome is State.ROLLED_BACK, result.reason
        assert result.exit_code == 10
        assert pack.versions() == ["1.0.0"] * 4
        assert pack.confirmed() == [True] * 4


def test_power_cut_in_the_confirm_phase_goes_forward_to_the_new_set(tmp_path: Path) -> None:
    with virtual_pack(tmp_path) as pack:
        first = pack.devices[2].serial_number
        bundle = release("1.1.0")
        run_until(
            pack, bundle, lambda who, e: who == first and isinstance(e, StepFinished) and e.step == "confirm"
        )
        assert _phase(pack) is Phase.CONFIRM
        for device in pack.devices:
            device.power_cycle()  # the unconfirmed nodes revert to 1.0.0 at this reset
        assert sorted(pack.versions()) == ["1.0.0", "1.0.0", "1.0.0", "1.1.0"]
        result = pack.run(bundle)
        assert result.outcome is State.UPDATED, result.reason
        assert pack.versions() == ["1.1.0"] * 4
        assert pack.confirmed() == [True] * 4
