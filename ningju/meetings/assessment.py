"""Assessment scorecards (考核评议): indicators per cadre and per residential area for a period, weighed by the street
administrator's weights into a total score, ranked, and issued (frozen) as the period's result.

Every indicator comes from data the platform already keeps, computed by the code that owns it: visits per working day
and coverage from `ningju.visits.coverage`, the three rates from `ningju.demands.rates`, troika compliance from
`ningju.meetings.troika`, participation and training hours from `ningju.meetings.participation`. The whole street is computed at once in a fixed handful of queries; the
page then shows the rows the viewer may see.

Scoring: each indicator gets a score from 0 to 1 (`INDICATORS[...].formula` says how); an indicator with no data for
a row (a rate with denominator 0, no must-visit households, …) has no score and is left out of that row's total, whose
weights are renormalised over the indicators that had data:
    总分 = Σ(指标得分 × 权重) ÷ Σ(有数据指标的权重) × 100.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ningju.core import scoping
from ningju.core.audit import audit
from ningju.core.errors import ApplicationError
from ningju.core.models import AuditAction, CalendarYear, Role, User, WorkdayOverride
from ningju.demands import rates, services
from ningju.demands.models import Demand, DemandEvent, Kind, Source
from ningju.demands.selectors import OPEN_STATES, alert_q
from ningju.demands.workflow import DeadlineStage, State
from ningju.meetings import participation
from ningju.meetings.models import (
    ActionItem,
    ActionProgress,
    ActionStatus,
    Attendee,
    Event,
    Meeting,
    MeetingStatus,
    Registration,
    ScorecardIssue,
    ScorecardSubject,
    ScoreWeights,
    TrainingAttendance,
    TrainingSession,
)
from ningju.meetings.participation import training_hours
from ningju.meetings.troika import troika_compliance
from ningju.registry.models import Household, Resident, ResidentialArea, Street
from ningju.visits import coverage, rules
from ningju.visits.models import Pairing, Visit, VisitRule, VisitSettings

CADRE, AREA = ScorecardSubject.CADRE.value, ScorecardSubject.AREA.value


@dataclass(frozen=True)
class Indicator:
    key: str
    label: Promise
    formula: Promise  # how the value is counted and scored, shown on the page under the formula
    short: Promise | None = None  # the column header where the full label would wrap into a tower of characters

    @property
    def header(self) -> Promise:
        return self.short or self.label


INDICATORS: list[Indicator] = [
    Indicator(
        "visits",
        _("日均走访户数"),
        _(
            "走访户次 ÷ 统计期间内截至今天的工作日数（居民区取其干部的平均值）；"
            "得分 = min(1, 日均户数 ÷ 每日最低走访户数)。"
        ),
        _("日均走访"),
    ),
    Indicator(
        "coverage",
        _("走访覆盖率"),
        _("期间内至少走访一次的户数 ÷ 户数（干部按当前包联楼栋的户，未包联的按所在居民区）；得分 = 覆盖率。"),
        _("覆盖率"),
    ),
    Indicator(
        "must_visit",
        _("必访对象完成率"),
        _("截至期末（或今天）所在的周期内已走访的必访户 ÷ 必访户（与走访覆盖页相同）；得分 = 完成率。"),
        _("必访完成"),
    ),
    Indicator(
        "found_solved",
        _("发现并解决问题数"),
        _(
            "期间内受理、来源为走访或巡查、类型为问题、已办结或已结案的诉求数（干部按首问负责人，居民区按所属"
            "居民区）；得分 = 数量 ÷ 同组最高数量。"
        ),
        _("发现解决"),
    ),
    Indicator(
        "response",
        _("响应率"),
        _("与“响应率、解决率、满意率”页面的数字相同；得分 = 响应率；分母不足 5 件时“样本不足”，不计入总分。"),
    ),
    Indicator(
        "resolution",
        _("解决率"),
        _("与“响应率、解决率、满意率”页面的数字相同；得分 = 解决率；分母不足 5 件时“样本不足”，不计入总分。"),
    ),
    Indicator(
        "satisfaction",
        _("满意率"),
        _("与“响应率、解决率、满意率”页面的数字相同；得分 = 满意率；分母不足 5 件时“样本不足”，不计入总分。"),
    ),
    Indicator(
        "overdue",
        _("超时事项数"),
        _("当前未结案且已超时（红色）的诉求数 + 已过完成时限仍未完成的行动事项数；得分 = 1 ÷ (1 + 超时事项数)。"),
        _("超时事项"),
    ),
    Indicator(
        "troika",
        _("三驾马车合署办公完成率"),
        _(
            "已召开的次数 ÷ 应召开的次数（每个小区每月一次，统计到今天；干部按所在居民区）；得分 = 完成率（最高 1）。"
        ),
        _("三驾马车"),
    ),
    Indicator(
        "participation",
        _("社区活动参与人次"),
        _("期间内居民区举办的活动的签到人次（干部按所在居民区）；得分 = 人次 ÷ 同组最高人次。"),
        _("活动人次"),
    ),
    Indicator(
        "training",
        _("培训学时"),
        _("期间内出勤的培训学时（居民区取其干部的平均值）；得分 = 学时 ÷ 同组最高学时。"),
    ),
]
INDICATOR_KEYS = [indicator.key for indicator in INDICATORS]
LABELS = {indicator.key: indicator.label for indicator in INDICATORS}

# The defaults sum to 100, so that before any change each weight reads as a share.
DEFAULT_WEIGHTS: dict[str, int] = {
    "visits": 20,
    "coverage": 10,
    "must_visit": 10,
    "found_solved": 10,
    "response": 10,
    "resolution": 10,
    "satisfaction": 10,
    "overdue": 5,
    "troika": 5,
    "participation": 5,
    "training": 5,
}
MAX_WEIGHT = 100

# The three demand rates are samples of how demands are handled: 2 of 2 says little about a cadre, and a month often
# gives no more. Below this many demands a rate is shown with its counts and "样本不足" but scores nothing, so no rank
# rests on it. Coverage, must-visit and troika figures are counts of whole populations (every household, every
# compound-month), not samples, and always score.
MIN_RATE_SAMPLE = 5
RATE_KEYS = ("response", "resolution", "satisfaction")
SPARSE_RULE = _("样本不足：分母少于 5 件，比率偶然性太大，不计入总分和排名。")

FORMULA = _("总分 = Σ(指标得分 × 权重) ÷ Σ(有数据指标的权重) × 100")
FORMULA_NOTE = _(
    "各指标得分在 0 至 1 之间。某项指标没有可统计的数据（如比率分母为 0、没有必访户）时，该项不计入，"
    "其权重也不计入分母，其余指标的权重按比例放大；所有指标都没有数据时总分显示“—”。"
    "得分相同的并列同一名次。响应率、解决率、满意率的分母少于 5 件时显示“样本不足”，按没有数据处理，"
    "月度排名因此不靠两三件诉求的偶然结果。"
)


# --- weights ----------------------------------------------------------------------------------------------------


def weights_for(street_id: int) -> dict[str, int]:
    """The weights in force: the newest row the street administrator saved, the defaults for what it lacks."""
    row = ScoreWeights.objects.filter(street=street_id).order_by("-set_at", "-id").first()
    saved = row.weights if row is not None and isinstance(row.weights, dict) else {}
    return {key: int(saved.get(key, DEFAULT_WEIGHTS[key])) for key in INDICATOR_KEYS}


def score_weights_set(*, user: User, weights: dict[str, int]) -> ScoreWeights:
    """Save new weights for the user's street as a new row (the old ones stay as history)."""
    scoping.require_street_admin(user)
    if set(weights) != set(INDICATOR_KEYS):
        raise ApplicationError(gettext("权重须包含全部考核指标。"))
    if any(not isinstance(v, int) or not 0 <= v <= MAX_WEIGHT for v in weights.values()):
        raise ApplicationError(gettext("每项权重须为 0 至 100 的整数。"))
    if not any(weights.values()):
        raise ApplicationError(gettext("至少要有一项权重大于 0。"))
    assert user.street_id is not None  # require_street_admin: a street administrator has a street
    saved = ScoreWeights.objects.create(street_id=user.street_id, weights=dict(weights), set_by=user)
    audit(user=user, action=AuditAction.CONFIG_CHANGE, target=saved, field="score_weights", detail=dict(weights))
    return saved


