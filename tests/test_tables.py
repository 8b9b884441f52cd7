"""Readable desktop tables: the wide lists (我的诉求, 居民区诉求, the street's demands, registry and visit lists)
sit in a scroll container, so a wide table scrolls inside its card, not the page, and name which columns need room."""

import re

import pytest
from django.test import Client

from ningju.demands.models import Kind, Source
from ningju.demands.services import demand_create
from tests.conftest import World

SCROLL = re.compile(
    r'<div class="table-wrap table-scroll[^"]*">\s*<table class="responsive demand-table sticky-first">'
)


@pytest.fixture
def demand_world(world: World) -> World:
    demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text="楼道灯损坏，晚上出行不便",
        household=world.household,
    )
    return world


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("cadre", "/demands/"),
        ("cadre", "/demands/inbox/"),
        ("area_head", "/demands/inbox/"),
        ("street_admin", "/demands/all/"),
    ],
)
def test_demand_lists_scroll_inside_their_card(client: Client, demand_world: World, who: str, url: str) -> None:
    client.force_login(demand_world.users()[who])
    html = client.get(url).content.decode()
    assert "楼道灯损坏" in html
    assert SCROLL.search(html), "the demand table is not wrapped in the scroll container"
    assert 'class="demand-text col-text"' in html and 'class="col-place"' in html


@pytest.mark.parametrize("url", ["/areas/", "/visits/coverage/"])
def test_registry_and_visit_lists_scroll_inside_their_card(client: Client, world: World, url: str) -> None:
    client.force_login(world.admin)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<table") == html.count('<div class="table-wrap table-scroll">')


def test_the_shared_table_style_is_in_the_stylesheet() -> None:
    from pathlib import Path

    css = (Path(__file__).resolve().parents[1] / "ningju/static/ningju/ningju.css").read_text()
    block = css[css.index("=== Readable desktop tables") : css.index("=== end of readable desktop tables")]
    assert ".table-scroll { overflow: auto;" in block and "position: sticky; top: 0;" in block
