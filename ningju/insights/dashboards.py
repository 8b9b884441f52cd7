"""The dashboard's figures for a scope (street, area or cadre) and a period: one number per fact.

Each chart is a `Chart`: a title, its table (headers and rows: the numbers the chart draws, shown beside it and
downloaded as xlsx) and the series the chart script draws. Every figure is counted from the records themselves
(live), all in one computation, so a headline tile and the chart that names the same thing always agree: the visit
tiles are the visits chart's column totals, the demand tiles are the funnel's stages (the demands received in the
period and how far each has got, the population of the rates page), and the satisfaction under 回访 is the rates
chart's total. Sources:

* visits per working day: the period's visits, grouped by area, by cadre and day, or by day (one query);
* coverage and must-visit compliance: `ningju.visits.coverage` (distinct households over a year), as of the
  period's end;
* the funnel and the demand tiles: one aggregate query over the demands received in the period;
* the three rates: `ningju.demands.rates.rate_table` for the viewer, so the numbers are those of the rates page;
* overdue: open demands whose deadline shows red or yellow now (`selectors.alert_q`), one aggregate query;
* topics: the period's demands by category (one grouped query);
* the map: visits and demands per building over the period, two grouped queries.

The whole bundle is computed at one moment (the page says when) and cached per scope and period under the rollups'
generation (`rollups.generation`): the refresh every 15 minutes starts a new generation and computes the common
views again (`dashboards_warm`), so readers find them ready and no figure is older than the stamp on the page.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ningju.core import scoping, workdays
from ningju.core.models import Role, User
from ningju.demands import rates
from ningju.demands.models import Alert, Category, Demand, DemandEvent, Kind
from ningju.demands.selectors import OPEN_STATES, alert_q
from ningju.demands.workflow import Action, State
from ningju.insights import rollups
from ningju.insights.models import Cluster, ClusterStatus
from ningju.registry.models import Building, ResidentialArea, Street, format_address
from ningju.visits import coverage
from ningju.visits import rules as visit_rules
from ningju.visits.models import Visit
from ningju.visits.selectors import map_tiles

STREET, AREA, CADRE = "street", "area", "cadre"
# How long a bundle is served before it is computed again. The refresh every 15 minutes starts a new generation (and
# computes the common views at once), so this only bounds a bundle's age where no task worker runs.
CACHE_SECONDS = 15 * 60
# Coverage changes with visits, which a rollup refresh (a new generation) follows; the time limit only bounds memory.
COVERAGE_CACHE_SECONDS = 3600
TOP_TOPICS = 10
TOP_CLUSTERS = 5


# --- scope ------------------------------------------------------------------------------------------------------


@dataclass
class DashboardScope:
    """Whose figures a dashboard shows: a street (its areas), one area (its cadres) or one person."""

    viewer: User
    street: Street
    level: str
    areas: list[ResidentialArea]  # every area the viewer may see
    area: ResidentialArea | None = None  # the area shown (area level), or the person's area (cadre level)
    cadre: User | None = None

    @property
    def label(self) -> str:
        if self.cadre is not None:
            return self.cadre.display_name
        if self.area is not None:
            return self.area.name
        return self.street.name

    @property
    def key(self) -> str:
        return f"{self.level}:{self.area.pk if self.area else ''}:{self.cadre.pk if self.cadre else ''}:{self.viewer.role}"

    def visits(self) -> Q:
        """The visits of the scope: the street's, the area's, or the person's own (wherever they visited)."""
        if self.cadre is not None:
            return Q(cadre=self.cadre.pk)
        if self.area is not None:
            return Q(area=self.area.pk)
        return Q(area__street=self.street.pk)

    def demands(self) -> Q:
        """The demands of the scope: the street's, the area's, or those the person owns (首问负责)."""
        if self.cadre is not None:
            return Q(owner=self.cadre.pk)
        if self.area is not None:
            return Q(area=self.area.pk)
        return Q(area__street=self.street.pk)


def may_see_dashboard(user: User) -> bool:
    return bool(user.is_active) and user.role in (Role.STREET_ADMIN, *scoping.AREA_ROLES)


