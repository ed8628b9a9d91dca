"""The campaign wizard on a small virtual pack: a healthy campaign confirms every row; one Roll back.

Driven through the wizard's own buttons (pytest-qt): bundle, "Check the pack", the preconditions of
every node, "Update the pack", then a row per node to the end; afterwards the pack is read again
and each node's firmware checked on the tree, not only on the wizard's words.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from .pack_support import PackRig, run_campaign, started_pack_rig

pytestmark = pytest.mark.gui


@pytest.fixture
def pack_rig(qapp: QApplication, data_home: Path) -> Iterator[PackRig]:
    yield from started_pack_rig(qapp, data_home)


def test_a_healthy_campaign_confirms_every_row_and_one_roll_back_returns_the_pack(pack_rig: PackRig) -> None:
    wizard = run_campaign(pack_rig, "pack-1.1.0", photograph=True)
    assert wizard.outcome is not None
    assert wizard.outcome.result == "updated", wizard.outcome
    assert set(wizard.rows.results.values()) == {"confirmed"}
    assert len(wizard.rows.results) == 4
    assert all(bar.value() == 100 for s in wizard.rows.rows if (bar := wizard.rows.progress_bar(s)))
    assert wizard.pack_checks.measurements
    assert not wizard.pack_checks.failed
    assert set(pack_rig.versions().values()) == {"1.1.0"}
    tree_versions = {item.text(3) for item in pack_rig.window.pack_page.tree.node_items()}
    assert tree_versions == {"1.1.0"}
    report = pack_rig.folder / "pack-report.html"
    wizard.save_report(report)
    pack_rig.wait(report.is_file, 30)
    text = report.read_text(encoding="utf-8")
    assert all(serial in text for serial in pack_rig.versions())
    assert not pack_rig.photograph(wizard, "campaign-3-confirmed")

    # the one Roll back for the whole pack
    assert wizard.rollback_button.isEnabled()
    wizard.rollback_button.click()
    pack_rig.wait(lambda: wizard.outcome is not None and not wizard.running, 120)
    pack_rig.wait(lambda: not pack_rig.window.pack_model.busy, 30)
    assert wizard.outcome is not None
    assert wizard.outcome.result == "rolled_back", wizard.outcome
    assert set(wizard.rows.results.values()) == {"rolled_back"}
    assert set(pack_rig.versions().values()) == {"1.0.0"}


def test_a_file_that_is_no_bundle_is_refused_in_the_wizard_with_nothing_written(pack_rig: PackRig) -> None:
    wizard = pack_rig.window.pack_page.open_campaign_wizard()
    assert wizard is not None
    fake = pack_rig.folder / "not-a-bundle.bmsbundle"
    fake.write_bytes(b"PK\x03\x04 not a zip at all")
    wizard.select_bundle(fake)
    wizard.check_button.click()
    pack_rig.wait(lambda: not wizard.running, 30)
    assert wizard.outcome is not None
    assert wizard.outcome.result == "failed"
    why = wizard.preconditions_status.text()  # the reason, no longer "Verifying the bundle…"
    assert "not a bundle" in why
    assert wizard.outcome_label.text().startswith(why)
    assert wizard.close_button.isVisible()
    assert not wizard.gates.measurements
    assert set(pack_rig.versions().values()) == {"1.0.0"}
