"""Route map pages: today's and any day's walk with numbered stops, reasons and done status; who may see whose
route; the printable walk list; date navigation by working day; the map's data and tiles; re-planning a day."""

import json
import re
import sys
import types
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client
from django.urls import NoReverseMatch, include, path, reverse
from django.utils import timezone

from ningju.core.geo import wgs84_to_gcj02
from ningju.core.models import User
from ningju.registry.models import Household, PatrolSite, PatrolSiteType
from ningju.visits.models import Plan, Route, Stop, Visit, VisitMode
from ningju.visits.rules import ensure_rules
from ningju.visits.views import routes as route_views
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_route(world: World, cadre: User, day: date, targets: list[tuple[Household | PatrolSite, str]]) -> Route:
    """A route written the way the planner writes it: stops numbered in walking order with their reasons."""
    plan = Plan.objects.get_or_create(street=world.street, start=day, days=1)[0]
    route = Route.objects.create(plan=plan, day=day, cadre=cadre, area=cadre.area, walk_m=1234)
    for seq, (target, reason) in enumerate(targets, start=1):
        if isinstance(target, Household):
            Stop.objects.create(
                route=route,
                seq=seq,
                kind=Stop.Kind.HOUSEHOLD,
                household=target,
                lat=target.building.lat,
                lng=target.building.lng,
                reason=reason,
            )
        else:
            Stop.objects.create(
                route=route,
                seq=seq,
                kind=Stop.Kind.PATROL,
                patrol_site=target,
                lat=target.lat,
                lng=target.lng,
                reason=reason,
            )
    return route


def visit(world: World, by: User, target: Household | PatrolSite, at: datetime) -> Visit:
    if isinstance(target, Household):
        return Visit.objects.create(
            area=world.hengdeli, cadre=by, household=target, visited_at=at, mode=VisitMode.FACE_TO_FACE
        )
    return Visit.objects.create(
        area=world.hengdeli, cadre=by, patrol_site=target, visited_at=at, mode=VisitMode.PATROL
    )


