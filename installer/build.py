"""Build the bmsflasher desktop distribution for the operating system this runs on.

``make dist`` runs this script. Steps, each of which stops the build with one clear sentence on
failure:

1. compile the GUI translations (``.qm``) so the bundle ships them (``.ts`` sources stay out);
2. render the application icon (``.ico``, ``.icns``, ``.png``) from the package's
   ``resources/icons/app.svg``;
3. run PyInstaller on ``installer/bmsflasher.spec`` (one folder, two programs);
4. check the bundle: every by-name module of ``installer/manifest.py`` is in its archive, the
   resources and driver guidance are present, and the frozen ``bmsflasher --version`` answers;
5. wrap it for the OS: Linux tarball with ``install.sh``; Windows Inno Setup installer (when
   ``ISCC.exe`` is found); macOS ``.dmg`` (``installer/macos/make_dmg.sh``).

Usage: ``python installer/build.py [--dist DIR] [--work DIR] [--skip-package] [--clean]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import icons  # noqa: E402
import manifest  # noqa: E402

ROOT = manifest.REPO_ROOT
SPEC = HERE / "bmsflasher.spec"
VERSION_TIMEOUT_S = 60.0
TOOL_TIMEOUT_S = 1800.0


class BuildError(Exception):
    """A build step failed; the message is one sentence for the person running the build."""


def project_version() -> str:
    """The version in pyproject.toml (the one the frozen ``--version`` must print)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def os_tag() -> str:
    """``linux-x86_64``, ``windows-amd64``, ``macos-arm64``... for archive names."""
    system = {"linux": "linux", "win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    return f"{system}-{platform.machine().lower()}"


def frozen_executable(bundle_dir: Path, name: str = manifest.APP_NAME) -> Path:
    """Path of one program inside the one-folder bundle (``.exe`` on Windows)."""
    suffix = ".exe" if sys.platform == "win32" else ""
    return bundle_dir / f"{name}{suffix}"


def internal_dir(bundle_dir: Path) -> Path:
    """PyInstaller 6's folder holding the runtime, libraries and data (``sys._MEIPASS``)."""
    return bundle_dir / "_internal"


def _run(command: Sequence[str], what: str, timeout_s: float = TOOL_TIMEOUT_S, **kwargs: object) -> None:
    print(f"==> {what}: {' '.join(str(c) for c in command)}", flush=True)
    try:
        result = subprocess.run(list(command), timeout=timeout_s, check=False, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise BuildError(f"{what} failed: {command[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{what} did not finish within {timeout_s:.0f} s") from exc
    if result.returncode != 0:
        raise BuildError(f"{what} failed with exit code {result.returncode} (see the output above)")


def compile_translations() -> list[Path]:
    """Build the package's ``resources/i18n/*.qm`` from the ``.ts`` sources; returns the ``.qm`` present."""
    i18n = ROOT / manifest.PACKAGE_RESOURCES / "i18n"
    sources = sorted(i18n.glob("*.ts")) if i18n.is_dir() else []
    if sources:
        _run([sys.executable, "-m", "bmsflasher.gui.i18n_build"], "compile translations", cwd=ROOT)
        missing = [ts.name for ts in sources if not ts.with_suffix(".qm").is_file()]
        if missing:
            raise BuildError(f"translations were not compiled for {', '.join(missing)}")
    else:
        print("==> compile translations: no .ts sources yet, the bundle will be English only")
    return sorted(i18n.glob("*.qm")) if i18n.is_dir() else []


def render_icons(work_dir: Path) -> Path:
    """Render the icon set into ``work_dir/icons`` (read by the spec through BMSFLASHER_ICON_DIR)."""
    out_dir = work_dir / "icons"
    icons.write_icons(ROOT / manifest.PACKAGE_RESOURCES / "icons" / "app.svg", out_dir)
    print(f"==> icons: {out_dir}")
    return out_dir


def run_pyinstaller(dist_dir: Path, work_dir: Path, icon_dir: Path, clean: bool) -> Path:
    """Freeze the app; returns the one-folder bundle directory."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError as exc:
        raise BuildError("PyInstaller is not installed: run pip install -e '.[dist]' first") from exc
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist_dir),
        "--workpath",
        str(work_dir / "pyinstaller"),
    ]
    if clean:
        command.append("--clean")
    env = dict(os.environ, BMSFLASHER_ICON_DIR=str(icon_dir))
    _run([*command, str(SPEC)], "PyInstaller", cwd=ROOT, env=env)
    bundle = dist_dir / manifest.APP_NAME
    if not frozen_executable(bundle).is_file():
        raise BuildError(f"PyInstaller finished but {frozen_executable(bundle)} is missing")
    return bundle


def archived_modules(bundle_dir: Path) -> set[str]:
    """Names of the Python modules inside the bundle's PYZ archive (read from the executable)."""
    from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader

    archive = CArchiveReader(str(frozen_executable(bundle_dir)))
    names: set[str] = set()
    for name, entry in archive.toc.items():
        if entry[-1] == "z":  # the embedded PYZ
            pyz = archive.open_embedded_archive(name)
            assert isinstance(pyz, ZlibArchiveReader)
            names |= set(pyz.toc)
    return names


def check_bundle(bundle_dir: Path) -> list[str]:
    """Problems found in a built bundle (empty when it is complete)."""
    problems: list[str] = []
    present = archived_modules(bundle_dir)
    missing = [name for name in manifest.required_frozen_modules() if name not in present]
    if missing:
        problems.append(f"modules missing from the archive: {', '.join(missing)}")
    meipass = internal_dir(bundle_dir)
    for source, destination in manifest.DATA_TREES:
        for path in sorted((ROOT / source).rglob("*")):
            if path.is_file() and not path.name.endswith(manifest.EXCLUDED_DATA_SUFFIXES):
                relative = path.relative_to(ROOT / source)
                if not (meipass / destination / relative).is_file():
                    problems.append(f"data file missing from the bundle: {destination}/{relative.as_posix()}")
    dangling = [
        p.relative_to(bundle_dir).as_posix()
        for p in bundle_dir.rglob("*")
        if p.is_symlink() and not p.exists()
    ]
    if dangling:
        problems.append(f"links to files that were left out: {', '.join(sorted(dangling))}")
    leaked = [p.name for p in (meipass / manifest.BUNDLED_RESOURCES).rglob("*.ts")]
    if leaked:
        problems.append(f"translation sources leaked into the bundle: {', '.join(leaked)}")
    for name in (manifest.APP_NAME, manifest.GUI_NAME):
        if not frozen_executable(bundle_dir, name).is_file():
            problems.append(f"program missing: {frozen_executable(bundle_dir, name).name}")
    return problems


def check_version(bundle_dir: Path) -> str:
    """Run the frozen ``bmsflasher --version``; returns its output line."""
    executable = frozen_executable(bundle_dir)
    try:
        result = subprocess.run(
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"the frozen {executable.name} --version did not answer within 60 s") from exc
    line = (result.stdout or result.stderr).strip()
    expected = f"{manifest.APP_NAME} {project_version()}"
    if result.returncode != 0 or line != expected:
        raise BuildError(f"the frozen {executable.name} --version printed {line!r}, expected {expected!r}")
    return line


def bundle_size_bytes(folder: Path) -> int:
    """Total size of the files under ``folder`` (symlinks counted once, as links)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def package_linux(bundle_dir: Path, dist_dir: Path, icon_dir: Path) -> Path:
    """``bmsflasher-<version>-linux-<arch>.tar.gz`` with the bundle, install.sh and desktop files."""
    stem = f"{manifest.APP_NAME}-{project_version()}-{os_tag()}"
    staging = dist_dir / stem
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    shutil.copytree(bundle_dir, staging / manifest.APP_NAME, symlinks=True)
    linux = HERE / "linux"
    for name in ("install.sh", "README.txt"):
        shutil.copy2(linux / name, staging / name)
    share = staging / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(linux / "bmsflasher.desktop", share / "applications" / "bmsflasher.desktop")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(linux / "bmsflasher-mime.xml", share / "mime" / "packages" / "bmsflasher.xml")
    png_dir = share / "icons" / "hicolor" / "256x256" / "apps"
    svg_dir = share / "icons" / "hicolor" / "scalable" / "apps"
    png_dir.mkdir(parents=True)
    svg_dir.mkdir(parents=True)
    shutil.copy2(icon_dir / "bmsflasher.png", png_dir / "bmsflasher.png")
    shutil.copy2(icon_dir / "bmsflasher.svg", svg_dir / "bmsflasher.svg")
    shutil.copytree(ROOT / "drivers" / "linux", staging / "drivers" / "linux")
    shutil.copy2(ROOT / "LICENSE", staging / "LICENSE")
    archive = dist_dir / f"{stem}.tar.gz"
    print(f"==> tarball: {archive}", flush=True)
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(staging, arcname=stem)
    shutil.rmtree(staging)
    return archive


def package_windows(dist_dir: Path, icon_dir: Path) -> Path | None:
    """Run Inno Setup's compiler on ``installer/windows/bmsflasher.iss`` when it is installed."""
    iscc = shutil.which("ISCC") or shutil.which("iscc")
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        candidate = Path(base or "") / "Inno Setup 6" / "ISCC.exe"
        if not iscc and base and candidate.is_file():
            iscc = str(candidate)
    if not iscc:
        print("==> installer: Inno Setup 6 (ISCC.exe) not found; the one-folder build is in", dist_dir)
        return None
    defines = [
        f"/DAppVersion={project_version()}",
        f"/DBundleDir={dist_dir / manifest.APP_NAME}",
        f"/DIconFile={icon_dir / 'bmsflasher.ico'}",
        f"/DRepoRoot={ROOT}",
        f"/O{dist_dir}",
    ]
    _run([iscc, *defines, str(HERE / "windows" / "bmsflasher.iss")], "Inno Setup")
    return dist_dir / f"{manifest.APP_NAME}-{project_version()}-setup.exe"


def package_macos(dist_dir: Path) -> Path:
    """Make the ``.dmg`` around ``dist/bmsflasher.app``."""
    dmg = dist_dir / f"{manifest.APP_NAME}-{project_version()}-{os_tag()}.dmg"
    _run(
        ["bash", str(HERE / "macos" / "make_dmg.sh"), str(dist_dir / f"{manifest.APP_NAME}.app"), str(dmg)],
        "disk image",
    )
    return dmg


def build(dist_dir: Path, work_dir: Path, *, package: bool, clean: bool) -> dict[str, object]:
    """Run every step; returns a summary (paths, sizes, durations) that the tests and benchmark read."""
    started = time.monotonic()
    work_dir.mkdir(parents=True, exist_ok=True)
    qm_files = compile_translations()
    icon_dir = render_icons(work_dir)
    bundle = run_pyinstaller(dist_dir, work_dir, icon_dir, clean)
    problems = check_bundle(bundle)
    if problems:
        raise BuildError("the bundle is incomplete: " + "; ".join(problems))
    version_line = check_version(bundle)
    print(f"==> check: complete; {version_line}")
    artefact: Path | None = None
    if package:
        if sys.platform.startswith("linux"):
            artefact = package_linux(bundle, dist_dir, icon_dir)
        elif sys.platform == "win32":
            artefact = package_windows(dist_dir, icon_dir)
        elif sys.platform == "darwin":
            artefact = package_macos(dist_dir)
    summary: dict[str, object] = {
        "bundle": str(bundle),
        "bundle_size_bytes": bundle_size_bytes(bundle),
        "translations": [p.name for p in qm_files],
        "artefact": str(artefact) if artefact else None,
        "artefact_size_bytes": artefact.stat().st_size if artefact and artefact.is_file() else None,
        "build_s": round(time.monotonic() - started, 1),
    }
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="installer/build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="work folder (default build/)")
    parser.add_argument("--skip-package", action="store_true", help="stop after the checked bundle")
    parser.add_argument("--clean", action="store_true", help="discard PyInstaller's cache first")
    args = parser.parse_args(argv)
    try:
        summary = build(
            args.dist.resolve(), args.work.resolve(), package=not args.skip_package, clean=args.clean
        )
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size_mb = int(summary["bundle_size_bytes"]) / 1e6  # type: ignore[call-overload]
    print(f"==> done in {summary['build_s']} s: {summary['bundle']} ({size_mb:.0f} MB)")
    if summary["artefact"]:
        print(f"==> distributable: {summary['artefact']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
