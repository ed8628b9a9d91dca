"""The pack campaign's screens in Dutch and French: no English where a translation exists.

A campaign whose BMU fails its self-test runs through the real wizard against the small virtual
pack (the whole pack is reverted: the run with the most sentences — refusals, self-test failures,
revert log lines, the outcome). The wizard, its node rows and log, and the Pack page are then shown
in Dutch and in French (a language switch re-renders every engine sentence) and every text on
screen is checked with ``english_finder``; each screen is saved as ``tests/screenshots/i18n-*.png``.
Device text (serials, models, the device's own self-test values) is not English in this sense.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.gui.i18n import LanguageSwitcher

from .pack_support import PackRig, run_campaign, started_pack_rig
from .screenshot_support import SHOTS, save_shot
from .test_gui_walkthrough import Walk

pytestmark = pytest.mark.gui


@pytest.fixture
def pack_rig(qapp: QApplication, data_home: Path) -> Iterator[PackRig]:
    yield from started_pack_rig(qapp, data_home)


def test_a_reverted_campaign_and_the_pack_page_show_no_english_in_dutch_or_french(pack_rig: PackRig) -> None:
    wizard = run_campaign(pack_rig, "pack-1.1.0-bmu-selftest-fail")
    assert wizard.outcome is not None
    assert wizard.outcome.result == "rolled_back", wizard.outcome
    switcher = LanguageSwitcher(pack_rig.app)
    found: dict[str, dict[str, str]] = {}
    log_lines: dict[str, str] = {}
    try:
        for language in ("nl", "fr"):
            assert switcher.set_language(language)
            pack_rig.model.set_language(language)
            for _ in range(5):  # retranslated texts, then the layouts they ask for
                pack_rig.app.processEvents()
            walk = Walk(language)
            walk.look(wizard, "campaign wizard, pack reverted")
            walk.look(pack_rig.window, "Pack page")
            found[language] = walk.found
            log_lines[language] = wizard.log.toPlainText()
            save_shot(wizard, f"i18n-campaign-reverted-{language}")
            # the wizard is a child window of the Pack page: the page is grabbed without the overlap check
            assert pack_rig.window.grab().save(str(SHOTS / f"i18n-pack-page-{language}.png"))
    finally:
        switcher.set_language("en")
        pack_rig.model.set_language("en")
        pack_rig.app.processEvents()
    assert found == {"nl": {}, "fr": {}}, found
    # the revert's log lines are the engine's sentences in the technician's language
    assert "Het apparaat gevraagd terug te keren van 1.1.0 naar 1.0.0" in log_lines["nl"]
    assert "balanceercircuit" in log_lines["nl"]
    assert "Demande à l'appareil de revenir de 1.1.0 à 1.0.0" in log_lines["fr"]
    assert "circuit d’équilibrage" in log_lines["fr"]
