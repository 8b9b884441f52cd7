"""A cadre logs a visit on a phone in a stairwell with no signal: kept on the phone, uploaded once when online."""

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from ningju.demands.models import Demand
from ningju.visits.models import Finding, Visit
from tests.conftest import World
from tests.e2e.conftest import PHONE, close_quietly, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATUS = "#visit-sync-status"
# The state of the page's service worker once it is installed and active (or never, and the test times out).
ACTIVE_WORKER = """async () => {
    const worker = (await navigator.serviceWorker.ready).active;
    while (worker.state !== "activated") {
        await new Promise((changed) => worker.addEventListener("statechange", changed, {once: true}));
    }
    return worker.state;
}"""


def phone_page(browser: Browser, **options: object) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    close_quietly(context)
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from phone_page(browser)


@pytest.fixture
def phone_without_service_worker(browser: Browser) -> Iterator[Page]:
    # Playwright sees a page's requests only when no service worker stands in between.
    yield from phone_page(browser, service_workers="block")


def wait_until_kept_offline(page: Page, url: str, timeout_s: float = 15) -> None:
    """Wait until the service worker holds `url` in its cache (it stores the page in the background)."""
    script = """async (url) => {
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            if (await cache.match(url, {ignoreVary: true})) return true;
        }
        return false;
    }"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script, url):
        assert time.monotonic() < deadline, f"the service worker never kept {url}"
        time.sleep(0.2)


def fill_visit(page: Page) -> str:
    visit_id = page.locator("input[name=id]").input_value()
    page.get_by_role("button", name="跟着宠物访").click()
    page.get_by_role("button", name="王秀英").click()
    page.get_by_label("情况记录").fill("身体硬朗，独自在家")
    page.get_by_label("发现问题 → 转为诉求（一行一条）").fill("楼道灯坏了")
    page.get_by_role("button", name="保存走访").click()
    return visit_id


def test_visit_logged_offline_is_synced_once_when_back_online(
    shipped_server: str, world: World, phone: Page
) -> None:
    page = phone
    log_in(page, shipped_server, "cadre-006-1")
    form_url = f"{shipped_server}/visits/new/?household={world.household.pk}"
    page.goto(form_url)
    expect(page.locator(STATUS)).to_have_text("已同步")
    assert page.evaluate(ACTIVE_WORKER) == "activated", "the service worker (/visits/sw.js) did not install"
    wait_until_kept_offline(page, form_url)

    page.context.set_offline(True)
    page.reload()  # no network: the form opens from the phone
    expect(page.get_by_role("heading", name="常德路633弄5号302室")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "page scrolls sideways"
    expect(page.get_by_role("radio", name="入户面对面")).to_be_checked()
    visit_id = fill_visit(page)

    expect(page.locator(STATUS)).to_have_text("待同步 1 条")
    expect(page.locator("#visit-done-text")).to_have_text("已保存在手机上，有网络时自动上传。")
    expect(page.locator("#visit-form")).to_be_hidden()  # saved: no second tap on 保存 by mistake
    expect(page.locator("#visit-done-waiting")).to_have_text("发现的问题会在上传时登记为诉求。")
    assert not Visit.objects.exists()

    page.context.set_offline(False)
    expect(page.locator(STATUS)).to_have_text("已同步")
    visit = Visit.objects.get(pk=visit_id)
    assert (visit.cadre.username, visit.household_id, visit.mode) == (
        "cadre-006-1",
        world.household.pk,
        "face_to_face",
    )
    assert (visit.way, visit.met, visit.notes) == ("跟着宠物访", "王秀英", "身体硬朗，独自在家")
    assert list(Finding.objects.filter(visit=visit).values_list("text", flat=True)) == ["楼道灯坏了"]
    # Uploaded: the finding was filed, and the page that still shows the saved visit says so with a link.
    demand = Demand.objects.get(finding__visit=visit)
    expect(page.locator("#visit-done-text")).to_have_text("走访已记录。")
    expect(page.locator("#visit-done-waiting")).to_be_hidden()
    expect(page.get_by_role("link", name=f"诉求 #{demand.pk}")).to_have_attribute("href", f"/demands/{demand.pk}/")

    page.reload()  # syncs again on load: nothing is left to send, nothing is doubled
    expect(page.locator(STATUS)).to_have_text("已同步")
    assert Visit.objects.filter(pk=visit_id).count() == 1
    assert Visit.objects.count() == 1
    assert Demand.objects.count() == 1


def test_upload_whose_answer_is_lost_is_sent_again_without_a_duplicate(
    shipped_server: str, world: World, phone_without_service_worker: Page
) -> None:
    page = phone_without_service_worker
    log_in(page, shipped_server, "cadre-006-1")
    page.goto(f"{shipped_server}/visits/new/?household={world.household.pk}")
    expect(page.locator(STATUS)).to_have_text("已同步")
    answers: list[int] = []

    def lose_the_answer(route: Route) -> None:
        # The server stores the visit, then the connection drops before the phone hears back.
        answers.append(route.fetch().status)
        route.abort("connectionreset")

    page.route("**/api/v1/visits/", lose_the_answer)
    visit_id = fill_visit(page)
    expect(page.locator(STATUS)).to_have_text("待同步 1 条")
    assert answers == [201]
    assert Visit.objects.filter(pk=visit_id).count() == 1

    page.unroute("**/api/v1/visits/")
    page.reload()
    expect(page.locator(STATUS)).to_have_text("已同步")
    assert Visit.objects.count() == 1
    assert Finding.objects.count() == 1
    assert Demand.objects.count() == 1  # the lost answer's replay filed nothing again


def test_sync_button_uploads_waiting_visits(
    shipped_server: str, world: World, phone_without_service_worker: Page
) -> None:
    page = phone_without_service_worker
    log_in(page, shipped_server, "cadre-006-1")
    page.goto(f"{shipped_server}/visits/new/?household={world.household.pk}")
    page.route("**/api/v1/visits/", lambda route: route.abort("internetdisconnected"))
    visit_id = fill_visit(page)
    expect(page.locator(STATUS)).to_have_text("待同步 1 条")

    page.unroute("**/api/v1/visits/")
    page.get_by_role("button", name="同步", exact=True).click()

    expect(page.locator(STATUS)).to_have_text("已同步")
    assert Visit.objects.filter(pk=visit_id).count() == 1


def test_visit_waits_through_an_expired_sign_in_and_uploads_after_the_next(
    shipped_server: str, world: World, phone_without_service_worker: Page
) -> None:
    page = phone_without_service_worker
    log_in(page, shipped_server, "cadre-006-1")
    form_url = f"{shipped_server}/visits/new/?household={world.household.pk}"
    page.goto(form_url)
    page.context.clear_cookies()  # the session ran out while the cadre was upstairs

    visit_id = fill_visit(page)

    expect(page.locator(STATUS)).to_have_text("待同步 1 条")
    expect(page.locator("#visit-sync-problem")).to_contain_text("登录已过期")
    assert not Visit.objects.exists()
    log_in(page, shipped_server, "cadre-006-1")
    page.goto(form_url)
    expect(page.locator(STATUS)).to_have_text("已同步")
    assert Visit.objects.filter(pk=visit_id).count() == 1


def test_visit_waits_while_the_new_sign_in_lacks_its_two_step_code(
    shipped_server: str, world: World, phone_without_service_worker: Page
) -> None:
    """The API answers 403 mfa_required to a session that signed in with the password but not yet the code: the
    visit stays queued (not marked failed) and goes up by itself once the sign-in is complete."""
    page = phone_without_service_worker
    log_in(page, shipped_server, "cadre-006-1")
    form_url = f"{shipped_server}/visits/new/?household={world.household.pk}"
    page.goto(form_url)
    refusal = '{"detail": "请先完成两步验证。", "code": "mfa_required"}'
    page.route(
        "**/api/v1/visits/",
        lambda route: route.fulfill(status=403, content_type="application/json", body=refusal),
    )

    visit_id = fill_visit(page)

    expect(page.locator(STATUS)).to_have_text("待同步 1 条")
    expect(page.locator("#visit-sync-problem")).to_contain_text("登录已过期")
    assert not Visit.objects.exists()
    page.unroute("**/api/v1/visits/")
    page.goto(form_url)
    expect(page.locator(STATUS)).to_have_text("已同步")
    assert Visit.objects.filter(pk=visit_id).count() == 1
