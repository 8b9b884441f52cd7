"""Hostile names in a real browser: road, compound, area, room, resident, demand, category, tag, meeting, event,
action, cluster and department names that are markup (`<img src=x onerror=…>`, `"><svg onload=…>`,
`</script><script>…`) are shown as text on every page that shows them (tables, charts, maps and their tooltips), to
every role: no script of theirs runs, none of ours is blocked by the Content-Security-Policy, and the policy runs no
inline script."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from ningju.demands.models import Category, Demand, Dispatch, Kind, Source
from ningju.demands.services import demand_create
from ningju.demands.workflow import State
from ningju.insights.models import Cluster, ClusterMember
from ningju.insights.rollups import rollups_refresh
from ningju.meetings.models import (
    ActionItem,
    AgendaItem,
    Event,
    EventKind,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Registration,
)
from ningju.meetings.selectors import ActionTab
from ningju.registry.models import Tag
from ningju.visits.models import Plan, Route, Stop, Visit, VisitMode
from tests.conftest import World
from tests.e2e.conftest import DESKTOP, PHONE, account_menu, close_quietly, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each would set window.__xss if the browser ever read it as markup. Short enough for the shortest columns.
IMG = "<img src=x onerror=__xss=1>"
SVG = '"><svg onload=__xss=1>'
SCRIPT = "</script><script>__xss=1</script>"
ROOM = "<svg onload=__xss=1>"  # a room number holds 20 characters
HOSTILE = (IMG, SVG, SCRIPT, ROOM)


@pytest.fixture
def server_url(shipped_server: str) -> str:
    """The server under test: the production configuration (gunicorn, whitenoise, collected and hashed static files),
    where the Content-Security-Policy and the static files are the ones that ship."""
    return shipped_server


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"NINGJU_MAP_TILES": "none"}  # tests never reach a tile server


@pytest.fixture(autouse=True)
def no_cache() -> None:
    cache.clear()


@dataclass
class Hostile:
    world: World
    demand: Demand
    meeting: Meeting
    troika: Meeting
    event: Event
    action: ActionItem
    cluster: Cluster
    pages: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture
def hostile(world: World) -> Hostile:
    """The conftest street with every name that reaches a page replaced by markup, and something on every page."""
    now = timezone.now()
    today = timezone.localdate()
    world.hengdeli.name = IMG
    world.hengdeli.save(update_fields=["name"])
    building = world.household.building
    building.road, building.lat, building.lng = SVG, 31.2376, 121.4508
    building.save(update_fields=["road", "lat", "lng"])
    compound = building.compound
    compound.name = SCRIPT
    compound.save(update_fields=["name"])
    world.household.room = ROOM
    world.household.save(update_fields=["room"])
    world.resident.name = IMG
    world.resident.save(update_fields=["name"])
    world.department.name = SVG
    world.department.save(update_fields=["name"])
    tag = Tag.objects.create(street=world.street, name=IMG)
    world.household.tags.add(tag)
    category = Category.objects.create(street=world.street, name=IMG, default_department=world.department)

    for hours in (1, 2, 3):
        Visit.objects.create(
            id=uuid.uuid4(),
            area=world.hengdeli,
            cadre=world.cadre,
            household=world.household,
            visited_at=now - timedelta(hours=hours),
            mode=VisitMode.FACE_TO_FACE,
            notes=SVG,
        )
    demand, _ = demand_create(
        user=world.cadre,
        area=world.hengdeli,
        kind=Kind.PROBLEM,
        source=Source.VISIT,
        text=f"{IMG} {SVG} {SCRIPT}",
        category=category,
        household=world.household,
        reporter=world.resident,
        received_at=now - timedelta(hours=2),
    )
    # Dispatched to the department, so that its liaison sees it in the portal.
    Demand.objects.filter(pk=demand.pk).update(state=State.DISPATCHED)
    Dispatch.objects.create(demand=demand, department=world.department, round=1, dispatched_at=now)
    demand.refresh_from_db()

    meeting = Meeting.objects.create(
        street=world.street,
        area=world.hengdeli,
        kind=MeetingKind.JOINT,
        title=SCRIPT,
        held_at=now - timedelta(days=1),
        created_by=world.head,
    )
    AgendaItem.objects.create(meeting=meeting, demand=demand, note=IMG)
    troika = Meeting.objects.create(
        street=world.street,
        area=world.hengdeli,
        compound=compound,
        kind=MeetingKind.TROIKA,
        status=MeetingStatus.HELD,
        title=SVG,
        held_at=now - timedelta(days=1),
        created_by=world.head,
        inspected=IMG,
    )
    event = Event.objects.create(
        street=world.street,
        area=world.hengdeli,
        kind=EventKind.CULTURE,
        title=IMG,
        organiser=SVG,
        place=SCRIPT,
        starts_at=now + timedelta(days=3),
        created_by=world.head,
    )
    Registration.objects.create(event=event, resident=world.resident, name=world.resident.name)
    action = ActionItem.objects.create(
        street=world.street,
        area=world.hengdeli,
        meeting=meeting,
        title=SVG,
        description=SCRIPT,
        owner=world.cadre,
        deadline=today + timedelta(days=5),
        created_by=world.head,
    )
    action.demands.set([demand])
    cluster = Cluster.objects.create(
        street=world.street, title=SCRIPT, window_start=today - timedelta(days=30), window_end=today
    )
    ClusterMember.objects.create(cluster=cluster, demand=demand, similarity=0.9)

    plan = Plan.objects.create(street=world.street, start=today, days=1)
    route = Route.objects.create(plan=plan, day=today, cadre=world.cadre, area=world.hengdeli, walk_m=500)
    Stop.objects.create(
        route=route, seq=1, kind="household", household=world.household, lat=31.2376, lng=121.4508, reason=SVG
    )
    rollups_refresh(street=world.street, start=today - timedelta(days=40), end=today)

    day = today.isoformat()
    period = f"start={(today - timedelta(days=30)).isoformat()}&end={day}"
    common = [
        f"/households/{world.household.pk}/",
        f"/compounds/{compound.pk}/",
        f"/demands/{demand.pk}/",
        "/meetings/",
        f"/meetings/{meeting.pk}/",
        "/meetings/events/",
        f"/meetings/events/{event.pk}/",
        f"/meetings/actions/?tab={ActionTab.SCOPE}",
        f"/meetings/actions/{action.pk}/",
        "/meetings/troika/",
    ]
    pages = {
        "admin": [
            "/insights/dashboard/",
            f"/insights/report/?{period}",
            "/visits/coverage/",
            "/demands/all/",
            f"/demands/rates/?{period}",
            "/insights/clusters/",
            f"/insights/clusters/{cluster.pk}/",
            "/tags/",
            f"/visits/routes/{world.cadre.username}/{day}/",
            *common,
        ],
        "head-006": [
            "/insights/dashboard/",
            "/visits/coverage/",
            "/demands/inbox/",
            f"/meetings/events/{event.pk}/residents/",
            *common,
        ],
        "cadre-006-1": [
            f"/visits/routes/{world.cadre.username}/{day}/",
            f"/visits/routes/{world.cadre.username}/{day}/print/",
            "/demands/",
            "/areas/",
            *common,
        ],
        "dept-chengguan": ["/demands/department/", f"/demands/{demand.pk}/"],
    }
    return Hostile(world, demand, meeting, troika, event, action, cluster, pages)


# Records every Content-Security-Policy violation of the page (also those the console does not show in full).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI + " " + event.sourceFile + ":" +
    event.lineNumber);
});
"""
# What hostile markup would have become had it been parsed: an element with a handler, or the hostile <img>/<svg>.
PARSED_MARKUP = """
() => Array.from(document.querySelectorAll("[onerror], [onload], img[src='x'], svg[onload]"))
  .map((element) => element.outerHTML)
"""


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)
    csp_console: list[str] = field(default_factory=list)


