"""Service reports: one HTML or PDF document per session, in English, Dutch or French.

:func:`render_report` reads the session from the history, builds the language-specific content
once (:mod:`.content`) and hands it to the HTML or PDF renderer, then writes the file atomically so
an interrupted export never leaves a truncated report behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final, Literal

from bmsflasher.core.errors import BmsFlasherError, StorageError
from bmsflasher.core.i18n import t
from bmsflasher.records.db import RecordsDb
from bmsflasher.records.reports.content import ReportContent, build_content
from bmsflasher.records.reports.html_report import render_html
from bmsflasher.records.reports.labels import LANGUAGES, Labels
from bmsflasher.records.reports.pdf_report import render_pdf

ReportFormat = Literal["html", "pdf"]
FORMATS: Final = ("html", "pdf")
REPORT_FILE_MODE: Final = 0o644

__all__ = [
    "FORMATS",
    "LANGUAGES",
    "Labels",
    "ReportContent",
    "ReportFormat",
    "build_content",
    "render_report",
]


def render_report(db: RecordsDb, session_id: int, fmt: str, out: Path, lang: str = "en") -> Path:
    """Write the service report of ``session_id`` to ``out`` as ``fmt`` (``"html"`` or ``"pdf"``).

    Returns:
        ``out``, once the complete file is in place.

    Raises:
        BmsFlasherError: unknown format or language.
        RecordNotFoundError: no such session.
        StorageError: the file cannot be written (missing folder, read-only, disk full).
    """
    if fmt not in FORMATS:
        raise BmsFlasherError(t("'{fmt}' is not a report format; choose html or pdf", fmt=fmt))
    labels = Labels(lang)
    content = build_content(db.session_detail(session_id), labels)
    data = render_html(content).encode("utf-8") if fmt == "html" else render_pdf(content)
    _write_atomically(Path(out), data)
    return Path(out)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it over ``path``."""
    folder = path.parent
    if not folder.is_dir():
        raise StorageError(t("cannot write the report: the folder {folder} does not exist", folder=folder))
    if path.is_dir():
        raise StorageError(t("cannot write the report: {path} is a folder; give a file name", path=path))
    if path.exists() and not path.is_file():  # renaming over /dev/null would replace the device
        raise StorageError(t("cannot write the report: {path} is not a regular file", path=path))
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            Path(temp_name).chmod(REPORT_FILE_MODE)  # mkstemp gives 0600; a report is meant to be shared
            Path(temp_name).replace(path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StorageError(
            t("cannot write the report {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from exc
