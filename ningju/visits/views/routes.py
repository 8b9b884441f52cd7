"""Route map and coverage pages: today's and any day's walk on a map with its list, the printable walk list, the
interactive re-plan of a day, the coverage page and its overdue export."""

import io
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.validators import MinValueValidator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ningju.core import bounds, workdays
from ningju.core.errors import ApplicationError
from ningju.core.http import AuthedRequest
from ningju.core.models import User
from ningju.visits import coverage, exports, permissions, selectors

PAGE_SIZE = 50
# The longest period the coverage page computes visit rates for.
MAX_PERIOD_DAYS = 3 * 366


def visit_form_url() -> str | None:
    """The visit logging form, if it is installed: the route page hides its links rather than fail without it."""
    try:
        return reverse("visit_new")
    except NoReverseMatch:
        return None


def parse_day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Http404(_("日期格式不正确，应为 YYYY-MM-DD。")) from None
    if not bounds.date_in_range(day):
        raise Http404(bounds.DATE_RANGE_MESSAGE)
    return day


# --- route pages ------------------------------------------------------------------------------------------------


def route_context(request: AuthedRequest, owner: User, day: date) -> dict[str, Any]:
    route = selectors.route_of(owner, day)
    rows = selectors.stop_rows(route, visit_form_url()) if route is not None else []
    today = timezone.localdate()
    return {
        "owner": owner,
        "day": day,
        "is_today": day == today,
        "is_workday": workdays.is_workday(day),
        "route": route,
        "rows": rows,
        "done_count": sum(1 for row in rows if row.done),
        "map_data": selectors.route_map_data(route, rows, selectors.office_of(route, owner)),
        "previous_day": selectors.previous_workday(day),
        "next_day": selectors.next_workday(day),
        "today": today,
        "can_replan": permissions.can_replan(request.user, owner, day),
        "calendar_warning": workdays.calendar_warning(day),
    }


@login_required
def route_today(request: AuthedRequest) -> HttpResponse:
    """The signed-in user's walk for today (what a cadre opens at 8:30)."""
    owner = selectors.route_owner(request.user, request.user.username)
    return render(request, "visits/route_day.html", route_context(request, owner, timezone.localdate()))


@login_required
def route_day(request: AuthedRequest, username: str, day: str) -> HttpResponse:
    owner = selectors.route_owner(request.user, username)
    return render(request, "visits/route_day.html", route_context(request, owner, parse_day(day)))


@login_required
def route_print(request: AuthedRequest, username: str, day: str) -> HttpResponse:
    owner = selectors.route_owner(request.user, username)
    on = parse_day(day)
    route = selectors.route_of(owner, on)
    rows = selectors.stop_rows(route, None) if route is not None else []
    context = {"owner": owner, "day": on, "route": route, "rows": rows}
    return render(request, "visits/route_print.html", context)


