"""Render a report as one self-contained HTML file (inline CSS and SVG, no scripts, no links out).

Self-contained because a report is mailed, archived and opened years later on machines without
network access; every value is escaped because serials, operators and details come from devices
and people.
"""

from __future__ import annotations

from html import escape
from typing import Final

from bmsflasher.records.reports.chart import ChartLayout, layout_chart
from bmsflasher.records.reports.content import Chart, ReportContent, Table

CHART_WIDTH: Final = 720.0
CHART_HEIGHT: Final = 320.0
_CHART_MARGINS: Final = (64.0, 36.0, 16.0, 44.0)

_CSS: Final = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
.heading{color:#555;margin-top:0}
.outcome{display:inline-block;padding:.3em .8em;border-radius:.3em;font-weight:bold}
.outcome.ok{background:#e2f5e2;color:#1b5e20}.outcome.bad{background:#fde2e1;color:#b71c1c}
.outcome.unknown{background:#fff4d6;color:#8a5a00}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}tr.pass td:nth-child(4){color:#1b5e20}tr.fail{background:#fdecea}
table.summary th{width:30%}td.hash,.hash{font-family:"DejaVu Sans Mono",monospace;word-break:break-all}
.note{color:#555;font-style:italic}footer{margin-top:2em;color:#555;font-size:.85em}
"""


def render_html(content: ReportContent) -> str:
    """The complete HTML document for ``content``."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(content.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="generator" content="bmsflasher">',
        f"<title>{escape(content.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(content.title)}</h1>",
        f'<p class="heading">{escape(content.heading)}</p>',
        f'<p><span class="outcome {_outcome_class(content.outcome_ok)}" id="outcome">'
        f"{escape(content.outcome)}</span></p>",
        _summary(content),
    ]
    if content.chart is not None:
        parts.append(f"<h2>{escape(content.chart.title)}</h2>")
        parts.append(render_svg(content.chart))
    else:
        parts.append(f'<p class="note">{escape(content.chart_missing)}</p>')
    parts.extend(_table(table) for table in content.tables)
    parts += [
        f"<h2>{escape(content.audit_title)}</h2>",
        f"<p>{escape(content.audit_text)}:</p>",
        f'<p class="hash" id="audit-head">{escape(content.audit_hash)}</p>',
        f"<footer>{escape(content.generated)} · bmsflasher</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def render_svg(chart: Chart) -> str:
    """The cell-voltage chart as an inline SVG element."""
    layout = layout_chart(chart, CHART_WIDTH, CHART_HEIGHT, _CHART_MARGINS)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{CHART_WIDTH:g}" '
        f'height="{CHART_HEIGHT:g}" viewBox="0 0 {CHART_WIDTH:g} {CHART_HEIGHT:g}" '
        f'font-family="DejaVu Sans,Arial,sans-serif" font-size="11">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect x="{layout.left:.1f}" y="{layout.top:.1f}" width="{layout.right - layout.left:.1f}" '
        f'height="{layout.bottom - layout.top:.1f}" fill="#fafafa" stroke="#888"/>',
    ]
    out.extend(_axes(layout, chart))
    for line in layout.lines:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in line.points)
        out.append(
            f'<polyline class="series" data-label="{escape(line.label)}" fill="none" '
            f'stroke="{line.colour}" stroke-width="2" points="{points}"/>'
        )
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{line.colour}"/>' for x, y in line.points)
    out.extend(_legend(layout))
    out.append("</svg>")
    return "\n".join(out)


def _axes(layout: ChartLayout, chart: Chart) -> list[str]:
    out = []
    for tick in layout.y_ticks:
        out.append(
            f'<line x1="{layout.left:.1f}" y1="{tick.position:.1f}" x2="{layout.right:.1f}" '
            f'y2="{tick.position:.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{layout.left - 6:.1f}" y="{tick.position + 4:.1f}" text-anchor="end">'
            f"{escape(tick.text)}</text>"
        )
    for tick in layout.x_ticks:
        out.append(
            f'<text x="{tick.position:.1f}" y="{layout.bottom + 16:.1f}" text-anchor="middle">'
            f"{escape(tick.text)}</text>"
        )
    middle_x = (layout.left + layout.right) / 2
    out.append(
        f'<text x="{middle_x:.1f}" y="{layout.height - 6:.1f}" text-anchor="middle">'
        f"{escape(chart.x_label)}</text>"
    )
    middle_y = (layout.top + layout.bottom) / 2
    out.append(
        f'<text x="14" y="{middle_y:.1f}" text-anchor="middle" transform="rotate(-90 14 {middle_y:.1f})">'
        f"{escape(chart.y_label)}</text>"
    )
    return out


def _legend(layout: ChartLayout) -> list[str]:
    out = []
    x = layout.left
    for line in layout.lines:
        out.append(
            f'<rect x="{x:.1f}" y="{layout.top - 24:.1f}" width="14" height="4" fill="{line.colour}"/>'
        )
        out.append(f'<text x="{x + 18:.1f}" y="{layout.top - 18:.1f}">{escape(line.label)}</text>')
        x += 24 + 7 * len(line.label)
    return out


def _summary(content: ReportContent) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in content.summary)
    return f'<table class="summary" id="summary">{rows}</table>'


def _table(table: Table) -> str:
    out = [f"<h2>{escape(table.title)}</h2>"]
    if table.note and not table.rows:
        out.append(f'<p class="note">{escape(table.note)}</p>')
        return "\n".join(out)
    out.append("<table>")
    if any(table.headers):
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.headers) + "</tr>")
    for index, row in enumerate(table.rows):
        state = table.ok_of(index)
        css = "" if state is None else (' class="pass"' if state else ' class="fail"')
        out.append(f"<tr{css}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _outcome_class(ok: bool | None) -> str:
    if ok is None:
        return "unknown"
    return "ok" if ok else "bad"
