"""The campaign wizard on a small virtual pack: healthy to every row confirmed, a failing BMU rolls the pack back.

Driven through the wizard's own buttons (pytest-qt): bundle, "Check the pack", the preconditions of
every node, "Update the pack", then a row per node to the end; afterwards the pack is read again
and each node's firmware checked on the tree, not only on the wizard's words.
"""

from __future__ import annotations

import pytest

from bmsflasher.gui.campaign_wizard import PRECONDITIONS_PAGE, RUN_PAGE, CampaignWizard

from .pack_support import PackRig, bundle, pack_rig  # noqa: F401 -- the fixture

pytestmark = pytest.mark.gui


def _run_campaign(rig: PackRig, release: str, *, photograph: bool = False) -> CampaignWizard:
    page = rig.window.pack_page
    wizard = page.open_campaign_wizard()
    assert wizard is not None
    wizard.select_bundle(bundle(rig.folder, release))
    assert wizard.check_button.isEnabled()
    wizard.check_button.click()
    assert wizard.stack.currentIndex() == PRECONDITIONS_PAGE
    rig.wait(lambda: wizard.approve_button.isEnabled() or wizard.outcome is not None, 60)
    assert wizard.outcome is None, wizard.outcome
    assert len(wizard.gates.measurements) >= 4 * 5  # every node's gates, each shown
    assert not wizard.gates.failed
    assert wizard.rows.rowCount() == 4
    if photograph:
        assert not rig.photograph(wizard, "campaign-2-preconditions")
    wizard.approve_button.click()
    assert wizard.stack.currentIndex() == RUN_PAGE
    assert not wizard.close_button.isVisible()  # no closing while the pack is written
    rig.wait(lambda: wizard.outcome is not None, 120)
    rig.wait(lambda: not rig.window.pack_model.busy, 30)  # the pack read again
    return wizard


def test_a_healthy_campaign_confirms_every_row_and_one_roll_back_returns_the_pack(pack_rig: PackRig) -> None:
    wizard = _run_campaign(pack_rig, "pack-1.1.0", photograph=True)
    assert wizard.outcome is not None and wizard.outcome.result == "updated", wizard.outcome
    assert set(wizard.rows.results.values()) == {"confirmed"}
    assert len(wizard.rows.results) == 4
    assert all(bar.value() == 100 for s in wizard.rows.rows if (bar := wizard.rows.progress_bar(s)))
    assert wizard.pack_checks.measurements and not wizard.pack_checks.failed
    assert set(pack_rig.versions().values()) == {"1.1.0"}
    tree_versions = {item.text(3) for item in pack_rig.window.pack_page.tree.node_items()}
    assert tree_versions == {"1.1.0"}
    report = pack_rig.folder / "pack-report.html"
    wizard.save_report(report)
    pack_rig.wait(lambda: report.is_file(), 30)
    text = report.read_text(encoding="utf-8")
    assert all(serial in text for serial in pack_rig.versions())
    assert not pack_rig.photograph(wizard, "campaign-3-confirmed")

    # the one Roll back for the whole pack
    assert wizard.rollback_button.isEnabled()
    wizard.rollback_button.click()
    pack_rig.wait(lambda: wizard.outcome is not None and not wizard.running, 120)
    pack_rig.wait(lambda: not pack_rig.window.pack_model.busy, 30)
    assert wizard.outcome is not None and wizard.outcome.result == "rolled_back", wizard.outcome
    assert set(wizard.rows.results.values()) == {"rolled_back"}
    assert set(pack_rig.versions().values()) == {"1.0.0"}


def test_a_bmu_failing_its_self_test_rolls_the_whole_pack_back(pack_rig: PackRig) -> None:
    wizard = _run_campaign(pack_rig, "pack-1.1.0-bmu-selftest-fail")
    assert wizard.outcome is not None and wizard.outcome.result == "rolled_back", wizard.outcome
    assert set(wizard.rows.results.values()) == {"rolled_back"}
    assert len(wizard.rows.results) == 4
    assert set(pack_rig.versions().values()) == {"1.0.0"}
    assert "self-test" in wizard.outcome_label.text()
    assert not wizard.rollback_button.isEnabled()  # nothing to roll back: the pack is on its old set
    assert not pack_rig.photograph(wizard, "campaign-3-rolled-back")


def test_a_file_that_is_no_bundle_is_refused_in_the_wizard_with_nothing_written(pack_rig: PackRig) -> None:
    wizard = pack_rig.window.pack_page.open_campaign_wizard()
    assert wizard is not None
    fake = pack_rig.folder / "not-a-bundle.bmsbundle"
    fake.write_bytes(b"PK\x03\x04 not a zip at all")
    wizard.select_bundle(fake)
    wizard.check_button.click()
    pack_rig.wait(lambda: not wizard.running, 30)
    assert wizard.outcome is None or wizard.outcome.result in ("failed", "refused")
    assert wizard.preconditions_status.text()
    assert wizard.close_button.isVisible()
    assert not wizard.gates.measurements
    assert set(pack_rig.versions().values()) == {"1.0.0"}
