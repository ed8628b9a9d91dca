"""`make demo` without a display, or without Qt's X11 libraries, says so in one sentence (issue 14).

Before: "Aborted" and a core dump inside Qt without a display; on a fresh Debian desktop a Qt
message about libxcb-cursor0 when libxcb-icccm4 and libxcb-keysyms1 were what was missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bmsflasher.gui.display_check import XCB_LIBRARIES, DisplayUnavailableError, Machine, display_problem

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = "ID=ubuntu\nID_LIKE=debian\n"
FEDORA = 'ID=fedora\nVERSION_ID="40"\n'
ROOT = Path(__file__).resolve().parents[2]


def machine(environ: dict[str, str], missing: set[str] = frozenset(), release: str = DEBIAN) -> Machine:  # type: ignore[assignment]
    return Machine("linux", environ, lambda soname: soname not in missing, release)


def test_no_display_is_one_sentence_pointing_at_the_cli_demo() -> None:
    problem = display_problem(machine({}))
    assert isinstance(problem, DisplayUnavailableError)
    assert "make demo-cli" in problem.message
    assert problem.message.count(". ") == 0  # one sentence


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "offscreen:fontengine=freetype"])
def test_headless_platforms_need_no_display(platform: str) -> None:
    assert display_problem(machine({"QT_QPA_PLATFORM": platform})) is None


def test_wayland_session_needs_no_xcb_libraries() -> None:
    everything = {row[0] for row in XCB_LIBRARIES}
    assert display_problem(machine({"WAYLAND_DISPLAY": "wayland-0"}, everything)) is None


def test_x11_with_every_library_is_fine() -> None:
    assert display_problem(machine({"DISPLAY": ":0"})) is None


def test_missing_xcb_libraries_are_named_with_the_debian_install_command() -> None:
    problem = display_problem(machine({"DISPLAY": ":0"}, {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}))
    assert problem is not None
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem.message
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in problem.message
    assert "libxcb-cursor" not in problem.message  # the misleading Qt message named this one


def test_install_command_follows_the_distribution() -> None:
    missing = {"libxcb-icccm.so.4"}
    ubuntu = display_problem(machine({"DISPLAY": ":0"}, missing, UBUNTU))
    fedora = display_problem(machine({"DISPLAY": ":0"}, missing, FEDORA))
    other = display_problem(machine({"DISPLAY": ":0"}, missing, "ID=gentoo\n"))
    assert ubuntu is not None
    assert "sudo apt install libxcb-icccm4" in ubuntu.message
    assert fedora is not None
    assert "sudo dnf install xcb-util-wm" in fedora.message
    assert other is not None
    assert "distribution's packages" in other.message


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_are_not_checked(platform: str) -> None:
    assert display_problem(Machine(platform, {}, lambda _s: False)) is None


def test_the_demo_command_without_a_display_exits_within_5_s_without_a_qt_abort(tmp_path: Path) -> None:
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(
        r"^demo: .*\n\tenv -u QT_QPA_PLATFORM \$\(PY\) -m bmsflasher\.cli\.main gui --demo$", recipe, re.M
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    env["HOME"] = str(tmp_path)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", "gui", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed_s = time.monotonic() - started
    assert result.returncode == DisplayUnavailableError.exit_code, result.stderr
    assert result.returncode > 0  # never a signal (a Qt abort is -6)
    assert "Aborted" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "make demo-cli" in lines[0]
    assert elapsed_s < 5.0, f"took {elapsed_s:.1f} s"