def at_local(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def site(world: World) -> PatrolSite:
    return PatrolSite.objects.create(
        area=world.hengdeli,
        site_type=PatrolSiteType.objects.get(street=world.street, name="垃圾厢房"),
        name="633弄垃圾厢房",
        address="常德路633弄",
        lat=31.2381,
        lng=121.4512,
    )


@pytest.fixture
def second_household(world: World) -> Household:
    return factories.HouseholdFactory(
        building__compound=world.household.building.compound,
        building__road="常德路",
        building__lane="633",
        building__number="7",
        building__lat=31.2379,
        building__lng=121.4515,
        room="101",
    )


def household_days_ago(today: date) -> int:
    """The household's last visit: 28 days ago, or the last day of last month when 28 days ago is in this month (the
    monthly rule is then met, and the stop would be a fill-up): due either way, whatever day the suite runs on."""
    last = today - timedelta(days=28)
    if last >= today.replace(day=1):
        last = today.replace(day=1) - timedelta(days=1)
    return (today - last).days


@pytest.fixture
def today_route(world: World, site: PatrolSite, second_household: Household) -> Route:
    """Today's route, planned a week ago: the stored reasons are what the planner wrote then; the page reads the
    visit log now (the household last visited 28 days ago, the site 6 days ago, by visits logged before planning)."""
    today = timezone.localdate()
    ensure_rules(world.street)
    for target, days_ago in ((world.household, household_days_ago(today)), (site, 6)):
        logged = visit(world, world.cadre, target, at_local(today - timedelta(days=days_ago), 10))
        Visit.objects.filter(pk=logged.pk).update(created_at=at_local(today - timedelta(days=days_ago), 11))
    route = make_route(
        world,
        world.cadre,
        today,
        [
            (second_household, "全覆盖 — 每年，尚未走访"),
            (world.household, "独居老人 — 每月，上次走访 21 天前"),
            (site, "垃圾厢房 — 每周，尚未走访"),
        ],
    )
    Route.objects.filter(pk=route.pk).update(planned_at=at_local(today - timedelta(days=1), 0))
    route.refresh_from_db()
    return route


def page_text(response: Any) -> str:
    return response.content.decode()


# --- what the cadre sees ------------------------------------------------------------------------------------------


def test_cadre_sees_todays_stops_numbered_in_walking_order_with_why_each_is_due(
    world: World, today_route: Route, second_household: Household
) -> None:
    response = client_for(world.cadre).get(reverse("route_today"))
    assert response.status_code == 200
    html = page_text(response)
    first = html.index('id="stop-1"')
    second = html.index('id="stop-2"')
    third = html.index('id="stop-3"')
    assert first < second < third
    assert second_household.address in html[first:second]
    assert "全覆盖 — 每年，尚未走访" in html[first:second]
    assert "常德路633弄5号302室" in html[second:third]
    days = household_days_ago(timezone.localdate())
    assert f"独居老人 — 每月，上次走访 {days} 天前" in html[second:third]
    assert "633弄垃圾厢房" in html[third:]
    assert "垃圾厢房 — 每周，上次走访 6 天前" in html[third:]
    assert "今天的走访路线" in html
    assert re.search("步行约 1,?234 米", html)


def test_stop_is_done_when_anyone_visited_that_household_that_day(
    world: World, today_route: Route, second_household: Household
) -> None:
    today = timezone.localdate()
    visit(world, world.head, world.household, at_local(today, 9))  # someone else, today
    # Three days ago, before the route was planned (and logged then): it does not satisfy today's stop.
    earlier = visit(world, world.cadre, second_household, at_local(today - timedelta(days=3), 15))
    Visit.objects.filter(pk=earlier.pk).update(created_at=at_local(today - timedelta(days=3), 16))
    rows = {row.seq: row for row in client_for(world.cadre).get(reverse("route_today")).context["rows"]}
    assert rows[2].done
    assert not rows[1].done
    assert not rows[3].done
    html = page_text(client_for(world.cadre).get(reverse("route_today")))
    stop_2 = html[html.index('id="stop-2"') : html.index('id="stop-3"')]
    assert 'class="stop done"' in stop_2 and "已走访" in stop_2
    assert "已走访 1 站" in html


def test_patrol_stop_is_done_after_a_patrol_of_the_site_that_day(
    world: World, today_route: Route, site: PatrolSite
) -> None:
    visit(world, world.cadre, site, at_local(timezone.localdate(), 10))
    rows = client_for(world.cadre).get(reverse("route_today")).context["rows"]
    assert [row.done for row in rows] == [False, False, True]


def test_a_visit_just_before_midnight_counts_for_that_day_in_shanghai_time(
    world: World, second_household: Household
) -> None:
    day = date(2025, 6, 4)
    make_route(world, world.cadre, day, [(second_household, "")])
    visit(world, world.cadre, second_household, timezone.make_aware(datetime(2025, 6, 4, 23, 50)))
    response = client_for(world.cadre).get(reverse("route_day", args=["cadre-006-1", "2025-06-04"]))
    assert response.context["rows"][0].done
    response = client_for(world.cadre).get(reverse("route_day", args=["cadre-006-1", "2025-06-05"]))
    assert response.context["route"] is None


def test_a_day_without_a_route_says_so(world: World) -> None:
    response = client_for(world.cadre).get(reverse("route_day", args=["cadre-006-1", "2025-06-04"]))
    assert response.status_code == 200
    assert "这一天没有走访路线。" in page_text(response)
    assert 'id="route-map"' not in page_text(response)


# --- the link to log a visit ------------------------------------------------------------------------------------


def visit_form_stub(request: Any) -> HttpResponse:
    return HttpResponse("visit form")


@pytest.fixture
def with_visit_form(settings: Any) -> Iterator[str]:
    """A URL map that certainly has "visit_new" (the logging helper's page may not be installed yet)."""
    module = types.ModuleType("tests_routes_urlconf")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("visits/new/", visit_form_stub, name="visit_new"),
        path("", include("ningju.urls")),
    ]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    yield reverse("visit_new")
    del sys.modules[module.__name__]


