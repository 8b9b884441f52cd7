"""The dashboard in a real browser, as the street administrator, on a desktop and at phone width: every chart draws
(a canvas inside each chart's box, the map's circles included, on a plain background without tiles), the page has no
JavaScript errors and no sideways scroll, and a chart's data table opens."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from ningju.demands.models import Kind, Source
from ningju.demands.services import demand_create
from ningju.insights.rollups import rollups_refresh
from ningju.visits.models import Visit, VisitMode
from tests.conftest import World
from tests.e2e.conftest import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARTS = ("visits", "coverage", "funnel", "rates", "overdue", "topics", "clusters", "map")


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"NINGJU_MAP_TILES": "none"}  # tests never reach a tile server


@pytest.fixture(autouse=True)
def no_cache() -> None:
    cache.clear()


def some_activity(world: World) -> None:
    now = timezone.now()
    for n in range(3):
        Visit.objects.create(
            id=uuid.uuid4(),
            area=world.hengdeli,
            cadre=world.cadre,
            household=world.household,
            visited_at=now - timedelta(hours=n + 1),
            mode=VisitMode.FACE_TO_FACE,
        )
    demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text="楼道堆物",
        household=world.household,
        received_at=now - timedelta(hours=2),
    )
    today = timezone.localdate()
    rollups_refresh(street=world.street, start=today - timedelta(days=40), end=today)


def test_street_admin_sees_every_chart_drawn(shipped_server: str, world: World, page: Page) -> None:
    some_activity(world)
    log_in(page, shipped_server, "admin")
    page.goto(f"{shipped_server}/insights/dashboard/")

    expect(page.get_by_role("heading", name="数据看板")).to_be_visible()
    for key in CHARTS:
        expect(page.locator(f"#chart-{key} canvas").first).to_be_attached()
    expect(page.locator("#map-note")).to_contain_text("未配置地图底图")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, "the page scrolls sideways"  # type: ignore[index]

    page.locator("#section-visits summary").click()
    expect(page.locator('table[data-table="visits"]')).to_contain_text("恒德里")


def chart_option(page: Page, key: str) -> dict[str, Any]:
    """The option ECharts is drawing in a chart's box (after the page's script built it)."""
    option: dict[str, Any] = page.evaluate(
        "key => echarts.getInstanceByDom(document.getElementById('chart-' + key)).getOption()", key
    )
    return option


def test_charts_read_well_at_phone_and_desktop_width(shipped_server: str, world: World, screen: Page) -> None:
    """The fixes of issue 11 (finding 5), read from what the browser draws: the funnel's labels sit outside it and
    a stage nobody reached is a point (the period's one demand was never contacted: five zero stages); the minimum
    line's label is inside the chart; the three rates are three bar charts on one 0–100% axis; on a phone the names
    lie on the left of horizontal bars, never crowded under them; the map without tiles has a legend."""
    some_activity(world)
    log_in(screen, shipped_server, "head-006")
    screen.goto(f"{shipped_server}/insights/dashboard/")
    expect(screen.locator("#chart-funnel canvas").first).to_be_attached()
    phone = (screen.viewport_size or {}).get("width", 0) < 600

    funnel = chart_option(screen, "funnel")["series"][0]
    assert funnel["label"]["position"] == "right" and funnel["labelLine"]["show"] is True
    assert funnel["minSize"] == "0%" and funnel["min"] == 0 and funnel["max"] == 1
    assert [item["value"] for item in funnel["data"]] == [1, 0, 0, 0, 0, 0]

    visits = chart_option(screen, "visits")
    assert visits["series"][0]["markLine"]["label"]["position"] in ("start", "insideEndTop")
    if phone:
        assert (
            visits["yAxis"][0]["type"] == "category" and visits["yAxis"][0]["axisLabel"]["overflow"] == "truncate"
        )
        assert visits["series"][0]["markLine"]["label"]["position"] == "start"

    rates = chart_option(screen, "rates")
    assert len(rates["grid"]) == 3 and len(rates["series"]) == 3
    assert all(axis["min"] == 0 and axis["max"] == 100 for axis in rates["xAxis"])
    assert all(axis["type"] == "category" and axis["inverse"] for axis in rates["yAxis"])

    expect(screen.locator("#section-map .map-legend")).to_contain_text("诉求")
    expect(screen.locator("#map-note")).to_contain_text("未配置地图底图")
    screen.wait_for_timeout(1200)  # ECharts animates for a second: the screenshot shows the finished charts
    shot(screen, "dashboard-head")
