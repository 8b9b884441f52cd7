"""Rebuilding the daily rollups (DailyRollup, TopicRollup) that dashboards and reports read instead of raw rows.

`rollups_refresh` recomputes a street's rows for a range of local (Asia/Shanghai) days in one transaction: it deletes
the range's rows and bulk-inserts what a fixed handful of grouped queries return, so a year of a whole street (60,000+
visits, thousands of demands) costs the same few queries as one day. What each counter means:

* Visits count by the local day of `visited_at`, under the visit's area and cadre: household visits (入户走访人次),
  distinct households that day, visits to must-visit households (a tag under a monthly or weekly rule, as the tags
  stand when the rollup is made), patrols (巡查), and household visits that recorded whom they met (`met`).
* Demands count under the demand's area and owner (首问负责人, whatever their role), merged duplicates (已合并) left
  out as the rates module leaves them out: received by the day of `created_at` (split into 意见建议 and 问题;
  主动发现 = source visit or patrol); first contact on time and due by the day of receipt, with the rates module's
  deadline rule (`contact_due` counts those whose deadline had passed or that were contacted when the rollup was
  made, so the nightly refresh looks back far enough to let the longest holiday pass); resolved by the day of the
  demand's first step into 办结, 部门办结 or 结案 (a demand counts once, however often it was reopened); whistles
  and callbacks by the day of the event, satisfied when the callback was 满意 or 基本满意.
* `overdue_open` is a snapshot, not history: the demand rows keep only their current deadline, so "overdue at the end
  of a past day" cannot be rebuilt. The row of the day the refresh runs gets the open demands whose deadline has
  passed now; rows of earlier days keep the snapshot last written on that day (the refresh carries it over).
* A row with `cadre` empty would hold counts that belong to no person; every visit and demand has one, so none are
  written today, but readers sum over `cadre` and stay correct if some appear.

The dashboards cache their figures under a generation that every refresh bumps (`generation`).
"""

import time as clock
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from ningju.core import workdays
from ningju.core.errors import ApplicationError
from ningju.core.models import Job
from ningju.demands import rates, services
from ningju.demands.models import Demand, DemandEvent, Kind, Source
from ningju.demands.selectors import OPEN_STATES
from ningju.demands.workflow import Action, DeadlineStage, State
from ningju.insights.models import DailyRollup, TopicRollup
from ningju.registry.models import Household, Resident, Street
from ningju.visits import rules
from ningju.visits.models import Interval, Visit

# The longest range one refresh takes: a few years of a street stays a few seconds.
MAX_DAYS = 5 * 366
CACHE_KEY = "ningju:rollups:{street}"
FOUND_SOURCES = (Source.VISIT, Source.PATROL)
COUNTERS = (
    "household_visits",
    "households_visited",
    "must_visit_visits",
    "patrols",
    "residents_met",
    "demands_received",
    "opinions_received",
    "problems_received",
    "problems_found",
    "demands_resolved",
    "whistles",
    "contacted_on_time",
    "contact_due",
    "callbacks",
    "callbacks_satisfied",
    "overdue_open",
)


