"""Planning walks in the database: load a street (or one cadre), schedule, write Plan/Route/Stop; the JSON form.

Absence: a cadre gets no routes when they have no current pairing (their pairings were ended: they left, or their
buildings went to others) or when their account is inactive (`is_active = False`, e.g. a long leave). An inactive
cadre's buildings keep their pairing, so `ningju plan check` lists the households nobody visits until the area head
re-pairs them.
"""

import bisect
import itertools
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from ningju.core.errors import ApplicationError
from ningju.core.models import User
from ningju.core.workdays import is_workday, workdays_between
from ningju.registry.models import ResidentialArea, Street
from ningju.visits.models import Interval, Pairing, Plan, Route, Stop, Visit
from ningju.visits.planner.schedule import (
    HOUSEHOLD,
    INTERVALS,
    PATROL,
    CadreTask,
    Item,
    Key,
    PlannedDay,
    run_tasks,
    schedule_cadre,
)
from ningju.visits.rules import (
    RuleBook,
    ensure_rules,
    household_tag_ids,
    last_household_visits,
    last_site_visits,
    period,
    settings_for,
)

ProgressCallback = Callable[[int, int, str], None]
MAX_DAYS = 731
CHUNK = 5000  # ids per IN (...) list: well inside every database's parameter limit
PARALLEL_FROM = 2000  # cadre-days from which forking worker processes pays off


