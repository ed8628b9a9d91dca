"""A wheel built from the tree works on its own, outside the source tree.

The wheel is built with pip from a copy of the working tree (so the build's own output never lands
in the tree), installed into a fresh virtual environment under the test's temporary folder, and run
there with the working directory outside the tree and ``PYTHONPATH`` unset. The new environment
borrows the project environment's third-party libraries through a ``.pth`` line (nothing is
downloaded); that folder is only appended to ``sys.path``, so its editable-install hook is never
processed and ``bmsflasher`` itself can come only from the wheel. Then: the wheel holds every
resource and no junk, ``bmsflasher verify`` accepts a demo package with the demo key at the
paths the installed package reports, ``bmsflasher demo`` updates a virtual BMS end to end, and a
GUI catalogue is compiled from the shipped translation source into the user's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 240.0
RUN_TIMEOUT_S = 120.0
DEMO_PACKAGE = ("demo", "packages", "VBMS-16-1.1.0.bmspkg")
DEMO_PUBLIC_KEY = ("demo", "demo-key.pub.pem")

# Top-level folders of a developer's tree that are no input of a wheel (environments, caches, output).
_NOT_SOURCES = {
    ".git",
    ".venv",
    "build",
    "dist",
    "state",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".import_linter_cache",
}
# Left in the copy on purpose: what a developer's tree holds and a wheel must not (see test below).
_STRAY_CATALOGUE = "bmsflasher_nl.qm"

# Runs in the new environment; everything the tests need to know about the installed package.
_PROBE = textwrap.dedent(
    """
    import json, sys
    import bmsflasher
    from bmsflasher.core.resources import install_root, resource_path, resources_dir
    from bmsflasher.discovery.driver_guidance import load_guidance
    print(json.dumps({
        "module": bmsflasher.__file__,
        "resources": str(resources_dir()),
        "package": str(resource_path(*sys.argv[1].split("/"))),
        "trust": str(resource_path(*sys.argv[2].split("/"))),
        "install_root": None if install_root() is None else str(install_root()),
        "guidance_entries": len(load_guidance().entries),
        "sys_path": sys.path,
        "editable_hooks": sorted(
            [name for name in sys.modules if "__editable__" in name]
            + [repr(f) for f in sys.meta_path if "__editable__" in repr(f)]
        ),
    }))
    """
)

_TRANSLATION = textwrap.dedent(
    """
    import json
    from PySide6.QtCore import QTranslator
    from bmsflasher.gui.i18n import ensure_compiled
    path = ensure_compiled("nl")
    translator = QTranslator()
    loaded = path is not None and translator.load(str(path))
    print(json.dumps({"path": None if path is None else str(path), "loaded": loaded,
                      "text": translator.translate("LivePage", "Live data")}))
    """
)


@dataclass(frozen=True)
class Installed:
    """The built wheel and the environment it was installed into."""

    tree: Path
    wheel: Path
    venv: Path
    site_packages: Path
    borrowed: tuple[Path, ...]
    env: Mapping[str, str]
    cwd: Path
    cache: Path

    def program(self, name: str) -> Path:
        scripts = self.venv / ("Scripts" if sys.platform == "win32" else "bin")
        return scripts / (f"{name}.exe" if sys.platform == "win32" else name)

    def run(self, *argv: str | Path, timeout_s: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=self.cwd,
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def python(self, code: str, *args: str) -> dict[str, object]:
        result = self.run(self.program("python"), "-c", code, *args)
        assert result.returncode == 0, result.stderr[-3000:]
        data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
        return data


def _copy_tree(destination: Path) -> Path:
    """The working tree as a build sees it: sources, docs and tests, with their __pycache__ junk."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_SOURCES} if Path(folder) == ROOT else set()

    shutil.copytree(ROOT, destination, ignore=ignore, symlinks=True)
    stray = destination / "src" / "bmsflasher" / "resources" / "i18n" / _STRAY_CATALOGUE
    if not stray.exists():
        stray.write_bytes(b"left by make translations")
    return destination