@login_required
@require_POST
def route_replan(request: AuthedRequest, username: str, day: str) -> HttpResponse:
    """Re-plan one cadre's day now (the planner runs inline: one day of one cadre takes well under a second)."""
    owner = selectors.route_owner(request.user, username)
    on = parse_day(day)
    if not permissions.can_replan(request.user, owner, on):
        raise PermissionDenied(_("只有本人或本居民区书记可以重新规划今天及以后的路线。"))
    try:
        # Imported here: the planner is a separate, heavier module (a routing solver behind it).
        from ningju.visits.planner import plan_cadre_day
    except ImportError:
        messages.error(request, _("路线规划功能尚未启用。"))
    else:
        try:
            route = plan_cadre_day(cadre=owner, day=on, user=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            if route is None:
                messages.warning(request, _("这一天没有需要走访的对象，未生成路线。"))
            else:
                messages.success(request, _("路线已重新规划：%(n)d 个站点。") % {"n": route.stops.count()})
    if owner.pk == request.user.pk and on == timezone.localdate():
        return redirect("route_today")
    return redirect("route_day", username=owner.username, day=on.isoformat())


# --- coverage ---------------------------------------------------------------------------------------------------


class CoverageFilter(forms.Form):
    """The coverage page's period, area and list options; every field optional."""

    start = forms.DateField(
        label=gettext_lazy("开始日期"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
        validators=[bounds.validate_date_in_range],
    )
    # Only the lower bound here: the page itself refuses an end after today, with its own message.
    end = forms.DateField(
        label=gettext_lazy("截至日期"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
        validators=[MinValueValidator(bounds.MIN_DATE, message=bounds.DATE_RANGE_MESSAGE)],
    )
    area = forms.ChoiceField(
        label=gettext_lazy("居民区"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("该居民区不存在，或不在您的管理范围内。")},
    )
    status = forms.ChoiceField(
        label=gettext_lazy("显示"),
        required=False,
        choices=[
            (coverage.STATUS_OVERDUE, gettext_lazy("逾期未走访")),
            (coverage.STATUS_MUST_VISIT, gettext_lazy("必访户")),
            (coverage.STATUS_ALL, gettext_lazy("全部住户")),
        ],
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("排序"),
        required=False,
        choices=[
            ("-days", gettext_lazy("距上次走访：最久在前")),
            ("days", gettext_lazy("距上次走访：最近在前")),
            ("area", gettext_lazy("居民区")),
            ("-area", gettext_lazy("居民区（倒序）")),
            ("rule", gettext_lazy("走访要求：最严在前")),
            ("-rule", gettext_lazy("走访要求：最宽在前")),
        ],
    )

    def __init__(self, *args: Any, areas: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ChoiceField)
        area_field.choices = [("", _("全部")), *areas]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or date(end.year, 1, 1)
        if end > today:
            self.add_error("end", _("截至日期不能晚于今天。"))
        if start > end:
            self.add_error("start", _("开始日期不能晚于截至日期。"))
        elif (end - start).days > MAX_PERIOD_DAYS:
            self.add_error("start", _("统计期间最长三年。"))
        data["start"], data["end"] = start, end
        data["status"] = data.get("status") or coverage.STATUS_OVERDUE
        data["sort"] = data.get("sort") or coverage.DEFAULT_SORT
        return data


def coverage_filter(request: AuthedRequest) -> tuple[CoverageFilter, dict[str, Any]]:
    """The validated options; on bad input the form carries the errors and the defaults apply."""
    if not coverage.may_see_coverage(request.user):
        raise PermissionDenied(_("您的角色不能查看走访覆盖情况。"))
    today = timezone.localdate()
    defaults = {
        "start": date(today.year, 1, 1),
        "end": today,
        "area": "",
        "status": coverage.STATUS_OVERDUE,
        "sort": coverage.DEFAULT_SORT,
    }
    visible = coverage.coverage_scope(request.user).areas
    form = CoverageFilter(request.GET or None, initial=defaults, areas=[(a.code, a.name) for a in visible])
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data
    return form, defaults


@login_required
def coverage_page(request: AuthedRequest) -> HttpResponse:
    form, options = coverage_filter(request)
    scope = coverage.coverage_scope(request.user, options["area"])
    figures = coverage.coverage_for(scope, options["start"], options["end"])
    codes = {a.pk: a.code for a in scope.areas}
    listed = coverage.filter_and_sort(
        figures.dues, status=options["status"], sort=options["sort"], area_codes=codes
    )
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    households = coverage.households_by_id([d.household_id for d in page.object_list])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "options": options,
        "figures": figures,
        "page": page,
        "items": [(due, households[due.household_id]) for due in page.object_list],
        "query": query.urlencode(),
        "sort_query": {key: _sort_link(request, key, options["sort"]) for key in ("area", "days", "rule")},
    }
    template = "visits/coverage.html#households" if request.htmx else "visits/coverage.html"
    return render(request, template, context)


def _sort_link(request: AuthedRequest, key: str, current: str) -> str:
    """The query string that sorts the list by `key`, flipping the direction when it is already sorted by it."""
    query = request.GET.copy()
    query.pop("page", None)
    if current == key:
        query["sort"] = f"-{key}"
    elif current == f"-{key}":
        query["sort"] = key
    else:  # first click: the useful direction (longest unvisited, strictest rule, area order)
        query["sort"] = "-days" if key == "days" else key
    return query.urlencode()


@never_cache  # names and addresses of households
@login_required
def overdue_export(request: AuthedRequest) -> HttpResponse:
    _form, options = coverage_filter(request)
    scope = coverage.coverage_scope(request.user, options["area"])
    buffer = io.BytesIO()
    exports.export_overdue(
        user=request.user, target=buffer, scope=scope, as_of=options["end"], sort=options["sort"], request=request
    )
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="overdue-{options["end"].isoformat()}.xlsx"'
    return response


urlpatterns: list[URLPattern] = [
    path("today/", route_today, name="route_today"),
    path("routes/<str:username>/<str:day>/", route_day, name="route_day"),
    path("routes/<str:username>/<str:day>/print/", route_print, name="route_print"),
    path("routes/<str:username>/<str:day>/replan/", route_replan, name="route_replan"),
    path("coverage/", coverage_page, name="coverage"),
    path("coverage/overdue.xlsx", overdue_export, name="overdue_export"),
]
