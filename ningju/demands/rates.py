"""The three rates leadership reads — 响应率, 解决率, 满意率 — per residential area, cadre and department, for a period.

Definitions (the page shows the same text, `DEFINITIONS`):

* Population: demands received (`created_at`) in the period [start, end] (local dates, both included), without the
  duplicates merged into another demand (state 已合并).
* 响应率 (first contact on time) = demands whose first `contact` event happened no later than the first-contact
  deadline (the end of the working day that is the street's first-contact limit in working days after
  `created_at`, as `services.deadline_from` computes it) ÷ demands of the population whose first-contact deadline
  has passed or that were contacted. A demand still inside its first window and not yet contacted counts in
  neither.
* 解决率 = demands of the population that reached 办结 (an event into 办结 or 部门办结) or were closed (结案, after a
  callback or without one) ÷ the population.
* 满意率 = demands whose latest callback in the period was 满意 or 基本满意 ÷ demands with at least one callback in
  the period. Callbacks count by their own date, not by the demand's date of receipt; merged duplicates do not count.
* Per cadre means by owner (首问负责人); per area by the demand's area.
* Per department, over the orders (`Dispatch`) dispatched in the period, merged duplicates' orders left out:
  报到及时率 = orders acknowledged within the department-acknowledgement limit after dispatch ÷ orders whose
  acknowledgement deadline passed or that were acknowledged (returned orders left out); 办结率 = orders resolved ÷
  orders not returned; 满意率 = of the demands the department resolved, those whose latest callback in the period
  was 满意 or 基本满意 ÷ those with a callback in the period. Returned orders (退单) are counted beside.
* A rate with nothing to count (denominator 0) is "—", never 0%.

Each population is read in one query (facts per demand or per order, aggregated by the database) and grouped in
Python, so a whole street (thousands of demands, a hundred cadres) costs the same handful of queries as one area.
"""

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ningju.core import scoping
from ningju.core.models import Role, User
from ningju.core.workdays import add_workdays
from ningju.demands import services
from ningju.demands.models import Demand, DemandEvent, Dispatch
from ningju.demands.workflow import Action, CallbackResult, DeadlineStage, DispatchState, State
from ningju.registry.models import Department, ResidentialArea, Street

BY_AREA, BY_CADRE, BY_DEPARTMENT = "area", "cadre", "department"
GROUPINGS: dict[str, Promise] = {
    BY_AREA: gettext_lazy("按居民区"),
    BY_CADRE: gettext_lazy("按干部"),
    BY_DEPARTMENT: gettext_lazy("按部门"),
}

THIS_MONTH, LAST_MONTH, THIS_YEAR, LAST_YEAR, CUSTOM = (
    "this_month",
    "last_month",
    "this_year",
    "last_year",
    "custom",
)
PERIODS: dict[str, Promise] = {
    THIS_MONTH: gettext_lazy("本月"),
    LAST_MONTH: gettext_lazy("上月"),
    THIS_YEAR: gettext_lazy("本年"),
    LAST_YEAR: gettext_lazy("上年"),
    CUSTOM: gettext_lazy("自定义"),
}

SATISFIED = frozenset({CallbackResult.SATISFIED.value, CallbackResult.BASICALLY_SATISFIED.value})
# Any of these steps means the demand was handled to the end (办结, 部门办结, or 结案 after or without a callback).
RESOLVED_STATES = [State.RESOLVED, State.DEPARTMENT_RESOLVED, State.CLOSED]

