"""The report page (/insights/report/): the article's sentence for a period and scope, the tables and charts behind
it, printable, with PDF and xlsx downloads."""

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.bounds import validate_date_in_range
from ningju.core.http import AuthedRequest
from ningju.core.models import AuditAction
from ningju.insights import report, report_files

YEARS_BACK = 5  # how many past years the year picker offers
FORMATS = ("pdf", "xlsx")


class ReportForm(forms.Form):
    """A calendar year (the current one up to today), or a custom start and end; and the scope (an area code,
    empty for the whole street). The scope is checked by `report.report_scope`, which refuses an area out of
    reach with 403 rather than a form error."""

    year = forms.TypedChoiceField(
        label=gettext_lazy("年度"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": gettext_lazy("请选择有效的年度。")},
    )
    start = forms.DateField(
        label=gettext_lazy("开始日期"),
        required=False,
        widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("请输入有效的日期，格式为 YYYY-MM-DD。")},
        validators=[validate_date_in_range],
    )
    end = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("请输入有效的日期，格式为 YYYY-MM-DD。")},
        validators=[validate_date_in_range],
    )
    area = forms.CharField(label=gettext_lazy("范围"), required=False, max_length=20)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        year = self.fields["year"]
        assert isinstance(year, forms.TypedChoiceField)
        year.choices = [("", _("自定义期间"))] + [
            (y, _("%(y)s年（至今）") % {"y": y} if y == today.year else _("%(y)s年") % {"y": y})
            for y in range(today.year, today.year - YEARS_BACK - 1, -1)
        ]

    def clean(self) -> dict[str, Any]:
        """One source of truth for the period: a year, or a start and an end under 自定义期间. A year chosen with
        dates of another period is refused (it would be unclear which the user meant); dates equal to the year's
        own period are accepted (a bookmarked link)."""
        data = super().clean() or {}
        start, end, year = data.get("start"), data.get("end"), data.get("year")
        dated = bool(start or end or "start" in self.errors or "end" in self.errors)
        if year and dated:
            if (start, end) != default_period(self.today, year):
                self.add_error(
                    "year",
                    _(
                        "所选年度与填写的日期不一致。按年度统计请清空开始和结束日期；"
                        "按日期统计请把年度选为“自定义期间”。"
                    ),
                )
            return data
        if dated:
            if start is None and "start" not in self.errors:
                self.add_error("start", _("自定义期间须填写开始日期。"))
            if end is None and "end" not in self.errors:
                self.add_error("end", _("自定义期间须填写结束日期。"))
            if start and end:
                if start > end:
                    self.add_error("start", _("开始日期不能晚于结束日期。"))
                elif (end - start).days > report.MAX_PERIOD_DAYS:
                    self.add_error("start", _("统计期间最长五年。"))
                elif start > self.today:
                    self.add_error("start", _("开始日期不能晚于今天。"))
        else:
            year = year or self.today.year
            start, end = default_period(self.today, year)
            data["year"] = year
        data["start"], data["end"] = start, end
        return data


def default_period(today: date, year: int | None = None) -> tuple[date, date]:
    """A calendar year; the current one runs to today."""
    year = year or today.year
    return date(year, 1, 1), (today if year == today.year else date(year, 12, 31))


@login_required
def report_page(request: AuthedRequest) -> HttpResponse:
    base = report.report_scope(request.user)  # refuses cadres, liaisons and users without a role before anything
    # The street administrator picks the street or an area; an area head's report is always their own area.
    choices = base.choices if scoping.is_street_admin(request.user) else []
    today = timezone.localdate()
    params = request.GET.copy()
    wanted = params.pop("format", [""])[-1]
    form = ReportForm(params or None, today=today)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "insights/report.html",
            {"form": form, "report": None, "choices": choices, "base": base},
            status=400,
        )
    data: dict[str, Any] = form.cleaned_data if form.is_bound else {"area": "", "start": None, "end": None}
    if data["start"] is None:
        data["start"], data["end"] = default_period(today)
        data["year"] = today.year
    scope = report.report_scope(request.user, data.get("area") or "")
    built = report.cached_report(scope, data["start"], data["end"])

    if wanted in FORMATS:
        if not scoping.can_export(request.user):
            raise PermissionDenied(_("您的角色不能下载报告。"))
        return _download(request, built, wanted)

    # The form shows what was used: a year with its dates left empty, or 自定义期间 with the dates.
    if data.get("year"):
        shown = ReportForm(initial={**data, "start": None, "end": None}, today=today)
    else:
        shown = ReportForm(initial={**data, "year": ""}, today=today)
    query = {
        "area": scope.area.code if scope.area else "",
        "start": built.start.isoformat(),
        "end": built.end.isoformat(),
    }
    return render(
        request,
        "insights/report.html",
        {
            "form": shown,
            "report": built,
            "choices": choices,
            "base": base,
            "scope": scope,
            "charts": report.chart_data(built),
            "pdf_query": urlencode({**query, "format": "pdf"}),
            "xlsx_query": urlencode({**query, "format": "xlsx"}),
            "may_export": scoping.can_export(request.user),
            "last_year": today.year - 1,
        },
    )


def _download(request: AuthedRequest, built: report.Report, wanted: str) -> HttpResponse:
    """The PDF or the workbook, audited. A street's year is built in about a second (the demo street: 1.1 s, the
    PDF 0.1 s more), so it is answered directly rather than through a background job."""
    if wanted == "pdf":
        content, content_type, rows = report_files.report_pdf(built), "application/pdf", None
    else:
        content, rows = report_files.report_xlsx(built)
        content_type = report_files.XLSX
    scope = built.scope
    audit(
        user=request.user,
        action=AuditAction.EXPORT,
        target_type="insights.report",
        target_id=scope.area.code if scope.area else str(scope.street.pk),
        detail={
            "format": wanted,
            "start": built.start.isoformat(),
            "end": built.end.isoformat(),
            "area": scope.area.code if scope.area else "",
            **({"rows": rows} if rows is not None else {}),
        },
        request=request,
    )
    response = HttpResponse(content, content_type=content_type)
    code = scope.area.code if scope.area else scope.street.code
    name = f"report-{code}-{built.start.isoformat()}-{built.end.isoformat()}.{wanted}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns: list[URLPattern] = [
    path("report/", report_page, name="report"),
]
