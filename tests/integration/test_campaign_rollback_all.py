"""``rollback --all`` (procedure.campaign_rollback) on a pack of real virtual BMS nodes.

After a finished campaign every node goes back to the image in its other slot; with an unfinished
campaign journalled, the campaign's own revert runs; a node that cannot go back refuses the pack
before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from campaign_support import Pack, fast_profile, release, run_until, virtual_pack

from bmsflasher.core.events import StepStarted
from bmsflasher.procedure.campaign import CampaignOptions
from bmsflasher.procedure.campaign_rollback import rollback_pack
from bmsflasher.procedure.states import State


def _rollback(pack: Pack) -> object:
    return rollback_pack(
        lambda: list(pack.links),
        pack.open,
        pack.db,
        options=CampaignOptions(journal_dir=pack.workdir / "journal", profile_for=fast_profile),
    )


def test_rollback_all_returns_a_finished_campaign_to_the_previous_set_and_records_it(tmp_path: Path) -> None:
    with virtual_pack(tmp_path) as pack:
        assert pack.run(release("1.1.0")).outcome is State.UPDATED
        result = _rollback(pack)
        assert result.outcome is State.ROLLED_BACK, result.reason  # type: ignore[attr-defined]
        assert pack.versions() == ["1.0.0"] * 4
        assert pack.confirmed() == [True] * 4
        parent = next(s for s in pack.db.sessions() if s.kind == "pack_rollback")
        assert len(pack.db.child_sessions(parent.id)) == 4
        # a second one is refused for every node before anything is written (1.1.0 is newer)
        again = _rollback(pack)
        assert again.outcome is State.REFUSED  # type: ignore[attr-defined]
        assert pack.versions() == ["1.0.0"] * 4


def test_rollback_all_reverts_an_unfinished_campaign_from_its_journal(tmp_path: Path) -> None:
    with virtual_pack(tmp_path) as pack:
        bmc = pack.devices[1].serial_number
        run_until(
            pack,
            release("1.1.0"),
            lambda who, e: who == bmc and isinstance(e, StepStarted) and e.step == "self_test",
        )
        assert pack.versions() == ["1.1.0"] * 4  # test boots, unconfirmed
        result = _rollback(pack)
        assert result.outcome is State.ROLLED_BACK, result.reason  # type: ignore[attr-defined]
        assert pack.versions() == ["1.0.0"] * 4
        assert pack.confirmed() == [True] * 4
