"""The dashboard (数据看板): street, area and cadre figures for any period, with drill-down, a table beside every chart
and an xlsx download of each table."""

import io
from datetime import date, datetime
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.http import AuthedRequest
from ningju.core.models import AuditAction
from ningju.core.tables import write_xlsx
from ningju.core.workdays import calendar_warning
from ningju.demands import rates
from ningju.demands.forms import StatsPeriodForm
from ningju.insights import dashboards
from ningju.visits.selectors import map_tiles

# The most rows a table on the page lists (the map's buildings can be a thousand); the download has them all.
TABLE_ROWS = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DashboardForm(StatsPeriodForm):
    """The period (a named one, or a custom start and end) and the drill-down (an area code, a username)."""

    area = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    cadre = forms.CharField(required=False, max_length=150, widget=forms.HiddenInput)


def _options(request: AuthedRequest) -> tuple[DashboardForm, dict[str, Any], bool]:
    """The validated options, or (on bad input) the default period with the form carrying the errors."""
    today = timezone.localdate()
    start, end = rates.period_dates(rates.THIS_MONTH, today)
    params = request.GET.copy()
    params.pop("download", None)
    defaults = {
        "period": rates.THIS_MONTH,
        "start": start,
        "end": end,
        "area": params.get("area", ""),
        "cadre": params.get("cadre", ""),
    }
    form = DashboardForm(params or None, initial=defaults, today=today)
    if not form.is_bound:
        return form, defaults, True
    if form.is_valid():
        return DashboardForm(initial=form.cleaned_data, today=today), form.cleaned_data, True
    return form, defaults, False


def _period_query(options: dict[str, Any]) -> dict[str, str]:
    """The period as query parameters, for the drill-down links."""
    if options["period"] == rates.CUSTOM:
        return {"period": rates.CUSTOM, "start": options["start"].isoformat(), "end": options["end"].isoformat()}
    return {"period": options["period"]}


