"""The dashboard in a real browser, as the street administrator, on a desktop and at phone width: every chart draws
(a canvas inside each chart's box, the map's circles included, on a plain background without tiles), the page has no
JavaScript errors and no sideways scroll, and a chart's data table opens."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from ningju.demands.models import Kind, Source
from ningju.demands.services import demand_create
from ningju.insights.rollups import rollups_refresh
from ningju.visits.models import Visit, VisitMode
from tests.conftest import World
from tests.e2e.conftest import log_in

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
