"""Browser tests: Playwright (Python) driving Debian's chromium against what ships.

The server is not Django's in-process test server but the production one: the static files collected by
`ningju collect` (hashed names, a manifest, compressed copies), served by whitenoise under gunicorn with DEBUG off,
started with the command line `ningju serve` uses. It reads the pytest test database (a file on SQLite), so every
browser test runs in a transactional test: its data is committed, and flushed after it.
"""

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

from ningju.core.management.commands.serve import gunicorn_command, open_access_log
from ningju.core.models import User
from tests import mfa_helpers

CHROMIUM = os.environ.get("NINGJU_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
REPO = Path(__file__).resolve().parents[2]
# Loading the application (scikit-learn, PyVRP, …) takes seconds; on a busy two-core machine, tens of seconds.
START_TIMEOUT_S = 180


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, timeout_s: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def shipped_database_url() -> str:
    """The URL of the database pytest-django set up (xdist's _gwN suffix included), for the server's environment."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        assert "memory" not in name, "the browser tests need the test database in a file (see settings.py)"
        return f"sqlite:///{name}"
    configured = urlsplit(os.environ["DATABASE_URL"])
    return configured._replace(path=f"/{name}").geturl()


@dataclass
class ShippedServer:
    """One gunicorn with one sync worker and one thread: it answers requests one after another, in order."""

    url: str
    var_dir: Path
    process: subprocess.Popen[bytes]

    def wait_quiet(self) -> None:
        """Return once every request sent before this call has been answered (the server takes them in turn)."""
        assert _get(f"{self.url}/healthz", timeout_s=60) == 200

    def forget_cache(self) -> None:
        """Drop the server's cache (a file cache under its var/): each test starts from its own data."""
        shutil.rmtree(self.var_dir / "cache", ignore_errors=True)

    def log(self) -> str:
        path = self.var_dir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _collect(static_root: Path, env: dict[str, str]) -> None:
    """Collect once per test run, shared by the xdist workers (the first one collects, the others wait)."""
    static_root.parent.mkdir(parents=True, exist_ok=True)
    with open(static_root.parent / "collect.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (static_root / "staticfiles.json").exists():
            subprocess.run(
                [sys.executable, "-m", "ningju", "collect"],
                cwd=REPO,
                env={**env, "NINGJU_STATIC_ROOT": str(static_root)},
                check=True,
            )


@dataclass
class ShippedServers:
    """The gunicorn servers of this test process, one per distinct environment (started when first asked for)."""

    base_env: dict[str, str]
    root: Path
    running: dict[tuple[tuple[str, str], ...], ShippedServer] = field(default_factory=dict)

    def get(self, extra_env: dict[str, str]) -> ShippedServer:
        key = tuple(sorted(extra_env.items()))
        if key not in self.running:
            self.running[key] = self._start({**self.base_env, **extra_env}, f"server-{len(self.running)}")
        return self.running[key]

    def _start(self, env: dict[str, str], name: str) -> ShippedServer:
        var_dir = self.root / name
        var_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        command = gunicorn_command(
            host="127.0.0.1", port=port, workers=1, threads=1, access_log=open_access_log(var_dir / "access.log")
        )
        with open(var_dir / "server.log", "wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env={**env, "NINGJU_VAR_DIR": str(var_dir)}, stdout=log, stderr=log
            )
        server = ShippedServer(url=f"http://127.0.0.1:{port}", var_dir=var_dir, process=process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped (exit {process.returncode}):\n{server.log()}")
            try:
                if _get(f"{server.url}/healthz", timeout_s=5) == 200:
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT_S} s:\n{server.log()}")
            time.sleep(0.3)

    def wait_quiet(self) -> None:
        for server in self.running.values():
            server.wait_quiet()

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()


_SERVERS: list[ShippedServers] = []  # this process's servers, for close_quietly()


@pytest.fixture(scope="session")
def shipped_servers(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedServers]:
    # Requesting django_db_setup stops the servers before the test database is dropped (PostgreSQL refuses to drop
    # a database that a connection is still open on).
    # No REDIS_URL: the server keeps its cache in its own var/, which each test starts without.
    dropped = ("PYTEST_", "DJANGO_ALLOW", "REDIS_URL")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ningju.settings",
            "NINGJU_ENV": "local",
            "NINGJU_DEBUG": "0",
            "DATABASE_URL": shipped_database_url(),
            # The server has a var/ of its own (cache, task queue, access log) but the test process's keys, so that
            # what one encrypts the other reads.
            "NINGJU_SECRET_KEY": settings.SECRET_KEY,
            "NINGJU_FIELD_KEY": ",".join(settings.NINGJU_FIELD_KEYS),
            "NINGJU_LOOKUP_KEY": settings.NINGJU_LOOKUP_KEY,  # search by phone/ID hashes alike in both
            "NINGJU_TASKS_IMMEDIATE": "1",  # background jobs run inside the request, before it answers
        }
    )
    run_root = tmp_path_factory.getbasetemp()
    shared_root = run_root.parent if os.environ.get("PYTEST_XDIST_WORKER") else run_root  # one for all workers
    static_root = shared_root / "shipped-static"
    _collect(static_root, env)
    env["NINGJU_STATIC_ROOT"] = str(static_root)
    servers = ShippedServers(base_env=env, root=run_root / "shipped")
    _SERVERS.append(servers)
    yield servers
    _SERVERS.remove(servers)
    servers.stop()


