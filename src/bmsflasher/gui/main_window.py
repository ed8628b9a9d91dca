"""The main window: a navigation list, the pages, the menus, the status bar. Nothing else.

Each page is its own widget talking to the AppModel; the window only arranges them, owns the
language and theme switches, and opens the update wizard and the recovery dialog. Keyboard: Ctrl+1…7
jump to a page, Alt+letter mnemonics on every button, Tab through every control.

A package the system hands over (command-line argument, file association, macOS file-open event)
goes to :meth:`MainWindow.open_package`: the wizard opens with it preselected when a battery is
connected, or it waits — announced on the Update page — until one is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

from PySide6.QtCore import QT_TRANSLATE_NOOP, QRect, QSize, Slot
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.types import DeviceIdentity, DeviceMode, LinkSettings
from bmsflasher.gui import screen_fit
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import later, plain_label, shown
from bmsflasher.gui.i18n import LANGUAGE_NAMES, LanguageSwitcher
from bmsflasher.gui.icons import icon
from bmsflasher.gui.lazy_page import LazyPage
from bmsflasher.gui.pack_model import PackModel
from bmsflasher.gui.pages.config_page import ConfigPage
from bmsflasher.gui.pages.devices_page import DevicesPage
from bmsflasher.gui.pages.diagnostics_page import DiagnosticsPage
from bmsflasher.gui.pages.history_page import HistoryPage
from bmsflasher.gui.pages.update_page import UpdatePage
from bmsflasher.gui.recovery_dialog import RecoveryDialog
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt, mode_text
from bmsflasher.gui.theme import THEMES, apply_theme
from bmsflasher.gui.widgets.error_banner import ErrorBanner
from bmsflasher.gui.wizard.update_wizard import UpdateWizard

if TYPE_CHECKING:
    from bmsflasher.gui.pack_page import PackPage
    from bmsflasher.gui.pages.live_page import LivePage

PAGE_ICONS: Final = ("devices", "live", "update", "config", "diagnostics", "history", "pack")
DEVICES, LIVE, UPDATE, CONFIG, DIAGNOSTICS, HISTORY = range(6)
PACK: Final = 6
PACKAGE_SUFFIX: Final = ".bmspkg"
PREFERRED_SIZE: Final = QSize(1280, 820)
STATUS_MESSAGE_MS: Final = 8000


def _build_live_page(model: AppModel) -> Callable[[QWidget], QWidget]:
    def build(parent: QWidget) -> QWidget:
        from bmsflasher.gui.pages.live_page import LivePage  # pyqtgraph only when needed

        return LivePage(model, parent)

    return build


def _build_pack_page(pack_model: PackModel, demo: bool) -> Callable[[QWidget], QWidget]:
    def build(parent: QWidget) -> QWidget:
        from bmsflasher.gui.pack_page import PackPage  # pyqtgraph only when needed

        return PackPage(pack_model, parent, demo=demo)

    return build


def fitted_size(available: QRect, preferred: QSize = PREFERRED_SIZE) -> QSize:
    """The main window's size on a screen: the preferred size, shrunk to the screen's free area."""
    return screen_fit.fitted_size(available, preferred)


class MainWindow(RetranslateOnLanguageChange, QMainWindow):
    """Navigation + pages + menus + status bar."""

    def __init__(
        self,
        model: AppModel,
        languages: LanguageSwitcher | None = None,
        packages_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.model = model
        self._languages = languages
        self._packages_dir = packages_dir
        self.wizard: UpdateWizard | None = None
        self.pending_package: Path | None = None
        self._open_when_connected = False
        self._status_message: object = None

        self.devices_page = DevicesPage(model, self)
        self._live_slot = LazyPage(_build_live_page(model), self)  # pyqtgraph: built when needed
        self.update_page = UpdatePage(model, self)
        self.config_page = ConfigPage(model, self)
        self.diagnostics_page = DiagnosticsPage(model, self)
        self.history_page = HistoryPage(model, self)
        self.pack_model = PackModel(model.engine, self)
        self._pack_slot = LazyPage(_build_pack_page(self.pack_model, model.engine.demo), self)
        self._pack_slot.on_built.append(lambda page: cast("PackPage", page).apply_theme(model.theme_name))
        self.pages: tuple[QWidget, ...] = (
            self.devices_page,
            self._live_slot,
            self.update_page,
            self.config_page,
            self.diagnostics_page,
            self.history_page,
            self._pack_slot,
        )
        self.stack = QStackedWidget(self)
        for page in self.pages:
            self.stack.addWidget(page)
        self.nav = QListWidget(self)
        self.nav.setObjectName("navigation")
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(190)
        for _page in self.pages:
            QListWidgetItem(self.nav)
        self.banner = ErrorBanner(self)
        right = QVBoxLayout()
        right.addWidget(self.banner)
        right.addWidget(self.stack, 1)
        central = QWidget(self)
        layout = QHBoxLayout(central)
        layout.addWidget(self.nav)
        layout.addLayout(right, 1)
        self.setCentralWidget(central)

        self.connection_label = plain_label(QLabel(self), device=False)  # holds model and serial
        self.connection_label.setObjectName("connection_label")
        self.busy_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.busy_label)
        self.statusBar().addPermanentWidget(self.connection_label)

        self._build_menus()
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.update_page.sig_start_wizard.connect(self.open_update_wizard)
        model.sig_error.connect(self.banner.show_error)
        self.pack_model.sig_error.connect(self.banner.show_error)
        model.sig_status.connect(self._show_status)
        model.sig_connection_changed.connect(self._on_connection)
        model.sig_connecting.connect(self._on_connecting)
        # the live page must exist before the first sample, alarm list or rack module arrives
        model.sig_connecting.connect(lambda _link: self.live_page)
        model.sig_busy.connect(lambda _job: self.live_page)
        model.sig_rack_watching.connect(self._on_rack_watching)
        model.sig_connect_failed.connect(lambda _link: self._on_connection(self.model.identity))
        model.sig_busy.connect(self._on_busy)
        model.sig_theme_changed.connect(self._on_theme)
        model.sig_language_changed.connect(self._on_language)
        model.sig_recovery_requested.connect(self.open_recovery)
        self.nav.setCurrentRow(DEVICES)
        self.fit_to_screen()
        self.retranslate()
        self._on_theme(model.theme_name)
        self._on_connection(model.identity)

    @property
    def live_page(self) -> LivePage:
        """The live page, built on first use (see gui/lazy_page.py)."""
        return cast("LivePage", self._live_slot.page)

    @property
    def pack_page(self) -> PackPage:
        """The pack page, built on first use."""
        return cast("PackPage", self._pack_slot.page)

    @Slot(object)
    def _on_rack_watching(self, addresses: tuple[int, ...]) -> None:
        """A rack watch that starts before the live page exists: build it and hand it the addresses."""
        if self._live_slot.built is None:
            self.live_page.show_rack_watching(addresses)

    # --- menus --------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("")
        self.quit_action = QAction(self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.file_menu.addAction(self.quit_action)

        self.view_menu = bar.addMenu("")
        self.page_actions: list[QAction] = []
        for index in range(len(self.pages)):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _checked=False, row=index: self.show_page(row))
            self.view_menu.addAction(action)
            self.page_actions.append(action)
        self.view_menu.addSeparator()
        self.theme_menu = self.view_menu.addMenu("")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(self, checkable=True)
            action.triggered.connect(lambda _checked=False, theme=name: self.model.set_theme(theme))
            self.theme_group.addAction(action)
            self.theme_menu.addAction(action)
            self.theme_actions[name] = action
        self.language_menu = self.view_menu.addMenu("")
        self.language_group = QActionGroup(self)
        self.language_actions: dict[str, QAction] = {}
        for code, name in LANGUAGE_NAMES.items():
            action = QAction(name, self, checkable=True)
            action.triggered.connect(lambda _checked=False, lang=code: self.model.set_language(lang))
            self.language_group.addAction(action)
            self.language_menu.addAction(action)
            self.language_actions[code] = action
        self.language_actions[self.model.language].setChecked(True)

        self.device_menu = bar.addMenu("")
        self.scan_action = QAction(self)
        self.scan_action.triggered.connect(lambda _checked=False: self.model.scan())
        self.update_action = QAction(self)
        self.update_action.triggered.connect(self.open_update_wizard)
        self.disconnect_action = QAction(self)
        self.disconnect_action.triggered.connect(self.model.disconnect_device)
        for action in (self.scan_action, self.update_action, self.disconnect_action):
            self.device_menu.addAction(action)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("bmsflasher — battery service tool"))
        titles = (
            self.tr("&Devices"),
            self.tr("&Live"),
            self.tr("&Update"),
            self.tr("&Configuration"),
            self.tr("Dia&gnostics"),
            self.tr("&History"),
            self.tr("&Pack"),
        )
        for index, title in enumerate(titles):
            item = self.nav.item(index)
            if item is not None:
                item.setText(title.replace("&", ""))
            self.page_actions[index].setText(title)
        self.file_menu.setTitle(self.tr("&File"))
        self.quit_action.setText(self.tr("&Quit"))
        self.view_menu.setTitle(self.tr("&View"))
        self.theme_menu.setTitle(self.tr("&Theme"))
        self.theme_actions["light"].setText(self.tr("&Light"))
        self.theme_actions["dark"].setText(self.tr("&Dark"))
        self.language_menu.setTitle(self.tr("&Language"))
        self.device_menu.setTitle(self.tr("&Battery"))
        self.scan_action.setText(self.tr("&Scan for batteries"))
        self.update_action.setText(self.tr("&Update firmware…"))
        self.disconnect_action.setText(self.tr("&Disconnect"))
        self._on_connection(self.model.identity, announce=False)
        if self._status_message is not None and self.statusBar().currentMessage():
            self.statusBar().showMessage(shown(self._status_message), STATUS_MESSAGE_MS)

    def fit_to_screen(self) -> None:
        """Size the window to its screen's free area (never larger than the screen)."""
        screen = self.screen()
        if screen is not None:
            self.resize(fitted_size(screen.availableGeometry()))
        else:
            self.resize(PREFERRED_SIZE)

    @Slot(object)
    def _show_status(self, message: object) -> None:
        self._status_message = message
        self.statusBar().showMessage(shown(message), STATUS_MESSAGE_MS)

    # --- reactions -------------------------------------------------------------------------------
    def show_page(self, index: int) -> None:
        """Switch to a page (navigation list, Ctrl+number)."""
        self.nav.setCurrentRow(index)

    @Slot(str)
    def _on_theme(self, name: str) -> None:
        colors = THEMES[name]
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.theme_actions[name].setChecked(True)
        for index, icon_name in enumerate(PAGE_ICONS):
            item = self.nav.item(index)
            if item is not None:
                item.setIcon(icon(icon_name, colors.text))
        self.banner.apply_theme(colors)
        pack_page = self._pack_slot.built
        if pack_page is not None:
            cast("PackPage", pack_page).apply_theme(name)
        self.setWindowIcon(icon("app"))
        self.setStyleSheet(
            f"QLabel#page_title {{ font-size: 16pt; font-weight: 600; color: {colors.text}; }}"
            f"QListWidget#navigation {{ font-size: 11pt; }}"
            f"QListWidget#navigation::item {{ padding: 8px 6px; }}"
        )

    @Slot(str)
    def _on_language(self, language: str) -> None:
        if self._languages is not None and not self._languages.set_language(language):
            self.banner.show_error(
                later(
                    "MainWindow",
                    QT_TRANSLATE_NOOP(
                        "MainWindow", "The translation could not be loaded; the interface stays in English."
                    ),
                ),
                "",
            )
        self.model.engine.report_language = language
        self.pack_model.engine.report_language = language
        self.language_actions[language].setChecked(True)

    @Slot(str)
    def _on_connecting(self, description: str) -> None:
        if not self.model.connected:  # a working connection stays the state shown until replaced
            self.connection_label.setText(fmt(self.tr("Connecting to %1…"), description))

    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None, announce: bool = True) -> None:
        if identity is None or not self.model.connected:
            self.connection_label.setText(self.tr("Not connected"))
            return
        self.connection_label.setText(
            fmt(
                self.tr("%1 · %2 · firmware %3 · %4"),
                identity.model,
                identity.serial_number,
                identity.firmware_version or "—",
                mode_text(identity.mode),
            )
        )
        if not announce:
            return
        if self.pending_package is not None and self._open_when_connected and self._can_update():
            self.open_update_wizard()
            return
        if self.stack.currentIndex() == DEVICES:
            self.show_page(LIVE)

    @Slot(str)
    def _on_busy(self, job: str) -> None:
        self.busy_label.setText(self.tr("Working…") if job else "")

    # --- dialogs ----------------------------------------------------------------------------------
    @Slot()
    def open_update_wizard(self) -> UpdateWizard | None:
        """Open the update wizard (non-modal, so the live page stays visible behind it)."""
        if not self.model.connected or self.model.update_running:
            self.banner.show_error(
                later("MainWindow", QT_TRANSLATE_NOOP("MainWindow", "Connect a battery before updating it.")),
                "",
            )
            return None
        if self.wizard is not None:
            self.wizard.close()
            self.wizard.deleteLater()
        self.wizard = UpdateWizard(self.model, self._packages_dir, self)
        if self.pending_package is not None:
            self.wizard.package_page.select_package(self.pending_package)
            self._set_pending_package(None)
        self.wizard.show()
        return self.wizard

    def open_package(self, path: Path, open_when_connected: bool = False) -> None:
        """Preselect a package the system handed over (argument, file association, file-open event).

        With a battery connected the wizard opens on it at once. Otherwise the package waits,
        announced on the Update page, and is preselected when the wizard opens — by itself as soon
        as a battery answers when ``open_when_connected`` (demo mode), else when the technician
        opens the wizard.
        """
        path = path.expanduser().absolute()
        if path.suffix.lower() != PACKAGE_SUFFIX:
            self.banner.show_error(
                later(
                    "MainWindow",
                    QT_TRANSLATE_NOOP("MainWindow", "%1 is not a firmware package (.bmspkg)."),
                    path.name,
                ),
                later(
                    "MainWindow",
                    QT_TRANSLATE_NOOP("MainWindow", "Open a .bmspkg file from the battery's manufacturer."),
                ),
            )
            return
        if not path.is_file():
            self.banner.show_error(
                later(
                    "MainWindow",
                    QT_TRANSLATE_NOOP("MainWindow", "The package %1 does not exist or cannot be read."),
                    str(path),
                ),
                "",
            )
            return
        self._open_when_connected = open_when_connected
        self._set_pending_package(path)
        if self._can_update():
            self.open_update_wizard()
        else:
            self.show_page(UPDATE)

    def _can_update(self) -> bool:
        """A battery runs its application and no update is under way: the wizard may open."""
        identity = self.model.identity
        return (
            self.model.connected
            and identity is not None
            and identity.mode is DeviceMode.APPLICATION
            and not self.model.update_running
        )

    def _set_pending_package(self, path: Path | None) -> None:
        self.pending_package = path
        self.update_page.show_pending_package(path)

    @Slot(object)
    def open_recovery(self, link: LinkSettings) -> RecoveryDialog:
        dialog = RecoveryDialog(self.model, link, self._packages_dir, self)
        dialog.show()
        return dialog

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.model.update_running:
            self.banner.show_error(
                later(
                    "MainWindow",
                    QT_TRANSLATE_NOOP(
                        "MainWindow",
                        "An update is running: the window closes when it has reached a safe end.",
                    ),
                ),
                "",
            )
            event.ignore()
            return
        if self.pack_model.busy in ("campaign", "rollback"):
            self.banner.show_error(
                later(
                    "MainWindow",
                    QT_TRANSLATE_NOOP(
                        "MainWindow",
                        "A pack campaign is running: the window closes when it has reached a safe end.",
                    ),
                ),
                "",
            )
            event.ignore()
            return
        self.pack_model.close()
        super().closeEvent(event)
