"""On a phone, an area head records the troika's on-site joint office with a finding turned into an action item; the
street's grid then shows that compound's current month as held."""

from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from ningju.meetings.models import ActionItem, Meeting, MeetingStatus
from tests.conftest import World
from tests.e2e.conftest import PHONE, close_quietly, log_in, log_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    close_quietly(context)
    assert not errors, f"JavaScript errors on the page: {errors}"


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "page scrolls sideways"


def test_head_records_troika_on_a_phone_and_the_street_grid_shows_it_held(
    shipped_server: str, world: World, phone: Page
) -> None:
    base = shipped_server
    compound = world.household.building.compound

    log_in(phone, base, "head-006")
    phone.goto(f"{base}/meetings/troika/new/")
    no_sideways_scroll(phone)
    expect(phone.get_by_label("小区")).to_have_value(str(compound.pk))  # the area's only compound
    expect(phone.locator("#party-committee").get_by_label(world.head.display_name)).to_be_checked()
    phone.get_by_label("业委会（每行一人）").fill("张主任")
    phone.get_by_label("物业（每行一人）").fill("李经理")
    phone.get_by_label("现场查看").fill("楼道、非机动车棚")
    finding = phone.locator("#finding-1")
    finding.get_by_label("问题1").fill("车棚照明灯损坏")
    finding.get_by_label("转为行动").check()
    phone.get_by_role("button", name="保存记录").click()
    phone.wait_for_load_state("networkidle")
    expect(phone.locator(".msg.error")).to_have_count(0)

    held = Meeting.objects.get(compound=compound)
    assert held.status == MeetingStatus.HELD
    item = ActionItem.objects.get(meeting=held)
    assert (item.title, item.owner) == ("车棚照明灯损坏", world.head)

    log_out(phone)
    log_in(phone, base, "admin")
    phone.goto(f"{base}/meetings/troika/")
    no_sideways_scroll(phone)
    month = timezone.localdate().strftime("%Y-%m")
    cell = phone.locator(f'#troika-grid tr[data-compound="{compound.pk}"] td[data-month="{month}"]')
    expect(cell).to_have_attribute("data-state", "held")
    expect(cell).to_contain_text("✓")
    assert cell.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(227, 244, 229)"  # green