def dashboard_scope(user: User, *, area_code: str = "", cadre_username: str = "") -> DashboardScope:
    """Street administrator: the street, or any of its areas or people; area head: their area or one of its people;
    cadre: themselves. Anyone else, and anything outside that, is refused."""
    if not may_see_dashboard(user):
        raise PermissionDenied(_("您的角色不能查看数据看板。"))
    areas = list(scoping.visible(user, ResidentialArea.objects.select_related("street")).order_by("code"))
    if not areas:
        raise PermissionDenied(_("您的账号没有可查看的居民区。"))
    street = areas[0].street
    area = None
    if area_code:
        area = next((a for a in areas if a.code == area_code), None)
        if area is None:
            raise PermissionDenied(_("居民区“%(c)s”不存在，或不在您的管理范围内。") % {"c": area_code})
    if user.role == Role.CADRE:
        if cadre_username and cadre_username != user.username:
            raise PermissionDenied(_("您只能查看本人的数据。"))
        return DashboardScope(user, street, CADRE, areas, area=user.area, cadre=user)
    if cadre_username:
        person = (
            User.objects.select_related("area")
            .filter(username=cadre_username, role__in=scoping.AREA_ROLES, area__in=areas)
            .first()
        )
        if person is None or (area is not None and person.area_id != area.pk):
            raise PermissionDenied(_("干部“%(u)s”不存在，或不在您的管理范围内。") % {"u": cadre_username})
        return DashboardScope(user, street, CADRE, areas, area=person.area, cadre=person)
    if user.role == Role.AREA_HEAD:
        return DashboardScope(user, street, AREA, areas, area=areas[0])
    if area is not None:
        return DashboardScope(user, street, AREA, areas, area=area)
    return DashboardScope(user, street, STREET, areas)


# --- results ----------------------------------------------------------------------------------------------------


@dataclass
class Chart:
    """One chart: its table (headers, rows of cells; a row may carry a drill-down link) and what the script draws."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # per row, "" where the row leads nowhere
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "headers": self.headers,
            "rows": self.rows,
            "links": self.links,
            "data": self.data,
            "note": self.note,
        }


def _pct(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 1) if denominator else None


def _per(visits: int, days: int) -> float | None:
    return round(visits / days, 2) if days else None


def counted_workdays(start: date, end: date, today: date) -> list[date]:
    """The working days of the period that have begun: a period running into the future is not judged on days
    nobody could have worked yet."""
    last = min(end, today)
    return workdays.workdays_between(start, last) if start <= last else []


def _link(**params: str) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v})


# --- the charts -------------------------------------------------------------------------------------------------


def period_visits(scope: DashboardScope, start: date, end: date) -> Any:
    """The scope's visits of the period (household visits and patrols alike), as a queryset."""
    lo, hi = rollups.bounds(start, end)
    return Visit.objects.filter(scope.visits(), visited_at__gte=lo, visited_at__lt=hi).order_by()


def period_demands(scope: DashboardScope, start: date, end: date) -> Any:
    """The scope's demands received in the period, merged duplicates left out: the rates page's population."""
    lo, hi = rollups.bounds(start, end)
    return (
        Demand.objects.filter(scope.demands(), created_at__gte=lo, created_at__lt=hi)
        .exclude(state=State.MERGED)
        .order_by()
    )


HOUSEHOLD_VISIT = Q(household__isnull=False)
PATROL = Q(patrol_site__isnull=False)


def demand_progress(scope: DashboardScope, start: date, end: date) -> dict[str, int]:
    """The demands received in the period and how far each has got, in one aggregate query: what the funnel draws
    and what the demand tiles show."""

    def reached(condition: Q) -> Exists:
        return Exists(DemandEvent.objects.filter(condition, demand=OuterRef("pk")))

    handling = Q(action__in=[Action.START_HANDLING, Action.WHISTLE, Action.DISPATCH]) | Q(
        to_state__in=[State.AREA_HANDLING, *rates.RESOLVED_STATES]
    )
    counts = period_demands(scope, start, end).aggregate(
        received=Count("pk"),
        opinions=Count("pk", filter=Q(kind=Kind.OPINION)),
        problems=Count("pk", filter=Q(kind=Kind.PROBLEM)),
        found=Count("pk", filter=Q(source__in=rollups.FOUND_SOURCES)),
        contacted=Count("pk", filter=Q(reached(Q(action=Action.CONTACT)))),
        handling=Count("pk", filter=Q(reached(handling))),
        whistled=Count("pk", filter=Q(reached(Q(action=Action.WHISTLE)))),
        resolved=Count("pk", filter=Q(reached(Q(to_state__in=rates.RESOLVED_STATES)))),
        callback=Count("pk", filter=Q(reached(Q(action=Action.CALLBACK)))),
        closed=Count("pk", filter=Q(state=State.CLOSED)),
    )
    return {name: int(value or 0) for name, value in counts.items()}


