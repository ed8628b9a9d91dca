"""Locate the shipped ``resources/`` folder (profiles, adapter table, demo packages, translations).

Three layouts exist: a source checkout / editable install (``resources/`` at the repository root),
a PyInstaller bundle (``sys._MEIPASS/resources``), and an explicit override for packagers and tests
(``BMSFLASHER_RESOURCES``). Only path arithmetic happens here; reading is the caller's business.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bmsflasher.core.errors import BmsFlasherError


def resources_dir() -> Path:
    """Return the resources folder, or raise a clear error naming where it was looked for."""
    candidates: list[Path] = []
    override = os.environ.get("BMSFLASHER_RESOURCES")
    if override:
        candidates.append(Path(override))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(__file__).resolve().parents[3] / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise BmsFlasherError(f"the resources folder is missing (looked in {looked}); reinstall bmsflasher")


def resource_path(*parts: str) -> Path:
    """Path of one shipped resource, e.g. ``resource_path("demo", "demo-key.pub.pem")``."""
    return resources_dir().joinpath(*parts)