# --- rows -------------------------------------------------------------------------------------------------------


@dataclass
class Cell:
    value: float | None  # None: no data
    text: str
    score: float | None  # 0..1, None: left out of the total
    sparse: bool = False  # a rate on fewer than MIN_RATE_SAMPLE demands: shown, not scored

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "text": self.text, "score": self.score, "sparse": self.sparse}


@dataclass
class Row:
    key: str  # a username or an area code
    label: str
    area: str  # the area's name (a cadre's area; an area's own name)
    area_id: int | None
    user_id: int | None
    cells: dict[str, Cell]
    score: float | None = None
    rank: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "area": self.area,
            "area_id": self.area_id,
            "user_id": self.user_id,
            "indicators": {key: cell.as_json() for key, cell in self.cells.items()},
            "score": self.score,
            "rank": self.rank,
        }


def total_score(cells: dict[str, Cell], weights: dict[str, int]) -> float | None:
    """Σ(score × weight) ÷ Σ(weight of the indicators with data) × 100; None when nothing had data."""
    weighed = [(cell.score, weights.get(key, 0)) for key, cell in cells.items() if cell.score is not None]
    denominator = sum(weight for _score, weight in weighed)
    if not denominator:
        return None
    return round(sum(score * weight for score, weight in weighed) / denominator * 100, 2)


