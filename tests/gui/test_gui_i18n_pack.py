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
from PySide6.QtWidgets import QApplication, QWidget

from bmsflasher.gui.campaign_wizard import PRECONDITIONS_PAGE, RUN_PAGE
from bmsflasher.gui.i18n import LanguageSwitcher

from .pack_support import PackRig, bundle, run_campaign, started_pack_rig
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


def _look_in_both(rig: PackRig, widget: QWidget, where: str, shot: str) -> dict[str, dict[str, str]]:
    """English on ``widget`` in Dutch and then French (a language switch each), saved as screenshots."""
    switcher = LanguageSwitcher(rig.app)
    found: dict[str, dict[str, str]] = {}
    try:
        for language in ("nl", "fr"):
            assert switcher.set_language(language)
            rig.model.set_language(language)
            for _ in range(5):
                rig.app.processEvents()
            walk = Walk(language)
            walk.look(widget, where)
            found[language] = walk.found
            save_shot(widget, f"{shot}-{language}")
    finally:
        switcher.set_language("en")
        rig.model.set_language("en")
        rig.app.processEvents()
    return found


@pytest.mark.slow
def test_a_confirmed_campaign_shows_no_english_in_dutch_or_french(pack_rig: PackRig) -> None:
    """A refused file, the gates page, the confirmed pack with its pack checks, and its one Roll back."""
    page = pack_rig.window.pack_page
    wizard = page.open_campaign_wizard()
    assert wizard is not None
    choose = _look_in_both(pack_rig, wizard, "campaign bundle choice", "i18n-campaign-bundle")
    fake = pack_rig.folder / "not-a-bundle.bmsbundle"
    fake.write_bytes(b"PK\x03\x04 not a zip at all")
    wizard.select_bundle(fake)
    wizard.check_button.click()
    pack_rig.wait(lambda: not wizard.running, 30)
    refused = _look_in_both(pack_rig, wizard, "campaign, no bundle", "i18n-campaign-not-a-bundle")
    pack_rig.wait(lambda: not pack_rig.window.pack_model.busy, 30)
    wizard = page.open_campaign_wizard()
    assert wizard is not None
    wizard.select_bundle(bundle(pack_rig.folder, "pack-1.1.0"))
    wizard.check_button.click()
    pack_rig.wait(lambda: wizard.approve_button.isEnabled() or wizard.outcome is not None, 60)
    assert wizard.stack.currentIndex() == PRECONDITIONS_PAGE
    gates = _look_in_both(pack_rig, wizard, "campaign gates", "i18n-campaign-gates")
    wizard.approve_button.click()
    pack_rig.wait(lambda: wizard.outcome is not None, 120)
    pack_rig.wait(lambda: not pack_rig.window.pack_model.busy, 30)
    assert wizard.outcome is not None
    assert wizard.stack.currentIndex() == RUN_PAGE
    done = _look_in_both(pack_rig, wizard, "campaign confirmed", "i18n-campaign-confirmed")
    wizard.rollback_button.click()
    pack_rig.wait(lambda: wizard.outcome is not None and not wizard.running, 120)
    pack_rig.wait(lambda: not pack_rig.window.pack_model.busy, 30)
    assert wizard.outcome is not None
    assert wizard.outcome.result == "rolled_back", wizard.outcome
    back = _look_in_both(pack_rig, wizard, "pack rolled back", "i18n-campaign-rolled-back-all")
    for screens in (choose, refused, gates, done, back):
        assert screens == {"nl": {}, "fr": {}}, screens