def plan_street(
    *,
    street: Street,
    start: date,
    days: int,
    user: User | None = None,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> Plan:
    """Plan every paired, active cadre of the street for the working days in [start, start + days) and write it:
    the street's routes on or after `start` are replaced, earlier ones (the past) are never touched."""
    if not 1 <= days <= MAX_DAYS:
        raise ApplicationError(_("天数应在 1 到 %(max)d 之间。") % {"max": MAX_DAYS})
    started = time.perf_counter()
    ensure_rules(street)
    working_days = workdays_between(start, start + timedelta(days=days - 1))
    tasks = build_tasks(street=street, days=working_days, first_day=start)
    loaded = time.perf_counter()
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if sum(len(t.days) for t in tasks) >= PARALLEL_FROM else 1

    def report(done: int, total: int) -> None:
        if progress:
            progress(done, total + 1, _("已规划 %(done)d/%(total)d 名干部") % {"done": done, "total": total})

    results = run_tasks(tasks, workers=workers, progress=report)
    planned = [day for result in results for day in result]
    scheduled = time.perf_counter()
    with transaction.atomic():
        plan = Plan.objects.create(street=street, start=start, days=days, created_by=user)
        _replace_routes(Route.objects.filter(area__street=street, day__gte=start), plan, planned)
        written = time.perf_counter()
        plan.stats = _stats(planned, tasks) | {
            "workers": workers,
            "seconds": {
                "load": round(loaded - started, 2),
                "schedule": round(scheduled - loaded, 2),
                "write": round(written - scheduled, 2),
                "total": round(written - started, 2),
            },
        }
        plan.save(update_fields=["stats"])
    if progress:
        progress(1, 1, _("已完成：%(routes)d 条路线") % {"routes": len(planned)})
    return plan


def plan_cadre_day(*, cadre: User, day: date, user: User | None = None) -> Route | None:
    """Re-plan one cadre's day now: visits already logged count (none is planned twice), a missed visit — planned
    earlier, never logged — is due again, new tags and households are seen, and visits the cadre's other coming
    routes already hold are not moved. Returns None (and removes the day's route) on a day off or for an absent
    cadre."""
    with transaction.atomic():
        old = Route.objects.filter(cadre=cadre, day=day).select_related("plan").first()
        kept: frozenset[Key] = frozenset()
        if old is not None:
            kept = frozenset(
                (kind, household_id or site_id)
                for kind, household_id, site_id in old.stops.values_list("kind", "household_id", "patrol_site_id")
            )
        pairing = Pairing.objects.current().filter(cadre=cadre).select_related("area__street").first()
        if not is_workday(day) or not cadre.is_active or pairing is None:
            if old is not None:
                old.delete()
            return None
        street = pairing.area.street
        ensure_rules(street)
        tasks = build_tasks(street=street, days=[day], first_day=day, cadre=cadre)
        if not tasks:  # paired only with places that no rule asks to visit
            if old is not None:
                old.delete()
            return None
        (task,) = tasks
        task.single_day = True
        task.keep = kept
        task.planned_elsewhere = _planned_later(cadre, day)
        planned = schedule_cadre(task)
        plan = (
            old.plan if old is not None else Plan.objects.create(street=street, start=day, days=1, created_by=user)
        )
        routes = _replace_routes(Route.objects.filter(cadre=cadre, day=day), plan, planned)
        return routes[0] if routes else None


def build_tasks(
    *, street: Street, days: list[date], first_day: date, cadre: User | None = None
) -> list[CadreTask]:
    """One task per active cadre with current pairings in the street (or just `cadre`), read in a few queries."""
    areas = {area.pk: area for area in ResidentialArea.objects.filter(street=street)}
    pairings = Pairing.objects.current().filter(area__street=street, cadre__is_active=True)
    if cadre is not None:
        pairings = pairings.filter(cadre=cadre)
    rows = list(
        pairings.values_list(
            "cadre_id",
            "area_id",
            "building_id",
            "building__lat",
            "building__lng",
            "patrol_site_id",
            "patrol_site__lat",
            "patrol_site__lng",
            "patrol_site__site_type_id",
            "patrol_site__active",
        )
    )
    missing = sorted(
        {
            areas[row[1]].name
            for row in rows
            if areas[row[1]].office_lat is None or areas[row[1]].office_lng is None
        }
    )
    if missing:
        raise ApplicationError(
            _("这些居民区还没有居委会坐标，无法规划走访路线（路线从居委会出发）：%(areas)s")
            % {"areas": "、".join(missing)}
        )
    book = RuleBook(street)
    settings = settings_for(street)
    building_ids = [row[2] for row in rows if row[2] is not None]
    households = [pair for chunk in _chunks(building_ids) for pair in _households_of(chunk)]
    household_ids = [household_id for household_id, _building in households]
    tags: dict[int, set[int]] = {}
    lasts: dict[int, date] = {}
    before = first_day + timedelta(days=1)  # visits logged on the first day itself count too
    for chunk in _chunks(household_ids):
        tags.update(household_tag_ids(chunk))
        lasts.update(last_household_visits(chunk, before=before))
    site_ids = [row[5] for row in rows if row[5] is not None]
    site_lasts: dict[int, date] = {}
    for chunk in _chunks(site_ids):
        site_lasts.update(last_site_visits(chunk, before=before))
    logged_today = _logged_on(first_day, household_ids, site_ids)
    remaining = _remaining_workdays(days)

    by_building: dict[int, list[int]] = defaultdict(list)
    for household_id, building_id in households:
        by_building[building_id].append(household_id)
    per_cadre: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        per_cadre[row[0]].append(row)

    tasks: list[CadreTask] = []
    for cadre_id, own in sorted(per_cadre.items()):
        area_id = Counter(row[1] for row in own).most_common(1)[0][0]
        area = areas[area_id]
        nodes: list[tuple[float, float]] = []
        items: list[Item] = []
        sites: list[Item] = []
        for _cadre, _area, building_id, b_lat, b_lng, site_id, s_lat, s_lng, site_type_id, site_active in own:
            if building_id is not None and by_building.get(building_id):
                nodes.append((b_lat, b_lng))
                for household_id in sorted(by_building[building_id]):
                    requirement = book.household(tags.get(household_id, ()))
                    items.append(
                        Item(HOUSEHOLD, household_id, len(nodes) - 1, requirement, lasts.get(household_id))
                    )
            elif site_id is not None and site_active:
                requirement = book.patrol_site(site_type_id)
                if requirement is not None:  # a site whose type has no rule is not a duty
                    nodes.append((s_lat, s_lng))
                    sites.append(Item(PATROL, site_id, len(nodes) - 1, requirement, site_lasts.get(site_id)))
        if not nodes:
            continue
        tasks.append(
            CadreTask(
                cadre_id=cadre_id,
                area_id=area_id,
                office=(float(area.office_lat or 0), float(area.office_lng or 0)),
                nodes=nodes,
                households=items,
                sites=sites,
                days=days,
                remaining=remaining,
                min_households=settings.min_households_per_day,
                max_households=settings.max_households_per_day,
                logged_on_first_day=frozenset(logged_today),
            )
        )
    return tasks


def plan_json(plan: Plan | Iterable[Route]) -> dict[str, Any]:
    """The command-line format: {"street", "start", "days", "routes": [{"date", "cadre", "area", "office",
    "walk_m", "stops": [{"kind", "id", "lat", "lng"}]}]}, routes by date and cadre, stops in walking order."""
    if isinstance(plan, Plan):
        routes = Route.objects.filter(plan=plan)
        street_code, start, days = plan.street.code, plan.start, plan.days
    else:
        given = list(plan)
        routes = Route.objects.filter(pk__in=[route.pk for route in given])
        street_code = given[0].area.street.code if given else ""
        start = min((route.day for route in given), default=date.today())
        days = (max(route.day for route in given) - start).days + 1 if given else 0
    rows = list(
        routes.order_by("day", "cadre__username").values_list(
            "id", "day", "cadre__username", "area__code", "area__office_lat", "area__office_lng", "walk_m"
        )
    )
    stops: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks([row[0] for row in rows]):
        for route_id, kind, household_id, site_id, lat, lng in (
            Stop.objects.filter(route_id__in=chunk)
            .order_by("route_id", "seq")
            .values_list("route_id", "kind", "household_id", "patrol_site_id", "lat", "lng")
        ):
            stops[route_id].append({"kind": kind, "id": household_id or site_id, "lat": lat, "lng": lng})
    return {
        "street": street_code,
        "start": start.isoformat(),
        "days": days,
        "routes": [
            {
                "date": day.isoformat(),
                "cadre": username,
                "area": area_code,
                "office": {"lat": office_lat, "lng": office_lng},
                "walk_m": walk_m,
                "stops": stops[route_id],
            }
            for route_id, day, username, area_code, office_lat, office_lng, walk_m in rows
        ],
    }


# -- helpers ---------------------------------------------------------------------------------------------------


def _replace_routes(old: QuerySet[Route], plan: Plan, planned: list[PlannedDay]) -> list[Route]:
    Stop.objects.filter(route__in=old).delete()
    old.delete()
    routes = Route.objects.bulk_create(
        [
            Route(plan=plan, day=p.day, cadre_id=p.cadre_id, area_id=p.area_id, walk_m=round(p.walk_m))
            for p in planned
        ],
        batch_size=2000,
    )
    _insert_stops(routes, planned)
    return routes


def _insert_stops(routes: list[Route], planned: list[PlannedDay]) -> None:
    """Insert the stops with one prepared statement: a year of a street is ~180,000 rows, and building a model
    instance for each (bulk_create) costs more than the rest of the write together. The rows satisfy the model's
    constraints by construction (kind matches the one target set, seq unique within the route)."""
    table = connection.ops.quote_name(Stop._meta.db_table)
    sql = (
        f"INSERT INTO {table} (route_id, seq, kind, household_id, patrol_site_id, lat, lng, reason) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    rows = (
        (
            route.pk,
            seq,
            stop.kind,
            stop.id if stop.kind == HOUSEHOLD else None,
            stop.id if stop.kind == PATROL else None,
            stop.lat,
            stop.lng,
            stop.reason[:200],
        )
        for route, day in zip(routes, planned, strict=True)
        for seq, stop in enumerate(day.stops, start=1)
    )
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(rows, 20_000)):
            cursor.executemany(sql, batch)