def rank_rows(rows: list[Row]) -> list[Row]:
    """Highest total first (no total last); equal totals share a rank (1, 2, 2, 4)."""
    rows = sorted(rows, key=lambda r: (r.score is None, -(r.score or 0), r.area, r.label))
    previous: float | None = None
    for position, row in enumerate(rows, start=1):
        if position == 1 or row.score != previous:
            row.rank = position
        else:
            row.rank = rows[position - 2].rank
        previous = row.score
    return rows


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.{digits}f}"


def _relative(values: dict[Any, float], key: Any) -> float | None:
    """A value against the best of its group; no score when nobody in the group has any."""
    best = max(values.values(), default=0)
    return values.get(key, 0) / best if best else None


# --- facts ------------------------------------------------------------------------------------------------------


@dataclass
class Facts:
    """The street's raw figures for a period, keyed by cadre id and by area id."""

    minimum: int
    visit_rate: dict[int, float | None]  # per cadre
    coverage: dict[str, dict[int, tuple[int, int]]]  # "cadre"/"area" -> id -> (visited, households)
    must_visit: dict[str, dict[int, tuple[int, int]]]
    found: dict[str, dict[int, int]]
    rates: dict[str, dict[int, list[rates.Rate]]]
    overdue: dict[str, dict[int, int]]
    troika: dict[int, tuple[int, int]]  # per area
    participation: dict[int, float]  # per area
    training: dict[int, float]  # per cadre


def street_cadres(areas: list[ResidentialArea]) -> "QuerySet[User]":
    """Everyone who works an area of the street (area heads too: they visit and own demands as well)."""
    return User.objects.filter(role__in=scoping.AREA_ROLES, is_active=True, area__in=areas)


def _coverage_facts(
    street: Street, areas: list[ResidentialArea], cadre_ids: list[int], start: date, as_of: date
) -> tuple[dict[str, dict[int, tuple[int, int]]], dict[str, dict[int, tuple[int, int]]]]:
    """Coverage in the period and must-visit compliance on `as_of`, per area and per cadre's paired households,
    from the coverage page's `household_dues` (one pass over the street's households)."""
    households = Household.objects.filter(building__compound__area__in=areas)
    dues = coverage.household_dues(households, rules.RuleBook(street), as_of)
    paired: dict[int, int] = dict(
        Pairing.objects.current()
        .filter(cadre__in=cadre_ids, building__isnull=False)
        .values_list("building_id", "cadre_id")
    )
    building_of: dict[int, int] = dict(
        households.filter(building_id__in=list(paired)).values_list("pk", "building_id")
    )
    cover: dict[str, dict[int, list[int]]] = {
        CADRE: defaultdict(lambda: [0, 0]),
        AREA: defaultdict(lambda: [0, 0]),
    }
    must: dict[str, dict[int, list[int]]] = {CADRE: defaultdict(lambda: [0, 0]), AREA: defaultdict(lambda: [0, 0])}
    for due in dues:
        owners = [(AREA, due.area_id)]
        building = building_of.get(due.household_id)
        if building is not None:
            owners.append((CADRE, paired[building]))
        visited = due.last is not None and due.last >= start
        for group, key in owners:
            cover[group][key][0] += visited
            cover[group][key][1] += 1
            if due.must_visit:
                must[group][key][0] += due.visited_this_period
                must[group][key][1] += 1
    return (
        {group: {k: (v[0], v[1]) for k, v in rows.items()} for group, rows in cover.items()},
        {group: {k: (v[0], v[1]) for k, v in rows.items()} for group, rows in must.items()},
    )