@dataclass(frozen=True)
class RollupResult:
    street_id: int
    start: date
    end: date
    daily_rows: int
    topic_rows: int
    seconds: float

    @property
    def message(self) -> str:
        return _("已汇总 %(start)s 至 %(end)s：每日汇总 %(daily)s 行，主题汇总 %(topic)s 行。") % {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "daily": self.daily_rows,
            "topic": self.topic_rows,
        }


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(field: str) -> TruncDate:
    """The local (Shanghai) date of a datetime column, on SQLite and PostgreSQL alike."""
    return TruncDate(field, tzinfo=zone())


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Shanghai: a half-open range the datetime indexes can use."""
    return (
        datetime.combine(start, time.min, tzinfo=zone()),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone()),
    )


def generation(street_id: int) -> tuple[str, datetime | None]:
    """What dashboard caches of a street are keyed on, and when its rollups were last refreshed (None: unknown).

    The token joins the generation the last refresh stored in the cache with the newest rollup id: with a cache
    shared by every process (Redis) the first suffices; with a per-process cache (the default local memory) the
    refresh may have run in the task worker, and the id, which only grows, still moves on every refresh that wrote
    rows."""
    stamp = cache.get(CACHE_KEY.format(street=street_id)) or {}
    newest = DailyRollup.objects.aggregate(newest=Max("pk"))["newest"] or 0
    refreshed = stamp.get("at")
    return f"{stamp.get('generation', 0)}.{newest}", datetime.fromisoformat(refreshed) if refreshed else None


def _bump(street_id: int) -> None:
    cache.set(
        CACHE_KEY.format(street=street_id),
        {"generation": clock.time_ns(), "at": timezone.now().isoformat()},
        timeout=None,
    )


def _must_visit_households(street: Street) -> Any:
    """The households under a monthly or weekly rule (a must-visit tag of their own or of a resident living there),
    as a subquery."""
    book = rules.RuleBook(street)
    tags = [tag for tag, rule in book.by_tag.items() if rule.interval in (Interval.MONTH, Interval.WEEK)]
    own = Household.objects.filter(tags__in=tags).values("pk")
    residents = Resident.objects.filter(active=True, tags__in=tags).values("household_id")
    return Q(household_id__in=own) | Q(household_id__in=residents)


class _Rows:
    """The counters of every (day, area, cadre) while the queries are read."""

    def __init__(self) -> None:
        self.rows: dict[tuple[date, int, int | None], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(COUNTERS, 0)
        )

    def add(self, day: date, area_id: int, cadre_id: int | None, **counts: int) -> None:
        row = self.rows[(day, area_id, cadre_id)]
        for name, value in counts.items():
            row[name] += value


def _visit_counts(out: _Rows, street: Street, lo: datetime, hi: datetime) -> None:
    household = Q(household__isnull=False)
    grouped = (
        Visit.objects.filter(area__street=street.pk, visited_at__gte=lo, visited_at__lt=hi)
        .annotate(day=local_day("visited_at"))
        .order_by()
        .values("day", "area_id", "cadre_id")
        .annotate(
            household_visits=Count("pk", filter=household),
            households_visited=Count("household_id", distinct=True),
            must_visit_visits=Count("pk", filter=household & _must_visit_households(street)),
            patrols=Count("pk", filter=Q(patrol_site__isnull=False)),
            residents_met=Count("pk", filter=household & ~Q(met="")),
        )
    )
    for day, area_id, cadre_id, *counts in grouped.values_list("day", "area_id", "cadre_id", *COUNTERS[:5]):
        out.add(day, area_id, cadre_id, **dict(zip(COUNTERS[:5], counts, strict=True)))


def _demand_counts(
    out: _Rows,
    topics: dict[tuple[date, int, int | None], int],
    street: Street,
    lo: datetime,
    hi: datetime,
    now: datetime,
) -> None:
    """Received, found, first contact (by day of receipt) and the topics, from one query over the range's demands."""
    deadlines = rates._Deadlines(services.stage_limits(street.pk)[DeadlineStage.FIRST_CONTACT])
    facts = (
        Demand.objects.filter(area__street=street.pk, created_at__gte=lo, created_at__lt=hi)
        .exclude(state=State.MERGED)
        .order_by()
        .annotate(first_contact=Min("events__at", filter=Q(events__action=Action.CONTACT)))
        .values_list("area_id", "owner_id", "category_id", "kind", "source", "created_at", "first_contact")
    )
    for area_id, owner_id, category_id, kind, source, created_at, first_contact in facts:
        day = timezone.localtime(created_at, zone()).date()
        deadline = deadlines.after(created_at)
        out.add(
            day,
            area_id,
            owner_id,
            demands_received=1,
            opinions_received=kind == Kind.OPINION,
            problems_received=kind == Kind.PROBLEM,
            problems_found=source in FOUND_SOURCES,
            contact_due=first_contact is not None or now > deadline,
            contacted_on_time=first_contact is not None and first_contact <= deadline,
        )
        topics[(day, area_id, category_id)] += 1


def _event_counts(out: _Rows, street: Street, lo: datetime, hi: datetime) -> None:
    """Whistles and callbacks by their own day; resolved by the day of each demand's first resolving step."""
    in_street = Q(demand__area__street=street.pk) & ~Q(demand__state=State.MERGED)
    events = (
        DemandEvent.objects.filter(in_street, at__gte=lo, at__lt=hi, action__in=[Action.WHISTLE, Action.CALLBACK])
        .order_by()
        .values_list("at", "action", "params", "demand__area_id", "demand__owner_id")
    )
    for at, action, params, area_id, owner_id in events:
        day = timezone.localtime(at, zone()).date()
        if action == Action.WHISTLE:
            out.add(day, area_id, owner_id, whistles=1)
        else:
            result = params.get("callback_result") if isinstance(params, dict) else None
            out.add(day, area_id, owner_id, callbacks=1, callbacks_satisfied=result in rates.SATISFIED)
    resolving = Q(to_state__in=rates.RESOLVED_STATES)
    touched = DemandEvent.objects.filter(in_street, resolving, at__gte=lo, at__lt=hi).values("demand_id")
    firsts = (
        DemandEvent.objects.filter(resolving, demand_id__in=touched)
        .order_by()
        .values("demand_id", "demand__area_id", "demand__owner_id")
        .annotate(first=Min("at"))
        .values_list("demand__area_id", "demand__owner_id", "first")
    )
    for area_id, owner_id, first in firsts:
        if lo <= first < hi:
            out.add(timezone.localtime(first, zone()).date(), area_id, owner_id, demands_resolved=1)


