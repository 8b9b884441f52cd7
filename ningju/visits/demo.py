"""The demo street's visit history for `ningju demo`: default rules, the automatic pairing of every area, and a
past year of visits and patrols at the article's scale (6万余人次 for 2万余户), deterministic for the seed.

What the year looks like: every household is visited at least once; must-visit households in most calendar months
(a few households are visited much less reliably, so the overdue list has names on it), high-risk ones in most
weeks; must-patrol places in most weeks. A cadre goes out on some working days and then sees about five
households and places. Mostly 入户面对面, some 电话 and 线上点对点; a free-form way of visiting, a mood, sometimes a
need, and now and then a finding.
"""

import math
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core.workdays import workdays_between
from ningju.registry.models import Building, Household, PatrolSite, Street
from ningju.visits.models import Finding, Interval, Mood, Pairing, Plan, Visit, VisitMode
from ningju.visits.pairing import BUILDING, SITE, pairing_apply, propose_pairings
from ningju.visits.rules import RuleBook, ensure_rules, household_tag_ids, period, settings_for, site_requirements

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSERT_BATCH = 5000
STOPS_PER_OUTING = 5  # households and places a cadre sees on a day out
# Share of its weeks or months in which a must-visit household or a patrol site is visited, and for the few that
# are often missed. With the demo's 5,000 monthly households this lands the year at the article's 6万余人次.
RELIABLE = 0.78
NEGLECTED = 0.35
NEGLECTED_SHARE = 0.12
SECOND_YEARLY_VISIT = 0.08  # an ordinary household visited twice (a question, a repair, a festival)
FAR_GPS_SHARE = 0.02  # positions off by more than the flag distance (a phone fix in a lane)
FINDING_SHARE = {"household": 0.03, "patrol": 0.06}

MODES = ((VisitMode.FACE_TO_FACE.value, 84), (VisitMode.PHONE.value, 11), (VisitMode.ONLINE.value, 5))
WAYS = (
    "跟着宠物访",
    "围着儿童乐园访",
    "楼道里碰面访",
    "买菜路上访",
    "跟着快递访",
    "节日慰问访",
    "结对帮扶访",
    "敲门入户访",
)
MET = (("本人", 50), ("户主", 20), ("老伴", 10), ("子女", 10), ("保姆", 5), ("租客", 5))
MOODS = ((Mood.GOOD.value, 72), (Mood.NEUTRAL.value, 23), (Mood.WORRIED.value, 5))
NOTES = (
    "身体状况良好，生活能自理。",
    "家中一切正常。",
    "子女每周来探望，情况稳定。",
    "询问高龄津贴办理流程，已当场解答。",
    "近期血压偏高，提醒按时服药。",
    "核对了家庭成员和联系电话。",
    "独自在家，精神状态不错。",
    "对小区环境整治表示满意。",
    "提到楼下晚上有些吵。",
    "刚出院回家，约定下周再来看看。",
)
NEEDS = ("助餐", "助浴", "家庭医生签约", "适老化改造", "法律咨询", "就业援助", "心理疏导", "代配药")
HOUSEHOLD_FINDINGS = (
    "楼道灯损坏，晚上出行不便",
    "下水管道堵塞，反复返水",
    "有居民把电动自行车推进楼道充电",
    "外墙空鼓，有坠落风险",
    "楼上楼下噪声纠纷",
    "希望附近增加助餐点",
    "屋顶漏水，雨天严重",
)
PATROL_NOTES = ("巡查正常。", "已提醒保洁及时清运。", "通道畅通，消防设施完好。", "已与物业沟通整改。")
PATROL_FINDINGS = (
    "车棚充电桩故障，无法充电",
    "垃圾厢房周边垃圾满溢",
    "商铺占道经营",
    "楼道堆放杂物，堵塞消防通道",
    "消防通道被机动车占用",
)

Progress = Callable[[str], None]


