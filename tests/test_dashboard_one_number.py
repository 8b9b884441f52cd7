"""One number per fact on the dashboard: every headline tile equals the chart that names the same thing, also when
the rollups lag behind the records (a demand received and a visit logged after the last refresh, as on 恒德里 of
the demo street, where the tile said 2 and the funnel 5); the page says when its figures were counted; and the
figures a head or a cadre sees are their own."""

import re
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client

from ningju.core.models import User
from ningju.demands.models import Demand, Kind, Source
from ningju.demands.services import demand_act, demand_create
from ningju.insights import rollups
from ningju.insights.models import DailyRollup
from ningju.visits.models import Visit, VisitMode
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "/insights/dashboard/"
PERIOD = {"period": "custom", "start": "2025-09-01", "end": "2025-09-30"}


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 9, day, hour, tzinfo=SHANGHAI)


def visit(cadre: User, when: datetime, household: Any) -> None:
    Visit.objects.create(
        id=uuid.uuid4(),
        area=cadre.area,
        cadre=cadre,
        household=household,
        visited_at=when,
        mode=VisitMode.FACE_TO_FACE,
    )


def received(user: User, when: datetime, area: Any, **fields: Any) -> Demand:
    values = {"kind": Kind.PROBLEM, "source": Source.VISIT, "text": "楼道灯损坏，晚上出行不便", **fields}
    demand, _created = demand_create(user=user, area=area, received_at=when, **values)
    return demand


def act(user: User, demand: Demand, action: str, when: datetime, **params: Any) -> Demand:
    return demand_act(user=user, demand_id=demand.pk, action=action, at=when, **params)


@pytest.fixture
def lagging(world: World) -> World:
    """A September in two areas, refreshed into the rollups on the 10th; then more happens in 恒德里 that no refresh
    has seen yet: three demands (one resolved and called back), two visits."""
    w = world
    visit(w.cadre, at(3), w.household)
    visit(w.other_cadre, at(4), w.other_household)
    first = received(w.cadre, at(3), w.hengdeli, household=w.household)
    first = act(w.cadre, first, "contact", at(3, 11))
    received(w.head, at(4), w.hengdeli, kind=Kind.OPINION, source=Source.WALK_IN)
    received(w.other_cadre, at(4), w.youyicun, source=Source.HOTLINE)
    rollups.rollups_refresh(street=w.street, start=date(2025, 9, 1), end=date(2025, 9, 10))

    late = received(w.cadre, at(12), w.hengdeli, household=w.household)
    late = act(w.cadre, late, "contact", at(12, 11))
    late = act(w.cadre, late, "start_handling", at(12, 12))
    late = act(w.cadre, late, "resolve", at(15))
    late = act(w.cadre, late, "request_callback", at(15, 11))
    act(w.cadre, late, "callback", at(16), callback_result="satisfied")
    received(w.cadre, at(13), w.hengdeli)  # no place: not on the map
    received(w.head, at(14), w.hengdeli, kind=Kind.OPINION, source=Source.WALK_IN)
    visit(w.cadre, at(12), w.household)
    visit(w.cadre, at(13), w.household)
    return w


def page(client: Client, user: User, **params: str) -> Any:
    client.force_login(user)
    response = client.get(URL, {**PERIOD, **params})
    assert response.status_code == 200
    return response


def column(chart: dict[str, Any], header: str) -> list[Any]:
    index = chart["headers"].index(header)
    return [row[index] for row in chart["rows"]]


def assert_tiles_equal_charts(response: Any) -> dict[str, Any]:
    totals = response.context["totals"]
    charts = {chart["key"]: chart for chart in response.context["charts"]}
    funnel = dict(zip(column(charts["funnel"], "环节"), column(charts["funnel"], "诉求数"), strict=True))
    rates_total = charts["rates"]["rows"][-1]
    assert totals["household_visits"] == sum(column(charts["visits"], "入户走访人次"))
    assert totals["household_visits"] == sum(column(charts["map"], "入户走访人次"))
    assert totals["patrols"] == sum(column(charts["visits"], "巡查次数"))
    assert totals["demands_received"] == funnel["受理"]
    assert totals["demands_received"] == rates_total[6]  # 解决率's denominator: the same population
    assert totals["demands_received"] == sum(column(charts["topics"], "诉求数"))
    assert totals["demands_received"] == sum(column(charts["map"], "诉求数")) + charts["map"]["data"]["unplaced"]
    assert totals["demands_resolved"] == funnel["办结"] == rates_total[5]
    assert totals["callbacks"] == funnel["回访"]
    assert totals["satisfaction"] == rates_total[7]
    html = response.content.decode()
    for name in ("household_visits", "patrols", "demands_received", "demands_resolved", "callbacks"):
        assert f'data-total="{name}">{totals[name]}<' in html
    return totals


def test_tiles_equal_the_charts_while_the_rollups_lag_behind(client: Client, lagging: World) -> None:
    w = lagging
    stale = DailyRollup.objects.filter(area=w.hengdeli).values_list("demands_received", flat=True)
    assert sum(stale) == 2  # what the rollups still say for 恒德里

    street = assert_tiles_equal_charts(page(client, w.admin))
    assert (street["demands_received"], street["household_visits"]) == (6, 4)
    area = assert_tiles_equal_charts(page(client, w.head))
    assert (area["demands_received"], area["household_visits"], area["demands_resolved"]) == (5, 3, 1)
    assert area["callbacks"] == 1 and area["satisfaction"] == 100.0
    person = assert_tiles_equal_charts(page(client, w.cadre))
    assert (person["demands_received"], person["household_visits"]) == (3, 3)
    drilled = assert_tiles_equal_charts(page(client, w.admin, area=w.hengdeli.code))
    assert drilled == area


def test_the_page_says_when_its_figures_were_counted(client: Client, lagging: World) -> None:
    html = page(client, lagging.admin).content.decode()
    assert re.search(r"数据更新于 \d{4}-\d\d-\d\d \d\d:\d\d", html)
    assert 'id="totals-note"' in html


def test_head_sees_only_their_area_and_a_liaison_is_refused(client: Client, lagging: World) -> None:
    w = lagging
    response = page(client, w.head)
    charts = {chart["key"]: chart for chart in response.context["charts"]}
    assert w.youyicun.name not in str(response.context["chart_data"])
    assert len(charts["map"]["rows"]) == 1  # 恒德里's building only, not 又一村's
    client.force_login(w.head)
    assert client.get(URL, {**PERIOD, "area": w.youyicun.code}).status_code == 403
    assert client.get(URL, {**PERIOD, "cadre": w.other_cadre.username}).status_code == 403
    client.force_login(w.liaison)
    assert client.get(URL, PERIOD).status_code == 403
    assert client.get(URL, {**PERIOD, "download": "funnel"}).status_code == 403
