"""Today's route in a real browser, on a desktop and at phone width, with every tile server unreachable: the map
still shows the numbered stops and the path on a plain background, says why the streets are missing, and the list
below it gives the walking order."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Route, expect

from ningju.core.models import User
from ningju.registry.models import PatrolSite, PatrolSiteType
from ningju.visits.models import Plan, Stop, Visit, VisitMode
from ningju.visits.models import Route as WalkRoute
from ningju.visits.rules import ensure_rules
from tests import factories
from tests.conftest import World
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def todays_route(world: World, cadre: User, day: date) -> WalkRoute:
    second = factories.HouseholdFactory(
        building__compound=world.household.building.compound,
        building__lane="633",
        building__number="7",
        building__lat=31.2381,
        building__lng=121.4516,
        room="101",
    )
    site = PatrolSite.objects.create(
        area=world.hengdeli,
        site_type=PatrolSiteType.objects.get(street=world.street, name="垃圾厢房"),
        name="633弄垃圾厢房",
        lat=31.2385,
        lng=121.4503,
    )
    # The page reads each stop's reason from the visit log: the household was last visited 28 days ago.
    ensure_rules(world.street)
    last = timezone.make_aware(datetime.combine(day - timedelta(days=28), time(10)))
    logged = Visit.objects.create(
        area=world.hengdeli, cadre=cadre, household=world.household, visited_at=last, mode=VisitMode.PHONE
    )
    Visit.objects.filter(pk=logged.pk).update(created_at=last)
    plan = Plan.objects.create(street=world.street, start=day, days=1)
    route = WalkRoute.objects.create(
        plan=plan,
        day=day,
        cadre=cadre,
        area=world.hengdeli,
        walk_m=860,
        planned_at=timezone.make_aware(datetime.combine(day, time(0))),
    )
    Stop.objects.create(
        route=route,
        seq=1,
        kind="household",
        household=world.household,
        lat=31.2376,
        lng=121.4508,
        reason="独居老人 — 每月，上次走访 28 天前",
    )
    Stop.objects.create(
        route=route,
        seq=2,
        kind="household",
        household=second,
        lat=31.2381,
        lng=121.4516,
        reason="全覆盖 — 每年，尚未走访",
    )
    Stop.objects.create(
        route=route,
        seq=3,
        kind="patrol",
        patrol_site=site,
        lat=31.2385,
        lng=121.4503,
        reason="垃圾厢房 — 每周，上次走访 6 天前",
    )
    return route


def block_tiles(route: Route) -> None:
    route.abort()


def test_cadre_opens_todays_route_with_tiles_blocked(shipped_server: str, world: World, page: Page) -> None:
    todays_route(world, world.cadre, timezone.localdate())
    page.route("**/*tile*", block_tiles)  # OpenStreetMap, 高德 and 天地图 tile URLs all say "tile"
    log_in(page, shipped_server, "cadre-006-1")
    page.goto(f"{shipped_server}/visits/today/")

    expect(page.get_by_role("heading", name="今天的走访路线")).to_be_visible()
    map_box = page.locator("#route-map")
    expect(map_box).to_be_visible()
    markers = map_box.locator(".route-stop")
    expect(markers).to_have_count(3)
    expect(markers).to_have_text(["1", "2", "3"])
    expect(map_box.locator(".route-office")).to_have_text("居委会")
    walk = map_box.locator("path.route-path")
    expect(walk).to_have_count(1)
    # office → 1 → 2 → 3 → office: five points, four legs
    assert (walk.get_attribute("d") or "").count("L") == 4
    expect(page.locator("#route-map-note")).to_have_text("地图底图无法加载，仅显示路线")

    stops = page.locator("ol.stops > li")
    expect(stops).to_have_count(3)
    expect(stops.nth(0)).to_contain_text("常德路633弄5号302室")
    expect(stops.nth(0)).to_contain_text("独居老人 — 每月，上次走访 28 天前")
    expect(stops.nth(2)).to_contain_text("633弄垃圾厢房")

    markers.nth(1).click()  # a marker points to its line in the list
    expect(stops.nth(1)).to_have_class("stop focus")

    if page.viewport_size and page.viewport_size["width"] <= 400:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"page scrolls sideways at phone width ({width}px)"
        box = map_box.bounding_box()
        assert box is not None and box["height"] >= 250
