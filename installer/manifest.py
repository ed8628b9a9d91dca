"""What the frozen bmsflasher bundle must contain, and what it must leave out.

PyInstaller finds most code by following ``import`` statements, but three kinds of module are only
ever imported *by name at run time* and vanish silently from a freeze unless listed here:

* python-can backends (``can.interfaces.<name>``), imported when the user picks an adapter;
* pyserial URL handlers (``serial.urlhandler.protocol_<scheme>``), imported for ``socket://``,
  ``rfc2217://``, ``loop://``, ``spy://``, ``hwgrep://``... URLs;
* bmsflasher's own CLI subcommands (``bmsflasher.cli.cmd_*``), listed in ``COMMAND_MODULES``;
* the virtual BMS's front-ends (``bmsflasher.sim.wire.*_frontend``), listed in
  ``bmsflasher.cli.cmd_sim.FRONT_ENDS`` and started by ``bmsflasher sim`` (the GUI demo's device).

The lists are written out, not computed, on purpose: ``tests/integration/test_frozen_spec.py``
compares them with the installed libraries, so a python-can or pyserial upgrade that adds a backend
fails a fast test instead of a technician's adapter. ``installer/build.py`` then checks the built
bundle's archive really holds every module named here.

This module is plain Python with no PyInstaller import, so the spec, the build script and the
tests share one source of truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
APP_NAME: Final = "bmsflasher"
GUI_NAME: Final = "bmsflasher-gui"
BUNDLE_ID: Final = "org.bmsflasher.bmsflasher"
PACKAGE_EXTENSION: Final = ".bmspkg"
PACKAGE_MIME_TYPE: Final = "application/x-bmsflasher-package"

# python-can 4.6 ``can.interfaces.BACKENDS`` values (module part). Vendor libraries (PCANBasic,
# CANlib, vxlapi) are loaded with ctypes when the backend is chosen, from the vendor's install.
CAN_BACKEND_MODULES: Final[tuple[str, ...]] = (
    "can.interfaces.canalystii",
    "can.interfaces.cantact",
    "can.interfaces.etas",
    "can.interfaces.gs_usb",
    "can.interfaces.ics_neovi",
    "can.interfaces.iscan",
    "can.interfaces.ixxat",
    "can.interfaces.kvaser",
    "can.interfaces.neousys",
    "can.interfaces.nican",
    "can.interfaces.nixnet",
    "can.interfaces.pcan",
    "can.interfaces.robotell",
    "can.interfaces.seeedstudio",
    "can.interfaces.serial.serial_can",
    "can.interfaces.slcan",
    "can.interfaces.socketcan",
    "can.interfaces.socketcand",
    "can.interfaces.systec",
    "can.interfaces.udp_multicast",
    "can.interfaces.usb2can",
    "can.interfaces.vector",
    "can.interfaces.virtual",
)

# Every module of pyserial's ``serial/urlhandler`` package.
SERIAL_URL_HANDLER_MODULES: Final[tuple[str, ...]] = (
    "serial.urlhandler.protocol_alt",
    "serial.urlhandler.protocol_cp2110",
    "serial.urlhandler.protocol_hwgrep",
    "serial.urlhandler.protocol_loop",
    "serial.urlhandler.protocol_rfc2217",
    "serial.urlhandler.protocol_socket",
    "serial.urlhandler.protocol_spy",
)

# Imported by name by ``bmsflasher.cli.main.COMMAND_MODULES``; missing ones are skipped silently
# there, so the freeze must name them (the test compares with COMMAND_MODULES).
BMSFLASHER_DYNAMIC_MODULES: Final[tuple[str, ...]] = (
    "bmsflasher.cli.cmd_firmware",
    "bmsflasher.cli.cmd_verify",
    "bmsflasher.cli.cmd_bundle",
    "bmsflasher.cli.cmd_ca",
    "bmsflasher.cli.cmd_campaign",
    "bmsflasher.cli.cmd_sim",
    "bmsflasher.cli.cmd_scan",
    "bmsflasher.cli.cmd_inspect",
    "bmsflasher.cli.cmd_update",
    "bmsflasher.cli.cmd_backup",
    "bmsflasher.cli.cmd_history",
    "bmsflasher.cli.cmd_gui",
    "bmsflasher.cli.cmd_demo",
    "bmsflasher.cli.cmd_log",
    "bmsflasher.cli.cmd_dbc",
    "bmsflasher.gui.app",
)

# Imported by name by ``bmsflasher.cli.cmd_sim.FRONT_ENDS`` ("module:function"); the test compares
# them with FRONT_ENDS. The rest of ``bmsflasher.sim`` is reached by imports (and collected whole
# below), but these are where ``bmsflasher sim`` and the GUI demo's child device start (tcp_serial:
# the demo on Windows, which has no ptys).
SIM_FRONT_END_MODULES: Final[tuple[str, ...]] = (
    "bmsflasher.sim.wire.can_frontend",
    "bmsflasher.sim.wire.serial_frontend",
    "bmsflasher.sim.wire.tcp_serial",
    "bmsflasher.sim.wire.rack_frontend",
)

# Package prefixes whose every submodule is collected: protocol libraries with lazily imported
# service, codec or transport modules (udsoncan services are looked up by class, isotp picks its
# transport at run time, smp message modules are referenced by group).
COLLECT_ALL_SUBMODULES: Final[tuple[str, ...]] = (
    "bmsflasher",
    "can.interfaces",
    "serial.tools",
    "serial.urlhandler",
    "udsoncan",
    "isotp",
    "smp",
    "pymodbus",
)

# Libraries that read their own version or plug-ins through ``importlib.metadata``; without the
# dist-info in the bundle ``bmsflasher --version`` prints 0.0.0+unknown.
METADATA_PACKAGES: Final[tuple[str, ...]] = (
    "bmsflasher",
    "python-can",
    "udsoncan",
    "can-isotp",
    "smp",
    "pyserial",
    "cryptography",
    "imgtool",
    "cbor2",
    "platformdirs",
    "rich",
    "fpdf2",
    "pyqtgraph",
    "numpy",
)

# Third-party packages that ship data files next to their code (fonts, templates, schemas).
DATA_PACKAGES: Final[tuple[str, ...]] = ("udsoncan", "isotp", "fpdf", "can", "imgtool", "sunspec2")
"""``sunspec2`` ships the SunSpec model definitions (``models/json``) that the Modbus live data decodes."""

# Optional adapter libraries: bundled when present in the build environment (see pyproject's
# ``dist`` extra), never required. ``gs_usb`` + ``usb`` serve candleLight on Windows and macOS;
# ``libusb_package`` ships the libusb DLL they need on Windows.
OPTIONAL_ADAPTER_PACKAGES: Final[tuple[str, ...]] = ("gs_usb", "usb", "libusb_package")

# Qt modules the application imports (directly or through pyqtgraph, whose curve item imports
# QtOpenGL and QtOpenGLWidgets at module level). Everything else in PySide6 is excluded: each Qt
# module drags in its shared library and plug-ins.
QT_MODULES_USED: Final[tuple[str, ...]] = (
    "QtCore",
    "QtGui",
    "QtWidgets",
    "QtSvg",
    "QtOpenGL",
    "QtOpenGLWidgets",
)
QT_MODULES_EXCLUDED: Final[tuple[str, ...]] = (
    "Qt3DAnimation",
    "Qt3DCore",
    "Qt3DExtras",
    "Qt3DInput",
    "Qt3DLogic",
    "Qt3DRender",
    "QtBluetooth",
    "QtCharts",
    "QtConcurrent",
    "QtDataVisualization",
    "QtDesigner",
    "QtGraphs",
    "QtHelp",
    "QtLocation",
    "QtMultimedia",
    "QtMultimediaWidgets",
    "QtNetwork",
    "QtNetworkAuth",
    "QtNfc",
    "QtPdf",
    "QtPdfWidgets",
    "QtPositioning",
    "QtPrintSupport",
    "QtQml",
    "QtQuick",
    "QtQuick3D",
    "QtQuickControls2",
    "QtQuickTest",
    "QtQuickWidgets",
    "QtRemoteObjects",
    "QtScxml",
    "QtSensors",
    "QtSerialBus",
    "QtSerialPort",
    "QtSql",
    "QtStateMachine",
    "QtSvgWidgets",
    "QtTest",
    "QtTextToSpeech",
    "QtUiTools",
    "QtWebChannel",
    "QtWebEngineCore",
    "QtWebEngineQuick",
    "QtWebEngineWidgets",
    "QtWebSockets",
    "QtXml",
)

# Pure-Python modules nobody calls at run time: test and dev tools that the environment happens to
# hold, GUI toolkits the app does not use, and optional back-ends of libraries we use. (Not
# ``unittest``: fpdf2 imports it at module level.) tests/integration/test_frozen_spec.py imports
# the whole app with these modules blocked, so an exclusion that breaks an import fails fast.
EXCLUDED_MODULES: Final[tuple[str, ...]] = (
    "tkinter",
    "_tkinter",
    "turtle",
    "idlelib",
    "pydoc_data",
    "lib2to3",
    "test",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "mypy",
    "ruff",
    "importlinter",
    "grimp",
    "IPython",
    "jupyter_client",
    "matplotlib",
    "scipy",
    "pandas",
    "PIL",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "pyqtgraph.examples",
    "pyqtgraph.opengl",
    "pyqtgraph.jupyter",
    "smpclient",
    "setuptools",
    "pkg_resources",
    "jinja2",
    "yaml",
    "pip",
    "PyInstaller",
    *(f"PySide6.{name}" for name in QT_MODULES_EXCLUDED),
)

# Collected files that serve no feature of the app, matched against their path inside the bundle.
# Qt's hooks take every plug-in of a module; these are the ones a desktop or an offscreen run never
# loads: embedded-display platforms (eglfs, linuxfb, vnc, Vulkan KHR display) and their helpers,
# network plug-ins (the app opens no sockets through Qt), the GTK3 theme (it drags in GTK, cairo
# and pango, while the XDG portal theme gives native dialogs without them) and rare image formats.
# Shared libraries needed only by removed files are dropped as well (installer/prune.py).
EXCLUDED_BINARY_PATTERNS: Final[tuple[str, ...]] = (
    "/plugins/platforms/libqeglfs",
    "/plugins/platforms/libqlinuxfb",
    "/plugins/platforms/libqminimalegl",
    "/plugins/platforms/libqvkkhrdisplay",
    "/plugins/platforms/libqvnc",
    "/plugins/egldeviceintegrations/",
    "/plugins/generic/",
    "/plugins/networkinformation/",
    "/plugins/tls/",
    "/plugins/platformthemes/libqgtk3",
    "/plugins/imageformats/libqgif",
    "/plugins/imageformats/libqtga",
    "/plugins/imageformats/libqtiff",
    "/plugins/imageformats/libqwbmp",
    "/plugins/imageformats/libqwebp",
    "/plugins/wayland-graphics-integration-server/",
    "/plugins/qmltooling/",
    "/plugins/designer/",
    "/plugins/sqldrivers/",
    "/plugins/printsupport/",
    "/plugins/networkinformation/",
    "/plugins/platforminputcontexts/libqtvirtualkeyboardplugin",
    "/qnetworklistmanager",
    "/qopensslbackend",
    "/qschannelbackend",
    "/qcertonlybackend",
    "libQt6EglFSDeviceIntegration",
    "libQt6EglFsKmsSupport",
    "/Qt6Pdf",
    "/Qt6Quick",
    "/Qt6Qml",
    "/Qt6VirtualKeyboard",
)

# Qt's own catalogues (standard dialogs, wizard buttons) are kept for the app's languages only.
QT_TRANSLATION_LANGUAGES: Final[tuple[str, ...]] = ("en", "fr", "nl")
QT_TRANSLATION_DOMAINS: Final[tuple[str, ...]] = ("qt", "qtbase")

# Folders shipped as data: (source relative to the repository, destination inside the bundle).
# The package data keep their place in the package, ``_internal/bmsflasher/resources``, where
# PyInstaller's resource reader serves ``importlib.resources.files("bmsflasher")`` (the same lookup as
# an editable or wheel install). ``drivers`` sits at the bundle root (``sys._MEIPASS``, see
# ``bmsflasher.core.resources.install_root``) so the app can link to the per-OS guidance.
PACKAGE_RESOURCES: Final = "src/bmsflasher/resources"
BUNDLED_RESOURCES: Final = "bmsflasher/resources"
DATA_TREES: Final[tuple[tuple[str, str], ...]] = (
    (PACKAGE_RESOURCES, BUNDLED_RESOURCES),
    ("drivers", "drivers"),
)

# Inside DATA_TREES, files that serve only developers (translation sources, notes).
EXCLUDED_DATA_SUFFIXES: Final[tuple[str, ...]] = (".ts", ".pyc", ".orig", ".rej", "~")


def required_frozen_modules() -> tuple[str, ...]:
    """Every module the built archive must contain, checked after each build."""
    return (
        *CAN_BACKEND_MODULES,
        *SERIAL_URL_HANDLER_MODULES,
        *BMSFLASHER_DYNAMIC_MODULES,
        *SIM_FRONT_END_MODULES,
    )


def hidden_imports() -> tuple[str, ...]:
    """Modules handed to PyInstaller's ``hiddenimports`` (by-name imports it cannot see)."""
    return required_frozen_modules()


