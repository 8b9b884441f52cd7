"""Coverage of the visits (item 7): per household the last and next due visit and whether it is overdue; per area
and street the share of households visited this year and must-visit compliance; per cadre visits per working day.

A whole street (20,000 households, 60,000 visits a year) is computed in a fixed handful of queries: the households
in scope with their area, the tags that carry a rule, each household's last visit (one grouped aggregate) and each
cadre's visits per day (one grouped aggregate). The rest is arithmetic in Python over those rows.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import scoping, workdays
from ningju.core.models import Role, User
from ningju.registry.models import Household, Resident, ResidentialArea, Street
from ningju.visits import rules
from ningju.visits.models import Interval, Pairing, Visit


def local_start(day: date) -> datetime:
    """Midnight starting `day` in Shanghai, as an aware datetime (ranges on visited_at use its indexes)."""
    return timezone.make_aware(datetime.combine(day, time.min))


# --- scope ------------------------------------------------------------------------------------------------------


@dataclass
class CoverageScope:
    """What a user's coverage page covers: households, the people whose visit rates are shown, the areas."""

    label: str
    street: Street
    households: "QuerySet[Household]"
    cadres: "QuerySet[User]"
    areas: list[ResidentialArea]
    area: ResidentialArea | None  # the one area chosen, if any
    own_only: bool  # a cadre sees their own paired households and their own rate


def may_see_coverage(user: User) -> bool:
    return user.is_active and user.role in (Role.STREET_ADMIN, Role.AREA_HEAD, Role.CADRE)


def coverage_scope(user: User, area_code: str = "") -> CoverageScope:
    """Street administrator: the street, or one of its areas; area head: their area; cadre: the households of the
    buildings paired to them now, and their own numbers. Liaisons and users without a role: refused."""
    if not may_see_coverage(user):
        raise PermissionDenied(_("您的角色不能查看走访覆盖情况。"))
    areas = list(scoping.visible(user, ResidentialArea.objects.select_related("street")).order_by("code"))
    if not areas:
        raise PermissionDenied(_("您的账号没有可查看的居民区。"))
    street = areas[0].street
    area = None
    if area_code:
        area = next((a for a in areas if a.code == area_code), None)
        if area is None:
            raise PermissionDenied(_("居民区“%(c)s”不存在，或不在您的管理范围内。") % {"c": area_code})
    households = scoping.visible(user, Household.objects.all())
    cadres = User.objects.filter(role=Role.CADRE, is_active=True, area__in=areas)
    if area is not None:
        households = households.filter(building__compound__area=area)
        cadres = cadres.filter(area=area)
    if user.role == Role.CADRE:
        paired = Pairing.objects.current().filter(cadre=user, building__isnull=False).values("building_id")
        return CoverageScope(
            label=_("我的包联户"),
            street=street,
            households=households.filter(building_id__in=paired),
            cadres=User.objects.filter(pk=user.pk),
            areas=areas,
            area=area,
            own_only=True,
        )
    label = area.name if area is not None else (areas[0].name if len(areas) == 1 else street.name)
    return CoverageScope(
        label=label, street=street, households=households, cadres=cadres, areas=areas, area=area, own_only=False
    )


# --- per household ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdDue:
    """A household's visit state on the day `as_of`."""

    household_id: int
    area_id: int
    requirement: rules.Requirement
    last: date | None
    next_due: date
    overdue: bool
    days_since: int | None  # None: never visited
    visited_this_period: bool  # in the calendar week/month/year of `as_of` that its rule counts in

    @property
    def must_visit(self) -> bool:
        """Under a monthly or weekly rule (a must-visit tag), not only the yearly 全覆盖."""
        return self.requirement.interval in (Interval.MONTH, Interval.WEEK)


def rule_tags(households: "QuerySet[Household]", book: rules.RuleBook) -> dict[int, set[int]]:
    """Tags that carry a rule, per household: its own and those of residents still living there (two queries,
    households given as a subquery so that no id list is sent)."""
    tag_ids = list(book.by_tag)
    tags: dict[int, set[int]] = defaultdict(set)
    if not tag_ids:
        return tags
    own = Household.tags.through.objects.filter(household__in=households.values("pk"), tag_id__in=tag_ids)
    for household_id, tag_id in own.values_list("household_id", "tag_id"):
        tags[household_id].add(tag_id)
    residents = Resident.tags.through.objects.filter(
        resident__household__in=households.values("pk"), resident__active=True, tag_id__in=tag_ids
    )
    for household_id, tag_id in residents.values_list("resident__household_id", "tag_id"):
        tags[household_id].add(tag_id)
    return tags


