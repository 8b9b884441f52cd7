"""Rolling routes (issue 11): the coming days re-planned from the visit log (nightly, and after each visit for the
cadres concerned); a stop's reason and last visit read live; a stop visited off-route since planning shows done;
a building's stops share one map marker."""

import json
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ningju.core.models import Job, JobKind, JobStatus, User
from ningju.registry.models import Household
from ningju.visits import tasks
from ningju.visits.models import Plan, Route, Stop, Visit, VisitMode
from ningju.visits.planner import plan_street
from ningju.visits.planner.rolling import replan_cadre, replan_street
from ningju.visits.rules import ensure_rules, period
from tests import factories, test_planner
from tests.conftest import World
from tests.test_planner import Street

street = test_planner.street  # the planner's fixture: two areas, three cadres, monthly and weekly households

pytestmark = pytest.mark.django_db

PLANNED = date(2026, 10, 12)  # a Monday; the plan covers two weeks from here
TODAY = date(2026, 10, 14)  # the Wednesday the re-plan runs


def at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def log_visit(world: World, by: User, household: Household, when: datetime) -> Visit:
    return Visit.objects.create(
        area=household.building.compound.area, cadre=by, household=household, visited_at=when, mode=VisitMode.PHONE
    )


def coming(cadre: User | None = None, since: date = TODAY) -> list[tuple[date, int, int, int | None]]:
    stops = Stop.objects.filter(route__day__gte=since)
    if cadre is not None:
        stops = stops.filter(route__cadre=cadre)
    return sorted(stops.values_list("route__day", "route__cadre_id", "seq", "household_id"))


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the planner ------------------------------------------------------------------------------------------------


def test_replanning_drops_visited_households_and_brings_missed_ones_forward(street: Street) -> None:
    world = street.world
    with time_machine.travel(at(PLANNED, 0), tick=False):
        plan_street(street=world.street, start=PLANNED, days=14)
    due = Stop.objects.filter(kind="household").exclude(reason__startswith="每日走访").select_related("household")
    # Planned on Monday or Tuesday as due, never visited: missed.
    missed = due.filter(route__day__lt=TODAY).order_by("route__day", "seq").first()
    assert missed is not None and missed.household is not None
    # Planned as due for later, visited off-route on Tuesday by the area head.
    later = due.filter(route__day__gt=TODAY).exclude(household=missed.household).order_by("route__day").first()
    assert later is not None and later.household is not None
    log_visit(world, world.head, later.household, at(date(2026, 10, 13), 15))
    past = [row for row in coming(since=PLANNED) if row[0] < TODAY]

    with time_machine.travel(at(TODAY, 0), tick=False):
        plan = replan_street(street=world.street, today=TODAY)

    assert plan is not None and plan.stats["rolling"] is True
    assert [row for row in coming(since=PLANNED) if row[0] < TODAY] == past  # the past is never rewritten
    rule = later.reason.split("，")[0]
    interval = "week" if "每周" in rule else "month" if "每月" in rule else "year"
    _first, end = period(date(2026, 10, 13), interval)
    # Its rule is met for the period: never again as due in it (a small street may still fill a day up with it).
    assert not Stop.objects.filter(
        route__day__gte=TODAY, route__day__lte=end, household=later.household, reason__startswith=rule
    ).exists()
    # The missed one is due again, within its period.
    missed_rule = missed.reason.split("，")[0]
    missed_interval = "week" if "每周" in missed_rule else "month" if "每月" in missed_rule else "year"
    _first, missed_end = period(TODAY, missed_interval)
    assert Stop.objects.filter(
        route__day__gte=TODAY,
        route__day__lte=min(missed_end, TODAY + timedelta(days=13)),
        household=missed.household,
        reason__startswith=missed_rule,
    ).exists()


def test_replanning_twice_gives_the_same_routes(street: Street) -> None:
    world = street.world
    with time_machine.travel(at(TODAY, 0), tick=False):
        replan_street(street=world.street, today=TODAY)
        first = coming()
        replan_street(street=world.street, today=TODAY)
        assert coming() == first and first


def test_a_rolling_replan_never_shortens_a_longer_plan(street: Street) -> None:
    with time_machine.travel(at(PLANNED, 0), tick=False):
        plan_street(street=street.world.street, start=PLANNED, days=31)
    last = Route.objects.order_by("-day").values_list("day", flat=True).first()
    with time_machine.travel(at(TODAY, 0), tick=False):
        replan_street(street=street.world.street, today=TODAY)
    assert Route.objects.order_by("-day").values_list("day", flat=True).first() == last


