"""The report (issue 5, item 5): for a period and a scope, the article's sentence and the tables behind it.

Every figure is counted from the raw rows with direct aggregate queries, so a number in the sentence is exactly what a
plain count of visits and demands gives. Counting a street's year takes about a second, so the page reads the report
from the cache (`cached_report`), keyed on everything the numbers depend on (`data_stamp`: the rollups' generation and
the newest visit, demand, step, household and mechanism): a new visit or demand makes the next view count again, and
the rollup refresh every 15 minutes counts this year's reports ahead of readers (`report_warm`). Daily rollups cannot
give distinct households over a period, which the sentence needs. Definitions (the page shows them too):

* Areas covered: areas of the scope with at least one household visit in the period, out of all areas of the scope.
* 全覆盖: every household of the scope (as the registry stands) had a household visit in the period; otherwise the
  sentence gives the share of households visited, floored to 0.1% (`share_text`).
* Rounding (`round_like_article`): two significant digits, floored, "余" when something was cut off — never more
  than the true count and less than 10% under it.
* Households visited (户): distinct households with a household visit (`Visit.household` set, patrols left out) in
  the period.
* Person-visits (人次): the number of household visits in the period — one `Visit` row is one visit to one
  household. `Visit.met` ("见到的人") is free text, so it cannot be counted; the article's "6万余人次" is this count.
* Opinions answered (回应意见建议): demands of kind 意见建议 received in the period (merged duplicates left out) that got
  a reply: their state is past 受理 (first contact 已联系, or any later step).
* Problems found and solved (主动发现并解决问题): demands of kind 问题 whose source is 走访 or 巡查 (found by the
  platform's own people), received in the period, that reached 办结 or 部门办结 or were closed (结案) — the resolution
  definition of the rates page (`rates.RESOLVED_STATES`).

Periods are local dates, both included. The rates come from `ningju.demands.rates.rate_table`, so they are the same
numbers as the rates page for the same period and scope.
"""

import dataclasses
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ningju.core import scoping
from ningju.core.models import Role, User
from ningju.demands import rates
from ningju.demands.models import Category, Demand, DemandEvent, Kind, Source
from ningju.demands.workflow import Action, State
from ningju.insights import rollups
from ningju.insights.models import Mechanism
from ningju.registry.models import Department, Household, ResidentialArea, Street
from ningju.visits import coverage
from ningju.visits import rules as visit_rules
from ningju.visits.models import Interval, Visit

log = logging.getLogger("ningju.insights")

# The longest period a report covers: beyond that the tables say little and the queries grow.
MAX_PERIOD_DAYS = 5 * 366

# --- the article's rounding and sentence ------------------------------------------------------------------------


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def floor_two_digits(n: int) -> int:
    """`n` floored to two significant digits (18,994 → 18,000; 886 → 880; 1,328 → 1,300); below 100, `n` itself.

    What is cut off is less than a tenth of `n`: for a number of d digits it is under 10^(d-2), and the number is
    at least 10^(d-1)."""
    if n < 0:
        raise ValueError("a count cannot be negative")
    if n < 100:
        return n
    unit = 10 ** (len(str(n)) - 2)
    return n // unit * unit


def round_like_article(n: int) -> str:
    """A count the way the article writes it, never understating by 10% or more and never overstating:
    "1.8万余" (18,994), "6.4万余" (64,479), "1300余" (1,328), "880余" (886); below 100 exactly.

    The number is floored to two significant digits (`floor_two_digits`) and "余" ("and more") marks that
    something was cut off; it is left off when nothing was (20,000 → 2万; 1,300 → 1300). In Chinese, 10,000 and
    more are written in 万; in other languages the digits are grouped (18,000)."""
    shown = floor_two_digits(n)
    if shown < 100:
        return str(shown)
    if _chinese() and shown >= 10_000:
        number = f"{shown / 10_000:.4f}".rstrip("0").rstrip(".")
        return (_("%(n)s万余") if shown != n else _("%(n)s万")) % {"n": number}
    number = str(shown) if _chinese() else f"{shown:,}"
    return _("%(n)s余") % {"n": number} if shown != n else number


def share_text(part: int, whole: int) -> str:
    """part/whole as a percentage floored to one decimal ("6.8%"), so that it never claims more than was done;
    "100%" only when part is the whole."""
    if whole <= 0:
        return "—"
    tenths = part * 1000 // whole
    if part < whole:
        tenths = min(tenths, 999)
    return f"{tenths // 10}%" if tenths % 10 == 0 else f"{tenths / 10:.1f}%"