def data_files(root: Path = REPO_ROOT) -> list[tuple[str, str]]:
    """(source file, destination folder) pairs for every shipped data file under DATA_TREES."""
    pairs: list[tuple[str, str]] = []
    for source, destination in DATA_TREES:
        base = root / source
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.name.endswith(EXCLUDED_DATA_SUFFIXES):
                continue
            if "__pycache__" in path.parts:
                continue
            relative_parent = path.relative_to(base).parent
            target = Path(destination) / relative_parent
            pairs.append((str(path), target.as_posix()))
    return pairs


def is_excluded_binary(destination: str) -> bool:
    """True when a collected file serves no feature of the app (see EXCLUDED_BINARY_PATTERNS)."""
    normalised = "/" + destination.replace("\\", "/")
    if any(pattern in normalised for pattern in EXCLUDED_BINARY_PATTERNS):
        return True
    return _is_unused_qt_translation(normalised)


def _is_unused_qt_translation(normalised: str) -> bool:
    """Qt catalogues of languages the app does not offer (``.../translations/qtbase_de.qm``)."""
    folder, _, name = normalised.rpartition("/")
    if not folder.endswith("/translations") or not name.endswith(".qm"):
        return False
    domain, _, language = name.removesuffix(".qm").partition("_")
    if domain not in QT_TRANSLATION_DOMAINS:
        return True
    return language.split("_")[0] not in QT_TRANSLATION_LANGUAGES