@pytest.fixture(params=["desktop", "phone"])
def watched(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport=DESKTOP if request.param == "desktop" else PHONE, locale="zh-CN")  # type: ignore[arg-type]
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    watched = Watched(page)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            watched.csp_console.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
            else None
        ),
    )
    yield watched
    close_quietly(context)


def hover_drawings(page: Page) -> None:
    """Point at every chart and map, so that their tooltips (the HTML sinks of ECharts and Leaflet) open."""
    for box in page.locator("[data-chart], #route-map, [id^='chart-']").all():
        if not box.is_visible():
            continue
        box.scroll_into_view_if_needed()
        bounds = box.bounding_box()
        if bounds:
            page.mouse.move(bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"] / 2)
            page.wait_for_timeout(150)


def assert_nothing_ran(watched: Watched, path: str) -> None:
    page = watched.page
    assert page.evaluate("typeof window.__xss") == "undefined", f"a hostile name ran as script on {path}"
    assert page.evaluate(PARSED_MARKUP) == [], f"a hostile name became markup on {path}"
    violations = page.evaluate("window.__violations")
    assert violations == [], f"the policy blocked something on {path}: {violations}"
    assert watched.csp_console == [], f"the policy blocked something on {path}: {watched.csp_console}"
    assert watched.errors == [], f"JavaScript errors on {path}: {watched.errors}"


@pytest.mark.parametrize("username", ["admin", "head-006", "cadre-006-1", "dept-chengguan"])
def test_hostile_names_show_as_text_and_run_nowhere(
    server_url: str, hostile: Hostile, watched: Watched, username: str
) -> None:
    page = watched.page
    log_in(page, server_url, username)

    for path in hostile.pages[username]:
        response = page.goto(f"{server_url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        policy = response.headers["content-security-policy"]
        script_src = next(part for part in policy.split(";") if part.split()[0] == "script-src")
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, path
        hover_drawings(page)

        text = page.locator("body").text_content() or ""  # closed <details> (a chart's data table) included
        assert any(name in text for name in HOSTILE), f"no hostile name on {path}: the page shows none of them"
        assert_nothing_ran(watched, path)


def test_map_tooltip_shows_the_hostile_label_as_text(server_url: str, hostile: Hostile, watched: Watched) -> None:
    page = watched.page
    log_in(page, server_url, "admin")
    page.goto(f"{server_url}/insights/dashboard/")
    page.wait_for_load_state("networkidle")

    tooltip = page.locator(".leaflet-tooltip")
    the_map = page.locator("#chart-map")
    the_map.scroll_into_view_if_needed()
    bounds = the_map.bounding_box()
    assert bounds is not None
    # The only building is in the middle of the map (fitted to its points).
    page.mouse.move(bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"] / 2)
    tooltip.first.wait_for(state="visible")
    # A building's label: its road (hostile) and number, then its figures.
    assert tooltip.first.inner_text().startswith(f"{SVG}633弄5号")
    assert_nothing_ran(watched, "/insights/dashboard/ (map tooltip)")


def test_the_language_switch_and_the_print_button_work_without_inline_handlers(
    server_url: str, hostile: Hostile, watched: Watched
) -> None:
    page = watched.page
    log_in(page, server_url, "cadre-006-1")
    day = timezone.localdate().isoformat()
    page.goto(f"{server_url}/visits/routes/cadre-006-1/{day}/print/")
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.locator("[data-print]").click()
    assert page.evaluate("window.__printed") == 1

    # htmx read its settings from the page: no eval, no script elements from swapped content, no injected <style>.
    assert page.evaluate(
        "[htmx.config.allowEval, htmx.config.allowScriptTags, htmx.config.includeIndicatorStyles]"
    ) == [
        False,
        False,
        False,
    ]
    # On a phone the language switch sits in the menu the tab bar's 更多 opens.
    account_menu(page).page.locator("select[name=language]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    account_menu(page).page.locator("select[name=language]").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.wait_for_load_state("networkidle")
    assert_nothing_ran(watched, "language switch")