@pytest.fixture
def server_env() -> dict[str, str]:
    """Settings the server of a test module needs in its environment (a module overrides this fixture)."""
    return {}


@pytest.fixture
def shipped_server(
    shipped_servers: ShippedServers, server_env: dict[str, str], transactional_db: None, settings: Any
) -> str:
    """The base URL of the production server, reading this test's committed data and files."""
    server = shipped_servers.get(server_env)
    server.forget_cache()
    settings.MEDIA_ROOT = server.var_dir / "media"  # a file the test saves is the file the server sends
    return server.url


def close_quietly(context: BrowserContext) -> None:
    """Close a browser context, then wait until the server has answered its last request.

    A page (or its service worker) may still be fetching when the context closes; if the server were still
    answering when the test database is flushed, the flush would fail or the next test would start dirty.
    """
    context.close()
    time.sleep(0.05)  # a request sent just before closing may still be on its way to the server
    for servers in _SERVERS:
        servers.wait_quiet()


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
    """Sign in as a person would: the password, then (street administrators, or anyone with an authenticator)
    the code from the authenticator, which the test reads from the user's device."""
    user = User.objects.filter(username=username).first()
    code = mfa_helpers.fresh_code(user) if user is not None and mfa_helpers.needs_second_factor(user) else ""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    if code and "/accounts/mfa/verify/" in page.url:
        page.get_by_label("验证码").fill(code)
        page.get_by_role("button", name="验证", exact=True).click()
        page.wait_for_load_state("networkidle")


def main_menu(page: Page) -> Locator:
    """The main navigation, visible: on a phone it sits in the sheet the tab bar's 更多 opens."""
    more = page.locator(".tabbar .more")
    if more.is_visible() and more.get_attribute("aria-expanded") != "true":
        more.click()
    return page.get_by_role("navigation", name="主导航")


def account_menu(page: Page) -> Locator:
    """The header's account menu (修改密码, 两步验证, 我的设备, 账号管理, 退出), opened."""
    main_menu(page)
    who = page.locator("details.who")
    if who.get_attribute("open") is None:
        who.locator("summary").click()
    return who


def log_out(page: Page) -> None:
    account_menu(page).get_by_role("button", name="退出").click()
    page.wait_for_load_state("networkidle")


# --- pages at a phone's and a desktop's width, with screenshots on request ---------------------------------

WIDE = {"width": 1366, "height": 900}
# NINGJU_SCREENSHOTS=<folder>: keep the pages' screenshots there, to look at them.
SHOTS = Path(os.environ["NINGJU_SCREENSHOTS"]) if os.environ.get("NINGJU_SCREENSHOTS") else None


@pytest.fixture(params=["phone", "wide"])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    page = open_page(browser, PHONE if request.param == "phone" else WIDE)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    close_quietly(page.context)
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Page, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
