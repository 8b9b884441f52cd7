"""Browser tests: Playwright (Python) driving Debian's chromium against the live test server."""

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = os.environ.get("NINGJU_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Django refuses sync ORM calls from a thread with a running event loop; Playwright's sync API runs one.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


class _InFlight:
    """Counts the requests the live server is answering, so a test ends only when the server is quiet.

    A page (or its service worker) may still be fetching when the browser context closes; if the server is
    still answering when the test database is flushed, the flush fails and the next test starts dirty.
    """

    def __init__(self) -> None:
        self.count = 0
        self.quiet = threading.Condition()

    def __enter__(self) -> None:
        with self.quiet:
            self.count += 1

    def __exit__(self, *exc: object) -> None:
        with self.quiet:
            self.count -= 1
            self.quiet.notify_all()

    def wait(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        with self.quiet:
            while self.count and time.monotonic() < deadline:
                self.quiet.wait(0.1)


IN_FLIGHT = _InFlight()


@pytest.fixture(scope="session", autouse=True)
def _count_server_requests() -> Iterator[None]:
    answer = WSGIHandler.__call__

    def counted(self: WSGIHandler, environ: dict[str, Any], start_response: Any) -> Any:
        with IN_FLIGHT:
            return answer(self, environ, start_response)

    WSGIHandler.__call__ = counted  # type: ignore[method-assign]
    yield
    WSGIHandler.__call__ = answer  # type: ignore[method-assign]


def close_quietly(context: BrowserContext) -> None:
    """Close a browser context, then wait until the live server has answered its last request."""
    context.close()
    time.sleep(0.05)  # a request sent just before closing may still be on its way to the server
    IN_FLIGHT.wait()


def open_page(browser: Browser, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture(params=["desktop", "phone"])
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    page = open_page(browser, PHONE if request.param == "phone" else DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    close_quietly(page.context)
    assert not errors, f"JavaScript errors on the page: {errors}"


def log_in(page: Page, base_url: str, username: str, password: str = "ningju-demo") -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