def tiles(charts: dict[str, Chart], progress: dict[str, int]) -> dict[str, Any]:
    """The headline figures, taken from the charts that show the same facts (never counted a second way)."""
    visits = charts["visits"]
    visit_column = visits.headers.index(_("入户走访人次"))
    patrol_column = visits.headers.index(_("巡查次数"))
    satisfaction = charts["rates"].rows[-1][7] if charts["rates"].rows else None
    return {
        "household_visits": sum(row[visit_column] for row in visits.rows),
        "patrols": sum(row[patrol_column] for row in visits.rows),
        "demands_received": progress["received"],
        "opinions_received": progress["opinions"],
        "problems_received": progress["problems"],
        "problems_found": progress["found"],
        "demands_resolved": progress["resolved"],
        "resolved_percent": _pct(progress["resolved"], progress["received"]),
        "whistles": progress["whistled"],
        "callbacks": progress["callback"],
        "satisfaction": satisfaction,
    }


def visits_chart(
    scope: DashboardScope, start: date, end: date, today: date, minimum: int, query: dict[str, str]
) -> Chart:
    days = counted_workdays(start, end, today)
    visits = period_visits(scope, start, end)
    counted = {"v": Count("pk", filter=HOUSEHOLD_VISIT), "p": Count("pk", filter=PATROL)}
    title = _("每个工作日入户走访（户）")
    if scope.level == STREET:
        headers = [_("居民区"), _("干部人数"), _("入户走访人次"), _("巡查次数"), _("人均每工作日走访")]
        sums = {row["area_id"]: row for row in visits.values("area_id").annotate(**counted)}
        people = dict(
            User.objects.filter(role=Role.CADRE, is_active=True, area__in=scope.areas)
            .order_by()
            .values("area_id")
            .annotate(n=Count("pk"))
            .values_list("area_id", "n")
        )
        chart = Chart("visits", title, headers)
        for area in scope.areas:
            area_visits = sums.get(area.pk, {}).get("v") or 0
            patrols = sums.get(area.pk, {}).get("p") or 0
            n = people.get(area.pk, 0)
            chart.rows.append([area.name, n, area_visits, patrols, _per(area_visits, len(days) * n)])
            chart.links.append(_link(**query, area=area.code))
    elif scope.level == AREA:
        assert scope.area is not None
        headers = [_("干部"), _("入户走访人次"), _("巡查次数"), _("每工作日走访"), _("达标工作日")]
        per_person: dict[int, dict[str, int]] = defaultdict(lambda: {"v": 0, "p": 0, "good": 0})
        working = set(days)
        for cadre_id, day, household_visits, patrols in (
            visits.annotate(day=rollups.local_day("visited_at"))
            .values("cadre_id", "day")
            .annotate(**counted)
            .values_list("cadre_id", "day", "v", "p")
        ):
            tally = per_person[cadre_id]
            tally["v"] += household_visits
            tally["p"] += patrols
            tally["good"] += day in working and household_visits >= minimum
        persons = User.objects.filter(
            Q(role=Role.CADRE, is_active=True, area=scope.area) | Q(pk__in=list(per_person))
        ).order_by("full_name", "username")
        chart = Chart("visits", title, headers)
        for person in persons:
            tally = per_person[person.pk]
            chart.rows.append(
                [person.display_name, tally["v"], tally["p"], _per(tally["v"], len(days)), tally["good"]]
            )
            chart.links.append(_link(**query, area=scope.area.code, cadre=person.username))
    else:
        headers = [_("月份"), _("工作日"), _("入户走访人次"), _("巡查次数"), _("每工作日走访")]
        months: dict[str, dict[str, int]] = defaultdict(lambda: {"v": 0, "p": 0})
        for day, household_visits, patrols in (
            visits.annotate(day=rollups.local_day("visited_at"))
            .values("day")
            .annotate(**counted)
            .values_list("day", "v", "p")
        ):
            months[day.strftime("%Y-%m")]["v"] += household_visits
            months[day.strftime("%Y-%m")]["p"] += patrols
        month_days: dict[str, int] = defaultdict(int)
        for day in days:
            month_days[day.strftime("%Y-%m")] += 1
        chart = Chart("visits", title, headers)
        for month in sorted(set(month_days) | set(months)):
            tally = months[month]
            chart.rows.append(
                [month, month_days[month], tally["v"], tally["p"], _per(tally["v"], month_days[month])]
            )
            chart.links.append("")
    chart.data = {
        "minimum": minimum,
        "workdays": len(days),
        "value_column": len(headers) - (2 if scope.level == AREA else 1),
    }
    chart.note = _("按已开始的工作日计：%(n)s 个工作日；红线为每人每个工作日至少 %(min)s 户。") % {
        "n": len(days),
        "min": minimum,
    }
    return chart