def _found_solved(street: Street, start: date, end: date) -> dict[str, dict[int, int]]:
    """Problems found on visits and patrols, received in the period, that reached 办结/部门办结 or were closed."""
    lo, hi = rates._bounds(start, end)  # the rates page's local-date bounds
    facts = (
        Demand.objects.filter(
            area__street=street.pk,
            kind=Kind.PROBLEM,
            source__in=[Source.VISIT, Source.PATROL],
            created_at__gte=lo,
            created_at__lt=hi,
        )
        .exclude(state=State.MERGED)
        .order_by()
        .annotate(resolved_steps=Count("events", filter=Q(events__to_state__in=rates.RESOLVED_STATES)))
        .values_list("area_id", "owner_id", "state", "resolved_steps")
    )
    found: dict[str, dict[int, int]] = {CADRE: defaultdict(int), AREA: defaultdict(int)}
    for area_id, owner_id, state, steps in facts:
        if steps or state == State.CLOSED:
            found[AREA][area_id] += 1
            if owner_id is not None:
                found[CADRE][owner_id] += 1
    return found


def _rate_facts(street: Street, start: date, end: date, now: datetime) -> dict[str, dict[int, list[rates.Rate]]]:
    """The rates page's own tallies (by area, by owner) over the whole street, so the numbers are the same."""
    first_limit = services.stage_limits(street.pk)[DeadlineStage.FIRST_CONTACT]
    population = Q(area__street=street.pk)
    by_area, _total = rates._demand_tallies(population, start, end, now, first_limit, lambda a, _o: a)
    by_owner, _total = rates._demand_tallies(population, start, end, now, first_limit, lambda _a, o: o)
    return {
        AREA: {key: tally.rates() for key, tally in by_area.items()},
        CADRE: {key: tally.rates() for key, tally in by_owner.items()},
    }


def _overdue(street: Street, now: datetime) -> dict[str, dict[int, int]]:
    """Open demands past their deadline (red) now, and action items past their deadline and not done."""
    counts: dict[str, dict[int, int]] = {CADRE: defaultdict(int), AREA: defaultdict(int)}
    red = Demand.objects.filter(alert_q("red", now), area__street=street.pk, state__in=OPEN_STATES).order_by()
    for area_id, owner_id in red.values_list("area_id", "owner_id"):
        counts[AREA][area_id] += 1
        if owner_id is not None:
            counts[CADRE][owner_id] += 1
    late = ActionItem.objects.filter(
        street=street.pk,
        deadline__lt=timezone.localdate(now),
        status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS],
    ).order_by()
    for area_id, owner_id in late.values_list("area_id", "owner_id"):
        if area_id is not None:
            counts[AREA][area_id] += 1
        if owner_id is not None:
            counts[CADRE][owner_id] += 1
    return counts


def _participation(street: Street, start: date, end: date) -> dict[int, float]:
    """参与人次 per area, as the participation page counts them (`participation.Totals.participants`: attended
    registrations of the area's events begun in the period + attendees of its held planning meetings), grouped by
    area in two queries rather than one `participation_totals` call per area."""
    low, high = participation.bounds(start, end)
    events = participation._held_events(street, None, low, high).filter(area__isnull=False)
    meetings = participation._held_meetings(street, None, low, high).filter(area__isnull=False)
    totals: dict[int, float] = defaultdict(float)
    attended = (
        Registration.objects.filter(event__in=events.values("pk"), attended=True)
        .values("event__area_id")
        .annotate(n=Count("pk"))
        .values_list("event__area_id", "n")
        .order_by()
    )
    present = (
        Attendee.objects.filter(meeting__in=meetings.values("pk"))
        .values("meeting__area_id")
        .annotate(n=Count("pk"))
        .values_list("meeting__area_id", "n")
        .order_by()
    )
    for area_id, n in [*attended, *present]:
        totals[area_id] += n
    return dict(totals)