def test_a_cadre_walking_today_keeps_todays_route(street: Street) -> None:
    world = street.world
    with time_machine.travel(at(PLANNED, 0), tick=False):
        plan_street(street=world.street, start=PLANNED, days=14)
    todays = Route.objects.get(cadre=world.cadre, day=TODAY)
    stops = list(todays.stops.values_list("seq", "household_id", "patrol_site_id"))
    first = todays.stops.filter(kind="household").first()
    assert first is not None and first.household is not None
    log_visit(world, world.cadre, first.household, at(TODAY, 9))

    with time_machine.travel(at(TODAY, 11), tick=False):
        plan = replan_street(street=world.street, today=TODAY)

    kept = Route.objects.get(cadre=world.cadre, day=TODAY)
    assert kept.pk == todays.pk and list(kept.stops.values_list("seq", "household_id", "patrol_site_id")) == stops
    assert plan is not None and plan.stats["kept_today"] == 1
    # The other cadres, who have not started, get a fresh route today.
    assert Route.objects.get(cadre=street.second_cadre, day=TODAY).plan_id == plan.pk


def test_replanning_one_cadre_touches_no_one_else_and_no_other_street(street: Street) -> None:
    world = street.world
    with time_machine.travel(at(PLANNED, 0), tick=False):
        plan_street(street=world.street, start=PLANNED, days=14)
    other_street_route = Route.objects.create(
        plan=Plan.objects.create(street=world.other_street_area.street, start=TODAY, days=1),
        day=TODAY + timedelta(days=1),
        cadre=world.other_street_admin,
        area=world.other_street_area,
        walk_m=1,
    )
    others = [row for row in coming() if row[1] != world.cadre.pk]
    assert others  # the street has other cadres with coming routes

    with time_machine.travel(at(TODAY, 12), tick=False):
        replan_cadre(cadre=world.cadre, today=TODAY)

    assert [row for row in coming() if row[1] != world.cadre.pk] == others
    assert Route.objects.filter(pk=other_street_route.pk).exists()

    with time_machine.travel(at(TODAY, 12), tick=False):
        replan_street(street=world.street, today=TODAY)
    assert Route.objects.filter(pk=other_street_route.pk).exists()  # another street's route is not this one's