def coverage_chart(scope: DashboardScope, end: date, today: date) -> Chart:
    """Coverage as of the period's end (today at the latest). It reads every household of the scope, so it is cached
    on its own per scope and day under the rollups' generation: every period ending on the same day shares it."""
    as_of = min(end, today)
    token, _refreshed = rollups.generation(scope.street.pk)
    key = f"ningju:dashboard:coverage:{scope.street.pk}:{token}:{scope.key}:{as_of}:{translation.get_language()}"
    cached = cache.get(key)
    if cached is None:
        cached = _coverage_chart(scope, as_of)
        cache.set(key, cached, COVERAGE_CACHE_SECONDS)
    return cached


def _coverage_chart(scope: DashboardScope, as_of: date) -> Chart:
    if scope.cadre is not None:
        cover = coverage.coverage_scope(scope.cadre)
    else:
        cover = coverage.coverage_scope(scope.viewer, scope.area.code if scope.area is not None else "")
    book = visit_rules.RuleBook(cover.street)
    dues = coverage.household_dues(cover.households, book, as_of)
    areas, total = coverage.area_coverage(dues, cover.areas, as_of, cover.label if cover.own_only else _("合计"))
    headers = [
        _("范围"),
        _("住户"),
        _("本年已走访"),
        _("覆盖率（%）"),
        _("必访户"),
        _("本期已访必访户"),
        _("必访达标率（%）"),
    ]
    chart = Chart("coverage", _("走访覆盖与必访达标"), headers)
    shown = areas if scope.level == STREET else []
    for row in [*shown, total]:
        chart.rows.append(
            [
                row.label,
                row.households,
                row.visited_this_year,
                _pct(row.visited_this_year, row.households),
                row.must_visit,
                row.must_visit_done,
                _pct(row.must_visit_done, row.must_visit),
            ]
        )
        chart.links.append("")
    chart.note = _(
        "截至 %(day)s：覆盖率为本年度至少走访一次的住户占比；必访达标为必访户在其规定周期（每月或每周）内已走访的占比。"
    ) % {"day": as_of.isoformat()}
    return chart


FUNNEL = [
    ("received", State.ACCEPTED),
    ("contacted", State.CONTACTED),
    ("handling", State.AREA_HANDLING),
    ("resolved", State.RESOLVED),
    ("callback", State.CALLBACK),
    ("closed", State.CLOSED),
]


def funnel_chart(progress: dict[str, int]) -> Chart:
    """The demands received in the period (merged duplicates aside) by the furthest stage each has reached."""
    counts = progress
    labels = {
        "received": _("受理"),
        "contacted": _("已联系"),
        "handling": _("处置"),
        "resolved": _("办结"),
        "callback": _("回访"),
        "closed": _("结案"),
    }
    chart = Chart("funnel", _("诉求办理漏斗"), [_("环节"), _("诉求数"), _("占受理（%）")])
    for key, _state in FUNNEL:
        chart.rows.append([labels[key], counts[key], _pct(counts[key], counts["received"])])
        chart.links.append("")
    chart.note = _("统计期间内受理的诉求（不含已合并）至今到达过各环节的数量；处置含居民区处置、吹哨和派单。")
    return chart