def street_facts(
    street: Street, areas: list[ResidentialArea], cadres: list[User], start: date, end: date, now: datetime
) -> Facts:
    today = timezone.localdate(now)
    until = min(end, today)  # nothing can have happened after today; workdays and months count up to it
    cadre_ids = [c.pk for c in cadres]
    people = User.objects.filter(pk__in=cadre_ids)
    minimum = rules.settings_for(street).min_households_per_day
    visit_rate: dict[int, float | None] = {pk: None for pk in cadre_ids}
    if until >= start:
        for rate in coverage.cadre_rates(people, start, until, minimum):
            visit_rate[rate.cadre.pk] = rate.per_workday
    cover, must = _coverage_facts(street, areas, cadre_ids, start, max(start, until))
    return Facts(
        minimum=minimum,
        visit_rate=visit_rate,
        coverage=cover,
        must_visit=must,
        found=_found_solved(street, start, end),
        rates=_rate_facts(street, start, end, now),
        overdue=_overdue(street, now),
        # Up to today: the troika module requires a month once it has ended by the date it is given.
        troika=troika_compliance(areas, start, until) if until >= start else {},
        participation=_participation(street, start, end),
        training={pk: float(hours) for pk, hours in training_hours(cadre_ids, start, end).items()},
    )


# --- the table --------------------------------------------------------------------------------------------------


def _fraction_cell(pair: tuple[int, int] | None) -> Cell:
    if not pair or not pair[1]:
        return Cell(None, "—", None)
    value = pair[0] / pair[1]
    return Cell(round(value, 4), f"{_pct(value)} ({pair[0]}/{pair[1]})", value)


def _rate_cells(found: list[rates.Rate] | None) -> dict[str, Cell]:
    cells = {}
    for key, rate in zip(RATE_KEYS, found or [rates.Rate(0, 0)] * 3, strict=True):
        value = rate.percent / 100 if rate.percent is not None else None
        sparse = value is not None and rate.denominator < MIN_RATE_SAMPLE
        cells[key] = Cell(
            None if value is None else round(value, 4),
            f"{rate.text} ({rate.counts})" if value is not None else "—",
            None if sparse else value,
            sparse,
        )
    return cells


def _troika_cell(pair: tuple[int, int] | None) -> Cell:
    if not pair or not pair[1]:
        return Cell(None, "—", None)
    value = pair[0] / pair[1]
    return Cell(round(value, 4), f"{pair[0]}/{pair[1]}", min(1.0, value))


def cadre_rows(facts: Facts, cadres: list[User], areas: list[ResidentialArea]) -> list[Row]:
    area_by_id = {area.pk: area for area in areas}
    found = {c.pk: float(facts.found[CADRE].get(c.pk, 0)) for c in cadres}
    training = {c.pk: facts.training.get(c.pk, 0.0) for c in cadres}
    participation = {a.pk: facts.participation.get(a.pk, 0.0) for a in areas}
    rows = []
    for cadre in cadres:
        area_id = cadre.area_id
        assert area_id is not None  # street_cadres keeps area users only
        per_day = facts.visit_rate.get(cadre.pk)
        own_cover = facts.coverage[CADRE].get(cadre.pk)
        paired = own_cover is not None and own_cover[1] > 0
        cover = own_cover if paired else facts.coverage[AREA].get(area_id)
        must = facts.must_visit[CADRE].get(cadre.pk) if paired else facts.must_visit[AREA].get(area_id)
        overdue = facts.overdue[CADRE].get(cadre.pk, 0)
        cells = {
            "visits": Cell(
                None if per_day is None else round(per_day, 2),
                _num(per_day, 2),
                None if per_day is None else min(1.0, per_day / facts.minimum) if facts.minimum else 1.0,
            ),
            "coverage": _fraction_cell(cover),
            "must_visit": _fraction_cell(must),
            "found_solved": Cell(found[cadre.pk], _num(found[cadre.pk]), _relative(found, cadre.pk)),
            **_rate_cells(facts.rates[CADRE].get(cadre.pk)),
            "overdue": Cell(float(overdue), str(overdue), 1 / (1 + overdue)),
            "troika": _troika_cell(facts.troika.get(area_id)),
            "participation": Cell(
                participation[area_id], _num(participation[area_id]), _relative(participation, area_id)
            ),
            "training": Cell(training[cadre.pk], _num(training[cadre.pk]), _relative(training, cadre.pk)),
        }
        rows.append(
            Row(
                key=cadre.username,
                label=cadre.display_name,
                area=area_by_id[area_id].name,
                area_id=area_id,
                user_id=cadre.pk,
                cells=cells,
            )
        )
    return rows


