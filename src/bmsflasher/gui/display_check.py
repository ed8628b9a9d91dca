"""Can Qt open a window here? Answer before Qt tries, in one sentence a technician can act on.

Without a display Qt's xcb plugin aborts the whole process ("Aborted", a core dump); on a fresh
Linux desktop without ``libxcb-icccm4`` and friends it aborts with a message about
``libxcb-cursor0`` that names the wrong package. Both are detected here, without importing Qt,
by looking at the environment and trying to load the X11 libraries Qt's xcb plugin needs.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t

HEADLESS_PLATFORMS: Final = frozenset({"offscreen", "minimal", "vnc", "eglfs", "linuxfb"})
"""Qt platform plugins that need no window system (tests, kiosks, remote sessions)."""

XCB_LIBRARIES: Final = (
    # (soname Qt's xcb plugin loads, Debian/Ubuntu package, Fedora package, Arch package)
    ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    ("libxcb-image.so.0", "libxcb-image0", "xcb-util-image", "xcb-util-image"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    ("libxcb-randr.so.0", "libxcb-randr0", "libxcb", "libxcb"),
    ("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    ("libxcb-shape.so.0", "libxcb-shape0", "libxcb", "libxcb"),
    ("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb", "libxcb"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
)

_INSTALLERS: Final = {
    "debian": ("sudo apt install", 1),
    "fedora": ("sudo dnf install", 2),
    "arch": ("sudo pacman -S", 3),
}


class DisplayUnavailableError(BmsFlasherError):
    """Qt cannot open a window on this machine (no display, or missing X11 libraries)."""

    exit_code = 9


@dataclass(frozen=True, slots=True)
class Machine:
    """What the check looks at; tests build one, :func:`this_machine` reads the real one."""

    platform: str
    environ: Mapping[str, str]
    can_load: Callable[[str], bool]
    os_release: str = ""


def _can_load(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def this_machine(environ: Mapping[str, str]) -> Machine:
    """The running machine (``environ`` is passed so the caller decides which environment counts)."""
    try:
        release = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        release = ""
    return Machine(sys.platform, environ, _can_load, release)


def family_of(os_release: str) -> str:
    """``debian`` (Ubuntu too), ``fedora``, ``arch`` or "" from ``/etc/os-release``'s ID and ID_LIKE."""
    fields: dict[str, str] = {}
    for line in os_release.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"').lower()
    names = {fields.get("ID", ""), *fields.get("ID_LIKE", "").split()}
    for family in ("debian", "fedora", "arch"):
        if family in names or (family == "debian" and "ubuntu" in names):
            return family
    return ""


def display_problem(machine: Machine) -> DisplayUnavailableError | None:
    """Why Qt could not open a window here, or None when it should be able to."""
    if not machine.platform.startswith("linux"):
        return None  # Windows and macOS always have their native platform plugin
    platform = machine.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform in HEADLESS_PLATFORMS:
        return None
    has_x11 = bool(machine.environ.get("DISPLAY"))
    has_wayland = bool(machine.environ.get("WAYLAND_DISPLAY"))
    if not has_x11 and not has_wayland:
        return DisplayUnavailableError(
            t(
                "No graphical display is available here (neither DISPLAY nor WAYLAND_DISPLAY is set), so "
                "the window cannot open; run the command-line demo with 'make demo-cli' (or 'bmsflasher "
                "demo') instead, or start the GUI from a desktop session."
            )
        )
    if not has_x11 or platform == "wayland":
        return None  # Qt uses its Wayland plugin, which needs none of the xcb libraries
    missing = [row for row in XCB_LIBRARIES if not machine.can_load(row[0])]
    if not missing:
        return None
    family = family_of(machine.os_release)
    installer = _INSTALLERS.get(family)
    if installer is not None:
        command, column = installer
        packages = sorted({str(row[column]) for row in missing})
        how = t("install them with: {command}", command=f"{command} {' '.join(packages)}")
    else:
        how = t("install your distribution's packages that provide them")
    names = ", ".join(row[0] for row in missing)
    return DisplayUnavailableError(
        t(
            "The window cannot open because X11 libraries Qt needs are missing ({names}); {how} — or run "
            "'make demo-cli' for the command-line demo.",
            names=names,
            how=how,
        )
    )
