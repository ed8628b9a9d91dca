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
    assert re.search(r"^\tenv -u QT_QPA_PLATFORM \$\(PY\) -m bmsflasher\.cli\.main gui --demo$", recipe, re.M)
    assert re.search(r"^\t@env -u QT_QPA_PLATFORM \$\(PY\) -m bmsflasher\.gui\.display_setup$", recipe, re.M)
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


# --- make demo's set-up step: install what Qt needs where this machine allows it ----------------------------
def _setup(  # type: ignore[no-untyped-def]
    missing: set[str], *, root: bool = True, release: str = DEBIAN, environ: dict[str, str] | None = None
):
    from bmsflasher.gui.display_setup import install_missing

    installed: set[str] = set()
    commands: list[list[str]] = []

    def loads(soname: str) -> bool:
        return soname not in missing or soname in installed

    def run(command) -> int:  # type: ignore[no-untyped-def]
        commands.append(list(command))
        if command[:2] == ["apt-get", "install"]:
            by_package = {row[1]: row[0] for row in XCB_LIBRARIES}
            installed.update(by_package[name] for name in command if name in by_package)
        return 0

    lines: list[str] = []
    machine = Machine("linux", environ if environ is not None else {"DISPLAY": ":0"}, loads, release)
    ok = install_missing(machine, is_root=root, has_apt=True, run=run, out=lines.append)
    return ok, commands, lines


def test_make_demo_installs_the_missing_libraries_as_root_on_debian() -> None:
    ok, commands, lines = _setup({"libxcb-icccm.so.4", "libxcb-keysyms.so.1"})
    assert ok
    apt = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    assert commands == [[*apt, "libxcb-icccm4", "libxcb-keysyms1"]]
    assert "libxcb-icccm4 libxcb-keysyms1" in lines[0]


def test_make_demo_installs_nothing_without_root_or_off_debian_and_leaves_the_sentence_to_the_gui() -> None:
    assert _setup({"libxcb-icccm.so.4"}, root=False)[1] == []
    assert _setup({"libxcb-icccm.so.4"}, release=FEDORA)[1] == []


def test_make_demo_installs_nothing_when_nothing_is_missing_or_there_is_no_display() -> None:
    assert _setup(set()) == (True, [], [])
    assert _setup({"libxcb-icccm.so.4"}, environ={})[1] == []
    assert _setup({"libxcb-icccm.so.4"}, environ={"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})[1] == []