def rates_chart(scope: DashboardScope, start: date, end: date, now: datetime) -> Chart:
    """The three rates exactly as the rates page shows them to the viewer."""
    rate_scope = rates.rates_scope(scope.viewer)
    chart = Chart("rates", _("响应率、解决率、满意率"), [])
    if scope.level == STREET:
        table = rates.rate_table(rate_scope, rates.BY_AREA, start, end, now=now)
        lines = [*table.rows, table.total]
    elif scope.level == AREA:
        assert scope.area is not None
        area_row = next(
            row
            for row in rates.rate_table(rate_scope, rates.BY_AREA, start, end, now=now).rows
            if row.key == scope.area.code
        )
        people = rates.rate_table(rate_scope, rates.BY_CADRE, start, end, now=now)
        codes = {p.username for p in User.objects.filter(area=scope.area, role__in=scoping.AREA_ROLES)}
        table = people
        lines = [row for row in people.rows if row.key in codes]
        lines.append(rates.RateRow(key="", label=area_row.label, note="", rates=area_row.rates, is_total=True))
    else:
        assert scope.cadre is not None
        table = rates.rate_table(rate_scope, rates.BY_CADRE, start, end, now=now)
        lines = [row for row in table.rows if row.key == scope.cadre.username]
        if not lines:  # not one of the viewer's listed people: count them as the rates page would by owner
            lines = [
                rates.RateRow(
                    key=scope.cadre.username, label=scope.cadre.display_name, note="", rates=[rates.Rate(0, 0)] * 3
                )
            ]
    chart.headers = [table.label_header]
    for column in table.columns:
        chart.headers += [
            _("%(rate)s（%%）") % {"rate": column},
            _("%(rate)s分子") % {"rate": column},
            _("%(rate)s分母") % {"rate": column},
        ]
    for row in lines:
        cells: list[Any] = [row.label]
        for rate in row.rates:
            cells += [None if rate.percent is None else round(rate.percent, 1), rate.numerator, rate.denominator]
        chart.rows.append(cells)
        chart.links.append("")
    chart.data = {"columns": [str(c) for c in table.columns]}
    chart.note = _("与“三率统计”页的口径和数字相同；分母为 0 时不计比率。")
    return chart


def overdue_chart(scope: DashboardScope, now: datetime, query: dict[str, str]) -> Chart:
    """Open demands whose deadline shows red or yellow now, by area (street), by owner (area) or the person's own."""
    open_q = Q(state__in=OPEN_STATES)
    base = Demand.objects.filter(scope.demands(), open_q).order_by()
    aggregates = {
        "red": Count("pk", filter=alert_q(Alert.RED, now)),
        "yellow": Count("pk", filter=alert_q(Alert.YELLOW, now)),
        "open": Count("pk"),
    }
    headers = [_("已超时"), _("即将超时"), _("在办")]
    chart = Chart("overdue", _("超时与预警（当前）"), [])
    if scope.level == STREET:
        chart.headers = [_("居民区"), *headers]
        got = {
            area_id: [red, yellow, opened]
            for area_id, red, yellow, opened in base.values("area_id")
            .annotate(red=aggregates["red"], yellow=aggregates["yellow"], opened=aggregates["open"])
            .values_list("area_id", "red", "yellow", "opened")
        }
        for area in scope.areas:
            chart.rows.append([area.name, *got.get(area.pk, [0, 0, 0])])
            chart.links.append(_link(**query, area=area.code))
    elif scope.level == AREA:
        chart.headers = [_("首问负责人"), *headers]
        got = {
            owner_id: [red, yellow, opened]
            for owner_id, red, yellow, opened in base.values("owner_id")
            .annotate(red=aggregates["red"], yellow=aggregates["yellow"], opened=aggregates["open"])
            .values_list("owner_id", "red", "yellow", "opened")
        }
        people = {u.pk: u for u in User.objects.filter(pk__in=list(got))}
        for owner_id, counts in sorted(got.items(), key=lambda item: (-item[1][0], -item[1][1])):
            chart.rows.append([people[owner_id].display_name, *counts])
            chart.links.append("")
    else:
        chart.headers = [_("范围"), *headers]
        own = base.aggregate(**aggregates)
        chart.rows.append([scope.label, own["red"], own["yellow"], own["open"]])
        chart.links.append("")
    chart.note = _("按当前时限计算，与诉求列表的红黄预警一致。")
    return chart