# The definitions as the page shows them, word for word; %(first)s and %(ack)s are the street's limits.
DEFINITIONS: list[Promise] = [
    gettext_lazy(
        "统计对象：统计期间内（按受理时间，起止日期均含）受理的诉求，不含作为重复诉求被合并（已合并）的诉求。"
    ),
    gettext_lazy(
        "响应率（首次联系及时率）= 在首次联系时限内完成首次联系的诉求数 ÷ 首次联系时限已过或已联系的诉求数。"
        "首次联系时限为受理后第 %(first)s 个工作日当天结束；仍在时限内且尚未联系的诉求暂不计入。"
    ),
    gettext_lazy("解决率 = 已办结（曾进入“办结”或“部门办结”）或已结案的诉求数 ÷ 统计对象诉求数。"),
    gettext_lazy(
        "满意率 = 期间内最近一次回访结果为“满意”或“基本满意”的诉求数 ÷ 期间内有回访的诉求数。"
        "回访按回访本身的日期计入期间，而不是按诉求的受理日期；期间内多次回访的，以最近一次为准。"
    ),
    gettext_lazy("按干部统计以首问负责人归属，按居民区统计以诉求所属居民区归属。"),
    gettext_lazy(
        "部门：统计期间内（按派单时间）派出的派单，不含已合并诉求的派单。"
        "报到及时率 = 派单后第 %(ack)s 个工作日当天结束前报到的派单数 ÷ 报到时限已过或已报到的派单数（不含退单）；"
        "办结率 = 已办结的派单数 ÷ 未退单的派单数；"
        "满意率 = 该部门办结过的诉求中，期间内最近一次回访为“满意”或“基本满意”的诉求数 ÷ 其中期间内有回访的诉求数。"
        "退单数另列。"
    ),
    gettext_lazy("分母为 0 时显示“—”，表示没有可统计的数据，不是 0%。"),
]


def definitions(limits: dict[DeadlineStage, int]) -> list[str]:
    values = {"first": limits[DeadlineStage.FIRST_CONTACT], "ack": limits[DeadlineStage.DEPARTMENT_ACK]}
    return [str(text) % values if "%(" in str(text) else str(text) for text in DEFINITIONS]


# --- periods ----------------------------------------------------------------------------------------------------