def _households_of(building_ids: list[int]) -> list[tuple[int, int]]:
    from ningju.registry.models import Household

    return list(Household.objects.filter(building_id__in=building_ids).values_list("id", "building_id"))


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for index in range(0, len(ids), CHUNK):
        yield ids[index : index + CHUNK]


def _logged_on(day: date, household_ids: list[int], site_ids: list[int]) -> set[Key]:
    """Households and sites with a visit logged on `day`: not planned again that day."""
    logged = Visit.objects.annotate(on=TruncDate("visited_at")).filter(on=day)
    keys: set[Key] = set()
    wanted_households, wanted_sites = set(household_ids), set(site_ids)
    for household_id, site_id in logged.values_list("household_id", "patrol_site_id"):
        if household_id in wanted_households:
            keys.add((HOUSEHOLD, household_id))
        elif site_id in wanted_sites:
            keys.add((PATROL, site_id))
    return keys


def _planned_later(cadre: User, day: date) -> dict[Key, list[date]]:
    """What the cadre's coming routes (after `day`, within the year) already hold."""
    later: dict[Key, list[date]] = defaultdict(list)
    stops = Stop.objects.filter(
        route__cadre=cadre, route__day__gt=day, route__day__lte=period(day, Interval.YEAR)[1]
    )
    for kind, household_id, site_id, when in stops.values_list(
        "kind", "household_id", "patrol_site_id", "route__day"
    ):
        later[(kind, household_id or site_id)].append(when)
    return later


def _remaining_workdays(days: list[date]) -> dict[date, dict[str, int]]:
    """For each day, how many working days are left in its week, month and year (the day included)."""
    if not days:
        return {}
    last_end = max(period(days[-1], interval)[1] for interval in INTERVALS)
    calendar = workdays_between(min(period(days[0], interval)[0] for interval in INTERVALS), last_end)
    remaining: dict[date, dict[str, int]] = {}
    for day in days:
        here = bisect.bisect_left(calendar, day)
        remaining[day] = {
            interval: bisect.bisect_right(calendar, period(day, interval)[1]) - here for interval in INTERVALS
        }
    return remaining


def _stats(planned: list[PlannedDay], tasks: list[CadreTask]) -> dict[str, Any]:
    household_stops = sum(1 for day in planned for stop in day.stops if stop.kind == HOUSEHOLD)
    walk = sum(day.walk_m for day in planned)
    return {
        "cadres": len(tasks),
        "routes": len(planned),
        "household_visits": household_stops,
        "patrol_visits": sum(len(day.stops) for day in planned) - household_stops,
        "walk_m": round(walk),
        "walk_m_per_visit": round(walk / household_stops, 1) if household_stops else 0,
        "solver_tours": sum(1 for day in planned if day.solved),
    }