def period_label(start: date, end: date) -> str:
    """ "2023年" for a whole calendar year, otherwise "2026年1月1日至6月30日" (the year repeated only when it
    changes). In other languages Django's date format with the month's name: "1 January – 5 December 2026"."""
    if start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return _("%(year)s年") % {"year": start.year}
    if not _chinese():
        first = date_format(start, "j F" if start.year == end.year else "j F Y")
        return f"{first} – {date_format(end, 'j F Y')}"
    values = {"y1": start.year, "m1": start.month, "d1": start.day, "y2": end.year, "m2": end.month, "d2": end.day}
    if start.year == end.year:
        return _("%(y1)s年%(m1)s月%(d1)s日至%(m2)s月%(d2)s日") % values
    return _("%(y1)s年%(m1)s月%(d1)s日至%(y2)s年%(m2)s月%(d2)s日") % values


@dataclass(frozen=True)
class Figures:
    """The numbers of the sentence, exact; `report_sentence` rounds them."""

    start: date
    end: date
    area_name: str  # the one area of an area report; empty for a street
    areas_total: int
    areas_visited: int
    households_visited: int
    person_visits: int
    opinions_received: int
    opinions_answered: int
    problems_found: int
    problems_solved: int
    households_total: int = 0  # households of the scope (as the registry stands)
    every_household_visited: bool = False  # every one of them had a household visit in the period

    @property
    def full_coverage(self) -> bool:
        """全覆盖: every household of the scope was visited in the period (not merely every area)."""
        return self.households_total > 0 and self.every_household_visited


def report_sentence(figures: Figures) -> str:
    """The article's sentence with the platform's numbers: "2023年，16个居民区全覆盖走访居民2万余户、6万余人次，
    回应居民意见建议1300余条，主动发现并解决问题900余件。" 全覆盖 only when every household of the scope was visited;
    otherwise the share of households visited follows the count ("走访居民1300余户（占全部住户的6.8%）"), and a street
    where some area had no visit says "16个居民区中的12个". An area report names the area."""
    if figures.area_name:
        who = figures.area_name
    elif figures.areas_visited == figures.areas_total:
        who = _("%(n)s个居民区") % {"n": figures.areas_total}
    else:
        who = _("%(n)s个居民区中的%(m)s个") % {"n": figures.areas_total, "m": figures.areas_visited}
    households = round_like_article(figures.households_visited)
    values = {
        "period": period_label(figures.start, figures.end),
        "who": who,
        "households": households,
        "visits": round_like_article(figures.person_visits),
        "opinions": round_like_article(figures.opinions_answered),
        "problems": round_like_article(figures.problems_solved),
    }
    if figures.full_coverage:
        return (
            _(
                "%(period)s，%(who)s全覆盖走访居民%(households)s户、%(visits)s人次，回应居民意见建议%(opinions)s条，"
                "主动发现并解决问题%(problems)s件。"
            )
            % values
        )
    return _(
        "%(period)s，%(who)s走访居民%(households)s户（占全部住户的%(share)s）、%(visits)s人次，"
        "回应居民意见建议%(opinions)s条，主动发现并解决问题%(problems)s件。"
    ) % {**values, "share": share_text(figures.households_visited, figures.households_total)}


# --- scope ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportScope:
    """What a report covers: the street, or one of its areas."""

    user: User
    street: Street
    areas: list[ResidentialArea]  # the areas counted
    choices: list[ResidentialArea]  # the areas the user may pick
    area: ResidentialArea | None = None

    @property
    def label(self) -> str:
        return self.area.name if self.area is not None else self.street.name

    @property
    def area_ids(self) -> list[int]:
        return [a.pk for a in self.areas]


def may_see_report(user: User) -> bool:
    return bool(user.is_active) and (
        (user.role == Role.STREET_ADMIN and user.street_id is not None)
        or (user.role == Role.AREA_HEAD and user.area_id is not None)
    )


