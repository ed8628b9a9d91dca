"""Locate the shipped resources (profiles, adapter table, demo packages, translations, icons).

They are package data, ``bmsflasher/resources/``, found through ``importlib.resources`` so the
same lookup serves every installation: an editable install (the source tree's
``src/bmsflasher/resources``), a wheel (``site-packages/bmsflasher/resources``) and the
PyInstaller bundle (``_internal/bmsflasher/resources``, served by PyInstaller's resource reader).
``BMSFLASHER_RESOURCES`` overrides the folder for packagers and tests.

Files that ship *beside* the package rather than in it, the driver guides under ``drivers/``, live
in the installation's root: see :func:`install_root`. Only path arithmetic happens here; reading
is the caller's business.
"""

from __future__ import annotations

import importlib.resources
import os
import sys
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t

PACKAGE: Final = "bmsflasher"
RESOURCES_FOLDER: Final = "resources"
OVERRIDE_VARIABLE: Final = "BMSFLASHER_RESOURCES"


def packaged_resources_dir() -> Path:
    """The ``resources`` folder inside the installed ``bmsflasher`` package.

    Raises:
        BmsFlasherError: the package is imported from somewhere its data are not plain files
            (a zip archive), which bmsflasher does not support: Qt, pyserial and the journal
            need real paths.
    """
    folder = importlib.resources.files(PACKAGE).joinpath(RESOURCES_FOLDER)
    if not isinstance(folder, Path):
        raise BmsFlasherError(
            t(
                "bmsflasher's resources are not plain files ({folder!r}); install it unzipped (pip install)",
                folder=folder,
            )
        )
    return folder


def resources_dir() -> Path:
    """Return the resources folder, or raise a clear error naming where it was looked for."""
    candidates: list[Path] = []
    override = os.environ.get(OVERRIDE_VARIABLE)
    if override:
        candidates.append(Path(override))
    candidates.append(packaged_resources_dir())
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise BmsFlasherError(
        t(
            "the resources folder is missing (looked in {looked}); reinstall bmsflasher",
            looked=looked,
        )
    )


def resource_path(*parts: str) -> Path:
    """Path of one shipped resource, e.g. ``resource_path("demo", "demo-key.pub.pem")``."""
    return resources_dir().joinpath(*parts)


def install_root() -> Path | None:
    """The folder that holds what ships beside the package (``drivers/``), or None for a bare wheel.

    * ``BMSFLASHER_RESOURCES`` set: the folder above it (a packager lays out ``resources/`` and
      ``drivers/`` side by side);
    * the PyInstaller bundle: ``sys._MEIPASS`` (``_internal/``), where the spec puts ``drivers/``;
    * a source checkout (``<root>/src/bmsflasher`` next to ``<root>/pyproject.toml``): ``<root>``;
    * a wheel installed into site-packages carries the package only: None.
    """
    override = os.environ.get(OVERRIDE_VARIABLE)
    if override:
        return Path(override).parent
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    package_dir = packaged_resources_dir().parent
    root = package_dir.parent.parent
    if package_dir.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None
