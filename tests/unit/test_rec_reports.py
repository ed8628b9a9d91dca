"""Service reports: the HTML and PDF contain the recorded values, in English, Dutch and French."""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest
from rec_support import CELLS_AFTER, CELLS_BEFORE, OPERATOR, PACKAGE_SHA, SERIAL, populated_db, telemetry

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.events import Measurement
from bmsflasher.records import RecordNotFoundError, RecordsDb
from bmsflasher.records.reports import Labels, build_content, render_report
from bmsflasher.records.reports.chart import layout_chart, nice_step
from bmsflasher.records.reports.content import Chart, ChartSeries
from bmsflasher.records.reports.labels import LANGUAGES
from bmsflasher.records.reports.pdf_report import find_unicode_font, render_pdf


class _HtmlDoc(HTMLParser):
    """Collects the tables (as rows of cell text), the SVG source and the element ids of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.headings: list[str] = []
        self.by_id: dict[str, str] = {}
        self.svg = ""
        self.tags: set[str] = set()
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._id_stack: list[tuple[str, list[str]]] = []
        self._svg_start: int | None = None
        self._text = text
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "h2":
            self._heading = []
        if tag == "svg":
            self._svg_start = self._offset()
        ident = dict(attrs).get("id")
        if ident:
            self._id_stack.append((ident, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        elif tag == "svg" and self._svg_start is not None:
            self.svg = self._text[self._svg_start : self._offset() + len("</svg>")]
        if self._id_stack and tag in ("p", "span", "table"):
            ident, parts = self._id_stack.pop()
            self.by_id[ident] = "".join(parts).strip()

    def handle_data(self, data: str) -> None:
        for sink in (self._cell, self._heading):
            if sink is not None:
                sink.append(data)
        for _ident, parts in self._id_stack:
            parts.append(data)

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self._text.splitlines(keepends=True)
        return sum(len(x) for x in lines[: line - 1]) + column


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[RecordsDb, int]]:
    db, sid = populated_db(tmp_path / "h.db")
    with db:
        yield db, sid


def _html(db: RecordsDb, sid: int, tmp_path: Path, lang: str = "en") -> _HtmlDoc:
    out = render_report(db, sid, "html", tmp_path / f"r-{lang}.html", lang)
    return _HtmlDoc(out.read_text(encoding="utf-8"))


def _table(doc: _HtmlDoc, heading: str) -> list[list[str]]:
    """The table under an <h2> heading (the chart heading has an SVG, not a table)."""
    index = doc.headings.index(heading)
    chart_headings = 1 if doc.svg else 0
    return doc.tables[1 + index - chart_headings]  # tables[0] is the summary


def test_html_summary_has_identity_versions_operator_outcome(
    recorded: tuple[RecordsDb, int], tmp_path: Path
) -> None:
    db, sid = recorded
    doc = _html(db, sid, tmp_path)
    summary = {row[0]: row[1] for row in doc.tables[0]}
    assert summary["Serial number"] == SERIAL
    assert summary["Model"] == "BMS-16S-100A"
    assert summary["Hardware revision"] == "C"
    assert summary["Operator"] == OPERATOR
    assert summary["Firmware before"] == "1.2.0"
    assert summary["Firmware after"] == "1.3.0"
    assert summary["Package SHA-256"] == PACKAGE_SHA
    assert summary["Outcome"] == "Updated"
    assert summary["Started"][:4].isdigit()
    assert summary["Finished"][:4].isdigit()
    detail = db.session_detail(sid)
    assert summary["Backup"] == f"#{detail.backups[0].id} · SHA-256 {detail.backups[0].sha256}"
    assert doc.by_id["outcome"] == "Updated"
    assert doc.by_id["audit-head"] == db.verify_chain().head_hash


def test_html_is_self_contained(recorded: tuple[RecordsDb, int], tmp_path: Path) -> None:
    db, sid = recorded
    text = render_report(db, sid, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    assert "<link" not in text
    assert "<img" not in text


def test_html_chart_plots_before_and_after_cell_voltages(
    recorded: tuple[RecordsDb, int], tmp_path: Path
) -> None:
    db, sid = recorded
    doc = _html(db, sid, tmp_path)
    svg = ET.fromstring(doc.svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    lines = svg.findall("s:polyline", ns)
    assert [line.get("data-label") for line in lines] == ["before", "after"]
    before_y = [float(p.split(",")[1]) for p in lines[0].get("points", "").split()]
    after_y = [float(p.split(",")[1]) for p in lines[1].get("points", "").split()]
    assert len(before_y) == len(after_y) == 16
    assert all(a < b for a, b in zip(after_y, before_y, strict=True))  # after is 2 mV higher: drawn above
    assert before_y == sorted(before_y, reverse=True)  # rising voltages go up the page
    labels = [t.text for t in svg.findall("s:text", ns)]
    assert "Cell voltage (mV)" in labels
    assert "16" in labels
    cells = _table(doc, "Cell voltage (mV)")
    assert cells[0] == ["Cell", "before (mV)", "after (mV)", "Difference (mV)"]
    assert cells[1] == ["1", str(CELLS_BEFORE[0]), str(CELLS_AFTER[0]), "+2"]
    assert len(cells) == 17


def test_html_measurement_tables_per_step(recorded: tuple[RecordsDb, int], tmp_path: Path) -> None:
    db, sid = recorded
    doc = _html(db, sid, tmp_path)
    pre = _table(doc, "Preconditions")
    assert pre[0] == ["Check", "Measured", "Limit", "Result", "Why it matters"]
    assert pre[1][:4] == ["State of charge", "55.0 %", "20–80 %", "pass"]
    assert pre[3][:4] == ["Link quality", "2 errors", "≤ 1 error", "FAIL"]
    assert "may be overridden" in pre[3][4]
    selftest = _table(doc, "Self-test")
    assert selftest[1][:4] == ["Voltage calibration (cell sum vs pack)", "Δ 0.08 %", "±0.5 %", "pass"]
    steps = _table(doc, "Procedure steps")
    assert [row[1:3] for row in steps[1:3]] == [["Preconditions", "started"], ["Preconditions", "done"]]
    pack = _table(doc, "Pack")
    assert ["Temperatures (°C)", "24.5, 25.0", "24.8, failed"] in pack
    backups = _table(doc, "Configuration backups")
    assert backups[1][2:4] == ["3", "5"]  # schema 3, five parameters


def test_html_escapes_recorded_text(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session("<b>S</b>", "update", "<script>alert(1)</script>", None, {"x": "<i>"})
        text = render_report(db, sid, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>S</b>" not in text


@pytest.mark.parametrize(
    ("lang", "title", "outcome", "chart"),
    [
        ("en", "Battery service report", "Updated", "Cell voltages before and after"),
        ("nl", "Servicerapport batterij", "Bijgewerkt", "Celspanningen voor en na"),
        ("fr", "Rapport d'intervention batterie", "Mis à jour", "Tensions des cellules avant et après"),
    ],
)
def test_html_languages(
    recorded: tuple[RecordsDb, int], tmp_path: Path, lang: str, title: str, outcome: str, chart: str
) -> None:
    db, sid = recorded
    doc = _html(db, sid, tmp_path, lang)
    assert doc.by_id["outcome"] == outcome
    assert chart in doc.headings
    text = html.unescape((tmp_path / f"r-{lang}.html").read_text(encoding="utf-8"))
    assert f'<html lang="{lang}">' in text
    assert title in text


def test_label_tables_are_complete() -> None:
    english = set(LANGUAGES["en"])
    for code in ("nl", "fr"):
        assert set(LANGUAGES[code]) == english, code
        assert all(LANGUAGES[code][k] for k in english)


def test_labels_fall_back_readably() -> None:
    labels = Labels("fr_BE")
    assert labels.code == "fr"
    assert labels.measurement("state_of_charge") == "État de charge"
    assert labels.measurement("device_cell_open_wire") == "Device cell open wire"
    assert labels.outcome(None) == "Interrompu (aucun résultat enregistré)"
    with pytest.raises(BmsFlasherError, match="not available in 'de'"):
        Labels("de")


def test_unknown_format_and_session_are_clear_errors(recorded: tuple[RecordsDb, int], tmp_path: Path) -> None:
    db, sid = recorded
    with pytest.raises(BmsFlasherError, match="'docx' is not a report format"):
        render_report(db, sid, "docx", tmp_path / "r.docx")
    with pytest.raises(RecordNotFoundError):
        render_report(db, 999, "html", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_session_without_telemetry_or_backup_still_reports(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session("S1", "diagnose", "", None, {})
        doc = _html(db, sid, tmp_path)
    assert doc.svg == ""
    text = (tmp_path / "r-en.html").read_text(encoding="utf-8")
    assert "No cell voltages were recorded" in text
    assert "No configuration backup was made" in text
    assert doc.by_id["outcome"] == "Interrupted (no outcome recorded)"


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_contains_the_values(recorded: tuple[RecordsDb, int], tmp_path: Path) -> None:
    db, sid = recorded
    out = render_report(db, sid, "pdf", tmp_path / "r.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    text = _pdf_text(data)
    for expected in (
        SERIAL,
        "BMS-16S-100A",
        "1.2.0",
        "1.3.0",
        "Updated",
        "State of charge",
        "55.0 %",
        "FAIL",
    ):
        assert expected in text, expected
    assert str(CELLS_BEFORE[5]) in text
    assert str(CELLS_AFTER[5]) in text
    assert db.verify_chain().head_hash in text.replace("\n", "")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert reader.metadata.title == f"Battery service report — {SERIAL}"


@pytest.mark.skipif(find_unicode_font() is None, reason="no Unicode TrueType font on this machine")
def test_pdf_with_unicode_font_keeps_accents_and_symbols(
    recorded: tuple[RecordsDb, int], tmp_path: Path
) -> None:
    db, sid = recorded
    text = _pdf_text(render_report(db, sid, "pdf", tmp_path / "r.pdf", "fr").read_bytes())
    assert OPERATOR in text
    assert "Étalonnage de tension" in text
    assert "Δ 0.08 %" in text
    assert "≤ 1 error" in text


def test_pdf_fallback_font_replaces_only_what_it_cannot_print(recorded: tuple[RecordsDb, int]) -> None:
    db, sid = recorded
    content = build_content(db.session_detail(sid), Labels("nl"))
    data = render_pdf(content, find_font=False)
    assert data.startswith(b"%PDF-")
    text = _pdf_text(data)
    assert OPERATOR in text  # ë and é exist in Windows-1252
    assert "delta 0.08 %" in text
    assert "<= 1 error" in text
    assert "Spanningskalibratie" in text


def test_nice_steps_and_axis_bracket_the_data() -> None:
    assert [nice_step(s) for s in (0, 4, 9, 45, 120, 900)] == [1, 1, 2, 10, 50, 200]
    chart = Chart("t", "x", "y", (ChartSeries("a", (3301, 3349)), ChartSeries("b", (3310,))))
    layout = layout_chart(chart, 100, 50, (10, 5, 5, 10))
    assert layout.y_min_mv <= 3301
    assert layout.y_max_mv >= 3349
    assert [t.text for t in layout.y_ticks] == [
        str(v) for v in range(layout.y_min_mv, layout.y_max_mv + 1, 10)
    ]
    ys = [p[1] for line in layout.lines for p in line.points]
    assert all(layout.top <= y <= layout.bottom for y in ys)
    flat = layout_chart(Chart("t", "x", "y", (ChartSeries("a", (3300, 3300)),)), 100, 50, (10, 5, 5, 10))
    assert flat.y_min_mv < 3300 < flat.y_max_mv


def test_rollback_asked_for_is_a_success_but_forced_one_is_not(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        manual = db.start_session(SERIAL, "rollback", "op", None, {})
        db.finish_session(manual, "rolled_back", "1.3.0", "1.2.0")
        forced = db.start_session(SERIAL, "update", "op", None, {})
        db.finish_session(forced, "rolled_back", "1.2.0", "1.2.0")
        assert build_content(db.session_detail(manual), Labels("en")).outcome_ok is True
        assert build_content(db.session_detail(forced), Labels("en")).outcome_ok is False
        cancelled = db.start_session(SERIAL, "update", "op", None, {})
        db.finish_session(cancelled, "cancelled", None, None)
        assert (
            build_content(db.session_detail(cancelled), Labels("nl")).outcome
            == "Geannuleerd door de technicus"
        )


def test_restore_report_names_the_restored_backup(recorded: tuple[RecordsDb, int], tmp_path: Path) -> None:
    db, _sid = recorded
    backup = db.list_backups(SERIAL)[0]
    restore = db.start_session(SERIAL, "restore", "op", None, {"backup_id": backup.id})
    db.finish_session(restore, "restored", "1.3.0", "1.3.0")
    doc = _html(db, restore, tmp_path)
    assert _table(doc, "Configuration backups")[1][0] == f"#{backup.id}"
    assert doc.by_id["outcome"] == "Configuration restored"


def test_oversized_recorded_text_still_renders(tmp_path: Path) -> None:
    """Text no one should record (kilobytes in one cell, 200 cells) must not break a report."""
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session("S" * 300, "update", "op " * 100, None, {"k" * 200: "v" * 3000})
        db.log_step(sid, "preconditions", None, "")
        db.log_measurement(sid, Measurement("n" * 400, "v" * 500, "l" * 300, False, "w" * 2000))
        db.log_telemetry(sid, "before", telemetry(tuple(range(3000, 4000, 5))))
        pdf = render_report(db, sid, "pdf", tmp_path / "r.pdf").read_bytes()
        page = render_report(db, sid, "html", tmp_path / "r.html").read_text(encoding="utf-8")
    assert pdf.startswith(b"%PDF-")
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 2
    assert "w" * 2000 in page  # HTML keeps everything; PDF cells are capped
