"""A cadre's day in the field, as a journey: today's route → a stop → the visit with two findings → saved, with the
two demands it filed → 我的诉求. At a phone's and a desktop's width, counting taps, on the production server."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Locator, Page, Request, expect

from ningju.demands.models import Demand, Source
from ningju.visits.models import Plan, Route, Stop, Visit
from tests.conftest import World
from tests.e2e.conftest import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAX_TAPS = 8  # issue 11, must-have 7: the visit with findings within 8 taps of the route page


def todays_route(world: World) -> Stop:
    today = timezone.localdate()
    plan = Plan.objects.create(street=world.street, start=today, days=1)
    route = Route.objects.create(plan=plan, day=today, cadre=world.cadre, area=world.hengdeli, walk_m=400)
    return Stop.objects.create(
        route=route,
        seq=1,
        kind=Stop.Kind.HOUSEHOLD,
        household=world.household,
        lat=world.household.building.lat,
        lng=world.household.building.lng,
        reason="独居老人 — 每月，尚未走访",
    )


def test_cadre_files_two_findings_from_a_route_stop(shipped_server: str, world: World, screen: Page) -> None:
    page = screen
    stop = todays_route(world)
    failed: list[str] = []
    console: list[str] = []

    def request_failed(request: Request) -> None:
        if "tile" not in request.url:  # map tiles come from outside and may be unreachable
            failed.append(request.url)

    page.on("requestfailed", request_failed)

    def console_error(message: ConsoleMessage) -> None:
        # A request that never reached a server is judged by request_failed (map tiles are allowed to fail).
        if message.type == "error" and "net::ERR_" not in message.text:
            console.append(message.text)

    page.on("console", console_error)
    taps = 0

    def tap(target: Locator) -> None:
        nonlocal taps
        taps += 1
        target.click()

    log_in(page, shipped_server, "cadre-006-1")
    page.goto(shipped_server + reverse("route_today"))
    shot(page, "journey-visit-1-route")

    tap(page.get_by_role("link", name="记录走访").first)
    expect(page).to_have_url(re.compile(rf"{re.escape(reverse('visit_new'))}\?.*\bstop={stop.pk}\b"))
    expect(page.get_by_text("每行登记为一条诉求")).to_be_visible()
    box = page.get_by_label("发现问题 → 转为诉求（一行一条）")
    tap(box)
    page.keyboard.type("楼道灯坏了")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # a blank line files nothing
    page.keyboard.type("门口堆放杂物")
    shot(page, "journey-visit-2-form")
    tap(page.get_by_role("button", name="保存走访"))

    expect(page.locator("#visit-done-text")).to_have_text("走访已记录。")
    visit = Visit.objects.get()
    demands = list(Demand.objects.filter(visit=visit).order_by("pk"))
    assert [d.text for d in demands] == ["楼道灯坏了", "门口堆放杂物"]
    assert {(d.owner.username, d.source, d.household_id) for d in demands} == {
        ("cadre-006-1", Source.VISIT, world.household.pk)
    }
    done = page.locator("#visit-done")
    for demand in demands:
        link = done.get_by_role("link", name=f"诉求 #{demand.pk}")
        expect(link).to_have_attribute("href", reverse("demand_detail", args=[demand.pk]))
    expect(done.get_by_role("link", name="查看走访记录")).to_have_attribute(
        "href", reverse("visit_detail", args=[visit.pk])
    )
    expect(done.get_by_role("link", name="查看该户")).to_have_attribute(
        "href", reverse("household_detail", args=[world.household.pk])
    )
    expect(done.get_by_role("link", name="返回路线")).to_be_visible()
    expect(done.get_by_role("button", name="再记一条")).to_be_visible()
    saved_after = taps
    shot(page, "journey-visit-3-saved")

    tap(done.get_by_role("link", name="我的诉求"))
    for demand in demands:
        expect(page.get_by_text(demand.text).first).to_be_visible()
    shot(page, "journey-visit-4-mine")

    assert saved_after <= MAX_TAPS, f"{saved_after} taps from the route page to a saved visit with findings"
    assert saved_after == 3  # 记录走访, the findings box, 保存走访: everything else has a sensible default
    assert not failed, f"failed requests: {failed}"
    assert not console, f"console errors: {console}"