def report_scope(user: User, area_code: str = "") -> ReportScope:
    """Street administrator: the street or any of its areas; area head: their own area. Anyone else is refused,
    and so is an area outside the user's reach."""
    if not may_see_report(user):
        raise PermissionDenied(_("只有街道管理员和居民区书记（主任）可以查看工作报告。"))
    choices = list(scoping.visible(user, ResidentialArea.objects.select_related("street")).order_by("code"))
    if not choices:
        raise PermissionDenied(_("您的账号没有可查看的居民区。"))
    street = choices[0].street
    if user.role == Role.AREA_HEAD:
        area = choices[0]
        if area_code and area_code != area.code:
            raise PermissionDenied(_("居民区“%(c)s”不存在，或不在您的管理范围内。") % {"c": area_code})
        return ReportScope(user=user, street=street, areas=[area], choices=choices, area=area)
    if area_code:
        chosen = next((a for a in choices if a.code == area_code), None)
        if chosen is None:
            raise PermissionDenied(_("居民区“%(c)s”不存在，或不在您的管理范围内。") % {"c": area_code})
        return ReportScope(user=user, street=street, areas=[chosen], choices=choices, area=chosen)
    return ReportScope(user=user, street=street, areas=choices, choices=choices)


# --- figures ----------------------------------------------------------------------------------------------------


def _bounds(start: date, end: date) -> tuple[Any, Any]:
    return coverage.local_start(start), coverage.local_start(end + timedelta(days=1))


def household_visits(scope: ReportScope, start: date, end: date) -> "QuerySet[Visit]":
    lo, hi = _bounds(start, end)
    return Visit.objects.filter(
        area__in=scope.area_ids, household__isnull=False, visited_at__gte=lo, visited_at__lt=hi
    ).order_by()


def received_demands(scope: ReportScope, start: date, end: date) -> "QuerySet[Demand]":
    """Demands received in the period in the scope, merged duplicates left out (the rates' population)."""
    lo, hi = _bounds(start, end)
    return (
        Demand.objects.filter(area__in=scope.area_ids, created_at__gte=lo, created_at__lt=hi)
        .exclude(state=State.MERGED)
        .order_by()
    )


def _resolved_q() -> Q:
    reached = DemandEvent.objects.filter(demand=OuterRef("pk"), to_state__in=rates.RESOLVED_STATES)
    return Q(Exists(reached)) | Q(state=State.CLOSED)


ANSWERED = ~Q(state__in=[State.ACCEPTED, State.MERGED])
FOUND_SOURCES = [Source.VISIT, Source.PATROL]


def report_figures(scope: ReportScope, start: date, end: date) -> Figures:
    """The sentence's numbers, each one aggregate query over the raw rows."""
    visits = household_visits(scope, start, end)
    totals = visits.aggregate(
        visits=Count("pk"), households=Count("household", distinct=True), areas=Count("area", distinct=True)
    )
    demands = received_demands(scope, start, end)
    opinions = demands.filter(kind=Kind.OPINION).aggregate(
        received=Count("pk"), answered=Count("pk", filter=ANSWERED)
    )
    found = demands.filter(kind=Kind.PROBLEM, source__in=FOUND_SOURCES)
    households = Household.objects.filter(building__compound__area__in=scope.area_ids).order_by()
    households_total = households.count()
    # Every household visited: only worth asking when as many were visited as there are.
    every_visited = totals["households"] >= households_total > 0 and not (
        households.exclude(pk__in=visits.values("household_id")).exists()
    )
    return Figures(
        start=start,
        end=end,
        area_name=scope.area.name if scope.area is not None else "",
        areas_total=len(scope.areas),
        areas_visited=totals["areas"],
        households_visited=totals["households"],
        person_visits=totals["visits"],
        opinions_received=opinions["received"],
        opinions_answered=opinions["answered"],
        problems_found=found.count(),
        problems_solved=found.filter(_resolved_q()).count(),
        households_total=households_total,
        every_household_visited=every_visited,
    )


# --- sections ---------------------------------------------------------------------------------------------------


@dataclass
class AreaVisits:
    """One area's visits in the period, and its must-visit households as of the period's last day."""

    code: str
    name: str
    households: int = 0
    households_visited: int = 0
    visits: int = 0
    must_visit: int = 0
    must_visit_done: int = 0

    @property
    def coverage_pct(self) -> float | None:
        return 100 * self.households_visited / self.households if self.households else None

    @property
    def compliance_pct(self) -> float | None:
        return 100 * self.must_visit_done / self.must_visit if self.must_visit else None