@dataclass(slots=True)
class VisitDemoResult:
    pairings: int = 0
    household_visits: int = 0
    patrols: int = 0
    findings: int = 0
    households_visited: int = 0
    households: int = 0
    seconds: float = 0.0
    start: date | None = None
    end: date | None = None
    plan_note: str = ""
    modes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Target:
    """One household or patrol site, where it is and who is paired with it."""

    kind: str  # "household" or "patrol"
    pk: int
    lat: float
    lng: float
    cadre_id: int
    interval: str


def year_before(today: date) -> date:
    """The first day of the twelve months that end yesterday."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def demo_visits(
    *, street: Street, seed: int, today: date | None = None, progress: Progress | None = None
) -> VisitDemoResult:
    """Rules, pairings and a year of visits up to yesterday for the demo street, in one transaction."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    say = progress or (lambda message: None)
    result = VisitDemoResult(start=year_before(today), end=today - timedelta(days=1))
    assert result.start is not None and result.end is not None
    days = workdays_between(result.start, result.end)
    with transaction.atomic():
        ensure_rules(street)
        book = RuleBook(street)
        flag_metres = settings_for(street).gps_flag_metres
        for area in street.areas.order_by("code"):
            proposal = propose_pairings(area, book=book)
            assignment = proposal.assignment()
            result.pairings += pairing_apply(user=None, area=area, assignment=assignment, today=result.start)
            targets = _targets(area.pk, book, assignment)
            rng = random.Random(f"{seed}:visits:{area.code}")
            before = (result.household_visits, result.patrols)
            visits, findings = _area_year(area.pk, targets, days, rng, flag_metres, result)
            _insert(
                Visit,
                VISIT_COLUMNS,
                ((*(getattr(v, name) for name in _Row.__slots__), v.visited_at) for v in visits),
            )
            _insert(Finding, FINDING_COLUMNS, findings)
            say(
                _("%(area)s：入户走访%(visits)d人次，巡查%(patrols)d次")
                % {
                    "area": area.name,
                    "visits": result.household_visits - before[0],
                    "patrols": result.patrols - before[1],
                }
            )
    result.seconds = time.perf_counter() - started
    return result


def _targets(area_id: int, book: RuleBook, assignment: dict[tuple[str, int], int]) -> list[_Target]:
    buildings = {
        pk: (lat, lng)
        for pk, lat, lng in Building.objects.filter(compound__area_id=area_id).values_list("pk", "lat", "lng")
    }
    households = list(
        Household.objects.filter(building__compound__area_id=area_id)
        .order_by("pk")
        .values_list("pk", "building_id")
    )
    tags = household_tag_ids(pk for pk, _building in households)
    targets = []
    for pk, building_id in households:
        requirement = book.household(tags.get(pk, ()))
        interval = requirement.interval if requirement else Interval.YEAR
        lat, lng = buildings[building_id]
        targets.append(_Target("household", pk, lat, lng, assignment[(BUILDING, building_id)], interval))
    sites = list(PatrolSite.objects.filter(area_id=area_id, active=True).order_by("pk"))
    requirements = site_requirements(book, sites)
    for site in sites:
        requirement = requirements.get(site.pk)
        if requirement is not None:
            targets.append(
                _Target("patrol", site.pk, site.lat, site.lng, assignment[(SITE, site.pk)], requirement.interval)
            )
    return targets


def _windows(days: list[date], interval: str) -> list[list[date]]:
    """The working days of each whole calendar week or month in the range (the periods a rule counts in); a period
    cut off by the start of the range had its visit before it."""
    groups: dict[tuple[int, int], list[date]] = defaultdict(list)
    for day in days:
        if period(day, interval)[0] < days[0]:
            continue
        key = day.isocalendar()[:2] if interval == Interval.WEEK else (day.year, day.month)
        groups[key].append(day)
    return [groups[key] for key in sorted(groups)]