def _checked(command: list[str], what: str, **kwargs: object) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False, **kwargs
    )
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def _clean_env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "BMSFLASHER_RESOURCES"}
    }
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        QT_QPA_PLATFORM="offscreen",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(ROOT), "the temporary folder must lie outside the tree"
    tree = _copy_tree(base / "tree")
    wheels = base / "wheels"
    # Build isolation fetches the setuptools pyproject.toml asks for (the environment's may be older).
    _checked(
        [sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "-w", str(wheels), "-q"],
        "pip wheel",
        cwd=base,
    )
    (wheel,) = wheels.glob("bmsflasher-*.whl")

    venv = base / "venv"
    _checked([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv")
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    _checked([*install, str(wheel)], "pip install of the wheel", cwd=base)
    probe = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=RUN_TIMEOUT_S,
    )
    site_packages = Path(probe.stdout.strip())
    borrowed = tuple(sorted({Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}))
    lines = "".join(f"{folder}\n" for folder in borrowed)
    (site_packages / "borrowed-runtime-deps.pth").write_text(lines, encoding="utf-8")

    home = base / "home"
    cwd = base / "elsewhere"
    for folder in (home, cwd):
        folder.mkdir()
    return Installed(tree, wheel, venv, site_packages, borrowed, _clean_env(home), cwd, home / "cache")


def test_wheel_holds_the_package_and_every_resource_and_no_junk(installed: Installed) -> None:
    package = installed.tree / "src" / "bmsflasher"  # the snapshot the wheel was built from
    with zipfile.ZipFile(installed.wheel) as archive:
        names = {name for name in archive.namelist() if not name.endswith("/")}
    dist_info = {name for name in names if name.split("/")[0].endswith(".dist-info")}
    assert {name.split("/")[0] for name in names - dist_info} == {"bmsflasher"}
    expected = {f"bmsflasher/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    expected.add("bmsflasher/py.typed")
    resources = {
        f"bmsflasher/{p.relative_to(package).as_posix()}"
        for p in (package / "resources").rglob("*")
        if p.is_file() and p.suffix != ".qm" and "__pycache__" not in p.parts
    }
    assert len(resources) > 40  # profiles, adapters, troubleshooting, demo assets, .ts, icons
    assert {"bmsflasher/resources/i18n/bmsflasher_nl.ts", "bmsflasher/resources/profiles/default.json"} <= (
        resources
    )
    missing = sorted((expected | resources) - names)
    assert not missing, f"not in the wheel: {missing[:10]}"
    extra = sorted((names - dist_info) - expected - resources)
    assert not extra, f"junk in the wheel (a compiled catalogue, bytecode, tests...): {extra[:10]}"


def test_installed_package_is_the_wheel_not_the_source_tree(installed: Installed) -> None:
    report = installed.python(_PROBE, "/".join(DEMO_PACKAGE), "/".join(DEMO_PUBLIC_KEY))
    module = Path(str(report["module"]))
    assert module.is_relative_to(installed.site_packages), module
    assert Path(str(report["resources"])) == installed.site_packages / "bmsflasher" / "resources"
    sys_path = [Path(entry).resolve() for entry in report["sys_path"] if entry]  # type: ignore[attr-defined]
    assert set(installed.borrowed) <= set(sys_path)
    from_the_tree = [p for p in sys_path if p.is_relative_to(ROOT) and p not in installed.borrowed]
    assert not from_the_tree  # neither src/ nor the editable install's path hook
    assert report["editable_hooks"] == []
    # The driver guides ship with the installers, not the wheel: absent without complaint.
    assert report["install_root"] is None
    assert report["guidance_entries"] == 0


def test_verify_accepts_a_demo_package_in_the_installed_package(installed: Installed) -> None:
    report = installed.python(_PROBE, "/".join(DEMO_PACKAGE), "/".join(DEMO_PUBLIC_KEY))
    package, trust = Path(str(report["package"])), Path(str(report["trust"]))
    for path in (package, trust):
        assert path.is_relative_to(installed.site_packages), path
    result = installed.run(installed.program("bmsflasher"), "verify", package, "--trust", trust, "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is True
    assert verdict["manifest"]["version"] == "1.1.0"


@pytest.mark.skipif(sys.platform == "win32", reason="the command-line demo needs a pseudo-terminal")
def test_demo_updates_a_virtual_bms_from_the_installed_package(installed: Installed) -> None:
    result = installed.run(installed.program("bmsflasher"), "demo")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "The device now runs 1.1.0" in result.stdout


def test_gui_translation_compiles_into_the_cache_not_the_package(installed: Installed) -> None:
    report = installed.python(_TRANSLATION)
    assert report["loaded"] is True
    assert report["text"] == "Live gegevens"
    assert Path(str(report["path"])).is_relative_to(installed.cache)
    assert not list((installed.site_packages / "bmsflasher").rglob("*.qm"))
