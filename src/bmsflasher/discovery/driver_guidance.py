"""What to tell a technician whose adapter is plugged in but unusable: no driver, no permission, busy.

The advice is data, written with the installers: ``drivers/guidance.json`` beside the driver guides
it links to (``drivers/<os>/README.md``). A scan that reports an adapter as ``no_driver``,
``permission`` or ``busy`` looks up the first entry whose status and operating system match and
whose ``match`` keys (``vid``, ``pid``, ``python_can_interface``, ``kind``) all equal the adapter's,
so a CH340 without a driver on Windows gets WCH's driver and a Linux permission error gets the udev
rules. The file is optional: a missing or damaged one only means no extra guidance.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from bmsflasher.core.i18n import t
from bmsflasher.core.resources import install_root

GUIDANCE_FILE: Final = ("drivers", "guidance.json")
"""Where the file sits below the installation's root (repository root or ``_internal``)."""

GUIDED_STATUSES: Final = frozenset({"no_driver", "permission", "busy"})
"""Adapter verdicts (``AdapterStatus`` values) that the file can explain."""

_log = logging.getLogger(__name__)


def running_os(platform: str = sys.platform) -> str:
    """The guidance file's name for this system: ``linux``, ``windows``, ``macos`` (else the raw name)."""
    if platform.startswith("linux"):
        return "linux"
    if platform in ("win32", "cygwin"):
        return "windows"
    if platform == "darwin":
        return "macos"
    return platform


@dataclass(frozen=True, slots=True)
class AdapterFacts:
    """What the guidance entries can match on.

    Attributes:
        vid: USB vendor ID (None for ptys, URLs and CAN channels named by hand).
        pid: USB product ID.
        python_can_interface: the python-can backend (``gs_usb``, ``pcan`` ...), for CAN adapters.
        kind: the adapter kind (``discovery.adapters.AdapterKind`` value, e.g. ``native_can``).
    """

    vid: int | None = None
    pid: int | None = None
    python_can_interface: str | None = None
    kind: str = ""

    def matches(self, match: Mapping[str, Any]) -> bool:
        """True when every key of ``match`` equals this adapter's value (an empty match fits all)."""
        for key, wanted in match.items():
            if key in ("vid", "pid"):
                have = self.vid if key == "vid" else self.pid
                if have is None or _hex(wanted) != have:
                    return False
            elif key == "python_can_interface":
                if self.python_can_interface is None or str(wanted) != self.python_can_interface:
                    return False
            elif key == "kind":
                if str(wanted) != self.kind:
                    return False
            else:
                return False  # a key this version does not know: do not guess
        return True


def _hex(value: object) -> int | None:
    try:
        return int(str(value), 16)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class DriverGuidance:
    """One piece of advice, ready to show.

    Attributes:
        id: the entry's id in the file (stable, for tests and support).
        title: one line naming the problem.
        steps: sentences to follow in order (English, translatable: :func:`~bmsflasher.core.i18n.localise`).
        doc: the guide and section, relative to the install folder (``drivers/linux/README.md#...``).
        doc_path: the guide's file on this computer, when it exists.
        links: vendor download pages.
    """

    id: str
    title: str
    steps: tuple[str, ...]
    doc: str = ""
    doc_path: Path | None = None
    links: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """The section of the guide (the part of ``doc`` after ``#``), or an empty string."""
        return self.doc.partition("#")[2]

    @property
    def doc_location(self) -> str:
        """Where to read the guide: the file on this computer (with its section) or the relative path."""
        if self.doc_path is None:
            return self.doc
        return f"{self.doc_path}#{self.anchor}" if self.anchor else str(self.doc_path)

    @property
    def doc_url(self) -> str:
        """A ``file://`` URL of the guide and section, or an empty string when it is not installed."""
        if self.doc_path is None:
            return ""
        url = self.doc_path.resolve().as_uri()
        return f"{url}#{self.anchor}" if self.anchor else url

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "steps": list(self.steps),
            "doc": self.doc,
            "doc_path": str(self.doc_path) if self.doc_path is not None else None,
            "links": list(self.links),
        }


@dataclass(frozen=True, slots=True)
class GuidanceTable:
    """The parsed file: entries in file order, the per-system default guides, and the install folder."""

    entries: tuple[Mapping[str, Any], ...] = ()
    documents: Mapping[str, str] | None = None
    base_dir: Path | None = None

    def lookup(self, status: str, facts: AdapterFacts, os_name: str | None = None) -> DriverGuidance | None:
        """The first entry for ``status`` on ``os_name`` (default: this system) that fits the adapter."""
        system = os_name or running_os()
        for entry in self.entries:
            if entry.get("status") != status or system not in _strings(entry.get("os")):
                continue
            match = entry.get("match") or {}
            if isinstance(match, Mapping) and facts.matches(match):
                return self._guidance(entry, system)
        return None

    def _guidance(self, entry: Mapping[str, Any], system: str) -> DriverGuidance:
        doc = str(entry.get("doc") or "") or str((self.documents or {}).get(system, ""))
        doc_path: Path | None = None
        if doc and self.base_dir is not None:
            candidate = self.base_dir / doc.partition("#")[0]
            doc_path = candidate if candidate.is_file() else None
        # Title and steps are catalogue templates like any t("...") in the code (the catalogue test
        # reads them from the shipped file): the CLI and the GUI show them in the technician's language.
        return DriverGuidance(
            id=str(entry.get("id", "")),
            title=t(str(entry.get("title", ""))),
            steps=tuple(t(step) for step in _strings(entry.get("steps"))),
            doc=doc,
            doc_path=doc_path,
            links=_strings(entry.get("links")),
        )


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(item) for item in value)
    return ()


EMPTY_TABLE: Final = GuidanceTable()


def guidance_path() -> Path | None:
    """``drivers/guidance.json`` in the installation's root; None when it has none (a bare wheel)."""
    root = install_root()
    return root.joinpath(*GUIDANCE_FILE) if root is not None else None


def load_guidance(path: Path | None = None) -> GuidanceTable:
    """Read a guidance file (the shipped one when ``path`` is None); an empty table if it is unusable.

    Guidance only adds to a scan's verdicts, so a missing file (a trimmed install, a wheel without
    ``drivers/``) is silent and a damaged one is logged, never an error.
    """
    source = path if path is not None else guidance_path()
    if source is None or not source.is_file():
        return EMPTY_TABLE
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _log.warning("driver guidance %s is unreadable and is ignored: %s", source, exc)
        return EMPTY_TABLE
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        _log.warning("driver guidance %s has no 'entries' list and is ignored", source)
        return EMPTY_TABLE
    documents = document.get("documents")
    return GuidanceTable(
        entries=tuple(entry for entry in entries if isinstance(entry, Mapping)),
        documents=documents if isinstance(documents, dict) else {},
        base_dir=source.parent.parent,
    )


@lru_cache(maxsize=1)
def shipped_guidance() -> GuidanceTable:
    """The installed guidance file, read once per process."""
    return load_guidance()


def guidance_for(
    status: str, facts: AdapterFacts, table: GuidanceTable | None = None, os_name: str | None = None
) -> DriverGuidance | None:
    """Guidance for an adapter verdict, or None when the status needs none or nothing matches."""
    if status not in GUIDED_STATUSES:
        return None
    return (table if table is not None else shipped_guidance()).lookup(status, facts, os_name)