@dataclass(slots=True)
class _Row:
    """One visit as it is written (Visit's columns); plain values, not a model: 90,000 model instances and the
    ORM's per-value preparation took most of the demo's time."""

    id: uuid.UUID
    area_id: int
    cadre_id: int
    household_id: int | None
    patrol_site_id: int | None
    visited_at: datetime
    mode: str
    way: str = ""
    met: str = ""
    notes: str = ""
    mood: str = ""
    needs: str = ""
    lat: float | None = None
    lng: float | None = None
    distance_m: int | None = None
    far_from_target: bool = False


VISIT_COLUMNS = (*_Row.__slots__, "created_at")  # uploaded when visited
FINDING_COLUMNS = ("visit_id", "text", "created_at")


def _area_year(
    area_id: int,
    targets: list[_Target],
    days: list[date],
    rng: random.Random,
    flag_metres: int,
    result: VisitDemoResult,
) -> tuple[list[_Row], list[tuple[uuid.UUID, str, datetime]]]:
    windows: dict[str, list[list[date]]] = {
        interval: _windows(days, interval) or [days] for interval in (Interval.WEEK, Interval.MONTH)
    }
    # What each cadre has to do, as (target, the working days it may happen on).
    wanted: dict[int, list[tuple[_Target, list[date]]]] = defaultdict(list)
    for target in targets:
        if target.interval == Interval.YEAR:
            chosen = [days]  # once in the twelve months, on any working day
            if target.kind == "household" and rng.random() < SECOND_YEARLY_VISIT:
                chosen.append(days)
        else:
            reliability = NEGLECTED if rng.random() < NEGLECTED_SHARE else RELIABLE
            chosen = [w for w in windows[target.interval] if rng.random() < reliability]
            if not chosen and target.kind == "household":
                chosen = [rng.choice(windows[target.interval])]  # every household is seen at least once a year
        wanted[target.cadre_id].extend((target, window) for window in chosen if window)

    visits: list[_Row] = []
    findings: list[tuple[uuid.UUID, str, datetime]] = []
    for cadre_id in sorted(wanted):
        jobs = wanted[cadre_id]
        # The days this cadre goes out: enough for about five stops each, spread over the year.
        outings = set(rng.sample(days, min(len(days), max(1, math.ceil(len(jobs) / STOPS_PER_OUTING)))))
        for target, window in jobs:
            options = [d for d in window if d in outings]
            day = rng.choice(options or window)
            outings.add(day)
            visit = _visit(area_id, cadre_id, target, day, rng, flag_metres)
            visits.append(visit)
            if target.kind == "household":
                result.household_visits += 1
            else:
                result.patrols += 1
            result.modes[visit.mode] += 1
            if rng.random() < FINDING_SHARE[target.kind]:
                texts = HOUSEHOLD_FINDINGS if target.kind == "household" else PATROL_FINDINGS
                findings.append((visit.id, rng.choice(texts), visit.visited_at))
    result.findings += len(findings)
    result.households += sum(1 for t in targets if t.kind == "household")
    result.households_visited += len({v.household_id for v in visits if v.household_id})
    return visits, findings


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    """A value drawn with its weight (one draw from `rng`, as `random.choices` would make)."""
    pick = rng.random() * sum(weight for _value, weight in options)
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


def _visit(area_id: int, cadre_id: int, target: _Target, day: date, rng: random.Random, flag_metres: int) -> _Row:
    minutes = rng.randint(8 * 60 + 40, 16 * 60 + 40)
    at = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, rng.randint(0, 59), tzinfo=SHANGHAI)
    visit_id = uuid.UUID(int=rng.getrandbits(128))
    if target.kind == "patrol":
        visit = _Row(visit_id, area_id, cadre_id, None, target.pk, at, VisitMode.PATROL.value)
        visit.notes = rng.choice(PATROL_NOTES)
        _position(visit, target, rng, flag_metres)
        return visit
    visit = _Row(visit_id, area_id, cadre_id, target.pk, None, at, _weighted(rng, MODES))
    visit.mood = _weighted(rng, MOODS)
    visit.met = _weighted(rng, MET)
    visit.notes = rng.choice(NOTES)
    if visit.mood == Mood.WORRIED or rng.random() < 0.06:
        visit.needs = rng.choice(NEEDS)
    if visit.mode == VisitMode.FACE_TO_FACE:
        if rng.random() < 0.35:
            visit.way = rng.choice(WAYS)
        if rng.random() < 0.7:  # not every phone lets the page read its position
            _position(visit, target, rng, flag_metres)
    return visit