def last_visits(households: "QuerySet[Household]", as_of: date) -> dict[int, date]:
    """Each household's last visit on or before `as_of`: one grouped aggregate."""
    rows = (
        Visit.objects.filter(
            household__in=households.values("pk"), visited_at__lt=local_start(as_of + timedelta(days=1))
        )
        .values("household_id")
        .annotate(last=Max(TruncDate("visited_at")))
        .values_list("household_id", "last")
    )
    return dict(rows)


def household_dues(households: "QuerySet[Household]", book: rules.RuleBook, as_of: date) -> list[HouseholdDue]:
    """Every household in scope with its rule, last visit, next due date and overdue flag on `as_of`."""
    tags = rule_tags(households, book)
    last = last_visits(households, as_of)
    # Households share tag sets and last-visit days: work each answer out once (20,000 households, a few hundred
    # distinct keys).
    requirements: dict[frozenset[int], rules.Requirement | None] = {}
    states: dict[tuple[date | None, str], tuple[date, bool, bool]] = {}
    dues = []
    for household_id, area_id in households.values_list("pk", "building__compound__area_id").order_by("pk"):
        tag_set = frozenset(tags.get(household_id, ()))
        if tag_set not in requirements:
            requirements[tag_set] = book.household(tag_set)
        requirement = requirements[tag_set]
        if requirement is None:  # the street switched the yearly rule off and no tag rule applies
            continue
        visited = last.get(household_id)
        key = (visited, requirement.interval)
        if key not in states:
            states[key] = (
                rules.next_due(visited, requirement.interval, as_of),
                rules.is_overdue(visited, requirement.interval, as_of),
                visited is not None and visited >= rules.period(as_of, requirement.interval)[0],
            )
        next_due, overdue, this_period = states[key]
        dues.append(
            HouseholdDue(
                household_id=household_id,
                area_id=area_id,
                requirement=requirement,
                last=visited,
                next_due=next_due,
                overdue=overdue,
                days_since=(as_of - visited).days if visited is not None else None,
                visited_this_period=this_period,
            )
        )
    return dues


# --- per area and street ----------------------------------------------------------------------------------------


@dataclass
class AreaCoverage:
    """Coverage figures of an area (or of the street, or of a cadre's paired households) on `as_of`."""

    label: str
    code: str = ""
    households: int = 0
    visited_this_year: int = 0
    must_visit: int = 0
    must_visit_done: int = 0
    overdue: int = 0

    @property
    def coverage_pct(self) -> float | None:
        return 100 * self.visited_this_year / self.households if self.households else None

    @property
    def compliance_pct(self) -> float | None:
        return 100 * self.must_visit_done / self.must_visit if self.must_visit else None

    def add(self, due: HouseholdDue, as_of: date) -> None:
        self.households += 1
        if due.last is not None and due.last.year == as_of.year:
            self.visited_this_year += 1
        if due.must_visit:
            self.must_visit += 1
            if due.visited_this_period:
                self.must_visit_done += 1
        if due.overdue:
            self.overdue += 1


def area_coverage(
    dues: list[HouseholdDue], areas: list[ResidentialArea], as_of: date, total_label: str
) -> tuple[list[AreaCoverage], AreaCoverage]:
    """One row per area that has households in `dues`, and the total. "Visited this year": at least one visit in
    the calendar year of `as_of`, up to `as_of`."""
    by_area = {a.pk: AreaCoverage(label=a.name, code=a.code) for a in areas}
    for due in dues:
        by_area[due.area_id].add(due, as_of)
    rows = [row for row in by_area.values() if row.households]
    total = AreaCoverage(
        label=total_label,
        households=sum(r.households for r in rows),
        visited_this_year=sum(r.visited_this_year for r in rows),
        must_visit=sum(r.must_visit for r in rows),
        must_visit_done=sum(r.must_visit_done for r in rows),
        overdue=sum(r.overdue for r in rows),
    )
    return rows, total


# --- per cadre --------------------------------------------------------------------------------------------------


