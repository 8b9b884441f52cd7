"""The report as files: a PDF (reportlab, with its built-in Chinese CID font, so no font file is needed) and an xlsx
workbook with one sheet per table."""

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ningju.core.tables import write_xlsx
from ningju.insights.report import (
    Report,
    department_headers,
    mechanism_headers,
    visit_headers,
    whistle_headers,
)

FONT = "STSong-Light"  # one of reportlab's built-in CID fonts: Adobe's Song for simplified Chinese
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_font_registered = False


def _font() -> str:
    global _font_registered
    if not _font_registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _font_registered = True
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=6),
        "sentence": ParagraphStyle("sentence", fontName=font, fontSize=14, leading=22, spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=13),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10),
        "small": ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10, textColor=colors.grey),
    }


def _table(headers: list[str], rows: list[list[Any]], styles: dict[str, ParagraphStyle], total: bool) -> Table:
    cell = styles["cell"]
    data = [[Paragraph(str(h), cell) for h in headers]]
    data += [[Paragraph(str(v), cell) for v in row] for row in rows]
    table = Table(data, repeatRows=1, hAlign="LEFT")
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if total and rows:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f6f6f6")))
    table.setStyle(TableStyle(commands))
    return table


def _bar_chart(title: str, labels: list[str], values: list[int], width: float) -> Drawing | None:
    """A plain horizontal bar chart (areas or topics down the side), or nothing when there is nothing to draw."""
    if not values or not any(values):
        return None
    font = _font()
    height = 16 + 12 * len(values) + 20
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 70 * mm / 2.2, 10
    chart.width, chart.height = width - chart.x - 20, height - 34
    chart.data = [list(reversed(values))]
    chart.categoryAxis.categoryNames = list(reversed(labels))
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2f6fb3")
    drawing.add(chart)
    drawing.add(String(0, height - 12, title, fontName=font, fontSize=9))
    return drawing


def _month_chart(title: str, months: list[str], values: list[int], width: float) -> Drawing | None:
    if not values or not any(values):
        return None
    font = _font()
    height = 130.0
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 35, 25, width - 50, height - 45
    chart.data = [values]
    chart.categoryAxis.categoryNames = [m[2:] for m in months]  # "26-03": short enough for twelve under A4
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2f6fb3")
    drawing.add(chart)
    drawing.add(String(0, height - 12, title, fontName=font, fontSize=9))
    return drawing


def report_pdf(report: Report) -> bytes:
    """The report on A4: title, the sentence, then each section's table (charts as simple bar charts)."""
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=report.title,
        author=_("宁聚"),
    )
    width = doc.width
    sheets = {title: (headers, rows) for title, headers, rows in report.sheets()}
    story: list[Any] = [
        Paragraph(report.title, styles["title"]),
        Paragraph(
            _("统计期间：%(start)s 至 %(end)s（含起止日期）；生成时间：%(now)s")
            % {
                "start": report.start.isoformat(),
                "end": report.end.isoformat(),
                "now": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            },
            styles["small"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(report.sentence, styles["sentence"]),
    ]

    def section(title: str, headers: list[str], rows: list[list[Any]], *extra: Any, total: bool = True) -> None:
        story.append(CondPageBreak(60 * mm))  # a heading never sits alone at the foot of a page
        story.append(Paragraph(title, styles["h2"]))
        for flowable in extra:
            if flowable is not None:
                story.append(KeepTogether([flowable, Spacer(1, 3 * mm)]))
        if rows:
            story.append(_table(headers, rows, styles, total))
        else:
            story.append(Paragraph(_("无数据。"), styles["body"]))

    visits_headers, visits_rows = visit_headers(), sheets[_("走访")][1]
    section(
        _("走访与覆盖"),
        visits_headers,
        visits_rows,
        _bar_chart(
            _("各居民区走访户数"),
            [r.name for r in report.visits],
            [r.households_visited for r in report.visits],
            width,
        ),
    )
    section(
        _("月度走访人次"),
        [_("月份"), _("走访人次"), _("走访户数")],
        [list(m) for m in report.months],
        _month_chart(_("月度走访人次"), [m[0] for m in report.months], [m[1] for m in report.months], width),
        total=False,
    )
    topic_headers, topic_rows = sheets[_("诉求主题")]
    top = report.topics.rows[:12]
    note = None
    if len(report.topics.columns) > 8:  # sixteen area columns do not fit A4: the cross table is in the xlsx
        topic_headers, topic_rows = [topic_headers[0], topic_headers[-1]], [[r[0], r[-1]] for r in topic_rows]
        note = Paragraph(_("按居民区的交叉表见 xlsx 下载。"), styles["small"])
    section(
        _("诉求主题与居民区"),
        topic_headers,
        topic_rows,
        _bar_chart(_("诉求主题（前12）"), [t[0] for t in top], [t[2] for t in top], width),
        note,
    )
    section(_("吹哨"), whistle_headers(), sheets[_("吹哨")][1])
    section(_("职能部门"), department_headers(), sheets[_("职能部门")][1])
    section(_("响应率、解决率、满意率"), report.rate_table.headers(), report.rate_table.sheet_rows())
    section(_("常态化响应机制"), mechanism_headers(), sheets[_("常态化机制")][1], total=False)
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(_("统计口径"), styles["h2"]))
    story += [Paragraph(text, styles["small"]) for text in report.definitions]
    doc.build(story)
    return buffer.getvalue()


def report_xlsx(report: Report) -> tuple[bytes, int]:
    """The workbook (one sheet per table) and the number of data rows written."""
    buffer = io.BytesIO()
    count = write_xlsx(buffer, report.sheets())
    return buffer.getvalue(), count
