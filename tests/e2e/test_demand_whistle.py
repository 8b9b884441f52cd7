"""One demand, five logins: a cadre records it from a household page, the area head whistles, the street dispatches,
the department's liaison acknowledges and resolves, the cadre calls the resident back — and the timeline tells it."""

import pytest
from playwright.sync_api import Page, expect

from ningju.demands.models import Demand
from ningju.demands.workflow import Action, State
from tests.conftest import World
from tests.e2e.conftest import account_menu, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BAR_NOISE = "楼下酒吧每天半夜还在放音乐，吵得老人睡不着"


def log_out(page: Page) -> None:
    account_menu(page).get_by_role("button", name="退出").click()
    page.wait_for_load_state("networkidle")


def as_user(page: Page, base_url: str, username: str, demand_url: str) -> None:
    log_in(page, base_url, username)
    page.goto(demand_url)


def take_step(
    page: Page, action: Action, fill: dict[str, str] | None = None, check: list[str] | None = None
) -> None:
    """Open a step's form by its button, fill what it needs and confirm; the page comes back with the new state."""
    label = str(action.label)
    step = page.locator(f"details#step-{action.value}")
    if step.get_attribute("open") is None:  # the first step the user may take is open already
        step.locator("summary").click()
    for field, value in (fill or {}).items():
        step.get_by_label(field).fill(value)
    for box in check or []:
        step.get_by_label(box, exact=True).check()
    step.get_by_role("button", name=f"确认{label}").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".msg.error")).to_have_count(0)


def test_five_roles_carry_one_demand_from_the_door_to_the_callback(
    shipped_server: str, world: World, page: Page
) -> None:
    base = shipped_server

    # 1. The cadre records what the resident said at the door, from the household page: the demand is theirs.
    log_in(page, base, "cadre-006-1")
    page.goto(f"{base}/households/{world.household.pk}/")
    page.get_by_role("main").get_by_role("link", name="登记诉求").click()
    page.get_by_label("诉求内容").fill(BAR_NOISE)
    page.get_by_role("button", name="登记").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("您是首问负责人")).to_be_visible()
    demand = Demand.objects.get(text=BAR_NOISE)
    assert demand.owner == world.cadre and demand.household == world.household
    demand_url = page.url
    take_step(page, Action.CONTACT)
    take_step(page, Action.START_HANDLING)
    log_out(page)

    # 2. The area cannot stop a bar: the area head blows the whistle, with a reason.
    as_user(page, base, "head-006", demand_url)
    take_step(
        page, Action.WHISTLE, fill={"吹哨原因（居民区为何无法解决）": "酒吧夜间经营属执法事项，居民区多次劝导无效"}
    )
    log_out(page)

    # 3. The street administrator accepts the whistle and dispatches it to 城管.
    as_user(page, base, "admin", demand_url)
    take_step(page, Action.STREET_ACCEPT)
    take_step(page, Action.DISPATCH, check=["城管"])
    log_out(page)

    # 4. 城管's liaison reports in, handles it and reports it resolved.
    as_user(page, base, "dept-chengguan", demand_url)
    take_step(page, Action.ACKNOWLEDGE)
    take_step(page, Action.DEPARTMENT_START)
    take_step(
        page,
        Action.DEPARTMENT_RESOLVE,
        fill={"办理情况（做了什么、结果如何）": "已约谈酒吧经营者，22点后关闭外放音响"},
    )
    log_out(page)

    # 5. The cadre calls the resident back: satisfied, the demand is closed.
    as_user(page, base, "cadre-006-1", demand_url)
    take_step(page, Action.REQUEST_CALLBACK)
    take_step(page, Action.CALLBACK, check=["满意"])

    demand.refresh_from_db()
    assert demand.state == State.CLOSED
    actions = list(demand.events.values_list("action", "actor__username"))
    assert actions == [
        ("create", "cadre-006-1"),
        (Action.CONTACT, "cadre-006-1"),
        (Action.START_HANDLING, "cadre-006-1"),
        (Action.WHISTLE, "head-006"),
        (Action.STREET_ACCEPT, "admin"),
        (Action.DISPATCH, "admin"),
        (Action.ACKNOWLEDGE, "dept-chengguan"),
        (Action.DEPARTMENT_START, "dept-chengguan"),
        (Action.DEPARTMENT_RESOLVE, "dept-chengguan"),
        (Action.REQUEST_CALLBACK, "cadre-006-1"),
        (Action.CALLBACK, "cadre-006-1"),
    ]
    # The whole story is on the page, step by step, with who took each step and why.
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("酒吧夜间经营属执法事项")
    expect(timeline).to_contain_text("已约谈酒吧经营者")
    expect(timeline).to_contain_text("满意")
    for label in ("登记", "联系", "吹哨", "街道受理", "派单", "报到", "部门办结", "回访"):
        expect(timeline).to_contain_text(label)
