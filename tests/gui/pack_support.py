"""A small virtual pack (``sim --topology``, in-process on a python-can virtual bus) behind the real window.

The pack is the demo pack's models (VBCU-1, VBMC-4, VBMU-16) at 1 Mbit/s with instant flash; the
window's engine is in demo mode on a temporary history, so "Start a demo pack" reuses it. A user
profile (``<config>/profiles``) shortens the stability window for the pack's models, the way a
workshop would tune it; every limit stays the shipped one. Bundles are the demo releases with this
small pack's minimum.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.demo_bundles import DEMO_BUNDLES, build_demo_bundle
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.campaign_wizard import PRECONDITIONS_PAGE, RUN_PAGE, CampaignWizard
from bmsflasher.gui.engine import Engine
from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import PACK, MainWindow

from .conftest import wait_until
from .screenshot_support import clipped_texts, save_shot

SMALL_PACK = "bcu=1,bmc=1,bmu=2"
SMALL_MINIMUM = {Tier.BCU: 1, Tier.BMC: 1, Tier.BMU: 2}
BITRATE = 1_000_000


def fast_profile(config_home: Path) -> None:
    """The shipped profile with a short stability window, for the pack's three models."""
    profile = json.loads(resource_path("profiles", "default.json").read_text(encoding="utf-8"))
    profile.update(name="pack-test", description="test pack", models=["VBCU-1", "VBMC-4", "VBMU-16"])
    profile["preconditions"]["stability"].update(samples=2, interval_s=0.02)
    profile["preconditions"]["link"]["round_trips"] = 2
    profile["self_test"]["round_trips"] = 3
    folder = config_home / "bmsflasher" / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack-test.json").write_text(json.dumps(profile), encoding="utf-8")


def bundle(folder: Path, release: str) -> Path:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    chosen = next(b for b in DEMO_BUNDLES if b.release == release)
    path = folder / f"{release}.bmsbundle"
    path.write_bytes(build_demo_bundle(key, chosen, SMALL_MINIMUM))
    return path


@dataclass
class PackRig:
    app: QApplication
    model: AppModel
    window: MainWindow
    folder: Path
    errors: list[tuple[str, str]]

    def wait(self, condition: object, timeout_s: float = 60.0) -> None:
        wait_until(self.app, condition, timeout_s)  # type: ignore[arg-type]

    def versions(self) -> dict[str, str]:
        return {node.serial: node.version for node in self.window.pack_model.nodes}

    def photograph(self, widget: QWidget, name: str) -> dict[str, list[str]]:
        """``widget`` saved in English, Dutch and French (tests/screenshots/NAME-LANG.png); texts clipped."""
        switcher = LanguageSwitcher(self.app)
        clipped: dict[str, list[str]] = {}
        try:
            for language in ("en", "nl", "fr"):
                assert switcher.set_language(language)
                for _ in range(5):  # retranslated texts, then the layouts they ask for
                    self.app.processEvents()
                save_shot(widget, f"{name}-{language}")
                clipped[language] = clipped_texts(widget)
        finally:
            switcher.set_language("en")
            self.app.processEvents()
        return {language: texts for language, texts in clipped.items() if texts}


def started_pack_rig(qapp: QApplication, data_home: Path) -> Iterator[PackRig]:
    """The main window on the Pack page with the small virtual pack started and read (a fixture's body)."""
    fast_profile(data_home / "xdg_config_home")
    engine = Engine(
        db_path=data_home / "history.sqlite3",
        trusted_keys=[resource_path("demo", "demo-key.pub.pem")],
        keys_dir=data_home / "trusted-keys",
        journal_dir=data_home / "journal",
        demo=True,
    )
    model = AppModel(engine)
    window = MainWindow(model)
    errors: list[tuple[str, str]] = []
    window.pack_model.sig_error.connect(lambda message, hint: errors.append((str(message), str(hint))))
    window.resize(1280, 820)
    window.show()
    window.show_page(PACK)
    rig = PackRig(qapp, model, window, data_home, errors)
    try:
        window.pack_model.start_demo_pack(SMALL_PACK, in_process=True, bitrate=BITRATE)
        rig.wait(lambda: len(window.pack_model.nodes) == 4 or errors, 30)
        assert not errors, errors
        yield rig
    finally:
        pack = window.pack_page
        rig.wait(lambda: not window.pack_model.busy, 120)
        if pack.wizard is not None:
            pack.wizard.close()
        model.shutdown()
        window.close()
        window.deleteLater()
        qapp.processEvents()


def run_campaign(rig: PackRig, release: str, *, photograph: bool = False) -> CampaignWizard:
    """Through the wizard's buttons: bundle, Check the pack, every gate passed, Update the pack, the end."""
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
