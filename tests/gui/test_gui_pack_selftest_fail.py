"""The campaign wizard when a BMU's new image fails its self-test: the whole pack ends on its old set."""

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


def test_a_bmu_failing_its_self_test_rolls_the_whole_pack_back(pack_rig: PackRig) -> None:
    wizard = run_campaign(pack_rig, "pack-1.1.0-bmu-selftest-fail")
    assert wizard.outcome is not None
    assert wizard.outcome.result == "rolled_back", wizard.outcome
    assert set(wizard.rows.results.values()) == {"rolled_back"}
    assert len(wizard.rows.results) == 4
    assert set(pack_rig.versions().values()) == {"1.0.0"}
    assert "self-test" in wizard.outcome_label.text()
    assert not wizard.rollback_button.isEnabled()  # nothing to roll back: the pack is on its old set
    assert not pack_rig.photograph(wizard, "campaign-3-rolled-back")