@dataclass
class CadreRate:
    """A cadre's household visits in a period against the daily minimum."""

    cadre: User
    visits: int
    workdays: int
    days_meeting_minimum: int
    minimum: int

    @property
    def per_workday(self) -> float | None:
        return self.visits / self.workdays if self.workdays else None

    @property
    def meets_minimum(self) -> bool:
        return self.per_workday is not None and self.per_workday >= self.minimum


def cadre_rates(cadres: "QuerySet[User]", start: date, end: date, minimum: int) -> list[CadreRate]:
    """Household visits per working day from `start` to `end` (both included) for each cadre: one grouped
    aggregate over (cadre, day). A working day "meets the minimum" when that day had at least `minimum` visits."""
    working = set(workdays.workdays_between(start, end))
    people = list(cadres.select_related("area").order_by("area__code", "username"))
    per_day = (
        Visit.objects.filter(
            cadre__in=[p.pk for p in people],
            household__isnull=False,
            visited_at__gte=local_start(start),
            visited_at__lt=local_start(end + timedelta(days=1)),
        )
        .annotate(day=TruncDate("visited_at"))
        .values("cadre_id", "day")
        .annotate(n=Count("pk"))
        .values_list("cadre_id", "day", "n")
    )
    visits: dict[int, int] = defaultdict(int)
    good_days: dict[int, int] = defaultdict(int)
    for cadre_id, day, n in per_day:
        visits[cadre_id] += n
        if day in working and n >= minimum:
            good_days[cadre_id] += 1
    return [
        CadreRate(
            cadre=p,
            visits=visits[p.pk],
            workdays=len(working),
            days_meeting_minimum=good_days[p.pk],
            minimum=minimum,
        )
        for p in people
    ]


# --- the household list: filter and sort ------------------------------------------------------------------------

STATUS_OVERDUE = "overdue"
STATUS_MUST_VISIT = "must_visit"
STATUS_ALL = "all"

SORTS: dict[str, Callable[[HouseholdDue, dict[int, str]], Any]] = {
    # area code, then longest unvisited first within it
    "area": lambda d, codes: (codes.get(d.area_id, ""), -(d.days_since if d.days_since is not None else 10**6)),
    # never visited counts as the longest
    "days": lambda d, codes: (d.days_since if d.days_since is not None else 10**6, d.household_id),
    # strictest rule first, then by what it is for
    "rule": lambda d, codes: (rules.STRICTNESS[Interval(d.requirement.interval)], d.requirement.because),
}
DEFAULT_SORT = "-days"


def filter_and_sort(
    dues: list[HouseholdDue], *, status: str, sort: str, area_codes: dict[int, str]
) -> list[HouseholdDue]:
    if status == STATUS_OVERDUE:
        dues = [d for d in dues if d.overdue]
    elif status == STATUS_MUST_VISIT:
        dues = [d for d in dues if d.must_visit]
    key = SORTS.get(sort.lstrip("-"), SORTS["days"])
    return sorted(dues, key=lambda d: key(d, area_codes), reverse=sort.startswith("-"))


def households_by_id(ids: list[int]) -> dict[int, Household]:
    """Addresses for the rows on one page (one query)."""
    rows = Household.objects.filter(pk__in=ids).select_related("building__compound__area")
    return {h.pk: h for h in rows}


@dataclass
class Coverage:
    """Everything the coverage page shows for a scope and a period."""

    scope: CoverageScope
    start: date
    end: date
    dues: list[HouseholdDue]
    areas: list[AreaCoverage]
    total: AreaCoverage
    rates: list[CadreRate]
    minimum: int
    warning: str


def coverage_for(scope: CoverageScope, start: date, end: date) -> Coverage:
    """Coverage of `scope` as of `end`; visit rates over [start, end]."""
    book = rules.RuleBook(scope.street)
    minimum = rules.settings_for(scope.street).min_households_per_day
    dues = household_dues(scope.households, book, end)
    areas, total = area_coverage(dues, scope.areas, end, scope.label if scope.own_only else _("合计"))
    years = range(start.year, end.year + 1)
    return Coverage(
        scope=scope,
        start=start,
        end=end,
        dues=dues,
        areas=[] if scope.own_only else areas,
        total=total,
        rates=cadre_rates(scope.cadres, start, end, minimum),
        minimum=minimum,
        warning=workdays.calendar_warning(*(date(y, 1, 1) for y in years)),
    )