def topics_chart(scope: DashboardScope, start: date, end: date) -> Chart:
    """The period's demands by category: the same population as the funnel, so the shares add up to its 受理."""
    pairs = list(
        period_demands(scope, start, end)
        .values("category_id")
        .annotate(n=Count("pk"))
        .values_list("category_id", "n")
    )
    pairs.sort(key=lambda pair: -pair[1])
    total = sum(n for _c, n in pairs)
    top = pairs[:TOP_TOPICS]
    names = {
        c.pk: str(c) for c in Category.objects.select_related("parent").filter(pk__in=[c for c, _n in top if c])
    }
    chart = Chart("topics", _("居民最关心的问题（按分类）"), [_("分类"), _("诉求数"), _("占比（%）")])
    for category_id, n in top:
        chart.rows.append([names.get(category_id, _("未分类")), n, _pct(n, total)])
        chart.links.append("")
    return chart


def clusters_chart(scope: DashboardScope, start: date, end: date) -> Chart:
    chart = Chart(
        "clusters", _("同类诉求（规模最大的）"), [_("主题"), _("状态"), _("诉求数"), _("统计起始"), _("统计截止")]
    )
    if scope.level != STREET:
        return chart
    found = (
        scoping.visible(scope.viewer, Cluster.objects.all())
        .filter(
            status__in=[ClusterStatus.PROPOSED, ClusterStatus.CONFIRMED],
            window_end__gte=start,
            window_start__lte=end,
        )
        .annotate(size=Count("members"))
        .order_by("-size", "-created_at")[:TOP_CLUSTERS]
    )
    for cluster in found:
        chart.rows.append(
            [
                cluster.title,
                str(cluster.get_status_display()),
                cluster.size,
                cluster.window_start.isoformat(),
                cluster.window_end.isoformat(),
            ]
        )
        try:
            chart.links.append(reverse("cluster_detail", args=[cluster.pk]))
        except NoReverseMatch:  # the clusters pages are not installed
            chart.links.append("")
    return chart


def map_chart(scope: DashboardScope, start: date, end: date, received: int) -> Chart:
    """Visits and demands of the period per building, with the building's WGS-84 coordinates; `received` (the
    funnel's 受理) tells how many demands have no building and so are not on the map."""
    visits = dict(
        period_visits(scope, start, end)
        .filter(HOUSEHOLD_VISIT)
        .values("household__building_id")
        .annotate(n=Count("pk"))
        .values_list("household__building_id", "n")
    )
    demands = dict(
        period_demands(scope, start, end)
        .annotate(at_building=Coalesce("building_id", "household__building_id"))
        .filter(at_building__isnull=False)
        .values("at_building")
        .annotate(n=Count("pk"))
        .values_list("at_building", "n")
    )
    ids = set(visits) | set(demands)
    buildings = Building.objects.filter(pk__in=ids).values_list(
        "pk", "road", "lane", "number", "lat", "lng", "compound__area_id"
    )
    chart = Chart(
        "map", _("按楼栋的走访与诉求"), [_("楼栋"), _("纬度"), _("经度"), _("入户走访人次"), _("诉求数")]
    )
    points = []
    spots: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for pk, road, lane, number, lat, lng, area_id in sorted(
        buildings, key=lambda b: -(visits.get(b[0], 0) + demands.get(b[0], 0))
    ):
        address = format_address(road, lane, number)
        chart.rows.append([address, round(lat, 6), round(lng, 6), visits.get(pk, 0), demands.get(pk, 0)])
        points.append([round(lat, 6), round(lng, 6), visits.get(pk, 0), demands.get(pk, 0)])
        spots[area_id].append((lat, lng))
    chart.links = [""] * len(chart.rows)
    # Where each area's name goes on a map without tiles: the middle of its buildings on the map.
    names = {area.pk: area.name for area in scope.areas}
    labels = [
        [names[area_id], round(sum(p[0] for p in at) / len(at), 6), round(sum(p[1] for p in at) / len(at), 6)]
        for area_id, at in spots.items()
        if area_id in names
    ]
    chart.data = {"points": points, "tiles": map_tiles(), "areas": labels if len(labels) > 1 else []}
    chart.note = _("圆圈大小表示数量，相邻的楼栋合并为一个圆圈，放大可分开；坐标为 WGS-84。")
    unplaced = received - sum(demands.values())
    if unplaced > 0:
        chart.note += " " + _("另有 %(n)s 件诉求没有楼栋位置，未画在图上。") % {"n": unplaced}
    chart.data["unplaced"] = max(unplaced, 0)
    return chart