def _overdue_snapshot(out: _Rows, street: Street, start: date, end: date, now: datetime) -> None:
    """Carry the stored snapshots of past days over, and take today's (see the module docstring)."""
    today = timezone.localtime(now, zone()).date()
    kept = (
        DailyRollup.objects.filter(
            area__street=street.pk, day__gte=start, day__lte=min(end, today - timedelta(days=1))
        )
        .exclude(overdue_open=0)
        .values_list("day", "area_id", "cadre_id", "overdue_open")
    )
    for day, area_id, cadre_id, overdue in kept:
        out.add(day, area_id, cadre_id, overdue_open=overdue)
    if not start <= today <= end:
        return
    late = (
        Demand.objects.filter(area__street=street.pk, state__in=OPEN_STATES, due_at__lt=now)
        .order_by()
        .values("area_id", "owner_id")
        .annotate(n=Count("pk"))
        .values_list("area_id", "owner_id", "n")
    )
    for area_id, owner_id, n in late:
        out.add(today, area_id, owner_id, overdue_open=n)


def rollups_refresh(*, street: Street | int, start: date, end: date, now: datetime | None = None) -> RollupResult:
    """Recompute the street's DailyRollup and TopicRollup rows for the local days [start, end] (both included).

    Rows outside the range are left as they are; running it twice gives the same rows."""
    began = clock.monotonic()
    if start > end:
        raise ApplicationError(_("开始日期不能晚于结束日期。"))
    if (end - start).days > MAX_DAYS:
        raise ApplicationError(_("一次汇总最长五年。"))
    street = street if isinstance(street, Street) else Street.objects.get(pk=street)
    now = now or timezone.now()
    lo, hi = bounds(start, end)
    out = _Rows()
    topics: dict[tuple[date, int, int | None], int] = defaultdict(int)
    with transaction.atomic():
        _overdue_snapshot(out, street, start, end, now)
        _visit_counts(out, street, lo, hi)
        _demand_counts(out, topics, street, lo, hi, now)
        _event_counts(out, street, lo, hi)
        workday = {day: workdays.is_workday(day) for day in {key[0] for key in out.rows}}
        daily = [
            DailyRollup(day=day, area_id=area_id, cadre_id=cadre_id, workday=workday[day], **counts)
            for (day, area_id, cadre_id), counts in out.rows.items()
            if any(counts.values())
        ]
        topic_rows = [
            TopicRollup(day=day, area_id=area_id, category_id=category_id, demands=n)
            for (day, area_id, category_id), n in topics.items()
        ]
        DailyRollup.objects.filter(area__street=street.pk, day__gte=start, day__lte=end).delete()
        TopicRollup.objects.filter(area__street=street.pk, day__gte=start, day__lte=end).delete()
        DailyRollup.objects.bulk_create(daily, batch_size=2000)
        TopicRollup.objects.bulk_create(topic_rows, batch_size=2000)
        # Bumped at once, not on commit: a page reading meanwhile still sees the old newest id (`generation`), so
        # what it caches is keyed apart from what comes after the commit.
        _bump(street.pk)
    return RollupResult(
        street_id=street.pk,
        start=start,
        end=end,
        daily_rows=len(daily),
        topic_rows=len(topic_rows),
        seconds=round(clock.monotonic() - began, 3),
    )


def refresh_recent(*, street: Street | int, days: int = 14, now: datetime | None = None) -> RollupResult:
    """The nightly refresh: today and the days before it, far enough back that late edits (a contact logged
    afterwards, a first-contact deadline that ran out over a week-long holiday) land in the rollups."""
    today = timezone.localtime(now or timezone.now(), zone()).date()
    return rollups_refresh(street=street, start=today - timedelta(days=days), end=today, now=now)


def refresh_today(*, street: Street | int, now: datetime | None = None) -> RollupResult:
    """Today only: one day of one street, cheap enough to run every few minutes."""
    today = timezone.localtime(now or timezone.now(), zone()).date()
    return rollups_refresh(street=street, start=today, end=today, now=now)


def rollups_job(job: Job, progress: Any) -> dict[str, Any]:
    """Job handler (JobKind.ROLLUPS): params street (id), start and end (ISO dates)."""
    params = job.params or {}
    try:
        start, end = date.fromisoformat(params["start"]), date.fromisoformat(params["end"])
        street = Street.objects.get(pk=params["street"])
    except (KeyError, ValueError, TypeError, Street.DoesNotExist) as error:
        raise ApplicationError(_("汇总参数无效。")) from error
    progress(0, 1, _("正在汇总…"))
    result = rollups_refresh(street=street, start=start, end=end)
    progress(1, 1, result.message)
    return {"message": result.message, "daily_rows": result.daily_rows, "topic_rows": result.topic_rows}
