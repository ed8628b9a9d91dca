"""Where service reports go and which format a file name asks for — shared by the CLI and the GUI.

Kept apart from the renderers so choosing a file costs no PDF machinery: ``fpdf`` and its fonts load
only when a report is actually written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import platformdirs

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t

ReportFormat = Literal["html", "pdf"]
SUFFIXES: Final[dict[str, ReportFormat]] = {".html": "html", ".htm": "html", ".pdf": "pdf"}
REPORTS_FOLDER_NAME: Final = "bmsflasher reports"


def report_format_for(out: Path, fmt: str | None = None) -> ReportFormat:
    """The format to write ``out`` in: the one asked for, else the file name's suffix.

    Raises:
        ConfigValidationError: the suffix is neither .html nor .pdf (``x.docx`` used to be written
            as HTML without a word), or it contradicts the format asked for.
    """
    suffix = out.suffix.lower()
    by_name = SUFFIXES.get(suffix)
    if fmt is not None:
        if fmt not in ("html", "pdf"):
            raise ConfigValidationError(t("'{fmt}' is not a report format; choose html or pdf", fmt=fmt))
        chosen: ReportFormat = "pdf" if fmt == "pdf" else "html"
        if suffix and by_name != chosen:
            raise ConfigValidationError(
                t(
                    "{name} does not end in .{extension}; name the file .{extension} or leave out --format",
                    name=out.name,
                    extension=chosen,
                )
            )
        return chosen
    if by_name is None:
        raise ConfigValidationError(
            t(
                "{name} is not a report file name: reports are written as .html or .pdf",
                name=out.name,
            )
        )
    return by_name


def default_reports_dir() -> Path:
    """``<Documents>/bmsflasher reports``, created on first use (not wherever the program started)."""
    folder = Path(platformdirs.user_documents_dir()) / REPORTS_FOLDER_NAME
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: A session's bus log (recorded beside an update from the GUI's diagnostics page) is capped per
#: file and rotated: ``bus.log`` holds the newest frames, ``bus.1.log`` .. ``bus.{keep}.log`` older ones.
BUS_LOG_MAX_BYTES: Final = 8 * 1024 * 1024
BUS_LOG_KEEP: Final = 3
BUS_LOG_NAME: Final = "bus.log"


def session_files_dir(reports_dir: Path, session_id: int) -> Path:
    """The folder that keeps a session's files beside its reports: ``<reports>/session-<id>``."""
    return reports_dir / f"session-{session_id}"


def session_bus_logs(reports_dir: Path, session_id: int) -> list[Path]:
    """A session's bus log parts, newest first (empty when the session recorded none)."""
    folder = session_files_dir(reports_dir, session_id)
    parts = [folder / BUS_LOG_NAME] + [folder / f"bus.{index}.log" for index in range(1, BUS_LOG_KEEP + 1)]
    return [part for part in parts if part.is_file()]
