"""GUI test fixtures: a real virtual BMS on a real pty, the real engine, real Qt (offscreen).

Packages are built here, small (16 KiB payload) and signed with the demo key, so a whole update
takes a second or two over the 1 Mbaud pty instead of the demo packages' 256 KiB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import DEMO_BOOTLOADER, DEMO_CREATED, DEMO_EXPIRES, DEMO_HW_REVISIONS
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.demo import DemoBench, DemoScenario
from bmsflasher.gui.engine import Engine
from bmsflasher.gui.main_window import MainWindow

FAST_BAUD = 1_000_000
SMALL_PAYLOAD_BYTES = 16 * 1024


def make_package(folder: Path, version: str, counter: int, behaviour: str = "healthy") -> Path:
    """A real signed package (demo key) with a small image carrying a sim behaviour."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    parsed = FirmwareVersion.parse(version)
    payload = bytes((i * 7 + parsed.minor) & 0xFF for i in range(SMALL_PAYLOAD_BYTES))
    image = build_image(
        payload,
        version=parsed,
        security_counter=counter,
        key=key,
        sim_behaviour=None if behaviour == "healthy" else behaviour,
    )
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=DEMO_HW_REVISIONS,
        version=parsed,
        security_counter=counter,
        min_bootloader_version=DEMO_BOOTLOADER,
        release_notes=f"test release {version} ({behaviour})",
        created=DEMO_CREATED,
        expires=DEMO_EXPIRES,
        sim_behaviour=behaviour,
    )
    path = folder / f"VBMS-16-{version}-{behaviour}.bmspkg"
    path.write_bytes(build_package(spec, image, key))
    return path


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("packages")
    # The healthy release keeps the factory's security counter (1) so that rolling back to 1.0.0
    # stays allowed after it is confirmed; raising the counter would (rightly) forbid that.
    return {
        "healthy": make_package(folder, "1.1.0", 1),
        "selftest-fail": make_package(folder, "1.2.0", 2, "selftest-fail"),
        "counter-raise": make_package(folder, "1.3.0", 2),
    }


def wait_until(app: QApplication, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Run the event loop until ``condition()`` holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        app.processEvents()
        time.sleep(0.005)


@dataclass
class GuiRig:
    """One virtual BMS, the engine on its temporary history, the model and the main window."""

    app: QApplication
    bench: DemoBench
    model: AppModel
    window: MainWindow
    errors: list[tuple[str, str]]

    def wait(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        wait_until(self.app, condition, timeout_s)

    def connect(self) -> None:
        self.model.connect_device(self.bench.link)
        self.wait(lambda: self.model.identity is not None)


def _rig(
    qapp: QApplication, scenario: DemoScenario, packages_dir: Path | None, *, in_process: bool = True
) -> Iterator[GuiRig]:
    bench = DemoBench(scenario, in_process=in_process)
    engine = Engine(
        db_path=bench.history_path,
        trusted_keys=[bench.trusted_key()],
        keys_dir=bench.trusted_keys_dir,
        journal_dir=bench.journal_dir,
    )
    model = AppModel(engine)
    window = MainWindow(model, None, packages_dir)
    errors: list[tuple[str, str]] = []
    model.sig_error.connect(lambda message, hint: errors.append((message, hint)))
    window.show()
    rig = GuiRig(qapp, bench, model, window, errors)
    try:
        yield rig
    finally:
        if rig.window.wizard is not None:
            rig.wait(lambda: not model.update_running, 60)
            rig.window.wizard.close()
        model.shutdown()
        window.close()
        window.deleteLater()
        qapp.processEvents()
        bench.close()


@pytest.fixture
def rig(qapp: QApplication, packages: dict[str, Path], data_home: Path) -> Iterator[GuiRig]:
    """A healthy demo pack (SOC 55 %) at 1 Mbaud, not yet connected."""
    yield from _rig(qapp, DemoScenario(baud=FAST_BAUD), packages["healthy"].parent)


@pytest.fixture
def external_rig(qapp: QApplication, packages: dict[str, Path], data_home: Path) -> Iterator[GuiRig]:
    """A healthy demo pack running as a separate ``bmsflasher sim`` process, like real hardware."""
    yield from _rig(qapp, DemoScenario(baud=FAST_BAUD), packages["healthy"].parent, in_process=False)


@pytest.fixture
def low_soc_rig(qapp: QApplication, packages: dict[str, Path], data_home: Path) -> Iterator[GuiRig]:
    """A demo pack at 15 % state of charge: below the update window."""
    yield from _rig(qapp, DemoScenario(baud=FAST_BAUD, soc_pct=15.0), packages["healthy"].parent)
