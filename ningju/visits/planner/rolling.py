"""Rolling routes: the coming working days re-planned from the visit log — nightly for every street, and after each
logged visit for the cadres concerned — so that visited households drop out and missed ones come forward.

The horizon is `HORIZON_DAYS` from today, or up to the last day already planned when a street administrator planned
further ahead (a rolling re-plan never shortens a plan). Past routes are never rewritten. A cadre who has logged a
visit today is walking today's route: it is kept as it is (its done stops with it) and their re-plan starts with
the next working day; the same holds for the re-plan after a visit.
"""

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Q

from ningju.core.models import User
from ningju.core.workdays import workdays_between
from ningju.registry.models import Street
from ningju.visits.models import Pairing, Plan, Route, Visit
from ningju.visits.planner.schedule import CadreTask, run_tasks
from ningju.visits.planner.services import MAX_DAYS, _replace_routes, _stats, build_tasks
from ningju.visits.rules import ensure_rules
from ningju.visits.selectors import day_bounds

HORIZON_DAYS = 14  # the horizon `ningju demo` and the street administrator's plan use: two weeks

ProgressCallback = Callable[[int, int, str], None]


def replan_street(
    *, street: Street, today: date, user: User | None = None, progress: ProgressCallback | None = None
) -> Plan | None:
    """Re-plan every paired, active cadre of the street for the coming working days (the nightly run). Returns the
    Plan written, or None when the horizon holds no working day."""
    return _replan(street=street, today=today, cadre=None, user=user, progress=progress)


def replan_cadre(*, cadre: User, today: date) -> Plan | None:
    """Re-plan one cadre's coming working days after today (today's route, being walked, stays as it is).
    Returns the Plan the routes were written under, or None when the cadre has no pairing in any street."""
    pairing = Pairing.objects.filter(cadre=cadre).select_related("area__street").order_by("-started_on").first()
    if pairing is None:
        return None
    return _replan(street=pairing.area.street, today=today, cadre=cadre, user=None, progress=None)


def cadres_to_replan(visit: Visit) -> list[User]:
    """Whose coming routes a visit changes: the visitor's, and those of the cadre paired with what was visited
    (an area head's or a colleague's visit takes the household off its own cadre's coming routes)."""
    target = (
        Q(building_id=visit.household.building_id)
        if visit.household is not None
        else Q(patrol_site_id=visit.patrol_site_id)
    )
    paired = Pairing.objects.current().filter(target).values_list("cadre_id", flat=True)
    ids = {visit.cadre_id, *paired}
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def replan_after_visit(*, visit: Visit, today: date) -> int:
    """Re-plan the coming days of the cadres a logged visit concerns; returns how many were re-planned."""
    replanned = 0
    for cadre in cadres_to_replan(visit):
        if replan_cadre(cadre=cadre, today=today) is not None:
            replanned += 1
    return replanned


# -- the work --------------------------------------------------------------------------------------------------


def _replan(
    *,
    street: Street,
    today: date,
    cadre: User | None,
    user: User | None,
    progress: ProgressCallback | None,
) -> Plan | None:
    started = time.perf_counter()
    routes = Route.objects.filter(area__street=street)
    if cadre is not None:
        routes = routes.filter(cadre=cadre)
    last_planned = routes.filter(day__gte=today).aggregate(last=Max("day"))["last"]
    end = max(today + timedelta(days=HORIZON_DAYS - 1), last_planned or today)
    end = min(end, today + timedelta(days=MAX_DAYS - 1))
    days = workdays_between(today, end)
    walking = _walking_today(street, today, cadre)
    if cadre is not None:
        walking.add(cadre.pk)  # after a visit: today's route is the one in the cadre's hand
    if not days:
        return None

    ensure_rules(street)
    tasks = build_tasks(street=street, days=days, first_day=days[0], cadre=cadre)
    if days[0] == today:
        # Today's route is kept for a cadre already walking it: they are planned from the next working day.
        tasks = [_from_next_day(task) if task.cadre_id in walking else task for task in tasks]
    loaded = time.perf_counter()

    def report(done: int, total: int) -> None:
        if progress:
            progress(done, total + 1, "")

    results = run_tasks(tasks, workers=1, progress=report)
    planned = [day for result in results for day in result]
    scheduled = time.perf_counter()

    with transaction.atomic():
        # One re-plan of a street at a time (the nightly run, the after-visit ones): the second waits here and then
        # replaces what the first wrote, rather than both inserting a route for the same cadre and day.
        Street.objects.select_for_update().filter(pk=street.pk).first()
        replaced = routes.filter(day__gte=today, day__lte=end).exclude(day=today, cadre_id__in=walking)
        if cadre is not None:
            plan = Plan.objects.filter(routes__in=replaced).order_by("-created_at").first()
        else:
            plan = None
        if plan is None:
            plan = Plan.objects.create(street=street, start=today, days=(end - today).days + 1, created_by=user)
        _replace_routes(replaced, plan, planned)
        if cadre is None:
            written = time.perf_counter()
            plan.stats = _stats(planned, tasks) | {
                "rolling": True,
                "kept_today": len(walking),
                "workers": 1,
                "seconds": {
                    "load": round(loaded - started, 2),
                    "schedule": round(scheduled - loaded, 2),
                    "write": round(written - scheduled, 2),
                    "total": round(written - started, 2),
                },
            }
            plan.save(update_fields=["stats"])
    return plan


def _walking_today(street: Street, today: date, cadre: User | None) -> set[int]:
    """Cadres of the street who logged a visit today: their walk is under way."""
    start, end = day_bounds(today)
    visits = Visit.objects.filter(area__street=street, visited_at__gte=start, visited_at__lt=end)
    if cadre is not None:
        visits = visits.filter(cadre=cadre)
    return set(visits.values_list("cadre_id", flat=True).distinct())


def _from_next_day(task: CadreTask) -> CadreTask:
    """The task without its first day (today): visits logged today already count as the items' last visits."""
    return replace(task, days=task.days[1:], logged_on_first_day=frozenset())


def replan_summary(plan: Plan | None) -> dict[str, Any]:
    """The figures a job result and the command print."""
    if plan is None:
        return {"routes": 0, "cadres": 0, "household_visits": 0, "walk_m": 0, "seconds": {}}
    stats = plan.stats
    return {key: stats.get(key, 0) for key in ("routes", "cadres", "household_visits", "walk_m", "kept_today")} | {
        "plan": plan.pk,
        "seconds": stats.get("seconds", {}),
    }
