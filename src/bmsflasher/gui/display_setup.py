"""``make demo``'s set-up step: install the X11 libraries Qt's xcb plugin needs, where this machine lets us.

A fresh Debian desktop lacks ``libxcb-icccm4`` and ``libxcb-keysyms1`` (among others), and Qt then
aborts. The README promises that ``make demo`` does all the set-up, so when a display is present,
libraries are missing, the family's package manager is apt and the command runs as root, they are
installed here (a visible, bounded ``apt-get install``). Otherwise nothing is installed and the GUI's
own check (:mod:`bmsflasher.gui.display_check`) explains in one sentence what to run. No Qt import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Final

from bmsflasher.core.i18n import language_from_environment, localise, t
from bmsflasher.gui.display_check import XCB_LIBRARIES, Machine, family_of, this_machine

INSTALL_TIMEOUT_S: Final = 600.0
"""apt-get downloads a few hundred kilobytes; the bound only stops a hung mirror from hanging make."""

Runner = Callable[[Sequence[str]], int]


def _run(command: Sequence[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(list(command), check=False, timeout=INSTALL_TIMEOUT_S, env=env).returncode
    except (OSError, subprocess.TimeoutExpired):
        return 1


def missing_packages(machine: Machine) -> list[str]:
    """Debian package names of the xcb libraries this X11 session lacks (empty when nothing is missing)."""
    env = machine.environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if not machine.platform.startswith("linux") or not env.get("DISPLAY") or platform not in ("", "xcb"):
        return []
    return sorted({row[1] for row in XCB_LIBRARIES if not machine.can_load(row[0])})


def install_missing(
    machine: Machine, *, is_root: bool, has_apt: bool, run: Runner = _run, out: Callable[[str], None] = print
) -> bool:
    """Install what is missing when allowed; True when nothing is missing any more (or nothing was)."""
    packages = missing_packages(machine)
    if not packages:
        return True
    if family_of(machine.os_release) != "debian" or not is_root or not has_apt:
        return False  # the GUI's check says what to run, in one sentence
    sentence = t("Installing the X11 libraries Qt needs: {packages}", packages=" ".join(packages))
    out(localise(sentence, language_from_environment()))
    if run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]) != 0:
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages])
    return not missing_packages(machine)


def main() -> int:
    """Always exits 0: a failed install is explained by the GUI's own check right after."""
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    install_missing(this_machine(os.environ), is_root=is_root, has_apt=shutil.which("apt-get") is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