def visit_rows(scope: ReportScope, start: date, end: date) -> tuple[list[AreaVisits], AreaVisits]:
    """Per area: households, households visited and visits in the period, coverage, and must-visit compliance
    (the share of must-visit households visited in the week or month of the period's last day, as the coverage
    page counts it)."""
    rows = {a.pk: AreaVisits(code=a.code, name=a.name) for a in scope.areas}
    households = Household.objects.filter(building__compound__area__in=scope.area_ids)
    for area_id, n in (
        households.order_by()
        .values("building__compound__area")
        .annotate(n=Count("pk"))
        .values_list("building__compound__area", "n")
    ):
        rows[area_id].households = n
    per_area = (
        household_visits(scope, start, end)
        .values("area")
        .annotate(visits=Count("pk"), households=Count("household", distinct=True))
        .values_list("area", "visits", "households")
    )
    for area_id, n_visits, n_households in per_area:
        rows[area_id].visits, rows[area_id].households_visited = n_visits, n_households
    for area_id, (must, done) in must_visit_compliance(
        households, scope.street, min(end, timezone.localdate())
    ).items():
        rows[area_id].must_visit, rows[area_id].must_visit_done = must, done
    lines = list(rows.values())
    total = AreaVisits(
        code="",
        name=_("合计"),
        households=sum(r.households for r in lines),
        households_visited=sum(r.households_visited for r in lines),
        visits=sum(r.visits for r in lines),
        must_visit=sum(r.must_visit for r in lines),
        must_visit_done=sum(r.must_visit_done for r in lines),
    )
    return lines, total


def must_visit_compliance(
    households: "QuerySet[Household]", street: Street, as_of: date
) -> dict[int, tuple[int, int]]:
    """Per area: must-visit households (under a weekly or monthly rule, `visits.rules`) and those visited in the
    week or month of `as_of` that their rule counts in, up to `as_of` — the coverage page's 必访走访率.

    Only households with a tag that carries a rule can be must-visit, and only this month's visits can count, so a
    street is read in a few small queries instead of every household's last visit."""
    book = visit_rules.RuleBook(street)
    tags = coverage.rule_tags(households, book)  # households without a rule tag are not in it
    since: dict[int, date] = {}  # must-visit household -> first day of the period its rule counts in
    for household_id, tag_set in tags.items():
        requirement = book.household(tag_set)
        if requirement is not None and requirement.interval in (Interval.WEEK, Interval.MONTH):
            since[household_id] = visit_rules.period(as_of, requirement.interval)[0]
    earliest = min([*since.values(), as_of])
    earliest = min(earliest, visit_rules.period(as_of, Interval.WEEK)[0])
    visited = (
        Visit.objects.filter(
            household__in=households.values("pk"),
            visited_at__gte=coverage.local_start(earliest),
            visited_at__lt=coverage.local_start(as_of + timedelta(days=1)),
        )
        .order_by()
        .values_list("household_id", "visited_at")
    )
    last: dict[int, date] = {}
    for household_id, visited_at in visited:
        day = timezone.localtime(visited_at).date()
        if day > last.get(household_id, date.min):
            last[household_id] = day
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for household_id, area_id in households.order_by().values_list("pk", "building__compound__area_id"):
        if household_id in since:
            counts[area_id][0] += 1
            counts[area_id][1] += last.get(household_id, date.min) >= since[household_id]
    return {area_id: (must, done) for area_id, (must, done) in counts.items()}


def visits_by_month(scope: ReportScope, start: date, end: date) -> list[tuple[str, int, int]]:
    """(month "2026-03", visits, households visited) for every month of the period, empty months included.

    One query with a filtered count per month: grouping by a time-zone-converted month costs the database a
    conversion per row (0.6 s for a street's year on SQLite), comparing with month boundaries does not."""
    months: list[tuple[str, date, date]] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        first, last = max(start, date(year, month, 1)), min(end, following - timedelta(days=1))
        months.append((f"{year}-{month:02d}", first, last))
        year, month = following.year, following.month
    counts: dict[str, Any] = {}
    for i, (_label, first, last) in enumerate(months):
        lo, hi = _bounds(first, last)
        within = Q(visited_at__gte=lo, visited_at__lt=hi)
        counts[f"v{i}"] = Count("pk", filter=within)
        counts[f"h{i}"] = Count("household", filter=within, distinct=True)
    found = household_visits(scope, start, end).aggregate(**counts)
    return [(label, found[f"v{i}"], found[f"h{i}"]) for i, (label, _f, _l) in enumerate(months)]


@dataclass(frozen=True)
class CrossTable:
    """Demands by topic (top-level category, rows) and area (columns), with totals."""

    columns: list[str]  # area names
    rows: list[tuple[str, list[int], int]]  # topic, count per column, row total
    column_totals: list[int]
    total: int