def _reverse(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _record_links(
    request: AuthedRequest, scope: dashboards.DashboardScope, start: date, end: date
) -> list[dict[str, str]]:
    """Where "查看记录" leads: the coverage page and the demand list, narrowed to the scope and period."""
    today = timezone.localdate()
    links = []
    coverage_url = _reverse("coverage")
    if coverage_url:
        params = {"start": start.isoformat(), "end": min(end, today).isoformat()}
        if scope.area is not None and scope.viewer.role == "street_admin":
            params["area"] = scope.area.code
        links.append({"label": _("查看走访记录"), "url": f"{coverage_url}?{urlencode(params)}"})
    demand_url = _reverse("demand_all")
    if demand_url:
        params = {"created_from": start.isoformat(), "created_to": end.isoformat()}
        if scope.cadre is not None and scope.cadre.pk == scope.viewer.pk:
            params["mine"] = "on"
        elif scope.area is not None and scope.viewer.role == "street_admin":
            params["area"] = scope.area.code
        links.append({"label": _("查看诉求记录"), "url": f"{demand_url}?{urlencode(params)}"})
    return links


def _breadcrumbs(scope: dashboards.DashboardScope, query: dict[str, str]) -> list[dict[str, str]]:
    crumbs = []
    if scope.viewer.role == "street_admin":
        crumbs.append({"label": scope.street.name, "url": "?" + urlencode(query)})
    if scope.area is not None and scope.viewer.role != "cadre":
        crumbs.append({"label": scope.area.name, "url": "?" + urlencode({**query, "area": scope.area.code})})
    if scope.cadre is not None:
        crumbs.append({"label": scope.cadre.display_name, "url": ""})
    if crumbs:
        crumbs[-1]["url"] = ""
    return crumbs


@login_required
def dashboard_page(request: AuthedRequest) -> HttpResponse:
    if not dashboards.may_see_dashboard(request.user):
        raise PermissionDenied(_("您的角色不能查看数据看板。"))
    form, options, valid = _options(request)
    scope = dashboards.dashboard_scope(
        request.user, area_code=str(options.get("area") or ""), cadre_username=str(options.get("cadre") or "")
    )
    start, end = options["start"], options["end"]
    query = _period_query(options)
    bundle = dashboards.figures(scope, start, end, query=query)
    bundle = {**bundle, "charts": [_served(chart) for chart in bundle["charts"]]}

    download = request.GET.get("download")
    if download:
        chart = dashboards.chart_of(bundle, download)
        if chart is None or not valid:
            return render(
                request,
                "insights/dashboard.html",
                _context(request, form, scope, options, bundle, query),
                status=400,
            )
        if not scoping.can_export(request.user):
            raise PermissionDenied(_("您的角色不能导出统计表。"))
        return _xlsx(request, scope, chart, start, end)
    return render(request, "insights/dashboard.html", _context(request, form, scope, options, bundle, query))


def _served(chart: dict[str, Any]) -> dict[str, Any]:
    """The map's tile servers are this server's setting (and its Content Security Policy's), not part of the figures:
    a bundle computed by the task worker is drawn with the tiles this process allows."""
    if chart["key"] != "map":
        return chart
    return {**chart, "data": {**chart["data"], "tiles": map_tiles()}}


def _context(
    request: AuthedRequest,
    form: DashboardForm,
    scope: dashboards.DashboardScope,
    options: dict[str, Any],
    bundle: dict[str, Any],
    query: dict[str, str],
) -> dict[str, Any]:
    here = {**query, **({"area": scope.area.code} if scope.area and scope.level != dashboards.STREET else {})}
    if scope.cadre is not None and scope.viewer.role != "cadre":
        here["cadre"] = scope.cadre.username
    charts = [
        {
            **chart,
            "lines": list(zip(chart["rows"], chart["links"], strict=True))[:TABLE_ROWS],
            "cut": len(chart["rows"]) > TABLE_ROWS,
            "download": urlencode({**here, "download": chart["key"]}),
        }
        for chart in bundle["charts"]
    ]
    computed = bundle["computed_at"]  # every figure of the page was counted at this moment
    return {
        "form": form,
        "scope": scope,
        "options": options,
        "totals": bundle["totals"],
        "charts": charts,
        "chart_data": {
            "charts": {
                chart["key"]: {k: chart[k] for k in ("headers", "rows", "links", "data")}
                for chart in bundle["charts"]
            },
            "text": {
                "visits": _("入户走访"),
                "demands": _("诉求"),
                "minimum": _("每日最低要求"),
                "no_tiles": _("未配置地图底图，仅按坐标显示楼栋"),
                "tiles_failed": _("地图底图无法加载，仅按坐标显示楼栋"),
                "no_data": _("暂无数据"),
                "buildings": _("%(n)s 栋楼"),
                "busiest": _("最多的是"),
            },
        },
        "refreshed": timezone.localtime(datetime.fromisoformat(computed)),
        "records": _record_links(request, scope, options["start"], options["end"]),
        "crumbs": _breadcrumbs(scope, query),
        "may_export": scoping.can_export(request.user),
        "warning": calendar_warning(options["start"], options["end"]),
    }


def _xlsx(
    request: AuthedRequest, scope: dashboards.DashboardScope, chart: dict[str, Any], start: date, end: date
) -> HttpResponse:
    buffer = io.BytesIO()
    count = write_xlsx(buffer, [(chart["title"], chart["headers"], chart["rows"])])
    audit(
        user=request.user,
        action=AuditAction.EXPORT,
        target_type="insights.dashboard",
        target_id=chart["key"],
        detail={
            "rows": count,
            "chart": chart["key"],
            "level": scope.level,
            "area": scope.area.code if scope.area else "",
            "cadre": scope.cadre.username if scope.cadre else "",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
        request=request,
    )
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    name = f"dashboard-{chart['key']}-{start.isoformat()}-{end.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns: list[URLPattern] = [
    path("dashboard/", dashboard_page, name="dashboard"),
]