def test_a_logged_visit_replans_the_cadres_coming_days_after_commit(
    street: Street, django_capture_on_commit_callbacks: Any
) -> None:
    world = street.world
    with time_machine.travel(at(PLANNED, 0), tick=False):
        plan_street(street=world.street, start=PLANNED, days=14)
    tomorrow = Stop.objects.filter(
        route__cadre=world.cadre, route__day=date(2026, 10, 15), kind="household"
    ).first()
    assert tomorrow is not None and tomorrow.household is not None
    todays = list(
        Stop.objects.filter(route__cadre=world.cadre, route__day=TODAY).values_list("seq", "household_id")
    )

    with (
        time_machine.travel(at(TODAY, 10), tick=False),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        log_visit(world, world.cadre, tomorrow.household, at(TODAY, 10))

    assert len(callbacks) == 1
    coming_days = Stop.objects.filter(
        route__cadre=world.cadre, route__day__gt=TODAY, route__day__lte=date(2026, 10, 31)
    )
    assert not coming_days.filter(household=tomorrow.household, route__day__lte=period(TODAY, "week")[1]).exists()
    # Today's route, in the cadre's hand, is kept as it was.
    assert (
        list(Stop.objects.filter(route__cadre=world.cadre, route__day=TODAY).values_list("seq", "household_id"))
        == todays
    )


def test_a_failing_replan_never_fails_the_visit(
    street: Street, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr("ningju.visits.planner.rolling.replan_after_visit", broken)
    with django_capture_on_commit_callbacks(execute=True):
        visit = log_visit(street.world, street.world.cadre, street.world.household, at(TODAY, 9))
    assert Visit.objects.filter(pk=visit.pk).exists()


def test_the_nightly_task_replans_every_street_as_a_visit_plan_job(street: Street) -> None:
    with time_machine.travel(at(TODAY, 0) + timedelta(minutes=20), tick=False):
        tasks.replan_streets_nightly_task.call_local()
    job = Job.objects.get(kind=JobKind.VISIT_PLAN)
    assert job.status == JobStatus.SUCCEEDED and job.params["street"] == "310106006"
    assert job.result["routes"] == Route.objects.filter(day__gte=TODAY).count() > 0
    assert Route.objects.filter(day__gte=TODAY).order_by("day").values_list("day", flat=True).first() == TODAY


def test_the_nightly_task_fires_at_twenty_past_midnight_shanghai_time() -> None:
    fires = tasks.at_local_time(*tasks.NIGHTLY_AT)
    # huey's clock is UTC: 00:20 in Shanghai is 16:20 UTC the day before.
    assert tasks.HUEY.utc
    assert fires(datetime(2026, 10, 13, 16, 20))
    assert not fires(datetime(2026, 10, 14, 0, 20))  # 08:20 in Shanghai
    assert not fires(datetime(2026, 10, 13, 16, 21))


def test_the_replan_command_runs_one_street(street: Street, capsys: Any) -> None:
    call_command("replan", street="310106006", today=TODAY.isoformat())
    assert "310106006" in capsys.readouterr().out
    assert Route.objects.filter(day__gte=TODAY).exists()


# --- the route page -----------------------------------------------------------------------------------------------


@pytest.fixture
def building_route(world: World) -> Route:
    """Today's route: four households of one building (stops 1–4), then the world's household elsewhere (5)."""
    ensure_rules(world.street)
    building = factories.BuildingFactory(
        compound=world.household.building.compound, number="88", lat=31.2401, lng=121.4561
    )
    households = [factories.HouseholdFactory(building=building, room=f"{n}01") for n in range(1, 5)]
    today = timezone.localdate()
    plan = Plan.objects.create(street=world.street, start=today, days=1)
    route = Route.objects.create(
        plan=plan, day=today, cadre=world.cadre, area=world.hengdeli, walk_m=800, planned_at=at(today, 0)
    )
    for seq, household in enumerate([*households, world.household], start=1):
        Stop.objects.create(
            route=route,
            seq=seq,
            kind="household",
            household=household,
            lat=household.building.lat,
            lng=household.building.lng,
            reason="独居老人 — 每月，上次走访 29 天前",  # frozen at planning: the page must not show it
        )
    return route


def map_data(html: str) -> dict[str, Any]:
    marker = '<script id="route-map-data" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def test_a_buildings_stops_are_one_marker_listing_its_households(world: World, building_route: Route) -> None:
    first = building_route.stops.get(seq=2)
    assert first.household is not None
    log_visit(world, world.cadre, first.household, at(timezone.localdate(), 9))
    data = map_data(client_for(world.cadre).get(reverse("route_today")).content.decode())
    assert [m["text"] for m in data["markers"]] == ["1–4", "5"]
    assert [(s["seq"], s["done"]) for s in data["markers"][0]["stops"]] == [
        (1, False),
        (2, True),
        (3, False),
        (4, False),
    ]
    assert data["path"][1:-1] == [m["at"] for m in data["markers"]]


def test_the_reason_and_last_visit_are_read_live_from_the_latest_visit(
    world: World, building_route: Route
) -> None:
    today = timezone.localdate()
    log_visit(world, world.cadre, world.household, at(today - timedelta(days=70), 10))
    latest = log_visit(world, world.head, world.household, at(today - timedelta(days=40), 10))
    for visit in Visit.objects.all():  # both logged long before the route was planned
        Visit.objects.filter(pk=visit.pk).update(created_at=visit.visited_at)
    html = client_for(world.cadre).get(reverse("route_today")).content.decode()
    stop = html[html.index('id="stop-5"') :]
    assert "独居老人 — 每月，上次走访 40 天前" in stop
    assert f"上次走访：{timezone.localdate(latest.visited_at).isoformat()}" in stop
    assert "29 天前" not in html


def test_a_stop_visited_off_route_since_planning_shows_done_with_the_visit(
    world: World, building_route: Route
) -> None:
    today = timezone.localdate()
    Route.objects.filter(pk=building_route.pk).update(planned_at=at(today - timedelta(days=2), 0))
    off_route = log_visit(world, world.head, world.household, at(today - timedelta(days=1), 16))
    response = client_for(world.cadre).get(reverse("route_today"))
    row = next(r for r in response.context["rows"] if r.seq == 5)
    assert row.done and row.done_visit.off_route and row.done_visit.on == today - timedelta(days=1)
    html = response.content.decode()
    stop = html[html.index('id="stop-5"') :]
    assert 'class="stop done"' in html[html.index('id="stop-5"') - 20 :]
    assert reverse("visit_detail", args=[off_route.pk]) in stop and "路线外走访" in stop
    assert "记录走访" not in stop.split("</li>")[0]


def test_a_visit_before_planning_does_not_mark_the_stop_done(world: World, building_route: Route) -> None:
    today = timezone.localdate()
    early = log_visit(world, world.cadre, world.household, at(today - timedelta(days=3), 9))
    Visit.objects.filter(pk=early.pk).update(created_at=at(today - timedelta(days=3), 10))
    rows = client_for(world.cadre).get(reverse("route_today")).context["rows"]
    assert not next(r for r in rows if r.seq == 5).done


def test_another_areas_cadre_cannot_see_the_route_or_its_households(world: World, building_route: Route) -> None:
    day = building_route.day.isoformat()
    client = client_for(world.other_cadre)
    for name in ("route_day", "route_print"):
        response = client.get(reverse(name, args=[world.cadre.username, day]))
        assert response.status_code == 403
        assert world.household.address not in response.content.decode()
    assert client.post(reverse("route_replan", args=[world.cadre.username, day])).status_code == 403