# --- the bundle -------------------------------------------------------------------------------------------------


def figures(
    scope: DashboardScope, start: date, end: date, *, query: dict[str, str], now: datetime | None = None
) -> dict[str, Any]:
    """Everything the dashboard shows for the scope and period, from the cache when the rollups did not change."""
    now = now or timezone.now()
    token, refreshed = rollups.generation(scope.street.pk)
    key = f"ningju:dashboard:{scope.street.pk}:{token}:{scope.key}:{start}:{end}:{translation.get_language()}:{urlencode(query)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    today = timezone.localtime(now).date()
    minimum = visit_rules.settings_for(scope.street).min_households_per_day
    progress = demand_progress(scope, start, end)
    charts = [
        visits_chart(scope, start, end, today, minimum, query),
        coverage_chart(scope, end, today),
        funnel_chart(progress),
        rates_chart(scope, start, end, now),
        overdue_chart(scope, now, query),
        topics_chart(scope, start, end),
        *([clusters_chart(scope, start, end)] if scope.level == STREET else []),
        map_chart(scope, start, end, progress["received"]),
    ]
    bundle = {
        "totals": tiles({chart.key: chart for chart in charts}, progress),
        "charts": [chart.as_dict() for chart in charts],
        "computed_at": now.isoformat(),
        "refreshed_at": refreshed.isoformat() if refreshed else "",
    }
    cache.set(key, bundle, CACHE_SECONDS)
    return bundle


def chart_of(bundle: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((chart for chart in bundle["charts"] if chart["key"] == key), None)


def dashboards_warm(street: Street, *, now: datetime | None = None) -> int:
    """Compute the dashboards readers open most, ahead of them, right after a refresh: this month's street view and
    each area's (the street administrator's drill-down) and each area head's view, and this year's street and head
    views. With a cache shared between processes (Redis, or the file cache of a local run) the first reader after
    each refresh then finds them ready (a cold street view reads every household for coverage: seconds, not the
    page's 300 ms). Returns how many bundles it computed."""
    from django.conf import settings

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    viewers = User.objects.filter(street=street, role=Role.STREET_ADMIN, is_active=True)[:1]
    heads = User.objects.filter(area__street=street, role=Role.AREA_HEAD, is_active=True).select_related("area")
    main: list[DashboardScope] = []  # this month and this year
    drills: list[DashboardScope] = []  # this month only
    for admin in viewers:
        main.append(dashboard_scope(admin))
        drills += [dashboard_scope(admin, area_code=area.code) for area in street.areas.all()]
    seen_areas: set[int | None] = set()
    for head in heads:
        if head.area_id not in seen_areas:  # one head per area: the bundle is shared by role and scope
            seen_areas.add(head.area_id)
            main.append(dashboard_scope(head))
    work = [(scope, rates.THIS_MONTH) for scope in [*main, *drills]] + [(scope, rates.THIS_YEAR) for scope in main]
    with translation.override(settings.LANGUAGE_CODE):
        for scope, period in work:
            start, end = rates.period_dates(period, today)
            figures(scope, start, end, query={"period": period}, now=now)
    return len(work)
