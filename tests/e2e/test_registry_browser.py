"""A cadre of 恒德里 in a real browser, on a desktop and at phone width: masked data, and refusal elsewhere."""

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import World
from tests.e2e.conftest import log_in, main_menu

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_cadre_opens_household_of_own_area_and_sees_masked_phone(
    shipped_server: str, world: World, page: Page
) -> None:
    log_in(page, shipped_server, "cadre-006-1")
    main_menu(page).get_by_role("link", name="居民区", exact=True).click()
    page.get_by_role("link", name="恒德里").click()
    page.get_by_role("link", name=world.household.building.compound.name).click()
    page.get_by_role("link", name="常德路633弄5号").click()
    page.get_by_role("link", name="302室").click()
    expect(page.get_by_role("heading", name="常德路633弄5号302室")).to_be_visible()
    expect(page.locator(f"#phone-{world.resident.pk}")).to_have_text("138****5678")
    expect(page.locator(f"#id_number-{world.resident.pk}")).to_have_text("310106********1228")
    assert "13812345678" not in page.content()
    if page.viewport_size and page.viewport_size["width"] <= 400:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"page scrolls sideways at phone width ({width}px)"


def test_cadre_is_refused_a_household_of_another_area(shipped_server: str, world: World, page: Page) -> None:
    log_in(page, shipped_server, "cadre-006-1")
    response = page.goto(f"{shipped_server}/households/{world.other_household.pk}/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    assert "李建国" not in page.content()


def test_cadre_reveals_phone_with_a_reason(shipped_server: str, world: World, page: Page) -> None:
    log_in(page, shipped_server, "cadre-006-1")
    page.goto(f"{shipped_server}/households/{world.household.pk}/")
    row = page.locator(f"#resident-{world.resident.pk}")
    row.get_by_text("查看完整号码").click()
    row.get_by_label("查看事由（将记入审计日志）").fill("电话回访")
    row.get_by_role("button", name="查看").click()
    expect(row.locator(".revealed")).to_have_text("13812345678")