def area_rows(facts: Facts, cadres: list[User], areas: list[ResidentialArea]) -> list[Row]:
    members: dict[int, list[int]] = defaultdict(list)
    for cadre in cadres:
        if cadre.area_id is not None:
            members[cadre.area_id].append(cadre.pk)

    def mean(values: Iterable[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    found = {a.pk: float(facts.found[AREA].get(a.pk, 0)) for a in areas}
    participation = {a.pk: facts.participation.get(a.pk, 0.0) for a in areas}
    training_mean = {a.pk: mean(facts.training.get(pk, 0.0) for pk in members[a.pk]) for a in areas}
    training = {pk: value for pk, value in training_mean.items() if value is not None}
    rows = []
    for area in areas:
        per_day = mean(facts.visit_rate.get(pk) for pk in members[area.pk])
        overdue = facts.overdue[AREA].get(area.pk, 0)
        hours = training.get(area.pk)
        cells = {
            "visits": Cell(
                None if per_day is None else round(per_day, 2),
                _num(per_day, 2),
                None if per_day is None else min(1.0, per_day / facts.minimum) if facts.minimum else 1.0,
            ),
            "coverage": _fraction_cell(facts.coverage[AREA].get(area.pk)),
            "must_visit": _fraction_cell(facts.must_visit[AREA].get(area.pk)),
            "found_solved": Cell(found[area.pk], _num(found[area.pk]), _relative(found, area.pk)),
            **_rate_cells(facts.rates[AREA].get(area.pk)),
            "overdue": Cell(float(overdue), str(overdue), 1 / (1 + overdue)),
            "troika": _troika_cell(facts.troika.get(area.pk)),
            "participation": Cell(
                participation[area.pk], _num(participation[area.pk]), _relative(participation, area.pk)
            ),
            "training": Cell(
                None if hours is None else round(hours, 2),
                _num(hours),
                None if hours is None else _relative(training, area.pk),
            ),
        }
        rows.append(
            Row(key=area.code, label=area.name, area=area.name, area_id=area.pk, user_id=None, cells=cells)
        )
    return rows


@dataclass
class Scorecard:
    street: Street
    subject: str
    start: date
    end: date
    weights: dict[str, int]
    rows: list[Row]  # ranked
    computed_at: datetime | None = None  # when the figures were computed (a cached scorecard may be minutes old)


def street_areas(street: Street) -> list[ResidentialArea]:
    return list(ResidentialArea.objects.filter(street=street).select_related("street").order_by("code"))


def _ranked(
    street: Street, start: date, end: date, now: datetime, subjects: Iterable[str]
) -> tuple[dict[str, int], dict[str, list[Row]]]:
    """The weights in force and the ranked rows of each subject, from one reading of the street's facts."""
    areas = street_areas(street)
    cadres = list(street_cadres(areas).order_by("area__code", "full_name", "username"))
    weights = weights_for(street.pk)
    facts = street_facts(street, areas, cadres, start, end, now)
    ranked = {}
    for subject in subjects:
        rows = cadre_rows(facts, cadres, areas) if subject == CADRE else area_rows(facts, cadres, areas)
        for row in rows:
            row.score = total_score(row.cells, weights)
        ranked[subject] = rank_rows(rows)
    return weights, ranked


def scorecard(street: Street, subject: str, start: date, end: date, *, now: datetime | None = None) -> Scorecard:
    """The whole street's ranked scorecard of `subject` ("cadre" or "area") for [start, end] with the weights in
    force, computed now from the raw rows; which rows a user sees is `visible_rows`'s business."""
    now = now or timezone.now()
    weights, ranked = _ranked(street, start, end, now, [subject])
    return Scorecard(
        street=street,
        subject=subject,
        start=start,
        end=end,
        weights=weights,
        rows=ranked[subject],
        computed_at=now,
    )


# --- the cached scorecard ---------------------------------------------------------------------------------------
#
# Computing a street-year reads every visit, demand and event of the year (about a second on the demo street); the
# page reads it from the cache instead. An entry holds both subjects of one street and period and is used only while
#   * the data fingerprint is unchanged: counts and newest ids of every table the figures read (a new visit, a demand
#     step, a training attendance, a household's tags through their history rows, new weights …), and
#   * it is not past `valid_until`: the next local midnight (today's date bounds the working days, must-visit periods,
#     troika months and late action items), the next moment an open demand's deadline passes (the overdue count), and
#     at most CACHE_SECONDS after it was computed (what the fingerprint cannot see: an edited visit time, a rate's
#     first-contact deadline running out).
# Anything else is computed afresh and stored; the meetings task warms this month and this year every few minutes.

CACHE_SECONDS = 600
WARM_MARGIN = timedelta(minutes=6)  # the warm task runs every 5 minutes: refresh what would expire before the next
CACHE_KEY = "ningju:scorecards:v1:{street}:{start}:{end}"


def _fingerprint_sql() -> tuple[str, list[Any]]:
    """One statement of scalar subqueries (one round trip, not twenty): per table, the row count, the newest id and
    the counts of the rows in the states the figures depend on."""
    quote = connection.ops.quote_name
    columns: list[str] = []
    params: list[Any] = []
    area_users = ("is_active = %s AND role IN (%s, %s)", [True, *scoping.AREA_ROLES])
    tables: list[tuple[Any, list[tuple[str, list[Any]]]]] = [
        (Visit, []),
        (Demand, []),
        (DemandEvent, []),
        (ActionItem, [("status IN (%s, %s)", [ActionStatus.OPEN.value, ActionStatus.IN_PROGRESS.value])]),
        (ActionProgress, []),
        (Meeting, [("status = %s", [MeetingStatus.HELD.value])]),
        (Attendee, []),
        (Event, []),
        (Registration, [("attended = %s", [True])]),
        (TrainingSession, []),
        (TrainingAttendance, [("attended = %s", [True])]),
        (Pairing, [("ended_on IS NOT NULL", [])]),
        (Household.history.model, []),  # edits and tag changes leave history rows
        (Resident.history.model, []),
        (User, [area_users]),
        (ScoreWeights, []),
        (VisitRule, []),
        (VisitSettings, []),
        (WorkdayOverride, []),
        (CalendarYear, []),
    ]
    # The newest id as text: PostgreSQL has no MAX over a UUID (visits' keys), and a text id still changes when a
    # row is added.
    for model, states in tables:
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        columns += [f"(SELECT COUNT(*) FROM {table})", f"(SELECT MAX(CAST({pk} AS TEXT)) FROM {table})"]
        for where, values in states:
            columns.append(f"(SELECT COUNT(*) FROM {table} WHERE {where})")
            params += values
    # Who works which area: a cadre moved to another area changes neither the count nor the newest id.
    users = quote(User._meta.db_table)
    columns.append(f"(SELECT COUNT(DISTINCT {quote('area_id')}) FROM {users} WHERE {area_users[0]})")
    columns.append(
        f"(SELECT SUM({quote('id')} * COALESCE({quote('area_id')}, 0)) FROM {users} WHERE {area_users[0]})"
    )
    params += area_users[1] * 2
    return "SELECT " + ", ".join(columns), params


def _fingerprint() -> tuple[Any, ...]:
    """Counts and newest ids of what the scorecards read (all streets: a change elsewhere only costs a recompute)."""
    sql, params = _fingerprint_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(cursor.fetchone())


def _valid_until(street: Street, now: datetime) -> datetime:
    midnight = datetime.combine(
        timezone.localdate(now) + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
    )
    next_red = (
        Demand.objects.filter(area__street=street.pk, state__in=OPEN_STATES, due_at__gte=now)
        .order_by()
        .aggregate(first=Min("due_at"))["first"]
    )
    return min(d for d in (now + timedelta(seconds=CACHE_SECONDS), midnight, next_red) if d is not None)


def scorecard_cached(
    street: Street, subject: str, start: date, end: date, *, now: datetime | None = None, warm: bool = False
) -> Scorecard:
    """`scorecard`, read from the cache while its entry is still exact (see above), computed and stored otherwise.
    `warm`: the background task, which also refreshes an entry about to expire."""
    now = now or timezone.now()
    key = CACHE_KEY.format(street=street.pk, start=start.isoformat(), end=end.isoformat())
    fingerprint = _fingerprint()
    entry = cache.get(key)
    margin = WARM_MARGIN if warm else timedelta(0)
    if not (
        isinstance(entry, dict)
        and entry.get("fingerprint") == fingerprint
        and entry["computed_at"] <= now < entry["valid_until"] - margin
    ):
        weights, ranked = _ranked(street, start, end, now, (CADRE, AREA))
        entry = {
            "fingerprint": fingerprint,
            "computed_at": now,
            "valid_until": _valid_until(street, now),
            "weights": weights,
            "rows": ranked,
        }
        cache.set(key, entry, timeout=CACHE_SECONDS)
    return Scorecard(
        street=street,
        subject=subject,
        start=start,
        end=end,
        weights=entry["weights"],
        rows=entry["rows"][subject],
        computed_at=entry["computed_at"],
    )


def scorecards_warm(street: Street, *, now: datetime | None = None) -> None:
    """Compute this month's and this year's scorecards ahead of the readers (the pages' default periods)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    for period in (rates.THIS_MONTH, rates.THIS_YEAR):
        start, end = rates.period_dates(period, today)
        scorecard_cached(street, CADRE, start, end, now=now, warm=True)


# --- who sees what ----------------------------------------------------------------------------------------------


def may_see_scorecards(user: User) -> bool:
    return bool(user.is_active) and (
        (user.role == Role.STREET_ADMIN and user.street_id is not None)
        or (user.role in scoping.AREA_ROLES and user.area_id is not None)
    )


def viewer_street(user: User) -> Street:
    """The street whose scorecards the user reads (scoped like every other read)."""
    area = scoping.visible(user, ResidentialArea.objects.select_related("street")).order_by("code").first()
    if area is None:
        assert user.street_id is not None  # may_see_scorecards: an area user always has an area
        return Street.objects.get(pk=user.street_id)
    return area.street


def visible_rows(user: User, subject: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Street administrator: every row. Area head: the area ranking, and their own area's cadres. Cadre: the area
    ranking, and their own row."""
    if user.role == Role.STREET_ADMIN or subject == AREA:
        return rows
    if user.role == Role.AREA_HEAD:
        return [row for row in rows if row.get("area_id") == user.area_id]
    return [row for row in rows if row.get("user_id") == user.pk]


def is_own(user: User, subject: str, row: dict[str, Any]) -> bool:
    if subject == CADRE:
        return row.get("user_id") == user.pk
    return user.role != Role.STREET_ADMIN and row.get("area_id") == user.area_id


# --- issuing ----------------------------------------------------------------------------------------------------


@transaction.atomic
def scorecard_issue_create(*, user: User, subject: str, start: date, end: date) -> ScorecardIssue:
    """Freeze the street's scorecard of `subject` for the period, weights and rows as they are now."""
    scoping.require_street_admin(user)
    if subject not in (CADRE, AREA):
        raise ApplicationError(gettext("请选择有效的考核对象。"))
    if start > end:
        raise ApplicationError(gettext("开始日期不能晚于结束日期。"))
    assert user.street_id is not None  # require_street_admin: a street administrator has a street
    street = Street.objects.get(pk=user.street_id)
    card = scorecard(street, subject, start, end)
    return ScorecardIssue.objects.create(
        street=street,
        subject=subject,
        start=start,
        end=end,
        weights=card.weights,
        rows=[row.as_json() for row in card.rows],
        issued_by=user,
    )