def topic_table(scope: ReportScope, start: date, end: date) -> CrossTable:
    """Demands received in the period by top-level category and area, topics by total, uncategorised last."""
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    names = dict(Category.objects.values_list("pk", "name"))

    def top(category_id: int | None) -> int | None:
        seen = 0
        while category_id is not None and parents.get(category_id) is not None and seen < 20:
            category_id, seen = parents[category_id], seen + 1  # nested more than one level: climb to the top
        return category_id

    counts: dict[int | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for category_id, area_id, n in (
        received_demands(scope, start, end)
        .values("category", "area")
        .annotate(n=Count("pk"))
        .values_list("category", "area", "n")
    ):
        counts[top(category_id)][area_id] += n
    ids = scope.area_ids
    rows = []
    for topic, per_area in counts.items():
        cells = [per_area.get(a, 0) for a in ids]
        rows.append((names[topic] if topic is not None else _("未分类"), cells, sum(cells), topic is None))
    rows.sort(key=lambda r: (r[3], -r[2], r[0]))
    column_totals = [sum(r[1][i] for r in rows) for i in range(len(ids))]
    return CrossTable(
        columns=[a.name for a in scope.areas],
        rows=[(name, cells, total) for name, cells, total, _none in rows],
        column_totals=column_totals,
        total=sum(column_totals),
    )


@dataclass(frozen=True)
class WhistleRow:
    name: str
    whistles: int  # whistle steps in the period
    demands: int  # distinct demands whistled in the period


def whistle_rows(scope: ReportScope, start: date, end: date) -> tuple[list[WhistleRow], WhistleRow]:
    """Whistles blown in the period (by the step's own date) per area."""
    lo, hi = _bounds(start, end)
    steps = DemandEvent.objects.filter(
        action=Action.WHISTLE, at__gte=lo, at__lt=hi, demand__area__in=scope.area_ids
    ).order_by()
    per_area = {
        area_id: (n, d)
        for area_id, n, d in steps.values("demand__area")
        .annotate(n=Count("pk"), d=Count("demand", distinct=True))
        .values_list("demand__area", "n", "d")
    }
    rows = [WhistleRow(a.name, *per_area.get(a.pk, (0, 0))) for a in scope.areas]
    totals = steps.aggregate(n=Count("pk"), d=Count("demand", distinct=True))
    return rows, WhistleRow(_("合计"), totals["n"], totals["d"])


@dataclass(frozen=True)
class DepartmentRow:
    name: str
    note: str
    dispatches: int
    returned: int
    resolved: int
    ack_rate: rates.Rate
    resolve_rate: rates.Rate
    satisfaction: rates.Rate


def rates_scope_for(scope: ReportScope) -> rates.RatesScope:
    """The rates page's scope narrowed to the report's: one area's demands and that area's dispatches."""
    base = rates.rates_scope(scope.user)
    if scope.area is None:
        return base
    area = scope.area
    return dataclasses.replace(
        base,
        groupings=(rates.BY_AREA, rates.BY_CADRE, rates.BY_DEPARTMENT),
        areas=[area],
        area_demands=Q(area=area.pk),
        departments=list(Department.objects.filter(street=scope.street.pk).order_by("-active", "name")),
        dispatches=Q(department__street=scope.street.pk, demand__area=area.pk),
    )


def department_rows(table: rates.RateTable) -> tuple[list[DepartmentRow], DepartmentRow]:
    """Dispatches, returns and resolutions per department, read off the rates page's department table (orders
    dispatched in the period, merged duplicates left out), so both pages agree."""

    def line(row: rates.RateRow) -> DepartmentRow:
        ack, resolve, satisfied = row.rates
        returned = row.returned or 0
        return DepartmentRow(
            name=row.label,
            note=row.note,
            dispatches=resolve.denominator + returned,
            returned=returned,
            resolved=resolve.numerator,
            ack_rate=ack,
            resolve_rate=resolve,
            satisfaction=satisfied,
        )

    return [line(r) for r in table.rows], line(table.total)


@dataclass(frozen=True)
class MechanismRow:
    pk: int
    name: str
    measures: str
    started_on: date
    rhythm: str
    recurrence: str  # matching new demands from its start to the period's end, or "—" where not tracked
    before: str  # matching demands in as many days before it started, or "—"


def _recurrence(mechanism: Mechanism, until: date) -> tuple[str, str]:
    """(after, before) from `ningju.insights.clusters.mechanism_recurrence`, counted up to `until`; "—" where the
    clusters module is not installed or cannot say. Imported here: it loads the text engine, which only a report
    with mechanisms needs."""
    try:
        from ningju.insights.clusters import mechanism_recurrence
    except ImportError:
        return "—", "—"
    try:
        found = mechanism_recurrence(mechanism, today=until)
    except Exception:  # another module's matching must not take the whole report down
        log.exception("recurrence of mechanism %s failed", mechanism.pk)
        return "—", "—"
    after, before = getattr(found, "after", None), getattr(found, "before", None)
    return (
        str(after) if isinstance(after, int) else "—",
        str(before) if isinstance(before, int) else "—",
    )


def mechanism_rows(scope: ReportScope, start: date, end: date) -> list[MechanismRow]:
    """Standing mechanisms of the street running in the period (started by its last day and still active); an
    area report lists those that involve the area."""
    mechanisms = Mechanism.objects.filter(street=scope.street.pk, active=True, started_on__lte=end)
    if scope.area is not None:
        mechanisms = mechanisms.filter(areas=scope.area.pk)
    until = min(end, timezone.localdate())
    rows = []
    for mechanism in mechanisms.distinct().order_by("started_on", "pk"):
        after, before = _recurrence(mechanism, max(until, mechanism.started_on))
        measures = mechanism.measures if isinstance(mechanism.measures, list) else [mechanism.measures]
        rows.append(
            MechanismRow(
                pk=mechanism.pk,
                name=mechanism.name,
                measures="、".join(str(m) for m in measures if m),
                started_on=mechanism.started_on,
                rhythm=str(mechanism.get_rhythm_display()),
                recurrence=after,
                before=before,
            )
        )
    return rows


# --- the whole report -------------------------------------------------------------------------------------------


@dataclass
class Report:
    scope: ReportScope
    start: date
    end: date
    figures: Figures
    sentence: str
    visits: list[AreaVisits]
    visits_total: AreaVisits
    months: list[tuple[str, int, int]]
    topics: CrossTable
    whistles: list[WhistleRow]
    whistles_total: WhistleRow
    departments: list[DepartmentRow]
    departments_total: DepartmentRow
    rate_table: rates.RateTable
    mechanisms: list[MechanismRow]
    definitions: list[str] = field(default_factory=list)
    computed_at: datetime | None = None  # when the figures were counted (a cached report says so)

    @property
    def title(self) -> str:
        return _("%(scope)s%(period)s工作报告") % {
            "scope": self.scope.label,
            "period": period_label(self.start, self.end),
        }

    def rate_lines(self) -> list[tuple[rates.RateRow, list[tuple[str, rates.Rate]]]]:
        """Each rates row with its cells as (column, rate), the total last."""
        table = self.rate_table
        return [(row, list(zip(table.columns, row.rates, strict=True))) for row in [*table.rows, table.total]]

    def sheets(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """Every table as a spreadsheet sheet (title, headers, rows)."""
        f = self.figures
        summary: list[list[Any]] = [
            [_("报告语句"), self.sentence],
            [_("居民区数"), f.areas_total],
            [_("有走访的居民区数"), f.areas_visited],
            [_("走访户数"), f.households_visited],
            [_("走访人次"), f.person_visits],
            [_("受理意见建议"), f.opinions_received],
            [_("已回应意见建议"), f.opinions_answered],
            [_("主动发现问题"), f.problems_found],
            [_("主动发现并解决问题"), f.problems_solved],
        ]
        pct = _percent_text
        visits = [
            [r.name, r.households, r.households_visited, r.visits, pct(r.coverage_pct), r.must_visit,
             r.must_visit_done, pct(r.compliance_pct)]
            for r in [*self.visits, self.visits_total]
        ]  # fmt: skip
        topics = [[name, *cells, total] for name, cells, total in self.topics.rows]
        topics.append([_("合计"), *self.topics.column_totals, self.topics.total])
        whistles = [[r.name, r.whistles, r.demands] for r in [*self.whistles, self.whistles_total]]
        departments = [
            [
                d.name,
                d.dispatches,
                d.returned,
                d.resolved,
                d.ack_rate.text,
                d.resolve_rate.text,
                d.satisfaction.text,
            ]
            for d in [*self.departments, self.departments_total]
        ]
        mechanisms = [
            [m.name, m.measures, m.started_on.isoformat(), m.rhythm, m.recurrence, m.before]
            for m in self.mechanisms
        ]
        return [
            (_("概要"), [_("项目"), _("数值")], summary),
            (_("走访"), visit_headers(), visits),
            (_("月度走访"), [_("月份"), _("走访人次"), _("走访户数")], [list(m) for m in self.months]),
            (_("诉求主题"), [_("主题"), *self.topics.columns, _("合计")], topics),
            (_("吹哨"), whistle_headers(), whistles),
            (_("职能部门"), department_headers(), departments),
            (_("三率"), self.rate_table.headers(), self.rate_table.sheet_rows()),
            (_("常态化机制"), mechanism_headers(), mechanisms),
        ]


def _percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def visit_headers() -> list[str]:
    return [
        _("居民区"),
        _("户数"),
        _("走访户数"),
        _("走访人次"),
        _("覆盖率"),
        _("必访户"),
        _("必访户已走访"),
        _("必访走访率"),
    ]


def whistle_headers() -> list[str]:
    return [_("居民区"), _("吹哨次数"), _("吹哨诉求数")]


def department_headers() -> list[str]:
    return [_("职能部门"), _("派单数"), _("退单数"), _("办结数"), _("报到及时率"), _("办结率"), _("满意率")]


def mechanism_headers() -> list[str]:
    return [
        _("机制名称"),
        _("措施"),
        _("启动日期"),
        _("巡查频次"),
        _("启动后新增同类诉求"),
        _("启动前同期同类诉求"),
    ]


DEFINITIONS: list[Promise] = [
    gettext_lazy(
        "走访户数：统计期间内有入户走访记录的不同户数（巡查不计）；走访人次：入户走访记录条数，一条记录为一户一次。"
    ),
    gettext_lazy(
        "全覆盖：范围内每一户在统计期间内都有入户走访才写“全覆盖”；否则写出走访户数占全部住户的比例"
        "（向下取到0.1%），有居民区没有走访时写“N个居民区中的M个”。"
    ),
    gettext_lazy(
        "回应居民意见建议：统计期间内受理的“意见建议”类诉求中，已首次联系或已进入后续环节的条数（不含被合并的重复诉求）。"
    ),
    gettext_lazy(
        "主动发现并解决问题：统计期间内来源为走访或巡查的“问题”类诉求中，已办结、部门办结或已结案的件数。"
    ),
    gettext_lazy(
        "数字写法：100及以上保留两位有效数字、向下取整并写“余”（如18,994户写作“1.8万余户”，886户写作“880余户”），"
        "所写数字不多于实际、比实际少不到10%；100以下写实数；恰好整数时不写“余”。"
    ),
    gettext_lazy("三率与“三率统计”页面口径相同；必访走访率按统计期末所在周或月计算。"),
]


def definitions() -> list[str]:
    return [str(text) for text in DEFINITIONS]


def build_report(scope: ReportScope, start: date, end: date) -> Report:
    """Everything the report page, its PDF and its spreadsheet show."""
    figures = report_figures(scope, start, end)
    visits, visits_total = visit_rows(scope, start, end)
    whistles, whistles_total = whistle_rows(scope, start, end)
    rscope = rates_scope_for(scope)
    area_rates = rates.rate_table(rscope, rates.BY_AREA, start, end)
    if rates.BY_DEPARTMENT in rscope.groupings:
        departments, departments_total = department_rows(rates.rate_table(rscope, rates.BY_DEPARTMENT, start, end))
    else:  # an area head's rates scope has no department tab: count their area's orders the same way
        narrowed = dataclasses.replace(
            rscope,
            groupings=(*rscope.groupings, rates.BY_DEPARTMENT),
            departments=list(Department.objects.filter(street=scope.street.pk).order_by("-active", "name")),
            dispatches=Q(department__street=scope.street.pk, demand__area__in=scope.area_ids),
        )
        departments, departments_total = department_rows(
            rates.rate_table(narrowed, rates.BY_DEPARTMENT, start, end)
        )
    return Report(
        scope=scope,
        start=start,
        end=end,
        figures=figures,
        sentence=report_sentence(figures),
        visits=visits,
        visits_total=visits_total,
        months=visits_by_month(scope, start, end),
        topics=topic_table(scope, start, end),
        whistles=whistles,
        whistles_total=whistles_total,
        departments=departments,
        departments_total=departments_total,
        rate_table=area_rates,
        mechanisms=mechanism_rows(scope, start, end),
        definitions=definitions(),
    )


# How long a report is kept in the cache at most (it is only served while nothing it counts has changed).
CACHE_SECONDS = 60 * 60


def data_stamp(street: Street) -> str:
    """What the report's numbers depend on, in a few index-only aggregates: the rollups' generation (a refresh every
    15 minutes), the newest visit, demand and demand step, and the street's households and mechanisms. A new visit,
    demand, step, household or mechanism changes it, so a cached report is never behind the rows it counts; a
    renamed category or mechanism shows after the next refresh."""
    token, _refreshed = rollups.generation(street.pk)
    visits = Visit.objects.filter(area__street=street.pk).aggregate(n=Count("pk"), newest=Max("created_at"))
    households = Household.objects.filter(building__compound__area__street=street.pk).aggregate(
        n=Count("pk"), newest=Max("pk")
    )
    mechanisms = Mechanism.objects.filter(street=street.pk).aggregate(n=Count("pk"), newest=Max("pk"))
    newest_demand = Demand.objects.aggregate(newest=Max("pk"))["newest"]
    newest_step = DemandEvent.objects.aggregate(newest=Max("pk"))["newest"]
    parts = [
        token,
        visits["n"],
        visits["newest"].isoformat() if visits["newest"] else "",
        households["n"],
        households["newest"],
        mechanisms["n"],
        mechanisms["newest"],
        newest_demand,
        newest_step,
    ]
    return ".".join(str(part) for part in parts)


def _cache_key(scope: ReportScope, start: date, end: date) -> str:
    area = scope.area.code if scope.area is not None else ""
    role = scope.user.role  # the rates tables differ by role (a street administrator's tabs)
    stamp = data_stamp(scope.street)
    return f"ningju:report:{scope.street.pk}:{area}:{role}:{start}:{end}:{get_language()}:{stamp}"


def cached_report(scope: ReportScope, start: date, end: date) -> Report:
    """`build_report`, counted once for the data as it stands (`data_stamp`): a street's year takes about a second
    to count from the raw rows; from the cache a few milliseconds, with the same numbers. The page says when the
    numbers were counted."""
    key = _cache_key(scope, start, end)
    stored: dict[str, Any] | None = cache.get(key)
    if stored is None:
        built = build_report(scope, start, end)
        built.computed_at = timezone.now()
        # Everything but the scope: it holds the user (a password hash has no place in the cache); the asking
        # user's scope (same street, area and role, as the key says) goes back in.
        stored = {f.name: getattr(built, f.name) for f in dataclasses.fields(built) if f.name != "scope"}
        cache.set(key, stored, CACHE_SECONDS)
    return Report(scope=scope, **stored)


def report_warm(street: Street) -> int:
    """Count this year's report of the street (as its first street administrator sees it) and of each area (as its
    area head does) into the cache after a rollup refresh, before readers come. Returns how many were counted."""
    today = timezone.localdate()
    start = date(today.year, 1, 1)
    people = [
        *User.objects.filter(role=Role.STREET_ADMIN, street=street.pk, is_active=True).order_by("pk")[:1],
        *User.objects.filter(role=Role.AREA_HEAD, area__street=street.pk, is_active=True)
        .order_by("area_id", "pk")
        .distinct(),
    ]
    seen: set[tuple[int | None, str]] = set()
    for person in people:
        if (person.area_id, person.role) in seen:
            continue
        seen.add((person.area_id, person.role))
        cached_report(report_scope(person), start, today)
    return len(seen)


def chart_data(report: Report) -> dict[str, Any]:
    """What report.js draws, given to the page through json_script."""
    return {
        "visits": {
            "areas": [r.name for r in report.visits],
            "households": [r.households for r in report.visits],
            "visited": [r.households_visited for r in report.visits],
            "labels": [_("户数"), _("走访户数")],
        },
        "months": {
            "months": [m for m, _v, _h in report.months],
            "visits": [v for _m, v, _h in report.months],
            "label": _("走访人次"),
        },
        "topics": {
            "topics": [name for name, _c, _t in report.topics.rows[:12]],
            "counts": [total for _n, _c, total in report.topics.rows[:12]],
            "label": _("诉求数"),
        },
        "departments": {
            "departments": [d.name for d in report.departments if d.dispatches],
            "dispatches": [d.dispatches for d in report.departments if d.dispatches],
            "resolved": [d.resolved for d in report.departments if d.dispatches],
            "returned": [d.returned for d in report.departments if d.dispatches],
            "labels": [_("派单数"), _("办结数"), _("退单数")],
        },
    }
