"""Render a report as a PDF with fpdf2 (pure Python, typed, no Qt).

Text is drawn with a Unicode TrueType font found on the system (DejaVu on Linux, Arial on Windows
and macOS) so Dutch and French accents and symbols such as ``Δ`` or ``≤`` print as written; when no
such font exists the PDF falls back to the built-in Helvetica and unprintable characters are
replaced, so a report is always produced.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fpdf import FPDF, FontFace
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.errors import FPDFException

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.records.reports.chart import ChartLayout, layout_chart
from bmsflasher.records.reports.content import Chart, ReportContent, Table

# fontTools logs every table it subsets at INFO; the GUI's INFO logging flooded the terminal with it.
logging.getLogger("fontTools").setLevel(logging.WARNING)

PAGE_MARGIN_MM: Final = 15.0
CHART_HEIGHT_MM: Final = 80.0
MAX_CELL_CHARS: Final = 400
_CHART_MARGINS_MM: Final = (16.0, 10.0, 4.0, 12.0)
_CORE_ENCODING: Final = "windows-1252"
_CORE_SUBSTITUTES: Final = {"Δ ": "delta ", "Δ": "delta ", "≤": "<=", "≥": ">=", "→": "->", "\u2212": "-"}
"""Readable stand-ins for symbols Windows-1252 lacks (used only without a Unicode font)."""
_GREEN: Final = (27, 94, 32)
_RED: Final = (183, 28, 28)
_AMBER: Final = (138, 90, 0)
_FAIL_FILL: Final = (253, 236, 234)
_HEADING_FILL: Final = (242, 242, 242)


@dataclass(frozen=True, slots=True)
class FontFiles:
    """A regular and a bold TrueType file of one family."""

    regular: Path
    bold: Path


def _font_candidates() -> list[FontFiles]:
    """Where common Unicode fonts live on Linux, Windows and macOS (first found wins)."""
    candidates: list[FontFiles] = []
    override = os.environ.get("BMSFLASHER_REPORT_FONT")
    if override:
        candidates.append(
            FontFiles(Path(override), Path(os.environ.get("BMSFLASHER_REPORT_FONT_BOLD", override)))
        )
    for folder in (
        "/usr/share/fonts/truetype/dejavu",
        "/usr/share/fonts/TTF",
        "/usr/share/fonts/dejavu-sans-fonts",
        "/usr/share/fonts/dejavu",
        "/usr/local/share/fonts",
    ):
        candidates.append(FontFiles(Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")))
    windows_fonts = Path(os.environ.get("WINDIR", r"C:\Windows"), "Fonts")
    candidates.append(FontFiles(windows_fonts / "arial.ttf", windows_fonts / "arialbd.ttf"))
    if sys.platform == "darwin":
        supplemental = Path("/System/Library/Fonts/Supplemental")
        candidates.append(FontFiles(supplemental / "Arial.ttf", supplemental / "Arial Bold.ttf"))
        candidates.append(
            FontFiles(Path("/Library/Fonts/Arial Unicode.ttf"), Path("/Library/Fonts/Arial Unicode.ttf"))
        )
    return candidates


def find_unicode_font() -> FontFiles | None:
    """The first Unicode font pair present on this machine (bold falls back to regular), or None."""
    for files in _font_candidates():
        if files.regular.is_file():
            return FontFiles(files.regular, files.bold if files.bold.is_file() else files.regular)
    return None


class _ReportPdf(FPDF):
    """An A4 page with the report's footer (generated time and page number on every page)."""

    def __init__(self, footer_text: str, font: FontFiles | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = footer_text
        self.core_fonts_encoding = _CORE_ENCODING
        if font is not None:
            self.add_font("Report", "", str(font.regular))
            self.add_font("Report", "B", str(font.bold))
            self.family = "Report"
        else:
            self.family = "Helvetica"
        self.unicode = font is not None
        self.set_margins(PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM)
        self.set_auto_page_break(auto=True, margin=PAGE_MARGIN_MM + 5)

    def clean(self, text: str) -> str:
        """Text the current font can print: unchanged with a Unicode font, substituted otherwise."""
        if self.unicode:
            return text
        for char, substitute in _CORE_SUBSTITUTES.items():
            text = text.replace(char, substitute)
        return text.encode(_CORE_ENCODING, "replace").decode(_CORE_ENCODING)

    def para(self, line_height_mm: float, text: str) -> None:
        """A paragraph across the page width, leaving the cursor at the left margin below it."""
        self.multi_cell(0, line_height_mm, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def use(self, size: float, *, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-PAGE_MARGIN_MM)
        self.use(8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.clean(f"{self._footer_text} · bmsflasher"), align="L")
        self.set_x(PAGE_MARGIN_MM)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def render_pdf(content: ReportContent, *, font: FontFiles | None = None, find_font: bool = True) -> bytes:
    """The PDF document for ``content``.

    Args:
        content: what to print.
        font: a specific Unicode font; by default one is looked for on the system.
        find_font: False forces the built-in Helvetica fallback (tests, minimal systems).
    """
    if font is None and find_font:
        font = find_unicode_font()
    try:
        return _layout(content, font)
    except (FPDFException, ValueError) as exc:
        raise BmsFlasherError(t("the PDF report could not be laid out: {error}", error=exc)) from exc


def _layout(content: ReportContent, font: FontFiles | None) -> bytes:
    pdf = _ReportPdf(content.generated, font)
    pdf.set_title(pdf.clean(content.title))
    pdf.set_lang(content.lang)
    pdf.set_creator("bmsflasher")
    pdf.set_author(pdf.clean(content.author))
    pdf.add_page()
    _header(pdf, content)
    _key_values(pdf, content.summary)
    if content.chart is not None:
        _section_title(pdf, content.chart.title)
        _chart(pdf, content.chart)
    else:
        _note(pdf, content.chart_missing)
    for table in content.tables:
        _table(pdf, table)
    _section_title(pdf, content.audit_title)
    pdf.use(9)
    pdf.para(5, pdf.clean(content.audit_text + ":"))
    pdf.set_font("Courier", "", 9)
    pdf.para(5, content.audit_hash)
    return bytes(pdf.output())


def _header(pdf: _ReportPdf, content: ReportContent) -> None:
    pdf.use(16, bold=True)
    pdf.para(8, pdf.clean(content.title))
    pdf.use(10)
    pdf.set_text_color(85, 85, 85)
    pdf.para(6, pdf.clean(content.heading))
    colour = _AMBER if content.outcome_ok is None else (_GREEN if content.outcome_ok else _RED)
    pdf.set_text_color(*colour)
    pdf.use(13, bold=True)
    pdf.para(9, pdf.clean(content.outcome))
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _key_values(pdf: _ReportPdf, rows: Sequence[tuple[str, str]]) -> None:
    pdf.use(9)
    with pdf.table(
        col_widths=(1, 2.2),
        first_row_as_headings=False,
        text_align="LEFT",
        line_height=5,
        wrapmode=WrapMode.WORD,
    ) as table:
        for key, value in rows:
            row = table.row()
            row.cell(pdf.clean(key), style=FontFace(emphasis="BOLD", fill_color=_HEADING_FILL))
            row.cell(pdf.clean(value))


def _section_title(pdf: _ReportPdf, title: str) -> None:
    pdf.ln(4)
    pdf.use(12, bold=True)
    pdf.para(7, pdf.clean(title))
    pdf.ln(1)


def _note(pdf: _ReportPdf, text: str) -> None:
    pdf.use(9)
    pdf.set_text_color(85, 85, 85)
    pdf.para(5, pdf.clean(text))
    pdf.set_text_color(0, 0, 0)


def _table(pdf: _ReportPdf, table: Table) -> None:
    _section_title(pdf, table.title)
    if table.note and not table.rows:
        _note(pdf, table.note)
        return
    pdf.use(8)
    headed = any(table.headers)
    with pdf.table(
        col_widths=_column_weights(table),
        first_row_as_headings=headed,
        headings_style=FontFace(emphasis="BOLD", fill_color=_HEADING_FILL),
        text_align="LEFT",
        line_height=4.2,
        wrapmode=WrapMode.WORD,
    ) as grid:
        if headed:
            grid.row([pdf.clean(h) for h in table.headers])
        for index, cells in enumerate(table.rows):
            state = table.ok_of(index)
            style = FontFace(fill_color=_FAIL_FILL) if state is False else None
            row = grid.row(style=style)
            for cell in cells:
                row.cell(pdf.clean(_shortened(cell)))


def _shortened(text: str) -> str:
    """Cap a cell's text: a table row must fit on one page (the HTML report keeps the full text)."""
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _column_weights(table: Table) -> tuple[float, ...]:
    """Share the width by how much text each column holds (capped, so a hash cannot starve the rest)."""
    widths = []
    for column in range(len(table.headers)):
        texts = [table.headers[column], *(row[column] for row in table.rows if column < len(row))]
        widths.append(min(max(len(t) for t in texts), 36) + 4.0)
    return tuple(widths)


def _chart(pdf: _ReportPdf, chart: Chart) -> None:
    width = pdf.epw
    if pdf.will_page_break(CHART_HEIGHT_MM + 4):
        pdf.add_page()
    x0, y0 = pdf.get_x(), pdf.get_y() + 4
    layout = layout_chart(chart, width, CHART_HEIGHT_MM, _CHART_MARGINS_MM)
    _draw_chart(pdf, layout, chart, x0, y0)
    pdf.set_xy(PAGE_MARGIN_MM, y0 + CHART_HEIGHT_MM + 2)


def _draw_chart(pdf: _ReportPdf, layout: ChartLayout, chart: Chart, x0: float, y0: float) -> None:
    pdf.set_line_width(0.2)
    pdf.set_draw_color(221, 221, 221)
    pdf.use(7)
    for tick in layout.y_ticks:
        pdf.line(x0 + layout.left, y0 + tick.position, x0 + layout.right, y0 + tick.position)
        pdf.text(x0 + layout.left - 1 - pdf.get_string_width(tick.text), y0 + tick.position + 1, tick.text)
    for tick in layout.x_ticks:
        pdf.text(x0 + tick.position - pdf.get_string_width(tick.text) / 2, y0 + layout.bottom + 4, tick.text)
    pdf.set_draw_color(136, 136, 136)
    pdf.rect(x0 + layout.left, y0 + layout.top, layout.right - layout.left, layout.bottom - layout.top)
    x_label = pdf.clean(chart.x_label)
    pdf.text(
        x0 + (layout.left + layout.right - pdf.get_string_width(x_label)) / 2, y0 + layout.height - 1, x_label
    )
    y_label = pdf.clean(chart.y_label)
    middle_y = y0 + (layout.top + layout.bottom) / 2
    with pdf.rotation(90, x0 + 3, middle_y):
        pdf.text(x0 + 3 - pdf.get_string_width(y_label) / 2, middle_y, y_label)
    legend_x = x0 + layout.left
    for line in layout.lines:
        rgb = _rgb(line.colour)
        pdf.set_draw_color(*rgb)
        pdf.set_fill_color(*rgb)
        pdf.set_line_width(0.5)
        points = [(x0 + x, y0 + y) for x, y in line.points]
        if len(points) > 1:
            pdf.polyline(points)
        for x, y in points:
            pdf.ellipse(x - 0.8, y - 0.8, 1.6, 1.6, style="F")
        pdf.rect(legend_x, y0 + layout.top - 6, 5, 1.2, style="F")
        label = pdf.clean(line.label)
        pdf.set_text_color(0, 0, 0)
        pdf.text(legend_x + 6.5, y0 + layout.top - 4.6, label)
        legend_x += 12 + pdf.get_string_width(label)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)  # tables fill cells with the current colour


def _rgb(colour: str) -> tuple[int, int, int]:
    """``"#1f77b4"`` → (31, 119, 180)."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