def _position(visit: _Row, target: _Target, rng: random.Random, flag_metres: int) -> None:
    """A phone position near the building (a few far off), with its distance and the flag."""
    far = rng.random() < FAR_GPS_SHARE
    distance = rng.uniform(flag_metres + 50, flag_metres * 3) if far else abs(rng.gauss(0, 25))
    bearing = rng.uniform(0, math.tau)
    dlat = distance * math.cos(bearing) / 110_574
    dlng = distance * math.sin(bearing) / (111_320 * math.cos(math.radians(target.lat)))
    visit.lat = round(target.lat + dlat, 6)
    visit.lng = round(target.lng + dlng, 6)
    visit.distance_m = round(distance)
    visit.far_from_target = distance > flag_metres


def _insert(model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT plain values with one prepared statement (executemany), converted only where the backend needs it
    (UUIDs, aware datetimes). Rows are written in primary-key order, which keeps the key's index appending."""
    fields = [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in attnames]
    convert: list[Callable[[Any], Any] | None] = []
    for f in fields:
        target = cast("models.Field[Any, Any]", f.target_field) if f.is_relation else f  # type: ignore[attr-defined]
        if isinstance(target, models.UUIDField):
            convert.append(partial(target.get_db_prep_value, connection=connection))
        elif isinstance(target, models.DateTimeField):
            convert.append(connection.ops.adapt_datetimefield_value)
        else:
            convert.append(None)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column or f.name) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    prepared = sorted(
        (tuple(value if c is None else c(value) for value, c in zip(row, convert, strict=True)) for row in rows),
        key=lambda row: str(row[0]),
    )
    with connection.cursor() as cursor:
        for first in range(0, len(prepared), INSERT_BATCH):
            cursor.executemany(sql, prepared[first : first + INSERT_BATCH])
    return len(prepared)


def demo_plan(*, street: Street, today: date, days: int = 14) -> str:
    """Plan the coming two weeks with the route planner, where it is installed; returns a line for the operator."""
    try:
        from ningju.visits.planner import plan_street
    except ImportError:
        return _("未找到路线规划模块，未生成走访路线。")
    started = time.perf_counter()
    plan = plan_street(street=street, start=today, days=days)
    routes = plan.routes.count()
    return _("已规划%(start)s起%(days)d天的走访路线：%(routes)d条（用时%(seconds).1f秒）。") % {
        "start": today.isoformat(),
        "days": days,
        "routes": routes,
        "seconds": time.perf_counter() - started,
    }


def demo_visits_delete(street: Street) -> dict[str, int]:
    """Remove the street's visits, findings, routes and pairings (before `demo_delete` removes the street,
    whose users and households they protect). Plain SQL deletes: 60,000 visits one by one would take minutes."""
    deleted: dict[str, int] = {}
    with transaction.atomic():
        findings = Finding.objects.filter(visit__area__street=street)
        deleted["findings"] = findings._raw_delete(findings.db)
        plans = Plan.objects.filter(street=street)
        deleted["plans"] = plans.delete()[0]
        visits = Visit.objects.filter(area__street=street)
        deleted["visits"] = visits._raw_delete(visits.db)
        pairings = Pairing.objects.filter(area__street=street)
        deleted["pairings"] = pairings._raw_delete(pairings.db)
    return deleted
