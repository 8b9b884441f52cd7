"""The report in a real browser, on a desktop and at phone width: the sentence first, charts drawn, no script errors,
no sideways scrolling, and a print view without the navigation."""

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import World
from tests.e2e.conftest import log_in
from tests.test_insights_report import build_year

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def year(world: World) -> World:
    """A year of visits and demands in 恒德里 and 又一村 (the unit tests' world)."""
    return build_year(world)


def test_report_shows_sentence_and_charts_and_prints_without_navigation(
    shipped_server: str,
    year: World,
    page: Page,
) -> None:
    log_in(page, shipped_server, "admin")
    page.goto(f"{shipped_server}/insights/report/?year=2025")
    expect(page.locator("#report-sentence")).to_have_text(
        "2025年，2个居民区走访居民3户（占全部住户的75%）、4人次，回应居民意见建议1条，主动发现并解决问题2件。"
    )
    for chart in ("visits", "months", "topics", "departments"):
        expect(page.locator(f"#chart-{chart} canvas").first).to_be_attached()
    expect(page.locator("#table-departments")).to_contain_text("城管")
    if page.viewport_size and page.viewport_size["width"] <= 400:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"page scrolls sideways at phone width ({width}px)"

    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".report-form")).to_be_hidden()
    expect(page.locator(".report-actions")).to_be_hidden()
    expect(page.locator("#report-sentence")).to_be_visible()
    expect(page.locator("#chart-visits canvas").first).to_be_visible()


def test_area_head_report_is_their_area(shipped_server: str, year: World, page: Page) -> None:
    log_in(page, shipped_server, "head-006")
    page.goto(f"{shipped_server}/insights/report/?start=2025-01-01&end=2025-12-31")
    expect(page.locator("#report-sentence")).to_contain_text(
        "2025年，恒德里走访居民2户（占全部住户的66.6%）、3人次"
    )
    expect(page.locator("#id_area")).to_have_count(0)
    response = page.goto(f"{shipped_server}/insights/report/?area=310106006009")
    assert response is not None and response.status == 403