def test_each_stop_links_to_the_visit_form_for_its_household_or_site(
    world: World, today_route: Route, site: PatrolSite, second_household: Household, with_visit_form: str
) -> None:
    rows = client_for(world.cadre).get(reverse("route_today")).context["rows"]
    stops = list(today_route.stops.order_by("seq"))
    assert rows[0].visit_url == f"{with_visit_form}?household={second_household.pk}&stop={stops[0].pk}"
    assert rows[2].visit_url == f"{with_visit_form}?patrol_site={site.pk}&stop={stops[2].pk}"
    html = page_text(client_for(world.cadre).get(reverse("route_today")))
    assert f'href="{with_visit_form}?household={world.household.pk}&amp;stop={stops[1].pk}"' in html
    assert html.count("记录走访") == 3


def test_route_page_works_without_the_visit_form_and_hides_its_links(
    world: World, today_route: Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_reverse = route_views.reverse

    def reverse_without_visit_form(name: str, *args: Any, **kwargs: Any) -> str:
        if name == "visit_new":
            raise NoReverseMatch(name)
        return real_reverse(name, *args, **kwargs)

    monkeypatch.setattr(route_views, "reverse", reverse_without_visit_form)
    response = client_for(world.cadre).get(reverse("route_today"))
    assert response.status_code == 200
    assert "记录走访" not in page_text(response)
    assert [row.seq for row in response.context["rows"]] == [1, 2, 3]


# --- who sees whose route ---------------------------------------------------------------------------------------

# (viewer, owner of the route) → status. The route belongs to a cadre of 恒德里 unless the owner is 又一村's cadre.
ROUTE_ACCESS = [
    ("cadre", "cadre", 200),
    ("other_cadre", "cadre", 403),
    ("cadre", "other_cadre", 403),
    ("area_head", "cadre", 200),
    ("area_head", "other_cadre", 403),
    ("street_admin", "cadre", 200),
    ("street_admin", "other_cadre", 200),
    ("liaison", "cadre", 403),
    ("nobody", "cadre", 403),
]


@pytest.mark.parametrize("page", ["route_day", "route_print"])
@pytest.mark.parametrize(("viewer", "owner", "status"), ROUTE_ACCESS)
def test_route_pages_are_scoped_by_role(world: World, page: str, viewer: str, owner: str, status: int) -> None:
    users = world.users()
    owner_user = users[owner]
    make_route(world, owner_user, date(2025, 6, 4), [])
    response = client_for(users[viewer]).get(reverse(page, args=[owner_user.username, "2025-06-04"]))
    assert response.status_code == status
    if status == 403:
        assert owner_user.display_name not in page_text(response)


@pytest.mark.parametrize(
    ("viewer", "status"),
    [("cadre", 200), ("area_head", 200), ("street_admin", 200), ("liaison", 403), ("nobody", 403)],
)
def test_todays_route_page_is_for_the_roles_that_walk_or_lead(world: World, viewer: str, status: int) -> None:
    assert client_for(world.users()[viewer]).get(reverse("route_today")).status_code == status


def test_route_pages_need_a_sign_in(world: World) -> None:
    response = Client().get(reverse("route_today"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_cadre_or_malformed_day_is_not_found(world: World) -> None:
    client = client_for(world.admin)
    assert client.get(reverse("route_day", args=["nobody-such", "2025-06-04"])).status_code == 404
    assert client.get(reverse("route_day", args=["cadre-006-1", "2025-13-40"])).status_code == 404


def test_area_head_sees_a_cadres_route_with_their_stops(world: World, second_household: Household) -> None:
    make_route(world, world.cadre, date(2025, 6, 4), [(second_household, "全覆盖 — 每年，尚未走访")])
    response = client_for(world.head).get(reverse("route_day", args=["cadre-006-1", "2025-06-04"]))
    assert world.cadre.display_name in page_text(response)
    assert second_household.address in page_text(response)


# --- print, navigation, map data --------------------------------------------------------------------------------


def test_print_page_lists_the_stops_in_order_with_reasons_and_no_map(world: World, today_route: Route) -> None:
    day = timezone.localdate().isoformat()
    response = client_for(world.cadre).get(reverse("route_print", args=["cadre-006-1", day]))
    html = page_text(response)
    assert "走访清单" in html
    assert "route-map" not in html and "leaflet" not in html
    rows = html[html.index("<tbody>") :]
    assert rows.index("全覆盖 — 每年，尚未走访") < rows.index("常德路633弄5号302室") < rows.index("633弄垃圾厢房")
    assert 'class="walk-list"' in html and "ningju/routemap.css" in html  # its @media print rules


def test_date_navigation_skips_holidays_and_includes_make_up_working_days(world: World) -> None:
    client = client_for(world.cadre)
    # National Day 2025: 1–8 October off; Saturday 11 October is a make-up working day (调休).
    response = client.get(reverse("route_day", args=["cadre-006-1", "2025-10-09"]))
    assert response.context["previous_day"] == date(2025, 9, 30)
    assert response.context["next_day"] == date(2025, 10, 10)
    response = client.get(reverse("route_day", args=["cadre-006-1", "2025-10-10"]))
    assert response.context["next_day"] == date(2025, 10, 11)
    assert reverse("route_day", args=["cadre-006-1", "2025-10-11"]) in page_text(response)
    response = client.get(reverse("route_day", args=["cadre-006-1", "2025-10-04"]))
    assert "这一天不是工作日。" in page_text(response)


def map_data(response: Any) -> dict[str, Any]:
    html = page_text(response)
    start = html.index('<script id="route-map-data" type="application/json">') + len(
        '<script id="route-map-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_map_data_has_numbered_stops_and_a_closed_walk_from_the_office(
    world: World, today_route: Route, settings: Any
) -> None:
    settings.NINGJU_MAP_TILES = "osm"
    data = map_data(client_for(world.cadre).get(reverse("route_today")))
    office = [world.hengdeli.office_lat, world.hengdeli.office_lng]
    assert [[s["seq"] for s in m["stops"]] for m in data["markers"]] == [[1], [2], [3]]
    assert [m["text"] for m in data["markers"]] == ["1", "2", "3"]
    assert data["office"] == office
    assert data["path"][0] == office and data["path"][-1] == office
    assert data["path"][1:-1] == [m["at"] for m in data["markers"]]
    assert data["markers"][1]["at"] == [world.household.building.lat, world.household.building.lng]
    assert "tile.openstreetmap.org" in data["tiles"]["layers"][0]["url"]
    assert data["text"]["tiles_failed"] == "地图底图无法加载，仅显示路线"


def test_amap_tiles_get_stops_converted_to_gcj02(world: World, today_route: Route, settings: Any) -> None:
    settings.NINGJU_MAP_TILES = "amap"
    data = map_data(client_for(world.cadre).get(reverse("route_today")))
    building = world.household.building
    expected = wgs84_to_gcj02(building.lat, building.lng)
    assert data["markers"][1]["at"] == pytest.approx(list(expected), abs=1e-7)
    assert data["office"] == pytest.approx(
        list(wgs84_to_gcj02(world.hengdeli.office_lat, world.hengdeli.office_lng)), abs=1e-7
    )
    assert "autonavi.com" in data["tiles"]["layers"][0]["url"]


def test_tianditu_tiles_carry_the_key_and_need_one(world: World, today_route: Route, settings: Any) -> None:
    settings.NINGJU_MAP_TILES = "tianditu"
    settings.NINGJU_TIANDITU_KEY = "k-123"
    data = map_data(client_for(world.cadre).get(reverse("route_today")))
    assert all("tk=k-123" in layer["url"] for layer in data["tiles"]["layers"])
    assert data["markers"][1]["at"] == [world.household.building.lat, world.household.building.lng]  # WGS-84 tiles
    settings.NINGJU_TIANDITU_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="NINGJU_TIANDITU_KEY"):
        client_for(world.cadre).get(reverse("route_today"))


def test_unknown_tile_source_is_refused_loudly(world: World, today_route: Route, settings: Any) -> None:
    settings.NINGJU_MAP_TILES = "google"
    with pytest.raises(ImproperlyConfigured, match="NINGJU_MAP_TILES"):
        client_for(world.cadre).get(reverse("route_today"))


# --- re-planning a day ------------------------------------------------------------------------------------------


@pytest.fixture
def planner(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stands in for ningju.visits.planner, recording its calls and writing a one-stop route like the real one."""
    calls: list[dict[str, Any]] = []

    def plan_cadre_day(*, cadre: User, day: date, user: User | None = None) -> Route | None:
        calls.append({"cadre": cadre, "day": day, "user": user})
        plan = Plan.objects.create(street=cadre.area.street, start=day, days=1)
        Route.objects.filter(cadre=cadre, day=day).delete()
        route = Route.objects.create(plan=plan, day=day, cadre=cadre, area=cadre.area, walk_m=10)
        household = Household.objects.filter(building__compound__area=cadre.area).first()
        Stop.objects.create(
            route=route, seq=1, kind="household", household=household, lat=31.2, lng=121.4, reason="r"
        )
        return route

    module = types.ModuleType("ningju.visits.planner")
    module.plan_cadre_day = plan_cadre_day  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ningju.visits.planner", module)
    return calls


def test_cadre_replans_today_and_sees_the_new_route(world: World, planner: list[dict[str, Any]]) -> None:
    client = client_for(world.cadre)
    assert "重新规划今天" in page_text(client.get(reverse("route_today")))
    today = timezone.localdate()
    response = client.post(reverse("route_replan", args=["cadre-006-1", today.isoformat()]), follow=True)
    assert planner == [{"cadre": world.cadre, "day": today, "user": world.cadre}]
    assert response.redirect_chain[-1][0] == reverse("route_today")
    assert "路线已重新规划：1 个站点。" in page_text(response)
    assert [row.label for row in response.context["rows"]] == [world.household.address]


def test_area_head_replans_a_cadres_coming_day(world: World, planner: list[dict[str, Any]]) -> None:
    day = timezone.localdate() + timedelta(days=3)
    response = client_for(world.head).post(reverse("route_replan", args=["cadre-006-1", day.isoformat()]))
    assert response.status_code == 302
    assert response["Location"] == reverse("route_day", args=["cadre-006-1", day.isoformat()])
    assert planner[0]["cadre"] == world.cadre and planner[0]["user"] == world.head


@pytest.mark.parametrize(
    ("viewer", "owner", "days_ahead"),
    [
        ("cadre", "cadre", -1),  # the past is never rewritten
        ("area_head", "other_cadre", 0),
        ("other_cadre", "cadre", 0),
        ("street_admin", "cadre", 0),
        ("liaison", "cadre", 0),
    ],
)
def test_replanning_is_refused_outside_ones_own_day_or_area(
    world: World, planner: list[dict[str, Any]], viewer: str, owner: str, days_ahead: int
) -> None:
    users = world.users()
    day = timezone.localdate() + timedelta(days=days_ahead)
    client = client_for(users[viewer])
    response = client.post(reverse("route_replan", args=[users[owner].username, day.isoformat()]))
    assert response.status_code == 403
    assert planner == []
    if viewer == "street_admin":
        page = client.get(reverse("route_day", args=[users[owner].username, day.isoformat()]))
        assert "重新规划" not in page_text(page)


def test_replanning_needs_a_post(world: World, planner: list[dict[str, Any]]) -> None:
    url = reverse("route_replan", args=["cadre-006-1", timezone.localdate().isoformat()])
    assert client_for(world.cadre).get(url).status_code == 405
    assert planner == []


def test_replanning_says_so_when_the_planner_is_not_installed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ningju.visits.planner", None)  # makes the import fail
    url = reverse("route_replan", args=["cadre-006-1", timezone.localdate().isoformat()])
    response = client_for(world.cadre).post(url, follow=True)
    assert "路线规划功能尚未启用。" in page_text(response)
