"""The intake desk asks for a category suggestion when text arrives without a key press (pasted, dictated by voice),
and the general form records where and from whom: at a phone's and a desktop's width, on the production server."""

import pytest
from playwright.sync_api import Page, expect

from ningju.demands.models import Demand
from tests.conftest import World
from tests.e2e.conftest import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pasted_text_asks_for_a_suggestion_and_the_place_and_reporter_are_kept(
    shipped_server: str, world: World, screen: Page
) -> None:
    page = screen
    log_in(page, shipped_server, "cadre-006-1")
    page.goto(f"{shipped_server}/demands/new/")
    page.wait_for_load_state("networkidle")
    text = page.get_by_label("诉求内容")
    text.focus()
    # insert_text sends an `input` event and no key events, as a paste or a phone's voice typing does.
    with page.expect_request(lambda request: "/insights/suggest/" in request.url) as asked:
        page.keyboard.insert_text("楼下沿街饭店油烟很大，晚上还有噪音")
    assert "text=" in asked.value.url
    page.get_by_label("楼栋（选填）").select_option(
        label=f"{world.household.building.compound.name} · 常德路633弄5号"
    )
    page.get_by_label("室号（选填，需先选楼栋）").fill("302")
    page.get_by_label("反映人姓名（选填）").fill("张先生")
    page.get_by_label("反映人电话（选填）").fill("13912345678")
    shot(page, "intake-place-reporter")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#demand-reporter")).to_have_text("张先生 139****5678")
    demand = Demand.objects.get()
    assert demand.household == world.household and demand.reporter_phone.reveal() == "13912345678"