def period_dates(period: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period around `today` (local dates, both included)."""
    if period == LAST_MONTH:
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if period == THIS_YEAR:
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if period == LAST_YEAR:
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    days = calendar.monthrange(today.year, today.month)[1]
    return today.replace(day=1), today.replace(day=days)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Asia/Shanghai: an aware half-open range for the database."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(start, time.min, tzinfo=zone), datetime.combine(
        end + timedelta(days=1), time.min, zone
    )


# --- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """A rate with its counts; no denominator means no data, shown "—"."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return None if not self.denominator else 100 * self.numerator / self.denominator

    @property
    def text(self) -> str:
        percent = self.percent
        return "—" if percent is None else f"{percent:.1f}%"

    @property
    def counts(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass
class _Tally:
    """Counters for one row while the facts are read."""

    first_num: int = 0  # contacted (area tabs) / acknowledged (departments) on time
    first_den: int = 0
    resolved: int = 0
    base: int = 0  # population (area tabs) / orders not returned (departments)
    satisfied: int = 0
    callbacks: int = 0
    returned: int = 0

    def rates(self) -> list[Rate]:
        return [
            Rate(self.first_num, self.first_den),
            Rate(self.resolved, self.base),
            Rate(self.satisfied, self.callbacks),
        ]


@dataclass(frozen=True)
class RateRow:
    key: str
    label: str
    note: str  # a cadre's area, a department's "已停用"
    rates: list[Rate]
    returned: int | None = None  # departments only
    link: str = ""
    highlight: bool = False
    is_total: bool = False


@dataclass(frozen=True)
class RateTable:
    by: str
    start: date
    end: date
    label_header: str
    columns: list[str]
    rows: list[RateRow]
    total: RateRow

    @property
    def has_returned(self) -> bool:
        return self.by == BY_DEPARTMENT

    def headers(self) -> list[str]:
        """The spreadsheet's headers: each rate followed by its numerator and denominator."""
        headers = [self.label_header, _("备注")]
        for column in self.columns:
            headers += [column, _("%(rate)s分子") % {"rate": column}, _("%(rate)s分母") % {"rate": column}]
        if self.has_returned:
            headers.append(_("退单数"))
        return headers

    def sheet_rows(self) -> list[list[Any]]:
        rows = []
        for row in [*self.rows, self.total]:
            cells: list[Any] = [row.label, row.note]
            for rate in row.rates:
                cells += [rate.text, rate.numerator, rate.denominator]
            if self.has_returned:
                cells.append(row.returned or 0)
            rows.append(cells)
        return rows


# --- scope ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatesScope:
    """What a user's rates page covers: which tabs, which rows, and the demands and orders behind them."""

    user: User
    street: Street
    groupings: tuple[str, ...]
    limits: dict[DeadlineStage, int]  # the street's deadline limits in working days
    areas: list[ResidentialArea] = field(default_factory=list)
    cadres: list[User] = field(default_factory=list)  # rows listed even with no demands
    departments: list[Department] = field(default_factory=list)
    # The population filters of the area, cadre and department tabs; a tab the user lacks matches nothing.
    area_demands: Q = scoping.NOTHING
    cadre_demands: Q = scoping.NOTHING
    dispatches: Q = scoping.NOTHING

    @property
    def is_street(self) -> bool:
        return self.user.role == Role.STREET_ADMIN


def may_see_rates(user: User) -> bool:
    return bool(user.is_active) and (
        (user.role == Role.STREET_ADMIN and user.street_id is not None)
        or (user.role in scoping.AREA_ROLES and user.area_id is not None)
        or (user.role == Role.LIAISON and user.department_id is not None)
    )


def rates_scope(user: User) -> RatesScope:
    """Street administrator: every area, cadre and department of the street. Area head and cadre: their area and
    its cadres (by owner, wherever the demand is). Liaison: their department. Anyone else is refused."""
    if not may_see_rates(user):
        raise PermissionDenied(_("您的角色不能查看响应率、解决率和满意率。"))
    if user.role == Role.LIAISON:
        assert user.department_id is not None  # may_see_rates checked it
        department = Department.objects.select_related("street").get(pk=user.department_id)
        return RatesScope(
            user=user,
            street=department.street,
            groupings=(BY_DEPARTMENT,),
            limits=services.stage_limits(department.street_id),
            departments=[department],
            dispatches=Q(department=department.pk),
        )
    areas = list(scoping.visible(user, ResidentialArea.objects.select_related("street")).order_by("code"))
    if not areas:
        raise PermissionDenied(_("您的账号没有可查看的居民区。"))
    street = areas[0].street
    limits = services.stage_limits(street.pk)
    cadres = list(
        User.objects.filter(role__in=scoping.AREA_ROLES, is_active=True, area__in=areas)
        .select_related("area")
        .order_by("area__code", "full_name", "username")
    )
    if user.role == Role.STREET_ADMIN:
        in_street = Q(area__street=street.pk)
        return RatesScope(
            user=user,
            street=street,
            groupings=(BY_AREA, BY_CADRE, BY_DEPARTMENT),
            limits=limits,
            areas=areas,
            cadres=cadres,
            departments=list(Department.objects.filter(street=street.pk).order_by("-active", "name")),
            area_demands=in_street,
            cadre_demands=in_street,
            dispatches=Q(department__street=street.pk),
        )
    # An area's cadres answer for what they received (首问负责), in their own area or another one of the street.
    return RatesScope(
        user=user,
        street=street,
        groupings=(BY_AREA, BY_CADRE),
        limits=limits,
        areas=areas,
        cadres=cadres,
        area_demands=Q(area=user.area_id),
        cadre_demands=Q(owner__area=user.area_id, owner__role__in=scoping.AREA_ROLES, area__street=street.pk),
    )


# --- computing --------------------------------------------------------------------------------------------------


class _Deadlines:
    """End of the working day `workdays` working days after a moment's local date, computed once per date."""

    def __init__(self, workdays: int) -> None:
        self.workdays = workdays
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.cache: dict[date, datetime] = {}

    def after(self, moment: datetime) -> datetime:
        day = timezone.localtime(moment, self.zone).date()
        deadline = self.cache.get(day)
        if deadline is None:
            # The same rule as services.deadline_from, without its per-call query for the street's limits.
            deadline = datetime.combine(add_workdays(day, self.workdays), time.max, tzinfo=self.zone)
            self.cache[day] = deadline
        return deadline


def _latest_callbacks(demands: Q, lo: datetime, hi: datetime) -> dict[int, tuple[int, int, bool]]:
    """Per demand with a callback in [lo, hi): (area id, owner id, whether its latest callback there satisfied)."""
    events = (
        DemandEvent.objects.filter(
            action=Action.CALLBACK,
            at__gte=lo,
            at__lt=hi,
            demand__in=Demand.objects.filter(demands).exclude(state=State.MERGED).values("pk"),
        )
        .order_by("at", "id")
        .values_list("demand_id", "demand__area_id", "demand__owner_id", "params")
    )
    latest: dict[int, tuple[int, int, bool]] = {}
    for demand_id, area_id, owner_id, params in events:
        result = (params or {}).get("callback_result") if isinstance(params, dict) else None
        latest[demand_id] = (area_id, owner_id, result in SATISFIED)  # later rows overwrite earlier ones
    return latest


def _demand_tallies(
    demands: Q, start: date, end: date, now: datetime, first_limit: int, key: Callable[[int, int], Any]
) -> tuple[dict[Any, _Tally], _Tally]:
    """Count the area tabs' rates per `key(area_id, owner_id)`, and for the whole population."""
    lo, hi = _bounds(start, end)
    facts = (
        Demand.objects.filter(demands, created_at__gte=lo, created_at__lt=hi)
        .exclude(state=State.MERGED)
        .order_by()
        .annotate(
            first_contact=Min("events__at", filter=Q(events__action=Action.CONTACT)),
            resolved_steps=Count("events", filter=Q(events__to_state__in=RESOLVED_STATES)),
        )
        .values_list("area_id", "owner_id", "created_at", "state", "first_contact", "resolved_steps")
    )
    deadlines = _Deadlines(first_limit)
    tallies: dict[Any, _Tally] = defaultdict(_Tally)
    total = _Tally()
    for area_id, owner_id, created_at, state, first_contact, resolved_steps in facts:
        deadline = deadlines.after(created_at)
        counted = first_contact is not None or now > deadline
        on_time = first_contact is not None and first_contact <= deadline
        resolved = resolved_steps > 0 or state == State.CLOSED
        for tally in (tallies[key(area_id, owner_id)], total):
            tally.base += 1
            tally.first_den += counted
            tally.first_num += on_time
            tally.resolved += resolved
    for area_id, owner_id, satisfied in _latest_callbacks(demands, lo, hi).values():
        for tally in (tallies[key(area_id, owner_id)], total):
            tally.callbacks += 1
            tally.satisfied += satisfied
    return tallies, total


def _department_tallies(
    dispatches: Q, start: date, end: date, now: datetime, ack_limit: int
) -> tuple[dict[int, _Tally], _Tally]:
    lo, hi = _bounds(start, end)
    orders = (
        Dispatch.objects.filter(dispatches, dispatched_at__gte=lo, dispatched_at__lt=hi)
        .exclude(demand__state=State.MERGED)
        .order_by()
        .values_list("department_id", "state", "dispatched_at", "acknowledged_at", "resolved_at")
    )
    deadlines = _Deadlines(ack_limit)
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    total = _Tally()
    for department_id, state, dispatched_at, acknowledged_at, resolved_at in orders:
        parts = (tallies[department_id], total)
        if state == DispatchState.RETURNED:
            for tally in parts:
                tally.returned += 1
            continue
        deadline = deadlines.after(dispatched_at)
        counted = acknowledged_at is not None or now > deadline
        on_time = acknowledged_at is not None and acknowledged_at <= deadline
        for tally in parts:
            tally.base += 1
            tally.first_den += counted
            tally.first_num += on_time
            tally.resolved += resolved_at is not None
    # Satisfaction follows the demands each department resolved (whenever), judged by the period's callbacks.
    resolved_by = (
        Dispatch.objects.filter(dispatches, resolved_at__isnull=False)
        .exclude(demand__state=State.MERGED)
        .order_by()
        .values_list("department_id", "demand_id")
        .distinct()
    )
    pairs = list(resolved_by)
    callbacks = _latest_callbacks(Q(pk__in=resolved_by.values("demand_id")), lo, hi) if pairs else {}
    counted_total: set[int] = set()
    for department_id, demand_id in pairs:
        latest = callbacks.get(demand_id)
        if latest is None:
            continue
        tallies[department_id].callbacks += 1
        tallies[department_id].satisfied += latest[2]
        if demand_id not in counted_total:  # a demand two departments resolved counts once in the total
            counted_total.add(demand_id)
            total.callbacks += 1
            total.satisfied += latest[2]
    return tallies, total


def rate_table(
    scope: RatesScope,
    by: str,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    area_link: Callable[[ResidentialArea], str] | None = None,
) -> RateTable:
    """The rates of one tab for the period [start, end]: a row per area, cadre or department, and the total.

    `area_link(area)` gives the link of an area row's cells (the demand list filtered to that area), if any.
    """
    if by not in scope.groupings:
        raise PermissionDenied(_("您不能按该方式查看。"))
    now = now or timezone.now()
    limits = scope.limits
    total_label = _("街道合计") if scope.is_street else _("合计")
    if by == BY_DEPARTMENT:
        tallies, total = _department_tallies(
            scope.dispatches, start, end, now, limits[DeadlineStage.DEPARTMENT_ACK]
        )
        rows = [
            RateRow(
                key=str(department.pk),
                label=department.name,
                note="" if department.active else _("已停用"),
                rates=tallies[department.pk].rates(),
                returned=tallies[department.pk].returned,
            )
            for department in scope.departments
            if department.active or department.pk in tallies
        ]
        return RateTable(
            by=by,
            start=start,
            end=end,
            label_header=_("职能部门"),
            columns=[_("报到及时率"), _("办结率"), _("满意率")],
            rows=rows,
            total=RateRow(
                key="", label=total_label, note="", rates=total.rates(), returned=total.returned, is_total=True
            ),
        )

    first_limit = limits[DeadlineStage.FIRST_CONTACT]
    columns = [_("响应率"), _("解决率"), _("满意率")]
    if by == BY_AREA:
        tallies, total = _demand_tallies(scope.area_demands, start, end, now, first_limit, lambda a, _o: a)
        own = scope.user.area_id if not scope.is_street else None
        rows = [
            RateRow(
                key=area.code,
                label=area.name,
                note="",
                rates=tallies[area.pk].rates(),
                link=area_link(area) if area_link else "",
                highlight=area.pk == own,
            )
            for area in scope.areas
            if scope.is_street or area.pk == own
        ]
        return RateTable(
            by=by,
            start=start,
            end=end,
            label_header=_("居民区"),
            columns=columns,
            rows=rows,
            total=RateRow(key="", label=total_label, note="", rates=total.rates(), is_total=True),
        )

    tallies, total = _demand_tallies(scope.cadre_demands, start, end, now, first_limit, lambda _a, o: o)
    people = {cadre.pk: cadre for cadre in scope.cadres}
    missing = [owner_id for owner_id in tallies if owner_id not in people]
    if missing:  # owners no longer listed (left, another role): their demands still count under their name
        people.update({u.pk: u for u in User.objects.filter(pk__in=missing).select_related("area")})
    ordered = [*scope.cadres, *sorted((people[pk] for pk in missing), key=_person_order)]
    rows = [
        RateRow(
            key=person.username,
            label=person.display_name,
            note=_person_note(person),
            rates=tallies[person.pk].rates(),
            highlight=person.pk == scope.user.pk,
        )
        for person in ordered
    ]
    return RateTable(
        by=by,
        start=start,
        end=end,
        label_header=_("首问负责人"),
        columns=columns,
        rows=rows,
        total=RateRow(key="", label=total_label, note="", rates=total.rates(), is_total=True),
    )


def _person_order(user: User) -> tuple[str, str]:
    return (user.area.code if user.area else "", user.display_name)


def _person_note(user: User) -> str:
    if user.area is not None and user.role in scoping.AREA_ROLES:
        return user.area.name
    return str(user.get_role_display() or "")
